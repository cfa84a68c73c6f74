"""Plausible wrong answers (must fail the tests with a message that names the cause) and right answers
written in other styles (must pass) for 08_mnist.

Keys are the grade_ids of the solution cells. WRONG entries are (description, full cell source, words
the failure message must contain); RIGHT entries are (description, full cell source).
"""

_EPOCH = '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    {train}
    total, count = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        {zero}
        loss = {loss}
        loss.backward()
        optimizer.step()
        {accumulate}
    return {result}
'''


def _epoch(train="model.train()", zero="optimizer.zero_grad()", loss="loss_fn(model(images), labels)",
           accumulate="total += loss.item() * len(labels)\n        count += len(labels)", result="total / count"):
    return _EPOCH.format(train=train, zero=zero, loss=loss, accumulate=accumulate, result=result)


_ACC = '''
def evaluate_accuracy(model, loader, device):
    {prepare}
    correct, total = 0, 0
    {context}
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            predictions = model(images).argmax(dim=1)
            {accumulate}
    return {result}
'''


def _acc(prepare="model.eval()", context="with torch.no_grad():",
         accumulate="correct += (predictions == labels).sum().item()\n            total += labels.shape[0]",
         result="correct / total"):
    return _ACC.format(prepare=prepare, context=context, accumulate=accumulate, result=result)


_MLP = '''
def build_mnist_mlp():
    return nn.Sequential({layers})
'''

WRONG = {
    "ex1_flatten_batch": [
        ("hard-coded batch size", '''
def flatten_batch(images):
    return images.reshape(64, 784)
''', ["reshape/view", "fixed numbers"]),
        ("flattens everything", '''
def flatten_batch(images):
    return images.flatten()
''', ["one vector", "batch"]),
        ("keeps the channel dimension", '''
def flatten_batch(images):
    return images.flatten(start_dim=2)
''', ["channel dimension is still there"]),
        ("transposes each image", '''
def flatten_batch(images):
    return images.reshape(images.shape[0], 28, 28).transpose(1, 2).reshape(images.shape[0], -1)
''', ["column-by-column"]),
        ("squeeze() drops a single image's batch dimension", '''
def flatten_batch(images):
    return images.squeeze().reshape(-1, 784).squeeze()
''', ["squeeze"]),
        ("picks channel 0 even without a channel dimension", '''
def flatten_batch(images):
    return images[:, 0].reshape(images.shape[0], -1)
''', ["first pixel row"]),
        ("view of a transposed batch", '''
def flatten_batch(images):
    return images.transpose(-1, -2).reshape(len(images), -1)
''', ["column-by-column"]),
        ("a list of rows", '''
def flatten_batch(images):
    return [img.reshape(-1) for img in images]
''', ["list", "torch.stack"]),
    ],
    "ex2_build_mnist_mlp": [
        ("a softmax at the end", _MLP.format(layers="nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10), nn.Softmax(dim=1)"),
         ["unexpected from position 6", "logits"]),
        ("ReLU instead of sigmoid", _MLP.format(layers="nn.Flatten(), nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10)"),
         ["expected Sigmoid, got ReLU"]),
        ("no Flatten", _MLP.format(layers="nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10)"),
         ["expected Flatten, got Linear"]),
        ("one model for every call", '''
_the_model = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10))

def build_mnist_mlp():
    return _the_model
