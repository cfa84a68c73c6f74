"""Plausible wrong answers (must fail the tests with a message that names the cause) and right answers
written in other styles (must pass) for 05_training_loops.

Keys are the grade_ids of the solution cells. WRONG entries are (description, full cell source, words
the failure message must contain); RIGHT entries are (description, full cell source).
"""

_STEP = '''
def train_step(model, X, y, loss_fn, optimizer):
    {body}
'''

_TRAINER = '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    {train}
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for X_batch, y_batch in loader:
            loss = train_step(model, X_batch, y_batch, loss_fn, optimizer)
            {accumulate}
        {record}
    return history
'''


def _trainer(train="model.train()", accumulate="total += loss * len(X_batch)\n            count += len(X_batch)",
             record="history.append(total / count)"):
    return _TRAINER.format(train=train, accumulate=accumulate, record=record)


_EVAL = '''
def evaluate(model, loader, loss_fn):
    {prepare}
    total, count = 0.0, 0
    {context}
        for X_batch, y_batch in loader:
            loss = loss_fn(model(X_batch), y_batch)
            {accumulate}
    return {result}
'''


def _evaluate(prepare="model.eval()", context="with torch.no_grad():",
              accumulate="total += loss.item() * len(X_batch)\n            count += len(X_batch)", result="total / count"):
    return _EVAL.format(prepare=prepare, context=context, accumulate=accumulate, result=result)


_MODEL3 = '''
# Create model3 (3 inputs, 1 output) and an optimizer for it, then train model3 on loader3 with trainer.
set_seed(0)
{body}
'''

WRONG = {
    "ex1_make_loader": [
        ("ignores shuffle", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size)
''', ["original order", "shuffle"]),
        ("always shuffles", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
''', ["shuffled the samples although shuffle=False"]),
        ("drops the last batch", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, drop_last=True)
''', ["last, smaller batch is missing"]),
        ("ignores batch_size", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=32, shuffle=shuffle)
''', ["(4, 4, 2)", "(10,)", "batch_size"]),
        ("shuffles X and y separately", '''
def make_loader(X, y, batch_size, shuffle=False):
    if shuffle:
        X = X[torch.randperm(len(X))]
        y = y[torch.randperm(len(y))]
    return DataLoader(TensorDataset(X, y), batch_size=batch_size)
''', ["shuffle the pairs together"]),
        ("shuffles once when the loader is built", '''
def make_loader(X, y, batch_size, shuffle=False):
    if shuffle:
        order = torch.randperm(len(X))
        X, y = X[order], y[order]
    return DataLoader(TensorDataset(X, y), batch_size=batch_size)
''', ["same order in every pass", "reshuffles"]),
        ("targets first", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(y, X), batch_size=batch_size, shuffle=shuffle)
''', ["inputs come out second"]),
        ("returns the dataset, not a loader", '''
def make_loader(X, y, batch_size, shuffle=False):
    return TensorDataset(X, y)
''', ["DataLoader", "TensorDataset"]),
        ("class labels as long", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y.long()), batch_size=batch_size, shuffle=shuffle)
''', ["changed the dtypes", "int64", ".long()"]),
        ("both tensors made float32", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X.float(), y.float()), batch_size=batch_size, shuffle=shuffle)
''', ["changed the dtypes", "float64", ".float()"]),
        ("centres X in place", '''
def make_loader(X, y, batch_size, shuffle=False):
    X -= X.mean(dim=0)          # centre the inputs
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle)
''', ["X_f after", "must not change", "in-place"]),
        ("drops the last batch when shuffling", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, drop_last=shuffle)
''', ["last, smaller batch is missing when shuffling"]),
        ("a list of batches, built once", '''
def make_loader(X, y, batch_size, shuffle=False):
    return list(zip(X.split(batch_size), y.split(batch_size)))
''', ["DataLoader", "list"]),
    ],
    "ex2_n_batches": [
        ("always rounds down", '''
def n_batches(n, batch_size, drop_last=False):
    return n // batch_size
''', ["only the full batches were counted"]),
        ("true division: a float", '''
def n_batches(n, batch_size, drop_last=False):
    return n / batch_size if not drop_last else n // batch_size
''', ["int", "float"]),
        ("always rounds up", '''
def n_batches(n, batch_size, drop_last=False):
    return math.ceil(n / batch_size)
''', ["drop_last=True drops it"]),
        ("one extra batch when batch_size divides n", '''
def n_batches(n, batch_size, drop_last=False):
    if drop_last:
        return n // batch_size
    return n // batch_size + 1
''', ["one batch too many"]),
        ("round() instead of rounding up", '''
def n_batches(n, batch_size, drop_last=False):
    if drop_last:
        return n // batch_size
    return round(n / batch_size)
''', ["round()", "probably one of these"]),
        ("numpy's ceil returns a float", '''
import numpy as np

def n_batches(n, batch_size, drop_last=False):
    return n // batch_size if drop_last else np.ceil(n / batch_size)
