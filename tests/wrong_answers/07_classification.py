"""Plausible wrong answers (must fail the tests with a message that names the cause) and right answers
written in other styles (must pass) for 07_classification.

Keys are the grade_ids of the solution cells. WRONG entries are (description, full cell source, words
the failure message must contain); RIGHT entries are (description, full cell source).
"""

_TAE = '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {{"train_loss": [], "val_loss": []}}
    {before}
    for epoch in range(epochs):
        {train}
        total, count = 0.0, 0
        for X_batch, y_batch in train_loader:
            X_batch, y_batch = X_batch.to(device), y_batch.to(device)
            {zero}
            loss = {loss}
            loss.backward()
            optimizer.step()
            {accumulate}
        history["train_loss"].append({record})

        {evaluate}
        total, count = 0.0, 0
        {context}
            for X_batch, y_batch in val_loader:
                X_batch, y_batch = X_batch.to(device), y_batch.to(device)
                total += loss_fn(model(X_batch), y_batch).item() * len(X_batch)
                count += len(X_batch)
        history["val_loss"].append(total / count)
    return history
'''


def _tae(before="pass", train="model.train()", zero="optimizer.zero_grad()", loss="loss_fn(model(X_batch), y_batch)",
         accumulate="total += loss.item() * len(X_batch)\n            count += len(X_batch)", record="total / count",
         evaluate="model.eval()", context="with torch.no_grad():"):
    return _TAE.format(before=before, train=train, zero=zero, loss=loss, accumulate=accumulate, record=record,
                       evaluate=evaluate, context=context)


_SPLIT = '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    {order}
    n_val = {n_val}
    val_idx, train_idx = order[:n_val], order[n_val:]
    return {result}
'''


def _split(order="order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))",
           n_val="round(val_frac * len(X))", result="X[train_idx], X[val_idx], y[train_idx], y[val_idx]"):
    return _SPLIT.format(order=order, n_val=n_val, result=result)


WRONG = {
    "ex1_predict_proba": [
        ("the probability of class 0", '''
def predict_proba(logits):
    return 1 / (1 + torch.exp(logits))
''', ["probability of class 0"]),
        ("softmax over the single logit", '''
def predict_proba(logits):
    return torch.softmax(logits, dim=-1)
''', ["always 1"]),
        ("hand-written formula: nan for large logits", '''
def predict_proba(logits):
    return torch.exp(logits) / (1 + torch.exp(logits))
''', ["NaN", "exp(z) overflows"]),
        ("returns the logits", '''
def predict_proba(logits):
    return logits
''', ["logits themselves", "sigmoid"]),
        ("returns classes", '''
def predict_proba(logits):
    return (logits > 0).float()
''', ["classes, not probabilities"]),
        ("squeezes the result", '''
def predict_proba(logits):
    return torch.sigmoid(logits).squeeze()
''', ["squeeze"]),
        ("tanh instead of the sigmoid", '''
def predict_proba(logits):
    return torch.tanh(logits)
''', ["tanh"]),
        ("a Python list", '''
def predict_proba(logits):
    return torch.sigmoid(logits).tolist()
''', ["torch.Tensor", "list"]),
    ],
    "ex2_predict_class": [
        ("compares the logits with the threshold", '''
def predict_class(logits, threshold=0.5):
    return (logits > threshold).long()
''', ["logits were compared with the threshold"]),
        ("ignores the threshold", '''
def predict_class(logits, threshold=0.5):
    return (torch.sigmoid(logits) > 0.5).long()
''', ["threshold argument was ignored"]),
        ("bool result", '''
def predict_class(logits, threshold=0.5):
    return torch.sigmoid(logits) > threshold
''', ["bool", ".long()"]),
        ("float result", '''
def predict_class(logits, threshold=0.5):
    return (torch.sigmoid(logits) > threshold).float()
''', ["float32", ".long()"]),
        ("classes the wrong way round", '''
def predict_class(logits, threshold=0.5):
    return (torch.sigmoid(logits) < threshold).long()
''', ["wrong way round"]),
        ("argmax over a single column", '''
def predict_class(logits, threshold=0.5):
    return logits.argmax(dim=1, keepdim=True)
''', ["expected", "got"]),
        ("round() of the probability", '''
def predict_class(logits, threshold=0.5):
    return torch.round(torch.sigmoid(logits)).long()
''', ["threshold argument was ignored"]),
        ("squeezes the result", '''
def predict_class(logits, threshold=0.5):
    return (torch.sigmoid(logits) > threshold).long().squeeze()
''', ["squeeze"]),
    ],
    "ex3_binary_classifier": [
        ("a sigmoid at the end", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.Sigmoid())
''', ["sigmoid at the end", "logits"]),
        ("a registered ReLU that forward never calls", '''
class BinaryClassifier(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.hidden = nn.Linear(2, hidden)
        self.relu = nn.ReLU()
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(self.hidden(x))

def build_binary_classifier(hidden=8):
    return BinaryClassifier(hidden)
''', ["never called"]),
        ("hard-coded hidden size", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
''', ["(2, 3)", "(2, 8)"]),
        ("two outputs", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 2))
''', ["(8, 1)", "(8, 2)"]),
        ("sigmoid instead of ReLU", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.Sigmoid(), nn.Linear(hidden, 1))
''', ["sigmoid between the layers"]),
        ("a ReLU after the output layer", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.ReLU())