''', ["same model object twice"]),
        ("32 hidden units", _MLP.format(layers="nn.Flatten(), nn.Linear(784, 32), nn.Sigmoid(), nn.Linear(32, 32), nn.Sigmoid(), nn.Linear(32, 10)"),
         ["(784, 16, True)", "(784, 32, True)"]),
        ("no biases", _MLP.format(layers="nn.Flatten(), nn.Linear(784, 16, bias=False), nn.Sigmoid(), nn.Linear(16, 16, bias=False), nn.Sigmoid(), nn.Linear(16, 10, bias=False)"),
         ["has bias", "False", "bias=True"]),
        ("a sigmoid at the end too", _MLP.format(layers="nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10), nn.Sigmoid()"),
         ["unexpected from position 6"]),
        ("only one hidden layer", _MLP.format(layers="nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 10)"),
         ["missing from position 4"]),
        ("the sigmoid class without parentheses", _MLP.format(layers="nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid, nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10)"),
         ["class Sigmoid itself"]),
    ],
    "ex3_train_epoch": [
        ("loss arguments swapped", _epoch(loss="loss_fn(labels, model(images))"), ["swapped", "loss_fn(output, target)"]),
        ("forgets zero_grad", _epoch(zero="pass"), ["add up", "zero_grad()"]),
        ("plain mean of the batch losses", _epoch(accumulate="total += loss.item()\n        count += 1"), ["plain mean of the batch losses"]),
        ("forgets model.train()", _epoch(train="pass"), ["training mode", "model.train()"]),
        ("returns the loss tensor of the last batch", _epoch(result="loss"), ["Python float"]),
        ("softmax before CrossEntropyLoss", _epoch(loss="loss_fn(torch.softmax(model(images), dim=1), labels)"),
         ["softmax", "log-softmax itself"]),
        ("only the last batch's loss", _epoch(accumulate="total, count = loss.item(), 1"), ["last batch"]),
        ("one optimizer step per epoch", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    optimizer.zero_grad()
    total, count = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        loss = loss_fn(model(images), labels)
        loss.backward()
        total += loss.item() * len(labels)
        count += len(labels)
    optimizer.step()
    return total / count
''', ["one optimizer step for the whole epoch"]),
        ("trains under torch.no_grad()", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, count = 0.0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(images), labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(labels)
            count += len(labels)
    return total / count
''', ["graph was cut", "torch.no_grad()"]),
    ],
    "ex4_evaluate_accuracy": [
        ("forgets model.eval()", _acc(prepare="pass"), ["model.eval()"]),
        ("forgets torch.no_grad()", _acc(context="if True:"), ["torch.no_grad()"]),
        ("mean of the batch accuracies", '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    accuracies = []
    with torch.no_grad():
        for images, labels in loader:
            predictions = model(images.to(device)).argmax(dim=1)
            accuracies.append((predictions == labels.to(device)).float().mean().item())
    return sum(accuracies) / len(accuracies)
''', ["mean of the batch accuracies"]),
        ("returns the count", _acc(result="correct"), ["number of correct predictions"]),
        ("a percentage", _acc(result="100 * correct / total"), ["percentage"]),
        ("returns a tensor", _acc(accumulate="correct += (predictions == labels).sum()\n            total += labels.shape[0]"),
         ["Python float"]),
        ("switches gradients off globally", _acc(context="torch.set_grad_enabled(False)\n    if True:"),
         ["gradients switched off"]),
        ("only the last batch", _acc(accumulate="correct, total = (predictions == labels).sum().item(), labels.shape[0]"),
         ["last batch"]),
    ],
    "ex5_better_model": [
        ("a softmax at the end", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10), nn.Softmax(dim=1))
''', ["softmax", "sums to 1"]),
        ("too many parameters", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
''', ["too many parameters", "250,000"]),
        ("the same model every time", '''
_model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))

def build_better_model():
    return _model
''', ["same model object twice"]),
        ("no Flatten", '''
def build_better_model():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
''', ["flatten"]),
        ("the 13,002-parameter sigmoid network", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10))
''', ["test accuracy", "sigmoid"]),
        ("one output", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 1))
''', ["(4, 10)", "(4, 1)"]),
        ("a tiny ReLU network", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 4), nn.ReLU(), nn.Linear(4, 10))
''', ["too small"]),
        ("the class, not a model", '''
def build_better_model():
    return nn.Sequential
''', ["nn.Module", "class"]),
    ],
    "ex6_confusion_counts": [
        ("rows and columns swapped", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[p, t] += 1
    return counts
''', ["rows and columns are swapped"]),
        ("size from the largest label", '''
def confusion_counts(y_true, y_pred, num_classes):
    k = int(max(y_true.max(), y_pred.max())) + 1
    counts = torch.zeros(k, k, dtype=torch.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[t, p] += 1
    return counts
''', ["num_classes", "largest class"]),
        ("float counts", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[t, p] += 1
    return counts
''', ["float32", "int64"]),
        ("marks pairs instead of counting them", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    counts[y_true, y_pred] = 1
    return counts
''', ["marked once instead of counted"]),
        ("only the diagonal", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        if t == p:
            counts[t, p] += 1
    return counts
''', ["diagonal"]),
        ("bincount with the roles swapped", '''
def confusion_counts(y_true, y_pred, num_classes):
    return torch.bincount(y_pred * num_classes + y_true, minlength=num_classes ** 2).reshape(num_classes, num_classes)
''', ["rows and columns are swapped"]),
        ("advanced indexing with += loses repeats", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    counts[y_true, y_pred] += 1
    return counts
''', ["marked once instead of counted"]),
        ("scikit-learn without the labels argument", '''
from sklearn.metrics import confusion_matrix

def confusion_counts(y_true, y_pred, num_classes):
    return torch.tensor(confusion_matrix(y_true.numpy(), y_pred.numpy()))
''', ["num_classes", "largest class"]),
    ],
}