''', ["int", "float"]),
        ("drop_last logic reversed", '''
def n_batches(n, batch_size, drop_last=False):
    return math.ceil(n / batch_size) if drop_last else n // batch_size
''', ["only the full batches"]),
        ("at least one batch", '''
def n_batches(n, batch_size, drop_last=False):
    if drop_last:
        return max(1, n // batch_size)    # at least one batch
    return math.ceil(n / batch_size)
''', ["no lower limit of 1", "n_batches(10, 32, drop_last=True)"]),
        ("rounds n / batch_size + 0.5", '''
def n_batches(n, batch_size, drop_last=False):
    if drop_last:
        return n // batch_size
    return round(n / batch_size + 0.5)
''', ["one batch too many", "n_batches(1, 1"]),
        ("returns 1 early when everything fits in one batch", '''
def n_batches(n, batch_size, drop_last=False):
    if n <= batch_size:
        return 1                          # everything fits in one batch
    return n // batch_size if drop_last else math.ceil(n / batch_size)
''', ["drop_last=True drops the only smaller one", "0 batches"]),
        ("int() of the division plus one", '''
def n_batches(n, batch_size, drop_last=False):
    if drop_last:
        return int(n / batch_size)
    return int(n / batch_size) + 1
''', ["one batch too many"]),
    ],
    "ex3_train_step": [
        ("forgets zero_grad", _STEP.format(body='''output = model(X)
    loss = loss_fn(output, y)
    loss.backward()
    optimizer.step()
    return loss.item()'''), ["add up", "zero_grad"]),
        ("zero_grad between backward and step", _STEP.format(body='''loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()'''), ["did not change", "no zero_grad() between them"]),
        ("returns the loss tensor", _STEP.format(body='''optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return loss'''), ["Python float", "loss.item()"]),
        ("returns the loss after the step", _STEP.format(body='''optimizer.zero_grad()
    loss_fn(model(X), y).backward()
    optimizer.step()
    with torch.no_grad():
        return loss_fn(model(X), y).item()'''), ["loss after the update"]),
        ("step before backward", _STEP.format(body='''optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    optimizer.step()
    loss.backward()
    return loss.item()'''), ["did not change"]),
        ("loss arguments swapped", _STEP.format(body='''optimizer.zero_grad()
    loss = loss_fn(y, model(X))
    loss.backward()
    optimizer.step()
    return loss.item()'''), ["swapped"]),
        ("forgets optimizer.step()", _STEP.format(body='''optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    return loss.item()'''), ["did not change", "optimizer.step()"]),
        ("backward on the float", _STEP.format(body='''optimizer.zero_grad()
    loss = loss_fn(model(X), y).item()
    loss.backward()
    optimizer.step()
    return loss'''), [".item()", "backward()"]),
        ("clamps the weights after the step", _STEP.format(body='''optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    for p in model.parameters():
        p.data.clamp_(-1, 1)       # keep the weights small
    return loss.item()'''), ["clamped to [-1, 1]", "weights 3.0 and -2.5"]),
        ("a sigmoid on the output before the loss", _STEP.format(body='''optimizer.zero_grad()
    loss = loss_fn(torch.sigmoid(model(X)), y)
    loss.backward()
    optimizer.step()
    return loss.item()'''), ["sigmoid was applied", "model(X) itself"]),
        ("the prediction squeezed", _STEP.format(body='''optimizer.zero_grad()
    loss = loss_fn(model(X).squeeze(), y)
    loss.backward()
    optimizer.step()
    return loss.item()'''), ["squeezed", "broadcast"]),
        ("zero_grad at the end instead of the start", _STEP.format(body='''loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()'''), ["zero_grad()", "at the start"]),
    ],
    "ex4_trainer": [
        ("plain mean of the batch losses", _trainer(accumulate="total += loss\n            count += 1"),
         ["plain mean of the batch losses", "weight"]),
        ("records only the last batch", _trainer(accumulate="total, count = loss, 1"), ["last batch only"]),
        ("forgets model.train()", _trainer(train="pass"), ["training mode", "model.train()"]),
        ("model.train() at the end", _trainer(train="pass", record="history.append(total / count)\n        model.train()"),
         ["training mode"]),
        ("one entry per batch", _trainer(accumulate="history.append(loss)", record="pass"), ["one entry per batch"]),
        ("sum instead of mean", _trainer(record="history.append(total)"), ["divide by the number of samples"]),
        ("changes the loss function's reduction", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    loss_fn.reduction = "sum"
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for X_batch, y_batch in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(X_batch), y_batch) / len(X_batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X_batch)
            count += len(X_batch)
        history.append(total / count)
    return history
''', ["reduction", "do not change the loss function"]),
        ("stores tensors in the history", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for X_batch, y_batch in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            total = total + loss.detach() * len(X_batch)
            count += len(X_batch)
        history.append(total / count)
    return history
''', ["Python floats", "Tensor"]),
        ("never zeroes the gradients", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for X_batch, y_batch in loader:
            loss = loss_fn(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(X_batch)
            count += len(X_batch)
        history.append(total / count)
    return history
''', ["gradients add up"]),
        ("model.training = True instead of model.train()", _trainer(train="model.training = True"),
         ["outer module's flag", "model.train()"]),
        ("model.train without the call", _trainer(train="model.train"), ["training mode", "model.train()"]),
        ("stops when the epoch's loss goes up", _trainer(
            record="history.append(total / count)\n        if len(history) > 1 and history[-1] > history[-2]:\n            break"),
         ["training stopped after", "no early stopping", "diverging"]),
        ("its own loop, zero_grad after the step", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for X_batch, y_batch in loader:
            loss = loss_fn(model(X_batch), y_batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item() * len(X_batch)
            count += len(X_batch)
        history.append(total / count)
    return history
''', ["already in p.grad", "not after the step"]),
        ("switches gradients off globally", _trainer(record="history.append(total / count)\n        torch.set_grad_enabled(False)"),
         ["gradients were switched off", "torch.no_grad()"]),
    ],
    "ex5_evaluate": [
        ("forgets model.eval()", _evaluate(prepare="pass"), ["training mode", "model.eval()"]),
        ("forgets torch.no_grad()", _evaluate(context="if True:"), ["gradient tracking", "torch.no_grad()"]),
        ("plain mean of the batch losses", _evaluate(accumulate="total += loss.item()\n            count += 1"),
         ["plain mean of the batch losses"]),
        ("returns a tensor", _evaluate(accumulate="total += loss * len(X_batch)\n            count += len(X_batch)"),
         ["Python float"]),
        ("switches gradients off globally", _evaluate(context="torch.set_grad_enabled(False)\n    if True:"),
         ["gradients switched off", "torch.no_grad()"]),
        ("sum of loss times batch size", _evaluate(result="total"), ["divide by the number of samples"]),
        ("changes loss_fn.reduction to sum", _evaluate(
            prepare="model.eval()\n    loss_fn.reduction = 'sum'",
            accumulate="total += loss.item()\n            count += len(X_batch)"), ["reduction", "do not change"]),
        ("computes gradients with backward()", _evaluate(context="if True:", accumulate="loss.backward()\n            total += loss.item() * len(X_batch)\n            count += len(X_batch)"),
         ["gradient tracking"]),
        ("model.training = False instead of model.eval()", _evaluate(prepare="model.training = False"),
         ["outer module's flag", "model.eval()"]),
        ("model.eval without the call", _evaluate(prepare="model.eval"), ["training mode", "model.eval()"]),
        ("returns inside the loop", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for X_batch, y_batch in loader:
            loss = loss_fn(model(X_batch), y_batch)
            total += loss.item() * len(X_batch)
            count += len(X_batch)
            return total / count
''', ["first batch's loss only", "inside the loop"]),
        ("only the last batch", _evaluate(accumulate="total, count = loss.item(), 1"), ["last batch"]),
    ],
    "ex6_model3": [
        ("never trained: the optimizer holds another model's parameters", _MODEL3.format(body='''model3 = nn.Linear(3, 1).to(device)
other = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(other.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=100)'''), ["never changed"]),
        ("float64 data from NumPy", _MODEL3.format(body='''model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
loader64 = make_loader(torch.from_numpy(X3_np), torch.from_numpy(y3_np).reshape(-1, 1), 50, shuffle=True)
history3 = trainer(model3, loader64, loss_fn, optimizer3, epochs=100)'''), ["float64", ".float()"]),
        ("far too few epochs", _MODEL3.format(body='''model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.001)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=2)'''), ["far from the best fit", "probably"]),
        ("learning rate so large that training diverges", _MODEL3.format(body='''model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=5.0)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=5)'''), ["NaN", "smaller learning rate"]),
        ("the class instead of a model", _MODEL3.format(body='''model3 = nn.Linear'''), ["nn.Module", "class"]),
        ("three outputs", _MODEL3.format(body='''model3 = nn.Linear(3, 3).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, nn.MSELoss(), optimizer3, epochs=1)'''), ["(500, 1)", "(500, 3)"]),
        ("CrossEntropyLoss on one output: its gradient is zero", _MODEL3.format(body='''model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, nn.CrossEntropyLoss(), optimizer3, epochs=100)'''), ["never changed"]),
        ("in and out features swapped: training stops with an error", _MODEL3.format(body='''model3 = nn.Linear(1, 3).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=100)'''), ["the cell stopped with an error", "in_features"]),
        ("created but not trained", _MODEL3.format(body='''model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)'''), ["never changed"]),
        ("scikit-learn's coefficients copied instead of training", _MODEL3.format(body='''model3 = nn.Linear(3, 1).to(device)
with torch.no_grad():
    model3.weight.copy_(torch.tensor(sk3.coef_, dtype=torch.float32).reshape(1, 3))
    model3.bias.fill_(float(sk3.intercept_))'''), ["history3", "not defined"]),
        ("a Tanh at the end", _MODEL3.format(body='''model3 = nn.Sequential(nn.Linear(3, 1), nn.Tanh()).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=100)'''), ["contains Tanh", "ends in nn.Linear"]),
        ("stops once the loss is below 150", _MODEL3.format(body='''model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = []
for epoch in range(100):
    history3 += trainer(model3, loader3, loss_fn, optimizer3, epochs=1)
    if history3[-1] < 150:      # good enough
        break'''), ["far from the best fit"]),
        ("a misspelled name: model3 never defined", _MODEL3.format(body='''model_3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model_3.parameters(), lr=0.01)
history3 = trainer(model_3, loader3, loss_fn, optimizer3, epochs=100)'''), ["model3", "not defined"]),
    ],
}