''', ["ReLU after the output layer"]),
        ("a single linear layer", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, 1))
''', ["(2, 8)", "(8, 1)"]),
        ("a class that returns torch.sigmoid in forward", '''
class Classifier(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(2, hidden), nn.Linear(hidden, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(x))))

def build_binary_classifier(hidden=8):
    return Classifier(hidden)
''', ["sigmoid at the end"]),
        ("returns the class, not a model", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential
''', ["nn.Module", "class"]),
    ],
    "ex4_multiclass_accuracy": [
        ("the count instead of the fraction", '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(dim=1) == y).sum().item()
''', ["number of correct predictions"]),
        ("argmax over dim=0", '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(dim=0) == y).float().mean().item()
''', ["dim=0", "dim=1"]),
        ("returns a tensor", '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(dim=1) == y).float().mean()
''', ["float", ".item()"]),
        ("a percentage", '''
def multiclass_accuracy(logits, y):
    return 100 * (logits.argmax(dim=1) == y).float().mean().item()
''', ["percentage"]),
        ("divides by the number of classes", '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(dim=1) == y).sum().item() / logits.shape[1]
''', ["number of classes"]),
        ("the error rate", '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(dim=1) != y).float().mean().item()
''', ["error rate"]),
        ("mean of a bool tensor fails", '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(dim=1) == y).mean().item()
''', ["mean", "expected"]),
        ("integer division", '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(dim=1) == y).sum().item() // len(y)
''', ["integer division"]),
    ],
    "ex5_train_val_split": [
        ("no shuffling: the last samples", _split(order="order = torch.arange(len(X))"), ["one end", "shuffle"]),
        ("int() instead of round()", _split(n_val="int(val_frac * len(X))"), ["int() cuts", "round"]),
        ("parts returned in another order", _split(result="X[train_idx], y[train_idx], X[val_idx], y[val_idx]"),
         ["order of the returned parts"]),
        ("training and validation swapped", _split(result="X[val_idx], X[train_idx], y[val_idx], y[train_idx]"),
         ["swapped"]),
        ("X and y shuffled separately", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    g = torch.Generator().manual_seed(seed)
    X, y = X[torch.randperm(len(X), generator=g)], y[torch.randperm(len(y), generator=g)]
    n_val = round(val_frac * len(X))
    return X[n_val:], X[:n_val], y[n_val:], y[:n_val]
''', ["same permutation"]),
        ("the seed is ignored", _split(order="order = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))"),
         ["seed=1 gave the same split"]),
        ("no seed at all", _split(order="order = torch.randperm(len(X))"), ["same seed must give the same split"]),
        ("val_frac ignored", _split(n_val="round(0.2 * len(X))"), ["val_frac argument was ignored"]),
        ("two different permutations for the parts", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    g = torch.Generator().manual_seed(seed)
    n_val = round(val_frac * len(X))
    val_idx = torch.randperm(len(X), generator=g)[:n_val]
    train_idx = torch.randperm(len(X), generator=g)[n_val:]
    return X[train_idx], X[val_idx], y[train_idx], y[val_idx]
''', ["exactly one of the two parts"]),
    ],
    "ex6_train_and_evaluate": [
        ("softmax before CrossEntropyLoss", _tae(loss="loss_fn(torch.softmax(model(X_batch), dim=1), y_batch)"), ["softmax", "logits"]),
        ("forgets zero_grad", _tae(zero="pass"), ["zero_grad()", "add up"]),
        ("plain mean of the batch losses", _tae(accumulate="total += loss.item()\n            count += 1"),
         ["plain mean of the batch losses"]),
        ("model.train() only once, before the loop", _tae(before="model.train()", train="pass"),
         ["evaluation mode", "model.train()"]),
        ("validation without torch.no_grad()", _tae(context="if True:"), ["torch.no_grad()"]),
        ("never calls model.eval()", _tae(evaluate="pass"), ["model.eval()"]),
        ("validates before training", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for X_batch, y_batch in val_loader:
                X_batch, y_batch = X_batch.to(device), y_batch.to(device)
                total += loss_fn(model(X_batch), y_batch).item() * len(X_batch)
                count += len(X_batch)
        history["val_loss"].append(total / count)
        model.train()
        total, count = 0.0, 0
        for X_batch, y_batch in train_loader:
            X_batch, y_batch = X_batch.to(device), y_batch.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X_batch)
            count += len(X_batch)
        history["train_loss"].append(total / count)
    return history
''', ["before the epoch's training"]),
        ("loss arguments swapped", _tae(loss="loss_fn(y_batch, model(X_batch))"),
         ["swapped", "loss_fn(output, target)"]),
        ("records loss tensors", _tae(accumulate="total += loss * len(X_batch)\n            count += len(X_batch)"),
         ["Python floats", "Tensor"]),
        ("one entry per batch", _tae(accumulate="history['train_loss'].append(loss.item())\n            total, count = 0.0, 1",
                                     record="0.0 if False else history['train_loss'].pop()"),
         ["one entry per batch"]),
    ],
}

RIGHT = {
    "ex1_predict_proba": [
        ("torch.special.expit", '''
def predict_proba(logits):
    return torch.special.expit(logits)
'''),
        ("nn.Sigmoid module", '''
def predict_proba(logits):
    return nn.Sigmoid()(logits)
'''),
        ("exp of log-sigmoid", '''
def predict_proba(logits):
    return torch.exp(torch.nn.functional.logsigmoid(logits))
'''),
    ],
    "ex2_predict_class": [
        ("logit threshold via logit()", '''
def predict_class(logits, threshold=0.5):
    return (logits > torch.logit(torch.tensor(threshold))).to(torch.int64)
'''),
        ("torch.where", '''
def predict_class(logits, threshold=0.5):
    probs = torch.sigmoid(logits)
    return torch.where(probs > threshold, 1, 0).long()
'''),
        ("gt and type()", '''
def predict_class(logits, threshold=0.5):
    return logits.sigmoid().gt(threshold).type(torch.long)
'''),
    ],
    "ex3_binary_classifier": [
        ("a class with torch.relu in forward", '''
class BinaryClassifier(nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.hidden = nn.Linear(2, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))

def build_binary_classifier(hidden=8):
    return BinaryClassifier(hidden)
'''),
        ("an explicit nn.Identity at the end", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.Identity())
'''),
        ("output layer registered first, F.relu", '''
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.output = nn.Linear(hidden, 1)
        self.first = nn.Linear(2, hidden)

    def forward(self, x):
        return self.output(F.relu(self.first(x)))

def build_binary_classifier(hidden=8):
    return Net(hidden)
'''),
    ],
    "ex4_multiclass_accuracy": [
        ("float() of a sum over len", '''
def multiclass_accuracy(logits, y):
    return float((logits.argmax(1) == y).sum()) / len(y)
'''),
        ("torch.max indices", '''
def multiclass_accuracy(logits, y):
    _, predicted = torch.max(logits, dim=1)
    return predicted.eq(y).double().mean().item()
'''),
        ("argmax of the softmax", '''
def multiclass_accuracy(logits, y):
    probs = torch.softmax(logits, dim=1)
    correct = (probs.argmax(dim=-1) == y).sum().item()
    return correct / y.shape[0]
'''),
    ],
    "ex5_train_val_split": [
        ("global seed and index_select", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    torch.manual_seed(seed)
    perm = torch.randperm(X.shape[0])
    k = round(val_frac * X.shape[0])
    return (X.index_select(0, perm[k:]), X.index_select(0, perm[:k]),
            y.index_select(0, perm[k:]), y.index_select(0, perm[:k]))
'''),
        ("validation from the end of the permutation", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    order = torch.randperm(len(X), generator=g)
    n_train = len(X) - round(val_frac * len(X))
    train, val = order[:n_train], order[n_train:]
    return X[train], X[val], y[train], y[val]
'''),
        ("torch.split of the permutation", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    n_val = round(val_frac * len(X))
    val_idx, train_idx = torch.split(order, [n_val, len(X) - n_val])
    return X[train_idx], X[val_idx], y[train_idx], y[val_idx]
'''),
    ],
    "ex6_train_and_evaluate": [
        ("len(loader.dataset) and a helper for one pass", '''
def _one_pass(model, loader, loss_fn, device, optimizer=None):
    total = 0.0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = loss_fn(model(xb), yb)
        if optimizer is not None:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        total += loss.item() * xb.shape[0]
    return total / len(loader.dataset)

def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for _ in range(epochs):
        model.train()
        history["train_loss"].append(_one_pass(model, train_loader, loss_fn, device, optimizer))
        model.eval()
        with torch.no_grad():
            history["val_loss"].append(_one_pass(model, val_loader, loss_fn, device))
    return history
'''),
        ("utils.training.fit, one epoch at a time", '''
from utils.training import fit

def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for _ in range(epochs):
        one = fit(model, train_loader, loss_fn, optimizer, 1, val_loader=val_loader, device=device, progress=False)
        history["train_loss"] += one["train_loss"]
        history["val_loss"] += one["val_loss"]
    return history
'''),
        ("inference_mode and lists of losses and sizes", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    train_hist, val_hist = [], []
    for epoch in range(epochs):
        model.train()
        losses, sizes = [], []
        for X_batch, y_batch in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(X_batch.to(device)), y_batch.to(device))
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            sizes.append(len(y_batch))
        train_hist.append(sum(l * n for l, n in zip(losses, sizes)) / sum(sizes))
        model.eval()
        with torch.inference_mode():
            pairs = [(loss_fn(model(xb.to(device)), yb.to(device)).item(), len(yb)) for xb, yb in val_loader]
        val_hist.append(sum(l * n for l, n in pairs) / sum(n for _, n in pairs))
    return {"train_loss": train_hist, "val_loss": val_hist}
'''),
    ],
}