RIGHT = {
    "ex1_flatten_batch": [
        ("flatten(start_dim=1)", '''
def flatten_batch(images):
    return images.flatten(start_dim=1)
'''),
        ("view with -1 for the batch", '''
def flatten_batch(images):
    return images.contiguous().view(-1, 28 * 28)
'''),
        ("nn.Flatten", '''
def flatten_batch(images):
    return nn.Flatten()(images)
'''),
    ],
    "ex2_build_mnist_mlp": [
        ("a class with registered layers", '''
def build_mnist_mlp():
    return nn.Sequential(
        nn.Flatten(start_dim=1),
        nn.Linear(in_features=784, out_features=16),
        nn.Sigmoid(),
        nn.Linear(in_features=16, out_features=16),
        nn.Sigmoid(),
        nn.Linear(in_features=16, out_features=10),
    )
'''),
        ("built in a loop", '''
def build_mnist_mlp():
    layers = [nn.Flatten()]
    sizes = [784, 16, 16, 10]
    for i in range(3):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < 2:
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)
'''),
        ("named layers", '''
from collections import OrderedDict

def build_mnist_mlp():
    return nn.Sequential(OrderedDict([("flatten", nn.Flatten()), ("hidden1", nn.Linear(784, 16)), ("act1", nn.Sigmoid()),
                                      ("hidden2", nn.Linear(16, 16)), ("act2", nn.Sigmoid()), ("out", nn.Linear(16, 10))]))
'''),
    ],
    "ex3_train_epoch": [
        ("len(loader.dataset)", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total = 0.0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        total += loss.item() * x.shape[0]
    return total / len(loader.dataset)
'''),
        ("utils.training.fit for one epoch", '''
from utils.training import fit

def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    return fit(model, loader, loss_fn, optimizer, 1, device=device, progress=False)["train_loss"][0]
'''),
        ("lists of losses and sizes, set_to_none", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    losses, sizes = [], []
    for images, labels in loader:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(images.to(device)), labels.to(device))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        sizes.append(labels.numel())
    return float(sum(l * n for l, n in zip(losses, sizes)) / sum(sizes))
'''),
    ],
    "ex4_evaluate_accuracy": [
        ("inference_mode and len(loader.dataset)", '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct = 0
    with torch.inference_mode():
        for x, y in loader:
            correct += (model(x.to(device)).argmax(1) == y.to(device)).sum().item()
    return correct / len(loader.dataset)
'''),
        ("concatenated predictions", '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    with torch.no_grad():
        preds = torch.cat([model(x.to(device)).argmax(dim=1).cpu() for x, _ in loader])
        labels = torch.cat([y for _, y in loader])
    return (preds == labels).float().mean().item()
'''),
        ("the decorator form of no_grad", '''
@torch.no_grad()
def evaluate_accuracy(model, loader, device):
    model.train(False)
    hits, seen = 0, 0
    for images, labels in loader:
        hits += int((model(images.to(device)).max(dim=1).indices == labels.to(device)).sum())
        seen += len(labels)
    return hits / seen
'''),
    ],
    "ex5_better_model": [
        ("a class with torch.relu", '''
class Better(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 256)
        self.out = nn.Linear(256, 10)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x.flatten(1))))

def build_better_model():
    return Better()
'''),
        ("two hidden layers", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.ReLU(), nn.Linear(200, 100), nn.ReLU(), nn.Linear(100, 10))
'''),
        ("LeakyReLU and a log-softmax (still logits up to a shift)", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.LeakyReLU(), nn.Linear(256, 10), nn.LogSoftmax(dim=1))
'''),
    ],
    "ex6_confusion_counts": [
        ("bincount", '''
def confusion_counts(y_true, y_pred, num_classes):
    flat = y_true * num_classes + y_pred
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)
'''),
        ("index_put_ with accumulate", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros((num_classes, num_classes), dtype=torch.long)
    counts.index_put_((y_true, y_pred), torch.ones_like(y_true), accumulate=True)
    return counts
'''),
        ("one-hot matrix product", '''
def confusion_counts(y_true, y_pred, num_classes):
    t = torch.nn.functional.one_hot(y_true, num_classes)
    p = torch.nn.functional.one_hot(y_pred, num_classes)
    return (t.T @ p).to(torch.int64)
'''),
    ],
}

# Issue 20: mistakes new to the tests (dtype and range narrowing, in-place changes, stale gradients, modes set on
# the outer module only, shared layers, early exits, batches not moved to device, squashing heads) and right
# answers in styles the tests had not seen (explicit loops, functional API, einsum, float64 inside, a deep copy
# evaluated, custom nn.Module subclasses).
WRONG["ex1_flatten_batch"] += [
    (".float() on the way", '''
def flatten_batch(images):
    return images.reshape(images.shape[0], -1).float()
''', ["dtype", "float64"]),
    ("clamps the pixels to [0, 1]", '''
def flatten_batch(images):
    return images.reshape(images.shape[0], -1).clamp(0, 1)
''', ["clipped to [0, 1]"]),
    ("divides by 255", '''
def flatten_batch(images):
    return images.reshape(len(images), 784) / 255
''', ["divided by 255"]),
    ("squeeze_ changes the caller's batch", '''
def flatten_batch(images):
    if images.dim() == 4:
        images.squeeze_(1)
    return images.reshape(images.shape[0], -1)
''', ["the batch after", "do not change the images"]),
]
WRONG["ex2_build_mnist_mlp"] += [
    ("a hidden layer made once outside the function", '''
_hidden = nn.Linear(16, 16)

def build_mnist_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), _hidden, nn.Sigmoid(), nn.Linear(16, 10))
''', ["share layers", "changed with the first"]),
    ("a class whose forward skips the second sigmoid", '''
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1, self.act1 = nn.Linear(784, 16), nn.Sigmoid()
        self.fc2, self.act2 = nn.Linear(16, 16), nn.Sigmoid()
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        return self.fc3(self.fc2(self.act1(self.fc1(self.flatten(x)))))