RIGHT = {
    "ex1_make_loader": [
        ("keyword arguments and a named dataset", '''
def make_loader(X, y, batch_size, shuffle=False):
    dataset = TensorDataset(X, y)
    return DataLoader(dataset=dataset, batch_size=batch_size, shuffle=shuffle, drop_last=False)
'''),
        ("a RandomSampler when shuffling", '''
from torch.utils.data import RandomSampler, SequentialSampler

def make_loader(X, y, batch_size, shuffle=False):
    data = TensorDataset(X, y)
    sampler = RandomSampler(data) if shuffle else SequentialSampler(data)
    return DataLoader(data, batch_size=batch_size, sampler=sampler)
'''),
        ("bool() of shuffle and a print", '''
def make_loader(X, y, batch_size, shuffle=False):
    loader = DataLoader(TensorDataset(X, y), batch_size, shuffle=bool(shuffle))
    print(f"{len(loader)} batches of up to {batch_size}")
    return loader
'''),
        ("a BatchSampler as the sampler, batch_size=None", '''
from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler

def make_loader(X, y, batch_size, shuffle=False):
    data = TensorDataset(X, y)
    order = RandomSampler(data) if shuffle else SequentialSampler(data)
    return DataLoader(data, sampler=BatchSampler(order, batch_size, drop_last=False), batch_size=None)
'''),
        ("a Dataset subclass of its own", '''
from torch.utils.data import Dataset

class Pairs(Dataset):
    def __init__(self, X, y):
        self.X, self.y = X, y
    def __len__(self):
        return len(self.X)
    def __getitem__(self, i):
        return self.X[i], self.y[i]

def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(Pairs(X, y), batch_size=batch_size, shuffle=shuffle)
'''),
    ],
    "ex2_n_batches": [
        ("negative floor division", '''
def n_batches(n, batch_size, drop_last=False):
    return n // batch_size if drop_last else -(-n // batch_size)
'''),
        ("divmod", '''
def n_batches(n, batch_size, drop_last=False):
    full, rest = divmod(n, batch_size)
    return full + (1 if rest and not drop_last else 0)
'''),
        ("(n + b - 1) // b", '''
def n_batches(n, batch_size, drop_last=False):
    if drop_last:
        return int(n // batch_size)
    return (n + batch_size - 1) // batch_size
'''),
        ("counts a DataLoader's batches", '''
def n_batches(n, batch_size, drop_last=False):
    return len(DataLoader(range(n), batch_size=batch_size, drop_last=drop_last))
'''),
        ("len of a range, and a bool added", '''
def n_batches(n, batch_size, drop_last=False):
    if drop_last:
        return n // batch_size + (n < 0)
    return len(range(0, n, batch_size))
'''),
    ],
    "ex3_train_step": [
        ("zero_grad(set_to_none=False) and named output", '''
def train_step(model, X, y, loss_fn, optimizer):
    optimizer.zero_grad(set_to_none=False)
    prediction = model(X)
    loss = loss_fn(prediction, y)
    loss.backward()
    optimizer.step()
    return float(loss)
'''),
        ("model.zero_grad() and the value recorded before the step", '''
def train_step(model, X, y, loss_fn, optimizer):
    model.zero_grad()
    loss = loss_fn(model(X), y)
    value = loss.item()
    loss.backward()
    optimizer.step()
    return value
'''),
        ("parameters' grads set to None by hand", '''
def train_step(model, X, y, loss_fn, optimizer):
    for p in model.parameters():
        p.grad = None
    loss = loss_fn(input=model(X), target=y)
    loss.backward()
    optimizer.step()
    return loss.detach().item()
'''),
        ("a closure passed to optimizer.step", '''
def train_step(model, X, y, loss_fn, optimizer):
    def closure():
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        return loss
    return optimizer.step(closure).item()
'''),
        ("the value read under inference_mode", '''
def train_step(model, X, y, loss_fn, optimizer):
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(X), y)
    with torch.inference_mode():
        value = float(loss.detach().cpu())
    loss.backward()
    optimizer.step()
    return value
'''),
    ],
    "ex4_trainer": [
        ("the loop written out, batch size from the targets", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    history = []
    for _ in range(epochs):
        weighted, seen = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            weighted += loss.item() * yb.shape[0]
            seen += yb.shape[0]
        history.append(weighted / seen)
    return history
'''),
        ("lists of losses and sizes", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    history = []
    for epoch in range(epochs):
        model.train()
        losses, sizes = [], []
        for X_batch, y_batch in loader:
            losses.append(train_step(model, X_batch, y_batch, loss_fn, optimizer))
            sizes.append(len(X_batch))
        history.append(sum(l * s for l, s in zip(losses, sizes)) / sum(sizes))
    return history
'''),
        ("divides by len(loader.dataset)", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    history = []
    for epoch in range(epochs):
        total = 0.0
        for X_batch, y_batch in loader:
            total += train_step(model, X_batch, y_batch, loss_fn, optimizer) * len(X_batch)
        history.append(total / len(loader.dataset))
    return history
'''),
        ("every module switched by hand, the sum kept as a tensor", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    for module in model.modules():
        module.training = True
    history = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total = total + loss.detach() * len(xb)
            count += len(xb)
        history.append((total / count).item())
    return history
'''),
        ("model.train(mode=True) and a list of (loss, size) pairs", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train(mode=True)
    history = []
    for _ in range(epochs):
        pairs = [(train_step(model, xb, yb, loss_fn, optimizer), len(xb)) for xb, yb in loader]
        history.append(sum(l * n for l, n in pairs) / sum(n for _, n in pairs))
    return history
'''),
    ],
    "ex5_evaluate": [
        ("torch.inference_mode and len(loader.dataset)", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for X_batch, y_batch in loader:
            total += loss_fn(model(X_batch), y_batch).item() * X_batch.shape[0]
    return total / len(loader.dataset)
'''),
        ("the decorator form of no_grad", '''
@torch.no_grad()
def evaluate(model, loader, loss_fn):
    model.train(False)
    sums, n = 0.0, 0
    for xb, yb in loader:
        sums += float(loss_fn(model(xb), yb)) * len(yb)
        n += len(yb)
    return sums / n
'''),
        ("one forward pass over all batches concatenated", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    with torch.no_grad():
        outputs, targets = zip(*[(model(xb), yb) for xb, yb in loader])
        return loss_fn(torch.cat(outputs), torch.cat(targets)).item()
'''),
        ("a deep copy evaluated", '''
import copy

def evaluate(model, loader, loss_fn):
    frozen = copy.deepcopy(model).eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for X_batch, y_batch in loader:
            total += loss_fn(frozen(X_batch), y_batch).item() * len(X_batch)
            count += len(X_batch)
    return total / count
'''),
        ("the mode restored afterwards", '''
def evaluate(model, loader, loss_fn):
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            losses = [(loss_fn(model(xb), yb).item(), len(xb)) for xb, yb in loader]
    finally:
        model.train(was_training)
    return sum(l * n for l, n in losses) / sum(n for _, n in losses)
'''),
    ],
    "ex6_model3": [
        ("four calls of trainer, 25 epochs each", _MODEL3.format(body='''model3 = nn.Linear(3, 1)
model3 = model3.to(device)
opt3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = []
for round_ in range(4):
    history3 += trainer(model3, loader3, loss_fn, opt3, 25)
    print(f"round {round_}: last loss {history3[-1]:.1f}")''')),
        ("SGD with momentum and a fresh loss", _MODEL3.format(body='''model3 = nn.Sequential(nn.Linear(3, 1)).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.005, momentum=0.9)
history3 = trainer(model3, loader3, nn.MSELoss(), optimizer3, epochs=80)''')),
        ("a smaller learning rate for longer", _MODEL3.format(body='''model3 = nn.Linear(in_features=3, out_features=1).to(device)
opt = torch.optim.SGD(model3.parameters(), lr=0.02)
history3 = trainer(model3, loader3, loss_fn, opt, 100)
print("final loss:", round(history3[-1], 1))''')),
        ("an nn.Module subclass of its own", _MODEL3.format(body='''class Linear3(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 1)
    def forward(self, x):
        return self.fc(x)

model3 = Linear3().to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=100)''')),
        ("the functional loss F.mse_loss", _MODEL3.format(body='''import torch.nn.functional as F

model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, F.mse_loss, optimizer3, epochs=100)''')),
    ],
}

# issue 20, helper props2: mistakes that only the checks against the instructor's solution on generated inputs
# catch (each message comes from check_against_reference), and right answers in further styles
WRONG["ex1_make_loader"] += [
    ("targets converted with .float() (int64 class indices become float32)", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y.float()), batch_size=batch_size, shuffle=shuffle)
''', ["converted to float32", "generated input"]),
    ("targets reshaped to a column (N, 1)", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y.reshape(-1, 1)), batch_size=batch_size, shuffle=shuffle)
