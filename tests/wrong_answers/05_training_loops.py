"""Wrong and alternative-correct answers for solutions/05_training_loops (see tests/test_exercises.py).

Decision on epoch losses: `trainer` and `evaluate` must return the mean loss *per sample*, i.e. the
batch losses weighted by batch size (what `utils.training.fit` reports). The tests use a last
batch that is smaller and harder than the others, so a plain mean of batch losses fails.
"""

WRONG = {
    "ex1_make_loader": [
        ("ignores shuffle", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size)
'''),
        ("always shuffles", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=True)
'''),
        ("drops the last, smaller batch", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, drop_last=True)
'''),
        ("hard-coded to the visible batch size 4", '''
def make_loader(X, y, batch_size, shuffle=False):
    return DataLoader(TensorDataset(X, y), batch_size=4, shuffle=shuffle)
'''),
        ("returns the dataset, not a loader", '''
def make_loader(X, y, batch_size, shuffle=False):
    return TensorDataset(X, y)
'''),
        ("shuffles X and y separately, once, breaking the pairs", '''
def make_loader(X, y, batch_size, shuffle=False):
    if shuffle:
        X = X[torch.randperm(len(X))]
        y = y[torch.randperm(len(y))]
    return DataLoader(TensorDataset(X, y), batch_size=batch_size)
'''),
    ],
    "ex2_n_batches": [
        ("always rounds down", '''
def n_batches(n, batch_size, drop_last=False):
    return n // batch_size
'''),
        ("ignores drop_last", '''
def n_batches(n, batch_size, drop_last=False):
    return math.ceil(n / batch_size)
'''),
        ("rounds to nearest", '''
def n_batches(n, batch_size, drop_last=False):
    return n // batch_size if drop_last else round(n / batch_size)
'''),
        ("one too many when batch_size divides n", '''
def n_batches(n, batch_size, drop_last=False):
    return n // batch_size if drop_last else (n + batch_size) // batch_size
'''),
        ("returns a float", '''
import numpy as np
def n_batches(n, batch_size, drop_last=False):
    return np.floor(n / batch_size) if drop_last else np.ceil(n / batch_size)
'''),
        ("hard-coded to the visible tests", '''
def n_batches(n, batch_size, drop_last=False):
    return {(500, 64, False): 8, (500, 64, True): 7, (500, 50, False): 10}[(n, batch_size, drop_last)]
'''),
    ],
    "ex3_train_step": [
        ("forgets zero_grad", '''
def train_step(model, X, y, loss_fn, optimizer):
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.item()
'''),
        ("calls step before backward", '''
def train_step(model, X, y, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    optimizer.step()
    loss.backward()
    return loss.item()
'''),
        ("returns the loss tensor instead of loss.item()", '''
def train_step(model, X, y, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return loss
'''),
        ("clears gradients only after the step, so stale gradients are used", '''
def train_step(model, X, y, loss_fn, optimizer):
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()
'''),
        ("returns the loss after the update", '''
def train_step(model, X, y, loss_fn, optimizer):
    optimizer.zero_grad()
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return loss_fn(model(X), y).item()
'''),
    ],
    "ex4_trainer": [
        ("plain mean of the batch losses (unweighted)", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    history = []
    for epoch in range(epochs):
        losses = [train_step(model, xb, yb, loss_fn, optimizer) for xb, yb in loader]
        history.append(sum(losses) / len(losses))
    return history
'''),
        ("sum of the batch losses", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    history = []
    for epoch in range(epochs):
        history.append(sum(train_step(model, xb, yb, loss_fn, optimizer) for xb, yb in loader))
    return history
'''),
        ("records only the last batch loss", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    history = []
    for epoch in range(epochs):
        for xb, yb in loader:
            loss = train_step(model, xb, yb, loss_fn, optimizer)
        history.append(loss)
    return history
'''),
        ("returns inside the epoch loop", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            total += train_step(model, xb, yb, loss_fn, optimizer) * len(xb)
            count += len(xb)
        history.append(total / count)
        return history
'''),
        ("accumulates loss tensors instead of loss.item()", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total = total + loss * len(xb)
            count += len(xb)
        history.append(total / count)
    return history
'''),
        ("forgets zero_grad in its own loop", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    history = []
    for epoch in range(epochs):
        total, count = 0.0, 0
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
            count += len(xb)
        history.append(total / count)
    return history
'''),
        ("weighted sum divided by the number of batches", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    history = []
    for epoch in range(epochs):
        total = 0.0
        for xb, yb in loader:
            total += train_step(model, xb, yb, loss_fn, optimizer) * len(xb)
        history.append(total / len(loader))
    return history
'''),
    ],
    "ex5_evaluate": [
        ("no torch.no_grad()", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    for xb, yb in loader:
        total += loss_fn(model(xb), yb).item() * len(xb)
        count += len(xb)
    return total / count
'''),
        ("stays in training mode", '''
def evaluate(model, loader, loss_fn):
    total, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in loader:
            total += loss_fn(model(xb), yb).item() * len(xb)
            count += len(xb)
    return total / count
'''),
        ("plain mean of the batch losses (unweighted)", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    with torch.no_grad():
        losses = [loss_fn(model(xb), yb).item() for xb, yb in loader]
    return sum(losses) / len(losses)
'''),
        ("returns a tensor", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in loader:
            total = total + loss_fn(model(xb), yb) * len(xb)
            count += len(xb)
    return total / count
'''),
        ("only the first batch", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    with torch.no_grad():
        xb, yb = next(iter(loader))
        return loss_fn(model(xb), yb).item()
'''),
    ],
    "ex6_model3": [
        ("far too little training", '''
set_seed(0)
model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.001)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=2)
'''),
        ("optimizer built from the wrong model's parameters", '''
set_seed(0)
model3 = nn.Linear(3, 1).to(device)
optimizer3 = torch.optim.SGD(model.parameters(), lr=0.05)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=50)
'''),
        ("one input instead of three", '''
set_seed(0)
model3 = nn.Linear(1, 1).to(device)
optimizer3 = torch.optim.SGD(model3.parameters(), lr=0.05)
history3 = trainer(model3, loader3, loss_fn, optimizer3, epochs=50)
'''),
    ],
}