def build_mnist_mlp():
    return MLP()
''', ["second sigmoid is not applied in forward"]),
    ("a class that applies a sigmoid to the output", '''
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
                                    nn.Linear(16, 10))

    def forward(self, x):
        return torch.sigmoid(self.layers(x))

def build_mnist_mlp():
    return MLP()
''', ["output went through a sigmoid", "logits"]),
    ("a float64 network", _MLP.format(layers="nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10)).double("),
     ["float32", "float64", ".double()"]),
]
WRONG["ex3_train_epoch"] += [
    ("zero_grad after step", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
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
''', ["already in p.grad", "zero_grad"]),
    ("model.training = True instead of model.train()", _epoch(train="model.training = True"),
     ["layers inside the model stayed in evaluation mode", "model.train()"]),
    ("stops the epoch when the batch loss rises", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, count, previous = 0.0, 0, float("inf")
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels)
        count += len(labels)
        if loss.item() > previous:
            break
        previous = loss.item()
    return total / count
''', ["number of forward passes", "stopped early"]),
    ("images.to(device) without keeping the result", _epoch().replace(
        "images, labels = images.to(device), labels.to(device)", "images.to(device)\n        labels.to(device)"),
     ["device", "not moved", "returns a moved copy"]),
]
WRONG["ex4_evaluate_accuracy"] += [
    ("model.training = False instead of model.eval()", _acc(prepare="model.training = False"),
     ["layers inside the model stayed in training mode", "model.eval()"]),
    ("divides by batches x batch_size", _acc(accumulate="correct += (predictions == labels).sum().item()\n            total += loader.batch_size"),
     ["last batch is smaller"]),
    ("divides by the number of batches", _acc(result="correct / len(loader)"), ["number of batches"]),
    ("images.to(device) without keeping the result", _acc().replace(
        "images, labels = images.to(device), labels.to(device)", "images.to(device)\n            labels = labels.to(device)"),
     ["device", "not moved", "returns a moved copy"]),
]
WRONG["ex5_better_model"] += [
    ("ReLU network with a sigmoid head", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10), nn.Sigmoid())
''', ["between 0 and 1", "sigmoid", "logits"]),
    ("ReLU network with a tanh head", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10), nn.Tanh())
''', ["between -1 and 1", "tanh", "logits"]),
    ("a hidden layer made once outside the function", '''
_hidden = nn.Linear(784, 256)

def build_better_model():
    return nn.Sequential(nn.Flatten(), _hidden, nn.ReLU(), nn.Linear(256, 10))
''', ["share layers", "changed with the first"]),
]
WRONG["ex6_confusion_counts"] += [
    ("bincount that changes y_true in place", '''
def confusion_counts(y_true, y_pred, num_classes):
    flat = y_true.mul_(num_classes).add_(y_pred)
    return torch.bincount(flat, minlength=num_classes ** 2).reshape(num_classes, num_classes)
''', ["y_true after", "do not change the labels"]),
    ("a loop that stops one sample early", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for i in range(len(y_true) - 1):
        counts[y_true[i], y_pred[i]] += 1
    return counts
''', ["last sample was not counted"]),
    ("loops over range(num_classes - 1)", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for i in range(num_classes - 1):
        for j in range(num_classes - 1):
            counts[i, j] = ((y_true == i) & (y_pred == j)).sum()
    return counts
''', ["last class's row and column stay empty"]),
]

RIGHT["ex1_flatten_batch"] += [
    ("an explicit loop over the images, stacked", '''
def flatten_batch(images):
    return torch.stack([images[i].reshape(-1) for i in range(images.shape[0])])
'''),
    ("torch.flatten, float64 inside and cast back", '''
def flatten_batch(images):
    return torch.flatten(images.to(torch.float64), start_dim=1).to(images.dtype)
'''),
]
RIGHT["ex2_build_mnist_mlp"] += [
    ("a custom nn.Module subclass", '''
class ThreeBlueOneBrown(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.hidden1, self.act1 = nn.Linear(784, 16), nn.Sigmoid()
        self.hidden2, self.act2 = nn.Linear(16, 16), nn.Sigmoid()
        self.out = nn.Linear(16, 10)

    def forward(self, x):
        return self.out(self.act2(self.hidden2(self.act1(self.hidden1(self.flatten(x))))))

def build_mnist_mlp():
    return ThreeBlueOneBrown()
'''),
    ("a deep copy of a template, so every call is new", '''
import copy

_TEMPLATE = nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10))