''', ["reshaped to (N, 1)", "generated input"]),
]
RIGHT["ex1_make_loader"] += [
    ("a DataLoader over a list of (x, y) pairs", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(list(zip(X, y)), batch_size=batch_size, shuffle=shuffle)
'''),
]
WRONG["ex3_train_step"] += [
    ("the loss clamped at 100 (against exploding losses)", _STEP.format(body='''optimizer.zero_grad()
    loss = loss_fn(model(X), y).clamp(max=100.0)
    loss.backward()
    optimizer.step()
    return loss.item()'''), ["values are not close", "generated input"]),
    ("skips the update when the loss is below 1e-4 (converged)", _STEP.format(body='''optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    if loss.item() >= 1e-4:
        loss.backward()
        optimizer.step()
    return loss.item()'''), ["values are not close", "fit = the Python bool True"]),
]
RIGHT["ex3_train_step"] += [
    ("gradients set to None by hand, float(loss)", _STEP.format(body='''for p in model.parameters():
        p.grad = None
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return float(loss)''')),
]
WRONG["ex4_trainer"] += [
    ("stops once an epoch's loss is below 1e-8 (converged)", _trainer(record="history.append(total / count)\n"
                                                                       "        if total / count < 1e-8:\n"
                                                                       "            break"),
     ["shape", "fit = the Python bool True"]),
    ("at least one epoch, even for epochs=0", _trainer().replace("range(epochs)", "range(max(epochs, 1))"),
     ["an epoch was run", "epochs = 0"]),
]
RIGHT["ex4_trainer"] += [
    ("a list comprehension of batch losses per epoch, weighted with the dataset's length", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    history = []
    for _ in range(epochs):
        parts = [train_step(model, xb, yb, loss_fn, optimizer) * xb.shape[0] for xb, yb in loader]
        history.append(sum(parts) / len(loader.dataset))
    return history
'''),
]
WRONG["ex5_evaluate"] += [
    ("accumulates the weighted losses in a float32 tensor", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    total, count = torch.zeros(()), 0
    with torch.no_grad():
        for X_batch, y_batch in loader:
            total += loss_fn(model(X_batch), y_batch) * len(X_batch)
            count += len(X_batch)
    return total.item() / count
''', ["values are not close", "float64", "generated input"]),
    ("the weighted sum over batches, rounded to float32 at the end", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for X_batch, y_batch in loader:
            total += loss_fn(model(X_batch), y_batch).item() * len(X_batch)
            count += len(X_batch)
    return float(torch.tensor(total / count))
''', ["values are not close", "float64", "generated input"]),
]
RIGHT["ex5_evaluate"] += [
    ("the loss over the whole dataset at once (the mean of a mean-reduced loss)", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    with torch.no_grad():
        X, y = loader.dataset.tensors
        return loss_fn(model(X), y).item()
'''),
]
WRONG["ex2_n_batches"] += [
    ("rounds up in float32 (torch.ceil of a float32 tensor)", '''
def n_batches(n, batch_size, drop_last=False):
    if drop_last:
        return n // batch_size
    return int(torch.ceil(torch.tensor(n / batch_size)))
''', ["rounded in float32", "generated input"]),
    ("the count as a NumPy int32 (overflows beyond 2**31 batches)", '''
import numpy as np

def n_batches(n, batch_size, drop_last=False):
    count = np.int32(n // batch_size) if drop_last else np.int32(-(-n // batch_size))
    return int(count)
''', ["OverflowError", "int32", "generated input"]),
]
RIGHT["ex2_n_batches"] += [
    ("the length of a range of batch starts", '''
def n_batches(n, batch_size, drop_last=False):
    return len(range(0, n - batch_size + 1 if drop_last else n, batch_size))
'''),
]