# Issue 20: mistakes new to the tests (in-place changes of the inputs, clipped probabilities, dtype and range
# narrowing, a floor on the validation size, shared layers, stale gradients, modes set on the outer module only,
# early stopping) and right answers in styles the tests had not seen (functional API, float64 inside and cast back,
# einsum, explicit loops, custom nn.Module subclasses, a deep copy validated, inference_mode).
WRONG["ex1_predict_proba"] += [
    ("sigmoid_ in place on the logits", '''
def predict_proba(logits):
    return logits.sigmoid_()
''', ["the logits after", "do not change the logits"]),
    ("clips the probabilities away from 0 and 1", '''
def predict_proba(logits):
    return torch.sigmoid(logits).clamp(1e-7, 1 - 1e-7)
''', ["clipped to", "tiny probabilities are correct"]),
    ("p.data.clamp_ on the result", '''
def predict_proba(logits):
    p = torch.sigmoid(logits)
    p.data.clamp_(min=1e-6, max=1 - 1e-6)
    return p
''', ["clipped to", "clamp"]),
    (".float() on the way", '''
def predict_proba(logits):
    return torch.sigmoid(logits.float())
''', ["float64", "float32", "keep the logits' dtype"]),
]
WRONG["ex2_predict_class"] += [
    ("sigmoid_ in place on the logits", '''
def predict_class(logits, threshold=0.5):
    probs = logits.sigmoid_()
    return (probs > threshold).long()
''', ["the logits after", "do not change the logits"]),
    ("probabilities rounded to float32", '''
def predict_class(logits, threshold=0.5):
    return (torch.sigmoid(logits).float() > threshold).long()
''', ["rounded to float32", "keep the logits' dtype"]),
    ("int32 classes", '''
def predict_class(logits, threshold=0.5):
    return (torch.sigmoid(logits) > threshold).to(torch.int32)
''', ["int64", "int32"]),
]
WRONG["ex3_binary_classifier"] += [
    ("an output layer made once outside the function", '''
_output = nn.Linear(8, 1)

def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), _output if hidden == 8 else nn.Linear(hidden, 1))
''', ["share layers", "changed with the first"]),
    ("a class whose forward uses tanh", '''
class Classifier(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.hidden = nn.Linear(2, hidden)
        self.act = nn.ReLU()
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))

def build_binary_classifier(hidden=8):
    return Classifier(hidden)
''', ["a tanh between the layers", "ReLU"]),
    ("LeakyReLU instead of ReLU", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.LeakyReLU(), nn.Linear(hidden, 1))
''', ["LeakyReLU between the layers"]),
    ("a tanh head", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.Tanh())
''', ["a tanh at the end", "logits"]),
]
WRONG["ex4_multiclass_accuracy"] += [
    ("subtracts the row maximum in place", '''
def multiclass_accuracy(logits, y):
    logits -= logits.max(dim=1, keepdim=True).values
    return (logits.argmax(dim=1) == y).float().mean().item()
''', ["the logits after", "do not change the logits"]),
    ("softmax over dim=0 before the argmax", '''
def multiclass_accuracy(logits, y):
    return (torch.softmax(logits, dim=0).argmax(dim=1) == y).float().mean().item()
''', ["softmax ran over dim=0"]),
    ("logits rounded to float32", '''
def multiclass_accuracy(logits, y):
    return (logits.float().argmax(dim=1) == y).float().mean().item()
''', ["rounded to float32", "keep the logits' dtype"]),
]
WRONG["ex5_train_val_split"] += [
    ("targets turned into integers", _split(result="X[train_idx], X[val_idx], y[train_idx].long(), y[val_idx].long()"),
     ["dtype", "no .float(), .long()"]),
    ("features turned into float32", _split(result="X[train_idx].float(), X[val_idx].float(), y[train_idx], y[val_idx]"),
     ["dtype", "float64", "float32"]),
    ("at least one validation sample", _split(n_val="max(1, round(val_frac * len(X)))"),
     ["0 validation samples", "max(1, ...)"]),
    ("shuffles X and y in place", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    X[:] = X[order]
    y[:] = y[order]
    n_val = round(val_frac * len(X))
    return X[n_val:], X[:n_val], y[n_val:], y[:n_val]
''', ["X after", "do not change the data"]),
]
WRONG["ex6_train_and_evaluate"] += [
    ("zero_grad after step", _tae(zero="pass", accumulate="optimizer.zero_grad()\n            total += loss.item() * len(X_batch)\n            count += len(X_batch)"),
     ["already in p.grad", "zero_grad"]),
    ("model.training flags instead of model.train() and model.eval()", _tae(train="model.training = True", evaluate="model.training = False"),
     ["layers inside the model were not in the model's mode", "model.train()"]),
    ("stops when the validation loss rises", _TAE.format(before="pass", train="model.train()", zero="optimizer.zero_grad()",
        loss="loss_fn(model(X_batch), y_batch)", accumulate="total += loss.item() * len(X_batch)\n            count += len(X_batch)",
        record="total / count", evaluate="model.eval()", context="with torch.no_grad():").replace(
        "        history[\"val_loss\"].append(total / count)\n",
        "        history[\"val_loss\"].append(total / count)\n        if len(history[\"val_loss\"]) > 1 and history[\"val_loss\"][-1] > history[\"val_loss\"][-2]:\n            break\n"),
     ["stopped after", "early stop"]),
]

RIGHT["ex1_predict_proba"] += [
    ("torch.nn.functional.sigmoid", '''
import torch.nn.functional as F

def predict_proba(logits):
    return F.sigmoid(logits)
'''),
    ("float64 inside and cast back", '''
def predict_proba(logits):
    return torch.sigmoid(logits.to(torch.float64)).to(logits.dtype)
'''),
]
RIGHT["ex2_predict_class"] += [
    ("an explicit loop over the values", '''
def predict_class(logits, threshold=0.5):
    flat = [1 if p > threshold else 0 for p in torch.sigmoid(logits).reshape(-1).tolist()]
    return torch.tensor(flat, dtype=torch.int64).reshape(logits.shape)
'''),
    ("functional sigmoid in float64, compared, cast to long", '''
import torch.nn.functional as F

def predict_class(logits, threshold=0.5):
    return F.sigmoid(logits.double()).gt(threshold).long()
'''),
]
RIGHT["ex3_binary_classifier"] += [
    ("a custom module with the functional API", '''
import torch.nn.functional as F

class Binary(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
        return F.linear(F.relu(F.linear(x, self.fc1.weight, self.fc1.bias)), self.fc2.weight, self.fc2.bias)

def build_binary_classifier(hidden=8):
    return Binary(hidden)
'''),
    ("einsum and clamp(min=0) in forward", '''
class Binary(nn.Module):
    def __init__(self, hidden=8):
        super().__init__()
        self.first = nn.Linear(2, hidden)
        self.second = nn.Linear(hidden, 1)

    def forward(self, x):
        h = torch.einsum("ni,hi->nh", x, self.first.weight) + self.first.bias
        return torch.einsum("nh,oh->no", h.clamp(min=0), self.second.weight) + self.second.bias

def build_binary_classifier(hidden=8):
    return Binary(hidden)
'''),
]
RIGHT["ex4_multiclass_accuracy"] += [
    ("an explicit loop over the rows", '''
def multiclass_accuracy(logits, y):
    hits = 0
    for row, label in zip(logits, y):
        best = 0
        for j in range(1, len(row)):
            if row[j] > row[best]:
                best = j
        hits += int(best == int(label))
    return hits / len(y)
'''),
    ("einsum of one-hot matrices, float64", '''
import torch.nn.functional as F

def multiclass_accuracy(logits, y):
    c = logits.shape[1]
    hits = torch.einsum("nc,nc->", F.one_hot(logits.argmax(dim=1), c).double(), F.one_hot(y.long(), c).double())
    return float(hits / len(y))
'''),
]
RIGHT["ex5_train_val_split"] += [
    ("argsort of seeded random numbers and index_select", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    order = torch.rand(len(X), generator=torch.Generator().manual_seed(seed)).argsort()
    n_val = round(val_frac * len(X))
    val, train = order[:n_val], order[n_val:]
    return X.index_select(0, train), X.index_select(0, val), y.index_select(0, train), y.index_select(0, val)
'''),
    ("a boolean mask over a seeded permutation", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    g = torch.Generator()
    g.manual_seed(seed)
    order = torch.randperm(X.shape[0], generator=g)
    is_val = torch.zeros(X.shape[0], dtype=torch.bool)
    is_val[order[:round(val_frac * X.shape[0])]] = True
    shuffled = order[is_val[order].logical_not()]
    chosen = order[is_val[order]]
    return X[shuffled], X[chosen], y[shuffled], y[chosen]
'''),
]
RIGHT["ex6_train_and_evaluate"] += [
    ("validation on a deep copy in eval mode under no_grad", '''
import copy

def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):
        model.train()
        total, count = 0.0, 0
        for X_batch, y_batch in train_loader:
            X_batch, y_batch = X_batch.to(device), y_batch.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X_batch)
            count += len(X_batch)
        history["train_loss"].append(total / count)
        frozen = copy.deepcopy(model)
        frozen.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for X_batch, y_batch in val_loader:
                X_batch, y_batch = X_batch.to(device), y_batch.to(device)
                total += loss_fn(frozen(X_batch), y_batch).item() * len(X_batch)
                count += len(X_batch)
        history["val_loss"].append(total / count)
    return history
'''),
    ("gradients set to None by hand, float64 sums, model.train(mode=True)", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    train_hist, val_hist = [], []
    for epoch in range(epochs):
        model.train(mode=True)
        total, count = torch.zeros((), dtype=torch.float64), 0
        for X_batch, y_batch in train_loader:
            X_batch, y_batch = X_batch.to(device), y_batch.to(device)
            for p in model.parameters():
                p.grad = None
            loss = loss_fn(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            total += loss.detach().double().cpu() * X_batch.shape[0]
            count += X_batch.shape[0]
        train_hist.append(float(total / count))
        model.train(mode=False)
        total, count = torch.zeros((), dtype=torch.float64), 0
        with torch.no_grad():
            for X_batch, y_batch in val_loader:
                X_batch, y_batch = X_batch.to(device), y_batch.to(device)
                total += loss_fn(model(X_batch), y_batch).double().cpu() * X_batch.shape[0]
                count += X_batch.shape[0]
        val_hist.append(float(total / count))
    return {"train_loss": train_hist, "val_loss": val_hist}
'''),
]