def build_mnist_mlp():
    return copy.deepcopy(_TEMPLATE)
'''),
]
RIGHT["ex3_train_epoch"] += [
    ("model.zero_grad(), a while loop over iter(loader), float64 total", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train(True)
    total = torch.zeros((), dtype=torch.float64)
    count = 0
    batches = iter(loader)
    while True:
        try:
            images, labels = next(batches)
        except StopIteration:
            break
        images, labels = images.to(device), labels.to(device)
        model.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.detach().double().cpu() * labels.shape[0]
        count += labels.shape[0]
    return float(total / count)
'''),
    ("gradients set to None by hand", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    weighted = []
    for images, labels in loader:
        images = images.to(device)
        labels = labels.to(device)
        for p in model.parameters():
            p.grad = None
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        weighted.append((loss.item() * len(images), len(images)))
    return sum(w for w, _ in weighted) / sum(n for _, n in weighted)
'''),
]
RIGHT["ex4_evaluate_accuracy"] += [
    ("a deep copy evaluated in eval mode under no_grad", '''
import copy

def evaluate_accuracy(model, loader, device):
    frozen = copy.deepcopy(model)
    frozen.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            correct += int((frozen(images).argmax(dim=1) == labels).sum())
            total += len(labels)
    return correct / total
'''),
    ("inference_mode and a per-sample loop", '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct, total = 0, 0
    with torch.inference_mode():
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            predicted = model(images).argmax(dim=1)
            for i in range(len(labels)):
                correct += bool(predicted[i] == labels[i])
                total += 1
    return float(correct / total)
'''),
]
RIGHT["ex5_better_model"] += [
    ("a custom module with the functional API", '''
import torch.nn.functional as F

class Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        h = F.relu(F.linear(torch.flatten(x, 1), self.fc1.weight, self.fc1.bias))
        return F.linear(h, self.fc2.weight, self.fc2.bias)

def build_better_model():
    return Wide()
'''),
    ("einsum for the output layer", '''
class EinsumNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(784, 200)
        self.out = nn.Linear(200, 10)

    def forward(self, x):
        h = torch.relu(self.hidden(x.reshape(x.shape[0], -1)))
        return torch.einsum("nh,oh->no", h, self.out.weight) + self.out.bias

def build_better_model():
    return EinsumNet()
'''),
]
RIGHT["ex6_confusion_counts"] += [
    ("explicit double loop over the classes", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for i in range(num_classes):
        for j in range(num_classes):
            counts[i, j] = ((y_true == i) & (y_pred == j)).sum()
    return counts
'''),
    ("einsum of one-hot matrices, float64 inside and cast back", '''
import torch.nn.functional as F

def confusion_counts(y_true, y_pred, num_classes):
    t = F.one_hot(y_true, num_classes).to(torch.float64)
    p = F.one_hot(y_pred, num_classes).to(torch.float64)
    return torch.einsum("ni,nj->ij", t, p).round().to(torch.int64)
'''),
]

# ---------------------------------------------------------------------------------------------------------------
# Caught only by the properties against the instructor's solution (generated inputs, issue 20)
# ---------------------------------------------------------------------------------------------------------------
WRONG["ex2_build_mnist_mlp"] += [
    ("the first hidden layer's activations detached: right outputs, the first layer never learns", '''
class MnistMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1, self.act1 = nn.Linear(784, 16), nn.Sigmoid()
        self.fc2, self.act2 = nn.Linear(16, 16), nn.Sigmoid()
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        h = self.act1(self.fc1(self.flatten(x))).detach()
        return self.fc3(self.act2(self.fc2(h)))

def build_mnist_mlp():
    return MnistMLP()
''', ["no gradient reached", "detach"]),
    ("weight.data in a functional call for the output layer: its weight gets no gradient", '''
class MnistMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1, self.act1 = nn.Linear(784, 16), nn.Sigmoid()
        self.fc2, self.act2 = nn.Linear(16, 16), nn.Sigmoid()
        self.fc3 = nn.Linear(16, 10)

    def forward(self, x):
        h = self.act2(self.fc2(self.act1(self.fc1(self.flatten(x)))))
        return nn.functional.linear(h, self.fc3.weight.data, self.fc3.bias)

def build_mnist_mlp():
    return MnistMLP()
''', ["no gradient reached", ".data"]),
]
WRONG["ex6_confusion_counts"] += [
    ("a 10 x 10 table for MNIST's digits, cut to num_classes: more than 10 classes fail", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(10, 10, dtype=torch.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[t, p] += 1
    return counts[:num_classes, :num_classes]
''', ["out of bounds", "error"]),
    ("counts kept in uint8 (small numbers) and converted at the end: they wrap around at 256", '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.uint8)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[t, p] += 1
    return counts.long()
''', ["wrapped around at 256", "int64"]),
]
RIGHT["ex2_build_mnist_mlp"] += [
    ("the functional API in forward, flattening with reshape", '''
import torch.nn.functional as F

class MnistMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.l1, self.s1 = nn.Linear(784, 16), nn.Sigmoid()
        self.l2, self.s2 = nn.Linear(16, 16), nn.Sigmoid()
        self.l3 = nn.Linear(16, 10)

    def forward(self, x):
        h = x.reshape(x.shape[0], -1)
        h = torch.sigmoid(F.linear(h, self.l1.weight, self.l1.bias))
        h = torch.sigmoid(F.linear(h, self.l2.weight, self.l2.bias))
        return F.linear(h, self.l3.weight, self.l3.bias)

def build_mnist_mlp():
    return MnistMLP()
'''),
]
RIGHT["ex6_confusion_counts"] += [
    ("torch.bincount of the pair index", '''
def confusion_counts(y_true, y_pred, num_classes):
    pairs = y_true.long() * num_classes + y_pred.long()
    return torch.bincount(pairs, minlength=num_classes ** 2).reshape(num_classes, num_classes)
'''),
]
WRONG["ex3_train_epoch"] += [
    ("rescales what looks like raw pixels", _epoch(loss="loss_fn(model(images / 255 if images.max() > 1 else images), labels)"),
     ["train_epoch on n images", "expected", "divided by 255"]),
    ("clips the gradients by value", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, count = 0.0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        torch.nn.utils.clip_grad_value_(model.parameters(), 1.0)   # "for stability"
        optimizer.step()
        total += loss.item() * len(labels)
        count += len(labels)
    return total / count
''', ["train_epoch on n images", "expected", "clip_grad_value_", "bias (10) from index 7841"]),
]
RIGHT["ex3_train_epoch"] += [
    ("model.zero_grad, the functional loss via loss_fn, the loss summed as a detached tensor", '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total = torch.zeros((), dtype=torch.float64)
    for images, labels in iter(loader):
        images = images.to(device)
        labels = labels.to(device)
        model.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.detach().double().cpu() * images.size(0)
    return float(total / len(loader.dataset))
'''),
]
WRONG["ex4_evaluate_accuracy"] += [
    ("a debugging limit of 10 batches left in", '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for i, (images, labels) in enumerate(loader):
            if i == 10:          # a quick check while debugging
                break
            images, labels = images.to(device), labels.to(device)
            correct += (model(images).argmax(dim=1) == labels).sum().item()
            total += labels.shape[0]
    return correct / total
''', ["evaluate_accuracy on n images", "expected"]),
    ("the argmax of sigmoid probabilities (they saturate at 1.0 for large logits: ties)",
     _acc().replace("predictions = model(images).argmax(dim=1)", "predictions = torch.sigmoid(model(images)).argmax(dim=1)"),
     ["evaluate_accuracy on n images", "expected", "saturated probabilities", "argmax of the logits"]),
]
WRONG["ex5_better_model"] += [
    ("functional dropout (training=True by default) in forward", '''
import torch.nn.functional as F

class Better(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden, self.out = nn.Linear(784, 256), nn.Linear(256, 10)

    def forward(self, x):
        return self.out(F.dropout(F.relu(self.hidden(x.flatten(1))), 0.2))

def build_better_model():
    return Better()
''', ["evaluation mode", "alone"]),
    ("standardises the inputs with the statistics of the batch", '''
class Better(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))

    def forward(self, x):
        return self.net((x - x.mean()) / (x.std() + 1e-6))

def build_better_model():
    return Better()
''', ["evaluation mode", "alone"]),
]
RIGHT["ex4_evaluate_accuracy"] += [
    ("a deep copy under inference_mode, correct counted as a tensor on the CPU", '''
import copy

def evaluate_accuracy(model, loader, device):
    net = copy.deepcopy(model).eval()
    correct = torch.zeros((), dtype=torch.int64)
    with torch.inference_mode():
        for images, labels in loader:
            out = net(images.to(device))
            correct += (torch.max(out, 1).indices.cpu() == labels).sum().cpu()
    return correct.item() / len(loader.dataset)
'''),
]
RIGHT["ex5_better_model"] += [
    ("BatchNorm1d and nn.Dropout modules (evaluation mode uses running statistics, no dropout)", '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.2),
                         nn.Linear(256, 10))
'''),
]

# issue 20, helper spec: ex1 against the instructor's flatten_batch on generated batches (1 to 6 images, with and
# without a channel dimension, float32, float64 and uint8, exact values): mistakes only those checks see, and right
# answers in further styles
WRONG["ex1_flatten_batch"] += [
    ("through float32 and back: float64 pixels rounded", '''
def flatten_batch(images):
    return images.float().reshape(images.shape[0], -1).to(images.dtype)
''', ["float64", "flatten_batch(images)", "generated input"]),
    ("through a float32 NumPy array and back", '''
import numpy as np

def flatten_batch(images):
    flat = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    return torch.from_numpy(flat).to(images.dtype)
''', ["float64", "generated input"]),
    ("results cached by shape and dtype: a new batch of the same shape gets the old rows", '''
_flat = {}

def flatten_batch(images):
    key = (tuple(images.shape), images.dtype)
    if key not in _flat:
        _flat[key] = images.reshape(images.shape[0], -1)
    return _flat[key]
''', ["earlier call", "same shape", "flatten_batch(images)"]),
]
RIGHT["ex1_flatten_batch"] += [
    ("a NumPy round trip that keeps the dtype", '''
def flatten_batch(images):
    return torch.from_numpy(images.numpy().reshape(images.shape[0], -1))
'''),
    ("each image flattened and concatenated along a new first axis", '''
def flatten_batch(images):
    return torch.cat([image.flatten()[None] for image in images]) if len(images) else images.reshape(0, 784)
'''),
]


# The audit's answers (150 wrong answers and alternative right ones written against all eight topics):
# each WRONG one is rejected with a message that names its cause, each RIGHT one passes.
_AUDIT_WRONG = {
    'ex1_flatten_batch': [
        ('shape[1] * shape[2]: right for N x 28 x 28 only', '''
def flatten_batch(images):
    return images.reshape(images.shape[0], images.shape[1] * images.shape[2])
''', ['the sizes must multiply to the number of elements']),
        ("resize_ changes the caller's batch", '''
def flatten_batch(images):
    return images.resize_(images.shape[0], 784)
''', ['do not change the images you are given']),
    ],
    'ex2_build_mnist_mlp': [
        ('nn.Flatten(0) flattens the batch too', '''
def build_mnist_mlp():
    return nn.Sequential(nn.Flatten(0), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
                         nn.Linear(16, 10))
''', ['in_features of a layer must equal']),
        ('LogSoftmax at the end', '''
def build_mnist_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
                         nn.Linear(16, 10), nn.LogSoftmax(dim=1))