# issue 20, helper spec: ex6 against the least-squares fit on generated batches of 1 to 6 inputs, over the whole box
# the training inputs fill: predictions narrowed to a range pass at the training points and fail there
WRONG["ex6_model3"] += [
    ("predictions clipped to the training targets' range (nn.Hardtanh)", _MODEL3.format(body='''model3 = nn.Sequential(nn.Linear(3, 1), nn.Hardtanh(float(y3.min()), float(y3.max()))).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=100)'''), ["model3(X)", "least-squares", "clipped to the training targets' range"]),
    ("a custom module that clamps its predictions to +-200", _MODEL3.format(body='''class Clipped(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, x):
        return torch.clamp(self.linear(x), -200.0, 200.0)

model3 = Clipped().to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=100)'''), ["model3(X)", "least-squares", "clamped to [-200, 200]"]),
    ("functional hardtanh on the outputs, range taken from the data", _MODEL3.format(body='''low, high = y3.min().item(), y3.max().item()

class Bounded(nn.Linear):
    def forward(self, x):
        return torch.nn.functional.hardtanh(super().forward(x), low, high)

model3 = Bounded(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=100)'''), ["model3(X)", "least-squares", "clipped to the training targets' range"]),
]
RIGHT["ex6_model3"] += [
    ("zero initial weights, nn.init, in an nn.Sequential", _MODEL3.format(body='''model3 = nn.Sequential(nn.Linear(3, 1)).to(device)
nn.init.zeros_(model3[0].weight)
nn.init.zeros_(model3[0].bias)
history3 = trainer(model3, loader3, loss_fn, torch.optim.SGD(model3.parameters(), lr=0.01), epochs=100)''')),
    ("a hand-made linear module with einsum", _MODEL3.format(body='''class Affine(nn.Module):
    def __init__(self, n_in):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1, n_in))
        self.b = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.einsum("nd,od->no", x, self.w) + self.b

model3 = Affine(3).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=100)''')),
]