RIGHT = {
    "ex1_make_loader": [
        ("a DataLoader over a list of (x, y) pairs", '''
def make_loader(X, y, batch_size, shuffle=False):
    pairs = list(zip(X, y))
    return DataLoader(pairs, batch_size=batch_size, shuffle=shuffle, drop_last=False)
'''),
    ],
    "ex2_n_batches": [
        ("integer arithmetic", '''
def n_batches(n, batch_size, drop_last=False):
    full, rest = divmod(n, batch_size)
    return full + (1 if rest and not drop_last else 0)
'''),
        ("asks a DataLoader", '''
def n_batches(n, batch_size, drop_last=False):
    return len(DataLoader(range(n), batch_size=batch_size, drop_last=drop_last))
'''),
    ],
    "ex3_train_step": [
        ("model.zero_grad(), float(loss)", '''
def train_step(model, X, y, loss_fn, optimizer):
    model.zero_grad()
    prediction = model(X)
    loss = loss_fn(prediction, y)
    loss.backward()
    optimizer.step()
    return float(loss)
'''),
        ("sets gradients to None by hand", '''
def train_step(model, X, y, loss_fn, optimizer):
    for p in model.parameters():
        p.grad = None
    loss = loss_fn(model(X), y)
    loss.backward()
    optimizer.step()
    return loss.detach().item()
'''),
    ],
    "ex4_trainer": [
        ("own inner loop, divides by the dataset size", '''
def trainer(model, loader, loss_fn, optimizer, epochs):
    history = []
    for _ in range(epochs):
        model.train()
        running = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item() * xb.shape[0]
        history.append(running / len(loader.dataset))
    return history
'''),
        ("weighted average with NumPy", '''
import numpy as np
def trainer(model, loader, loss_fn, optimizer, epochs):
    history = []
    for _ in range(epochs):
        losses, sizes = [], []
        for xb, yb in loader:
            losses.append(train_step(model, xb, yb, loss_fn, optimizer))
            sizes.append(len(yb))
        history.append(float(np.average(losses, weights=sizes)))
    return history
'''),
    ],
    "ex5_evaluate": [
        ("inference_mode, one loss over all predictions", '''
def evaluate(model, loader, loss_fn):
    model.eval()
    with torch.inference_mode():
        outputs, targets = [], []
        for xb, yb in loader:
            outputs.append(model(xb))
            targets.append(yb)
        return loss_fn(torch.cat(outputs), torch.cat(targets)).item()
'''),
    ],
    "ex6_model3": [
        ("full batch, Adam", '''
set_seed(0)
model3 = nn.Sequential(nn.Linear(3, 1)).to(device)
opt = torch.optim.Adam(model3.parameters(), lr=0.5)
trainer(model3, make_loader(X3, y3, batch_size=500), loss_fn, opt, epochs=300)
'''),
    ],
}