''', ['Flatten, then Linear and Sigmoid twice']),
        ('first layer frozen', '''
def build_mnist_mlp():
    first = nn.Linear(784, 16)
    first.requires_grad_(False)
    return nn.Sequential(nn.Flatten(), first, nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 10))
''', ['some parameters have requires_grad=False']),
    ],
    'ex3_train_epoch': [
        ('backward on the loss times the batch size', '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, count = 0.0, 0

    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels) * len(labels)
        loss.backward()
        optimizer.step()
        total += loss.item(); count += len(labels)
    return total / count
''', ['values are not close to the', 'the mean loss returned']),
        ('gradient norm clipped at 1', '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, count = 0.0, 0

    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(images), labels)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item() * len(labels); count += len(labels)
    return total / count
''', ['values are not close to the', 'the mean loss returned']),
        ('zero_grad once before the loop', '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, count = 0.0, 0

    optimizer.zero_grad()
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(labels); count += len(labels)
    return total / count
''', ['the gradients add up over the batches']),
    ],
    'ex4_evaluate_accuracy': [
        ('skips the last, smaller batch', '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            if len(labels) < loader.batch_size:
                continue
            pred = model(images.to(device)).argmax(dim=1)
            correct += (pred == labels.to(device)).sum().item(); total += len(labels)
    return correct / total
''', ['values are not close', 'evaluate_accuracy on 10 samples']),
        ('model.eval() after the loop', '''
def evaluate_accuracy(model, loader, device):
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            pred = model(images.to(device)).argmax(dim=1)
            correct += (pred == labels.to(device)).sum().item(); total += len(labels)
    model.eval()
    return correct / total
''', ['call model.eval() first']),
        ('argmax over dim=0', '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for images, labels in loader:
            out = model(images.to(device))
            pred = out.argmax(dim=0) if out.shape[0] != out.shape[1] else out.argmax(dim=0)
            correct += (pred[:len(labels)] == labels.to(device)[:len(pred)]).sum().item(); total += len(labels)
    return correct / total
''', ['values are not close to the', 'evaluate_accuracy on 10 samples']),
    ],
    'ex5_better_model': [
        ('a ReLU after the output layer', '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10), nn.ReLU())
''', ['test accuracy after training', 'too low']),
        ('inputs centred with a hard-coded 0.5 then divided by 255 again', '''
def build_better_model():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        def forward(self, x):
            return self.body((x - 0.5) / 255)
    return Net()
''', ['test accuracy after training', 'too low']),
    ],
    'ex6_confusion_counts': [
        ('bincount without minlength', '''
def confusion_counts(y_true, y_pred, num_classes):
    return torch.bincount(y_true * num_classes + y_pred).reshape(num_classes, num_classes)
''', ['the sizes must multiply to the number of elements']),
        ('int32 counts', '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes, dtype=torch.int32)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[t, p] += 1
    return counts
''', ['counts are integers']),
        ("scikit-learn's NumPy array returned as is", '''
def confusion_counts(y_true, y_pred, num_classes):
    from sklearn.metrics import confusion_matrix
    return confusion_matrix(y_true.cpu().numpy(), y_pred.cpu().numpy(), labels=list(range(num_classes)))
''', ['this is a NumPy array']),
        ('rows normalised to rates', '''
def confusion_counts(y_true, y_pred, num_classes):
    counts = torch.zeros(num_classes, num_classes)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        counts[t, p] += 1
    return counts / counts.sum(dim=1, keepdim=True).clamp(min=1)
''', ['counts are integers']),
    ],
}
_AUDIT_RIGHT = {
    'ex1_flatten_batch': [
        ('reshape(-1, 28 * 28)', '''
def flatten_batch(images):
    return images.reshape(-1, 28 * 28)
'''),
        ('contiguous then view', '''
def flatten_batch(images):
    return images.contiguous().view(images.size(0), -1)
'''),
    ],
    'ex2_build_mnist_mlp': [
        ('sizes in a loop, modules appended', '''
def build_mnist_mlp():
    net = nn.Sequential(nn.Flatten())
    for a, b in [(784, 16), (16, 16)]:
        net.append(nn.Linear(a, b)); net.append(nn.Sigmoid())
    net.append(nn.Linear(16, 10))
    return net
'''),
        ('flatten with start_dim=1 explicitly', '''
def build_mnist_mlp():
    layers = [nn.Flatten(start_dim=1), nn.Linear(28 * 28, 16), nn.Sigmoid(), nn.Linear(16, 16), nn.Sigmoid(),
              nn.Linear(16, 10)]
    return nn.Sequential(*layers)
'''),
    ],
    'ex3_train_epoch': [
        ('sizes from images.size(0), float64 total', '''
def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, count = 0.0, 0

    total = torch.zeros((), dtype=torch.float64)
    for images, labels in loader:
        images = images.to(device); labels = labels.to(device)
        optimizer.zero_grad(set_to_none=True)
        out = model(images)
        loss = loss_fn(out, labels)
        loss.backward()
        optimizer.step()
        total += loss.detach().cpu().double() * images.size(0); count += images.size(0)
    return (total / count).item()
'''),
    ],
    'ex4_evaluate_accuracy': [
        ('max(1).indices, torch.inference_mode', '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    hits, seen = 0, 0
    with torch.inference_mode():
        for xb, yb in loader:
            pred = model(xb.to(device)).max(1).indices
            hits += int((pred.cpu() == yb).sum()); seen += yb.numel()
    return hits / seen
'''),
        ('softmax then argmax, batch accuracy weighted', '''
def evaluate_accuracy(model, loader, device):
    model.eval()
    weighted, n = 0.0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            acc = (torch.softmax(model(xb), dim=1).argmax(dim=1) == yb).double().mean().item()
            weighted += acc * len(yb); n += len(yb)
    return weighted / n
'''),
    ],
    'ex5_better_model': [
        ('a small CNN', '''
def build_better_model():
    return nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 13 * 13, 10))
'''),
        ('two hidden layers 200-100 with GELU', '''
def build_better_model():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 200), nn.GELU(), nn.Linear(200, 100), nn.GELU(), nn.Linear(100, 10))
'''),
    ],
    'ex6_confusion_counts': [
        ('scikit-learn with labels, back to a tensor', '''
def confusion_counts(y_true, y_pred, num_classes):
    from sklearn.metrics import confusion_matrix
    m = confusion_matrix(y_true.cpu().numpy(), y_pred.cpu().numpy(), labels=list(range(num_classes)))
    return torch.from_numpy(m).to(torch.int64)
'''),
    ],
}
for _key, _entries in _AUDIT_WRONG.items():
    WRONG.setdefault(_key, []).extend(_entries)
for _key, _entries in _AUDIT_RIGHT.items():
    RIGHT.setdefault(_key, []).extend(_entries)