# ---------------------------------------------------------------------------------------------------------------
# Caught only by the properties against the instructor's solution (generated inputs, issue 20)
# ---------------------------------------------------------------------------------------------------------------
WRONG["ex1_predict_proba"] += [
    ("a loop over the rows: a single logit (a 0-d tensor) cannot be iterated", '''
def predict_proba(logits):
    return torch.stack([torch.sigmoid(row) for row in logits])
''', ["0-d", "error"]),
    ("results cached by shape and dtype: a later call with other logits of the same shape gets old values", '''
_seen = {}

def predict_proba(logits):
    key = (tuple(logits.shape), logits.dtype)
    if key not in _seen:
        _seen[key] = torch.sigmoid(logits)
    return _seen[key]
''', ["earlier call"]),
]
WRONG["ex2_predict_class"] += [
    ("the threshold kept within [0.1, 0.9] 'to be safe'", '''
def predict_class(logits, threshold=0.5):
    threshold = min(max(threshold, 0.1), 0.9)
    return (torch.sigmoid(logits) > threshold).long()
''', ["[0.1, 0.9]", "threshold"]),
    ("a loop over the rows: a single logit (a 0-d tensor) cannot be iterated", '''
def predict_class(logits, threshold=0.5):
    return torch.stack([(torch.sigmoid(row) > threshold).long() for row in logits])
''', ["0-d", "error"]),
]
WRONG["ex3_binary_classifier"] += [
    ("ReLU6 instead of ReLU (the same for hidden values below 6)", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU6(), nn.Linear(hidden, 1))
''', ["capped at 6", "ReLU"]),
    ("logits clamped to [-10, 10] 'for a stable loss'", '''
class Classifier(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x))).clamp(-10, 10)

