"""Wrong and alternative-right answers for 07_classification (see tests/test_exercises.py)."""

WRONG = {
    "ex1_predict_proba": [
        ("softmax over the single output column: every value becomes 1", '''
def predict_proba(logits):
    return torch.softmax(logits, dim=-1)
'''),
        ("hard-coded to the visible test", '''
def predict_proba(logits):
    return torch.tensor([[0.5], [0.8808], [0.2689]])
'''),
        ("exp(z) / (1 + exp(z)) overflows to nan for large logits", '''
def predict_proba(logits):
    return torch.exp(logits) / (1 + torch.exp(logits))
'''),
        ("returns the logits unchanged", '''
def predict_proba(logits):
    return logits
'''),
    ],
    "ex2_predict_class": [
        ("threshold 0.5 applied to the logits instead of the probabilities", '''
def predict_class(logits, threshold=0.5):
    return (logits > threshold).long()
'''),
        ("sigmoid applied twice: every probability ends up above 0.5", '''
def predict_class(logits, threshold=0.5):
    return (torch.sigmoid(predict_proba(logits)) > threshold).long()
'''),
        ("ignores the threshold argument", '''
def predict_class(logits, threshold=0.5):
    return (logits > 0).long()
'''),
        ("returns booleans instead of int64 classes", '''
def predict_class(logits, threshold=0.5):
    return torch.sigmoid(logits) > threshold
'''),
        ("hard-coded to the visible tests", '''
def predict_class(logits, threshold=0.5):
    if threshold == 0.5:
        return torch.tensor([[1], [0], [1], [0]])
    return torch.tensor([[0], [0], [1], [0]])
'''),
    ],
    "ex3_binary_classifier": [
        ("ends in a Sigmoid although BCEWithLogitsLoss applies it", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.Sigmoid())
'''),
        ("ignores the hidden argument", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
'''),
        ("two outputs (one per class) instead of one logit", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.ReLU(), nn.Linear(hidden, 2))
'''),
        ("no activation: a linear model", '''
def build_binary_classifier(hidden=8):
    return nn.Sequential(nn.Linear(2, hidden), nn.Linear(hidden, 1))
'''),
    ],
    "ex4_multiclass_accuracy": [
        ("argmax over dim 0 (the samples) instead of dim 1 (the classes)", '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(dim=0) == y).float().mean().item()
'''),
        ("returns the number of correct predictions, not the fraction", '''
def multiclass_accuracy(logits, y):
    return float((logits.argmax(dim=1) == y).sum().item())
'''),
        ("returns a tensor, not a Python float", '''
def multiclass_accuracy(logits, y):
    return (logits.argmax(dim=1) == y).float().mean()
'''),
        ("hard-coded to the visible test", '''
def multiclass_accuracy(logits, y):
    return 0.75
'''),
    ],
    "ex5_train_val_split": [
        ("no shuffling: the last rows become the validation set", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    n_val = round(val_frac * len(X))
    return X[:-n_val], X[-n_val:], y[:-n_val], y[-n_val:]
'''),
        ("X and y shuffled with different permutations: rows lose their targets", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    order_X = torch.randperm(len(X), generator=generator)
    order_y = torch.randperm(len(X), generator=generator)
    n_val = round(val_frac * len(X))
    return X[order_X[n_val:]], X[order_X[:n_val]], y[order_y[n_val:]], y[order_y[:n_val]]
'''),
        ("ignores the seed: a different split at every call", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    order = torch.randperm(len(X))
    n_val = round(val_frac * len(X))
    return X[order[n_val:]], X[order[:n_val]], y[order[n_val:]], y[order[:n_val]]
'''),
        ("val_frac used for the training part", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(X), generator=generator)
    n_train = round(val_frac * len(X))
    return X[order[:n_train]], X[order[n_train:]], y[order[:n_train]], y[order[n_train:]]
'''),
        ("fixed seed 0 whatever the seed argument", '''
def train_val_split(X, y, val_frac=0.2, seed=0):
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(X), generator=generator)
    n_val = round(val_frac * len(X))
    return X[order[n_val:]], X[order[:n_val]], y[order[n_val:]], y[order[:n_val]]
'''),
    ],
    "ex6_train_and_evaluate": [
        ("validation without model.eval()", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        history["train_loss"].append(total / len(train_loader))
        with torch.no_grad():
            losses = [loss_fn(model(xb.to(device)), yb.to(device)).item() for xb, yb in val_loader]
        history["val_loss"].append(sum(losses) / len(losses))
    return history
'''),
        ("validation without torch.no_grad()", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        history["train_loss"].append(total / len(train_loader))
        model.eval()
        losses = [loss_fn(model(xb.to(device)), yb.to(device)).item() for xb, yb in val_loader]
        history["val_loss"].append(sum(losses) / len(losses))
    return history
'''),
        ("model.train() called only once, so later epochs train in eval mode", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    model.train()
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        history["train_loss"].append(total / len(train_loader))
        model.eval()
        with torch.no_grad():
            losses = [loss_fn(model(xb.to(device)), yb.to(device)).item() for xb, yb in val_loader]
        history["val_loss"].append(sum(losses) / len(losses))
    return history
'''),
        ("softmax applied before the loss", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(torch.softmax(model(xb), dim=1), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        history["train_loss"].append(total / len(train_loader))
        model.eval()
        with torch.no_grad():
            losses = [loss_fn(torch.softmax(model(xb.to(device)), dim=1), yb.to(device)).item() for xb, yb in val_loader]
        history["val_loss"].append(sum(losses) / len(losses))
    return history
'''),
        ("validation loss measured on the training data", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item()
        history["train_loss"].append(total / len(train_loader))
        model.eval()
        with torch.no_grad():
            losses = [loss_fn(model(xb.to(device)), yb.to(device)).item() for xb, yb in train_loader]
        history["val_loss"].append(sum(losses) / len(losses))
    return history
'''),
        ("never calls optimizer.step(): nothing is learned", '''
def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = {"train_loss": [], "val_loss": []}
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            total += loss.item()
        history["train_loss"].append(total / len(train_loader))
        model.eval()
        with torch.no_grad():
            losses = [loss_fn(model(xb.to(device)), yb.to(device)).item() for xb, yb in val_loader]
        history["val_loss"].append(sum(losses) / len(losses))
    return history
'''),
    ],
}

RIGHT = {
    "ex1_predict_proba": [
        ("the formula 1 / (1 + exp(-z)) written out", '''
def predict_proba(logits):
    return 1 / (1 + torch.exp(-logits))
'''),
        ("nn.Sigmoid() as a module", '''
def predict_proba(logits):
    return nn.Sigmoid()(logits)
'''),
    ],
    "ex2_predict_class": [
        ("threshold converted to a logit, torch.where, >=", '''
def predict_class(logits, threshold=0.5):
    cut = torch.log(torch.tensor(threshold / (1 - threshold)))
    return torch.where(logits >= cut, 1, 0).to(torch.int64)
'''),
        ("uses predict_proba", '''
def predict_class(logits, threshold=0.5):
    return (predict_proba(logits) > threshold).to(torch.int64)
'''),
    ],
    "ex3_binary_classifier": [
        ("a class of its own with named layers", '''
class BinaryClassifier(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.hidden = nn.Linear(2, hidden)
        self.act = nn.ReLU()
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(self.act(self.hidden(x)))

def build_binary_classifier(hidden=8):
    return BinaryClassifier(hidden)
'''),
    ],
    "ex4_multiclass_accuracy": [
        ("softmax first, count with sum, divide by len", '''
def multiclass_accuracy(logits, y):
    predicted = torch.softmax(logits, dim=1).argmax(dim=1)
    return (predicted == y).sum().item() / len(y)
'''),
        ("the course helper utils.training.accuracy", '''
from utils.training import accuracy

def multiclass_accuracy(logits, y):
    return accuracy(logits, y)
'''),
    ],
    "ex5_train_val_split": [
        ("scikit-learn's train_test_split with random_state", '''
from sklearn.model_selection import train_test_split

def train_val_split(X, y, val_frac=0.2, seed=0):
    return train_test_split(X, y, test_size=round(val_frac * len(X)), random_state=seed)
'''),
        ("NumPy permutation, validation part taken from the end", '''
import numpy as np

def train_val_split(X, y, val_frac=0.2, seed=0):
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(X)))
    n_train = len(X) - round(val_frac * len(X))
    return X[order[:n_train]], X[order[n_train:]], y[order[:n_train]], y[order[n_train:]]
'''),
    ],
    "ex6_train_and_evaluate": [
        ("the course's fit() with a validation loader", '''
from utils.training import fit

def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    history = fit(model, train_loader, loss_fn, optimizer, epochs, val_loader=val_loader, device=device, progress=False)
    return {"train_loss": history["train_loss"], "val_loss": history["val_loss"]}
'''),
        ("helper functions, sample-weighted means", '''
def _one_pass(model, loader, loss_fn, device, optimizer=None):
    total, count = 0.0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = loss_fn(model(xb), yb)
        if optimizer is not None:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        total += loss.item() * len(yb)
        count += len(yb)
    return total / count

def train_and_evaluate(model, train_loader, val_loader, loss_fn, optimizer, epochs, device):
    train_losses, val_losses = [], []
    for _ in range(epochs):
        model.train()
        train_losses.append(_one_pass(model, train_loader, loss_fn, device, optimizer))
        model.eval()
        with torch.no_grad():
            val_losses.append(_one_pass(model, val_loader, loss_fn, device))
    return dict(train_loss=train_losses, val_loss=val_losses)
'''),
    ],
}
