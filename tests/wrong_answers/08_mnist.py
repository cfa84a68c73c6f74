"""Wrong and alternative-right answers for 08_mnist (see tests/test_exercises.py)."""

WRONG = {
    "ex1_flatten_batch": [
        ("flattens the whole batch into one long vector", '''
def flatten_batch(images):
    return images.flatten()
'''),
        ("batch size hard-coded to the visible test's 64", '''
def flatten_batch(images):
    return images.reshape(64, 784)
'''),
        ("dimensions swapped: 784 x N", '''
def flatten_batch(images):
    return images.reshape(images.shape[0], -1).T
'''),
        ("pixels read column by column (transposed images)", '''
def flatten_batch(images):
    n = images.shape[0]
    return images.reshape(n, 28, 28).transpose(1, 2).reshape(n, 784)
'''),
    ],
    "ex2_build_mnist_mlp": [
        ("a Sigmoid after the last layer", '''
def build_mnist_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
                         nn.Linear(16, 10), nn.Sigmoid())
'''),
        ("one hidden layer only: wrong parameter count", '''
def build_mnist_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 10))
'''),
        ("no biases: 12,960 parameters", '''
def build_mnist_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16, bias=False), nn.Sigmoid(),
                         nn.Linear(16, 16, bias=False), nn.Sigmoid(), nn.Linear(16, 10, bias=False))
'''),
        ("ReLU instead of Sigmoid", '''
def build_mnist_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10))
'''),
        ("no Flatten: fails on image batches", '''
def build_mnist_mlp():
    return nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10))
'''),
        ("returns the same model object every time", '''
_the_model = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
                           nn.Linear(16, 10))

def build_mnist_mlp():
    return _the_model
'''),
    ],
    "ex3_train_epoch": [
        ("forgets optimizer.zero_grad(): gradients accumulate", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total = 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)
'''),
        ("swapped loss arguments", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total = 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(labels, model(images))
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)
'''),
        ("never switches to training mode", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    total = 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)
'''),
        ("returns the last batch's loss instead of the mean", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
    return loss.item()
'''),
        ("softmax applied before the loss", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total = 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(torch.softmax(model(images), dim=1), labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)
'''),
        ("returns a tensor holding the whole graph, not a float", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total = 0.0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total = total + loss
    return total / len(loader)
'''),
    ],
    "ex4_evaluate_accuracy": [
        ("forgets model.eval()", '''
def evaluate_accuracy(model, loader, device):
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            correct += (model(images).argmax(dim=1) == labels).sum().item()
            total += len(labels)
    return correct / total
'''),
        ("forgets torch.no_grad()", '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct, total = 0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        correct += (model(images).argmax(dim=1) == labels).sum().item()
        total += len(labels)
    return correct / total
'''),
        ("mean of the batch accuracies (wrong when the last batch is smaller)", '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    accs = []
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            accs.append((model(images).argmax(dim=1) == labels).float().mean().item())
    return sum(accs) / len(accs)
'''),
        ("argmax over dim 0", '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            correct += (model(images).argmax(dim=0) == labels).sum().item()
            total += len(labels)
    return correct / total
'''),
        ("returns the count of correct predictions", '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct = 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            correct += (model(images).argmax(dim=1) == labels).sum().item()
    return float(correct)
'''),
    ],
    "ex5_better_model": [
        ("the 13,002-parameter sigmoid network: below 90 % with the recipe", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
                         nn.Linear(16, 10))
'''),
        ("ends in a softmax although CrossEntropyLoss expects logits", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10), nn.Softmax(dim=1))
'''),
        ("a linear model (multinomial logistic regression)", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
'''),
        ("no Flatten: fails on image batches", '''
def build_better_model():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
'''),
        ("far too big for quick grading", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 10))
'''),
    ],
    "ex6_confusion_counts": [
        ("transposed: rows are the predictions", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[p, t] += 1
    return counts
'''),
        ("size taken from the largest label instead of num_classes", '''
def confusion_counts(y_true, y_pred, num_classes):
    n = int(max(y_true.max(), y_pred.max())) + 1
    counts = torch.zeros(n, n, dtype=torch.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[t, p] += 1
    return counts
'''),
        ("float counts", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[t, p] += 1
    return counts
'''),
        ("fancy-index += drops repeated pairs", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    counts[y_true, y_pred] += 1
    return counts
'''),
        ("hard-coded to the visible test", '''
def confusion_counts(y_true, y_pred, num_classes):
    return torch.tensor([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
'''),
    ],
}

RIGHT = {
    "ex1_flatten_batch": [
        ("view(-1, 784)", '''
def flatten_batch(images):
    return images.view(-1, 784)
'''),
        ("torch.flatten with start_dim=1", '''
def flatten_batch(images):
    return torch.flatten(images, start_dim=1)
'''),
    ],
    "ex2_build_mnist_mlp": [
        ("a class of its own", '''
class ThreeBlue(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.layers = nn.Sequential(nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
                                    nn.Linear(16, 10))

    def forward(self, x):
        return self.layers(self.flatten(x))

def build_mnist_mlp():
    return ThreeBlue()
'''),
    ],
    "ex3_train_epoch": [
        ("sample-weighted mean, zero_grad after the step", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    optimizer.zero_grad()
    total, count = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        total += loss.item() * len(labels)
        count += len(labels)
    return total / count
'''),
    ],
    "ex4_evaluate_accuracy": [
        ("collects all predictions, then compares once", '''
@torch.no_grad()
def evaluate_accuracy(model, loader, device):
    model.eval()
    preds, targets = [], []
    for images, labels in loader:
        preds.append(model(images.to(device)).argmax(1).cpu())
        targets.append(labels)
    return (torch.cat(preds) == torch.cat(targets)).float().mean().item()
'''),
        ("torch.inference_mode", '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct = total = 0
    with torch.inference_mode():
        for images, labels in loader:
            out = model(images.to(device))
            correct += int((out.argmax(dim=1).cpu() == labels).sum())
            total += labels.numel()
    return correct / total
'''),
    ],
    "ex5_better_model": [
        ("two hidden ReLU layers, 128 and 64 units", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, 10))
'''),
        ("a class of its own, 128 ReLU units", '''
class Better(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 128)
        self.out = nn.Linear(128, 10)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x.flatten(1))))

def build_better_model():
    return Better()
'''),
    ],
    "ex6_confusion_counts": [
        ("bincount of true * C + predicted", '''
def confusion_counts(y_true, y_pred, num_classes):
    flat = y_true.long() * num_classes + y_pred.long()
    return torch.bincount(flat, minlength=num_classes ** 2).reshape(num_classes, num_classes)
'''),
        ("index_put_ with accumulate=True", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.long)
    counts.index_put_((y_true.long(), y_pred.long()), torch.ones(len(y_true), dtype=torch.long), accumulate=True)
    return counts
'''),
    ],
}