def build_binary_classifier(hidden=8):
    return Classifier(hidden)
''', ["-10", "no clamp"]),
    ("the hidden activations detached: the values are right, no gradient flows back through the first layer", '''
class Classifier(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)).detach())

def build_binary_classifier(hidden=8):
    return Classifier(hidden)
''', ["no gradient reached"]),
]
WRONG["ex4_multiclass_accuracy"] += [
    ("a softmax by hand before the argmax: exp overflows for large logits (inf / inf = nan)", '''
def multiclass_accuracy(logits, y):
    e = torch.exp(logits)
    probs = e / e.sum(dim=1, keepdim=True)
    return (probs.argmax(dim=1) == y).float().mean().item()
''', ["exp", "nan"]),
    ("a sigmoid before the argmax: large logits all saturate to 1.0 and tie", '''
def multiclass_accuracy(logits, y):
    return (torch.sigmoid(logits).argmax(dim=1) == y).float().mean().item()
''', ["sigmoid", "tie"]),
]
WRONG["ex5_train_val_split"] += [
    ("the count rounded half up (int(x + 0.5)) instead of round()", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    n_val = int(val_frac * len(X) + 0.5)
    return X[order[n_val:]], X[order[:n_val]], y[order[n_val:]], y[order[:n_val]]
''', ["half up", "round"]),
    ("the features flattened to a matrix first (images lose their shape)", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    X = X.reshape(len(X), -1)
    order = torch.randperm(len(X), generator=torch.Generator().manual_seed(seed))
    n_val = round(val_frac * len(X))
    return X[order[n_val:]], X[order[:n_val]], y[order[n_val:]], y[order[:n_val]]
''', ["shape", "reshape"]),
]
RIGHT["ex1_predict_proba"] += [
    ("a stable two-branch formula with torch.where", '''
def predict_proba(logits):
    e = torch.exp(-logits.abs())
    return torch.where(logits >= 0, 1 / (1 + e), e / (1 + e))
'''),
]
RIGHT["ex2_predict_class"] += [
    ("under torch.inference_mode, via the logit of the threshold in float64", '''
import math

def predict_class(logits, threshold=0.5):
    with torch.inference_mode():
        return (logits.double() > math.log(threshold / (1 - threshold))).to(torch.int64).clone()
'''),
]
RIGHT["ex3_binary_classifier"] += [
    ("an nn.ModuleList looped over in forward, float64 inside and cast back", '''
class Classifier(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(2, hidden), nn.Linear(hidden, 1)])

    def forward(self, x):
        h = x.double()
        for i, layer in enumerate(self.layers):
            h = nn.functional.linear(h, layer.weight.double(), layer.bias.double())
            if i == 0:
                h = torch.maximum(h, torch.zeros_like(h))
        return h.to(x.dtype)