# The audit's answers (150 wrong answers and alternative right ones written against all eight topics):
# each WRONG one is rejected with a message that names its cause, each RIGHT one passes.
_AUDIT_WRONG = {
    'ex1_make_loader': [
        ('a permutation list as the sampler, drawn once', '''
def make_loader(X, y, batch_size, shuffle=False):
    order = torch.randperm(len(X)).tolist() if shuffle else None
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, sampler=order)
''', ['a DataLoader with shuffle=True reshuffles at each pass']),
        ('batch_size and shuffle passed in the wrong positions', '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), shuffle, batch_size)
''', ['your code raised an error', 'make_loader(X_a, y_a, batch_size=4)']),
        ('collate_fn that returns a list of pairs', '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, collate_fn=lambda batch: batch)
''', ['build the loader over TensorDataset']),
    ],
    'ex2_n_batches': [
        ('(n + batch_size) // batch_size', '''
def n_batches(n, batch_size, drop_last=False):
    if drop_last:
        return n // batch_size
    return (n + batch_size) // batch_size
''', ['one batch too many when batch_size divides n']),
        ('round(n / b + 0.49)', '''
def n_batches(n, batch_size, drop_last=False):
    if drop_last:
        return n // batch_size
    return round(n / batch_size + 0.49)
''', ['only the full batches were counted']),
    ],
    'ex3_train_step': [
        ('forward pass under no_grad', '''
def train_step(model, X, y, loss_fn, optimizer):
    optimizer.zero_grad()
    with torch.no_grad():
        output = model(X)
    loss = loss_fn(output, y)
    loss.backward()
    optimizer.step()
    return loss.item()
''', ['the graph was cut']),
        ('model.eval() for a deterministic loss', '''
def train_step(model, X, y, loss_fn, optimizer):
    model.eval()
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()
''', ['evaluation mode', 'do not call model.eval() in train_step']),
        ('loss scaled by the batch size for backward', '''
def train_step(model, X, y, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    (loss * len(X)).backward()
    optimizer.step()
    return loss.item()
''', ['values are not close to the', "parameter 'weight' after train_step"]),
        ('optimizer.step() twice', '''
def train_step(model, X, y, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    optimizer.step()
    return loss.item()
''', ['values are not close to the', "parameter 'weight' after train_step"]),
    ],
    'ex4_trainer': [
        ('weights each batch by loader.batch_size', '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    history = []
    for _ in range(epochs):
        total = 0.0
        for X_batch, y_batch in loader:
            total += train_step(model, X_batch, y_batch, loss_fn, optimizer) * loader.batch_size
        history.append(total / len(loader.dataset))
    return history
''', ['values are not close to the', 'the per-epoch mean losses']),
        ('ignores the optimizer argument: a new SGD', '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    history = []
    for _ in range(epochs):
        total, count = 0.0, 0
        for X_batch, y_batch in loader:
            total += train_step(model, X_batch, y_batch, loss_fn, opt) * len(X_batch)
            count += len(X_batch)
        history.append(total / count)
    return history
''', ['values are not close to the', 'the per-epoch mean losses']),
        ('range(1, epochs): one epoch short', '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    history = []
    for _ in range(1, epochs):
        total, count = 0.0, 0
        for X_batch, y_batch in loader:
            total += train_step(model, X_batch, y_batch, loss_fn, optimizer) * len(X_batch)
            count += len(X_batch)
        history.append(total / count)
    return history
''', ['append one mean loss per epoch']),
    ],
    'ex5_evaluate': [
        ('loss arguments swapped', '''
def evaluate(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for X_batch, y_batch in loader:
            total += loss_fn(y_batch, model(X_batch)).item() * len(X_batch)
            count += len(X_batch)
    return total / count
''', ['values are not close to the', 'evaluate(...) on 9 samples']),
        ('weights by loader.batch_size', '''
def evaluate(model, loader, loss_fn):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for X_batch, y_batch in loader:
            total += loss_fn(model(X_batch), y_batch).item() * loader.batch_size
    return total / len(loader.dataset)
''', ['values are not close to the', 'evaluate(...) on 10 samples']),
        ('rounded to 4 decimals', '''
def evaluate(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for X_batch, y_batch in loader:
            total += loss_fn(model(X_batch), y_batch).item() * len(X_batch)
            count += len(X_batch)
    return round(total / count, 4)
''', ['the values agree to about 7 digits']),
        ('torch.no_grad without parentheses', '''
def evaluate(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad:
        for X_batch, y_batch in loader:
            total += loss_fn(model(X_batch), y_batch).item() * len(X_batch)
            count += len(X_batch)
    return total / count
''', ['your code raised an error', 'evaluate(...) on 10 samples']),
    ],
    'ex6_model3': [
        ('history3 overwritten by a second trainer call', '''
set_seed(0)
model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=50)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=50)
''', ['first epochs are missing', 'history3 +=']),
        ('no bias (make_regression has no intercept)', '''
set_seed(0)
model3 = nn.Linear(3, 1, bias=False).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=100)
''', ['wrong number of trainable parameters', 'no bias=False']),
        ('a summed MSE loss with the same learning rate', '''
set_seed(0)
model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, nn.MSELoss(reduction="sum"), optimizer3, epochs=100)
''', ['model3 is still far from the best fit']),
    ],
}
_AUDIT_RIGHT = {
    'ex1_make_loader': [
        ('positional arguments', '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size, shuffle)
'''),
        ('explicit samplers', '''
from torch.utils.data import RandomSampler, SequentialSampler
def make_loader(X, y, batch_size, shuffle=False):
    ds = TensorDataset(X, y)
    sampler = RandomSampler(ds) if shuffle else SequentialSampler(ds)
    return DataLoader(ds, batch_size=batch_size, sampler=sampler, drop_last=False)
'''),
    ],
    'ex2_n_batches': [
        ('(n - 1) // b + 1', '''
def n_batches(n, batch_size, drop_last=False):
    return n // batch_size if drop_last else (n - 1) // batch_size + 1
'''),
        ('floor plus a bool for the remainder', '''
def n_batches(n, batch_size, drop_last=False):
    full, rest = n // batch_size, n % batch_size
    return int(full + (rest > 0 and not drop_last))
'''),
    ],
    'ex3_train_step': [
        ('zero_grad after the forward pass, before backward', '''
def train_step(model, X, y, loss_fn, optimizer):
    loss = loss_fn(model(X), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()
'''),
        ('value recorded first, float()', '''
def train_step(model, X, y, loss_fn, optimizer):
    for p in model.parameters():
        p.grad = None
    loss = loss_fn(model(X), y)
    value = float(loss.detach())
    loss.backward()
    optimizer.step()
    return value
'''),
    ],
    'ex4_trainer': [
        ('accumulates tensors, converts per epoch', '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train()
    out = []
    for epoch in range(epochs):
        s = torch.zeros((), dtype=torch.float64)
        n = 0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            s += loss.detach().double().cpu() * xb.shape[0]
            n += xb.shape[0]
        out.append((s / n).item())
    return out
'''),
        ('while loop over epochs', '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    model.train(True)
    history, epoch = [], 0
    while epoch < epochs:
        pairs = [(train_step(model, xb, yb, loss_fn, optimizer), len(xb)) for xb, yb in loader]
        history.append(sum(l * n for l, n in pairs) / sum(n for _, n in pairs))
        epoch += 1
    return history
'''),
    ],
    'ex5_evaluate': [
        ('set_grad_enabled as a context manager', '''
def evaluate(model, loader, loss_fn):
    model.eval()
    losses, sizes = [], []
    with torch.set_grad_enabled(False):
        for xb, yb in loader:
            losses.append(loss_fn(model(xb), yb).item())
            sizes.append(len(yb))
    return sum(l * s for l, s in zip(losses, sizes)) / sum(sizes)
'''),
        ('model(X) collected, loss per batch, mode restored', '''
def evaluate(model, loader, loss_fn):
    was_training = model.training
    model.train(False)
    total, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in loader:
            pred = model(xb)
            total += float(loss_fn(pred, yb)) * xb.size(0)
            count += xb.size(0)
    model.train(was_training)
    return total / count
'''),
    ],
    'ex6_model3': [
        ('nn.Sequential, two trainer calls, histories joined', '''
set_seed(0)
model3 = nn.Sequential(nn.Linear(3, 1)).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=60)
history3 += trainer(model3, loader3, loss_fn, optimizer3, epochs=40)
'''),
        ('keyword arguments and a fresh MSELoss', '''
set_seed(0)
model3 = nn.Linear(in_features=3, out_features=1, device=device)
optimizer3 = torch.optim.SGD(params=model3.parameters(), lr=0.01)
history3 = trainer(model3, loader3, nn.MSELoss(), optimizer3, 120)
'''),
    ],
}
for _key, _entries in _AUDIT_WRONG.items():
    WRONG.setdefault(_key, []).extend(_entries)
for _key, _entries in _AUDIT_RIGHT.items():
    RIGHT.setdefault(_key, []).extend(_entries)