def build_binary_classifier(hidden=8):
    return Classifier(hidden)
'''),
]
RIGHT["ex4_multiclass_accuracy"] += [
    ("NumPy argmax and mean under inference_mode", '''
import numpy as np

def multiclass_accuracy(logits, y):
    with torch.inference_mode():
        return float(np.mean(logits.detach().cpu().numpy().argmax(axis=1) == y.cpu().numpy()))
'''),
]
RIGHT["ex5_train_val_split"] += [
    ("a NumPy permutation seeded with seed, torch indexing", '''
import numpy as np

def train_val_split(X, y, val_frac=0.2, seed=0):
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(X)))
    n_val = round(val_frac * len(X))
    return X[order[n_val:]], X[order[:n_val]], y[order[n_val:]], y[order[:n_val]]
'''),
]

# ex6: caught only by the properties against the instructor's solution (generated data, SGD, epochs=0, issue 20)
WRONG["ex6_train_and_evaluate"] += [
    ("gradients clipped to norm 5 (to stabilise training)", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):
        model.train()
        total, count = 0.0, 0
        for X_batch, y_batch in train_loader:
            X_batch, y_batch = X_batch.to(device), y_batch.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(X_batch), y_batch)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            total += loss.item() * len(X_batch)
            count += len(X_batch)
        history["train_loss"].append(total / count)
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for X_batch, y_batch in val_loader:
                X_batch, y_batch = X_batch.to(device), y_batch.to(device)
                total += loss_fn(model(X_batch), y_batch).item() * len(X_batch)
                count += len(X_batch)
        history["val_loss"].append(total / count)
    return history
''', ["train_and_evaluate", "input"]),
    ("a loop that checks its count at the end, so it trains at least one epoch (one for epochs=0)", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    while True:
        model.train()
        total, count = 0.0, 0
        for X_batch, y_batch in train_loader:
            X_batch, y_batch = X_batch.to(device), y_batch.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X_batch)
            count += len(X_batch)
        history["train_loss"].append(total / count)
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for X_batch, y_batch in val_loader:
                X_batch, y_batch = X_batch.to(device), y_batch.to(device)
                total += loss_fn(model(X_batch), y_batch).item() * len(X_batch)
                count += len(X_batch)
        history["val_loss"].append(total / count)
        if len(history["train_loss"]) >= epochs:
            return history
''', ["train_and_evaluate", "epochs = 0"]),
]
RIGHT["ex6_train_and_evaluate"] += [
    ("sums of per-sample losses as tensors, validation of a deep copy under torch.inference_mode", '''
import copy

def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    train_losses, val_losses = [], []
    for _ in range(epochs):
        model.train()
        sums = torch.zeros(2, dtype=torch.float64)
        for X_batch, y_batch in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(X_batch.to(device)), y_batch.to(device))
            loss.backward()
            optimizer.step()
            sums += torch.tensor([loss.item() * X_batch.shape[0], X_batch.shape[0]], dtype=torch.float64)
        train_losses.append(float(sums[0] / sums[1]))
        frozen = copy.deepcopy(model).eval()
        sums = torch.zeros(2, dtype=torch.float64)
        with torch.inference_mode():
            for X_batch, y_batch in val_loader:
                loss = loss_fn(frozen(X_batch.to(device)), y_batch.to(device))
                sums += torch.tensor([loss.item() * X_batch.shape[0], X_batch.shape[0]], dtype=torch.float64)
        val_losses.append(float(sums[0] / sums[1]))
    return {"train_loss": train_losses, "val_loss": val_losses}
'''),
]


# The audit's answers (150 wrong answers and alternative right ones written against all eight topics):
# each WRONG one is rejected with a message that names its cause, each RIGHT one passes.
_AUDIT_WRONG = {
    'ex1_predict_proba': [
        ('(1 + tanh(z)) / 2: tanh of z, not z / 2', '''
def predict_proba(logits):
    return 0.5 * (1 + torch.tanh(logits))
''', ['values are not close to the', 'predict_proba(tensor([[0.], [2.], [-1.]]))']),
        ('sigmoid of the standardised logits', '''
def predict_proba(logits):
    return torch.sigmoid(logits / (logits.abs().max() + 1e-12))
''', ['values are not close to the', 'predict_proba(tensor([[0.], [2.], [-1.]]))']),
        ('1 - sigmoid(-z)', '''
def predict_proba(logits):
    return 1 - torch.sigmoid(-logits)
''', ['1 - sigmoid(-z) loses tiny probabilities', 'torch.sigmoid(logits)']),
    ],
    'ex2_predict_class': [
        ('>= instead of >', '''
def predict_class(logits, threshold=0.5):
    return (torch.sigmoid(logits) >= threshold).long()
''', ['a probability exactly at the threshold went to class 1']),
        ('compares with 1 - threshold', '''
def predict_class(logits, threshold=0.5):
    return (torch.sigmoid(logits) > 1 - threshold).long()
''', ['values differ', 'predict_class(logits, threshold=0.9)']),
        ('samples the class with bernoulli', '''
def predict_class(logits, threshold=0.5):
    return torch.bernoulli(torch.sigmoid(logits)).long()
''', ['values differ', 'predict_class(logits)']),
        ('uint8 classes', '''
def predict_class(logits, threshold=0.5):
    return (torch.sigmoid(logits) > threshold).byte()
''', ['convert the comparison']),
    ],
    'ex3_binary_classifier': [
        ('output flattened to (N,)', '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.Flatten(0))
''', ['one logit per sample']),
        ('an extra dropout layer', '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Dropout(0.5), nn.Linear(hidden, 1))
''', ['the output of build_binary_classifier()', 'values are not close to the']),
        ('no bias in the hidden layer', '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden, bias=False), nn.ReLU(), nn.Linear(hidden, 1))
''', ['some Linear layers have no bias']),
    ],
    'ex4_multiclass_accuracy': [
        ('y as a column: (N,) == (N, 1) broadcasts to (N, N)', '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(dim=1) == y.view(-1, 1)).float().mean().item()
''', ['values are not close to the', 'multiclass_accuracy(logits, y)']),
        ('argmax without dim: a flat index', '''
def multiclass_accuracy(logits, y):
    return (logits.argmax() == y).float().mean().item()
''', ['argmax() without dim', 'argmax(dim=1)']),
        ('rounded to 2 decimals', '''
def multiclass_accuracy(logits, y):
    return round((logits.argmax(dim=1) == y).float().mean().item(), 2)
''', ['values are not close to the', 'multiclass_accuracy on a 3']),
    ],
    'ex5_train_val_split': [
        ('validation from the end with order[-n_val:] (all of it when n_val = 0)', '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(X), generator=g)
    n_val = round(val_frac * len(X))
    val_idx, train_idx = order[-n_val:], order[:-n_val]
    return X[train_idx], X[val_idx], y[train_idx], y[val_idx]
''', ['training and validation parts are swapped']),
        ('off by one: training part starts at n_val + 1', '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(X), generator=g)
    n_val = round(val_frac * len(X))
    return X[order[n_val + 1:]], X[order[:n_val]], y[order[n_val + 1:]], y[order[:n_val]]
''', ['not equal to the expected value', 'the shapes of X_train']),
        ('math.ceil for the validation size', '''
import math
def train_val_split(X, y, val_frac=0.2, seed=0):
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(X), generator=g)
    n_val = math.ceil(val_frac * len(X))
    return X[order[n_val:]], X[order[:n_val]], y[order[n_val:]], y[order[:n_val]]
''', ['training and validation parts are swapped']),
    ],
    'ex6_train_and_evaluate': [
        ('batches never moved to the device', '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):

        model.train()
        total, count = 0.0, 0
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward(); optimizer.step()
            total += loss.item() * len(xb); count += len(xb)
        history["train_loss"].append(total / count)
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for xb, yb in val_loader:
                total += loss_fn(model(xb), yb).item() * len(xb); count += len(xb)
        history["val_loss"].append(total / count)
    return history
''', ['move both parts of every batch']),
        ('validation loss: plain mean of batch losses', '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):

        model.train()
        total, count = 0.0, 0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward(); optimizer.step()
            total += loss.item() * len(xb); count += len(xb)
        history["train_loss"].append(total / count)
        model.eval()
        with torch.no_grad():
            losses = [loss_fn(model(xb.to(device)), yb.to(device)).item() for xb, yb in val_loader]
        history["val_loss"].append(sum(losses) / len(losses))
    return history
''', ['values are not close to the', "history['val_loss'] of train_and_evaluate(...) for"]),
        ('train loss recomputed after the epoch in eval mode', '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):

        model.train()
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        model.eval()
        for name, loader in (("train_loss", train_loader), ("val_loss", val_loader)):
            total, count = 0.0, 0
            with torch.no_grad():
                for xb, yb in loader:
                    xb, yb = xb.to(device), yb.to(device)
                    total += loss_fn(model(xb), yb).item() * len(xb); count += len(xb)
            history[name].append(total / count)
    return history
''', ['values are not close to the', "history['train_loss'] of train_and_evaluate(...) for"]),
        ('zero_grad once per epoch', '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):

        model.train()
        optimizer.zero_grad()
        total, count = 0.0, 0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = loss_fn(model(xb), yb)
            loss.backward(); optimizer.step()
            total += loss.item() * len(xb); count += len(xb)
        history["train_loss"].append(total / count)
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for xb, yb in val_loader:
                xb, yb = xb.to(device), yb.to(device)
                total += loss_fn(model(xb), yb).item() * len(xb); count += len(xb)
        history["val_loss"].append(total / count)
    return history
''', ['values are not close to the', "history['train_loss'] of train_and_evaluate(...) for"]),
    ],
}
_AUDIT_RIGHT = {
    'ex1_predict_proba': [
        ('softmax over [0, z]', '''
def predict_proba(logits):
    both = torch.stack([torch.zeros_like(logits), logits], dim=-1)
    return torch.softmax(both, dim=-1)[..., 1]
'''),
    ],
    'ex2_predict_class': [
        ('torch.where with Python ints', '''
def predict_class(logits, threshold=0.5):
    return torch.where(torch.sigmoid(logits) > threshold, 1, 0)
'''),
        ('gt and to(torch.int64)', '''
def predict_class(logits, threshold=0.5):
    return torch.sigmoid(logits).gt(threshold).to(torch.int64)
'''),
    ],
    'ex3_binary_classifier': [
        ('in-place ReLU, OrderedDict', '''
from collections import OrderedDict
def build_binary_classifier(hidden=8):
    return nn.Sequential(OrderedDict(fc1=nn.Linear(2, hidden), act=nn.ReLU(inplace=True), out=nn.Linear(hidden, 1)))
'''),
        ('a class with two attributes', '''
class _Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.a = nn.Linear(2, hidden)
        self.b = nn.Linear(hidden, 1)
    def forward(self, x):
        return self.b(self.a(x).clamp_min(0))

def build_binary_classifier(hidden=8):
    return _Net(hidden)
'''),
    ],
    'ex4_multiclass_accuracy': [
        ('argmax(-1), sum over len', '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(-1) == y).sum().item() / y.shape[0]
'''),
        ('topk(1)', '''
def multiclass_accuracy(logits, y):
    top = logits.topk(1, dim=1).indices[:, 0]
    return float(top.eq(y).double().mean())
'''),
    ],
    'ex5_train_val_split': [
        ('random_split with a seeded generator, then index', '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    n_val = round(val_frac * len(X))
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(len(X), generator=g)
    val, train = perm[:n_val], perm[n_val:]
    return X.index_select(0, train), X.index_select(0, val), y.index_select(0, train), y.index_select(0, val)
'''),
        ('indices as a list, tensors indexed with it', '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    perm = torch.randperm(X.shape[0], generator=torch.Generator().manual_seed(seed)).tolist()
    k = round(val_frac * X.shape[0])
    tr, va = perm[k:], perm[:k]
    return X[tr], X[va], y[tr], y[va]
'''),
    ],
    'ex6_train_and_evaluate': [
        ('a helper for one pass', '''
def _one_pass(model, loader, loss_fn, device, optimizer=None):
    total, count = 0.0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = loss_fn(model(xb), yb)
        if optimizer is not None:
            optimizer.zero_grad(); loss.backward(); optimizer.step()
        total += loss.item() * xb.shape[0]; count += xb.shape[0]
    return total / count

def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    out = {"train_loss": [], "val_loss": []}
    for _ in range(epochs):
        model.train()
        out["train_loss"].append(_one_pass(model, train_loader, loss_fn, device, optimizer))
        model.eval()
        with torch.no_grad():
            out["val_loss"].append(_one_pass(model, val_loader, loss_fn, device))
    return out
'''),
    ],
}
for _key, _entries in _AUDIT_WRONG.items():
    WRONG.setdefault(_key, []).extend(_entries)
for _key, _entries in _AUDIT_RIGHT.items():
    RIGHT.setdefault(_key, []).extend(_entries)
