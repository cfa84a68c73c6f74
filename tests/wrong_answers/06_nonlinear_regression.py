"""Plausible wrong answers (must fail the tests with a message that names the cause) and right answers
written in other styles (must pass) for 06_nonlinear_regression.

Keys are the grade_ids of the solution cells. WRONG entries are (description, full cell source, words
the failure message must contain); RIGHT entries are (description, full cell source).
"""

_SHALLOW = '''
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential({layers})
'''

_CONTRIB = '''
def node_contributions(model, X):
    first, activation, last = model[0], model[1], model[2]
    with torch.no_grad():
        hidden = activation(first(X))
        return {result}
'''

_MLP = '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    layers = []
    size = n_in
    for width in {widths}:
        layers += [nn.Linear(size, width), {act}]
        size = width
    layers.append(nn.Linear(size, {out}))
    {end}
    return nn.Sequential(*layers)
'''


def _mlp(widths="hidden", act="activation()", out="n_out", end="pass"):
    return _MLP.format(widths=widths, act=act, out=out, end=end)


_TRAIN = '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    {before}
    model = make_mlp(hidden, {act}).to(X.device)
    {after}
    optimizer = {optimizer}
    loss_fn = nn.MSELoss()
    for epoch in range({epochs}):
        {zero}
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
    return {result}
'''


def _train(before="set_seed(seed)", act="activation", after="pass",
           optimizer="torch.optim.Adam(model.parameters(), lr=lr)", epochs="epochs", zero="optimizer.zero_grad()",
           result="model"):
    return _TRAIN.format(before=before, act=act, after=after, optimizer=optimizer, epochs=epochs, zero=zero,
                         result=result)


_BEST = '''
def fit_best(X, y):
{body}


model_best = fit_best(X_train, y_train)
print(f"validation MSE: {{val_mse(model_best):.2g}}, below 1.5: {{val_mse(model_best) < 1.5}}")
'''


def _best(body):
    """The exercise cell with ``body`` (lines of fit_best's body, unindented) as fit_best's body."""
    return _BEST.format(body="\n".join("    " + line if line else "" for line in body.strip("\n").split("\n")))

WRONG = {
    "ex1_make_shallow": [
        ("the activation class without parentheses", _SHALLOW.format(layers="nn.Linear(1, width), activation, nn.Linear(width, 1)"),
         ["class Sigmoid itself", "Sigmoid()"]),
        ("always a sigmoid", _SHALLOW.format(layers="nn.Linear(1, width), nn.Sigmoid(), nn.Linear(width, 1)"),
         ["expected ReLU, got Sigmoid", "activation you are given"]),
        ("no activation", _SHALLOW.format(layers="nn.Linear(1, width), nn.Linear(width, 1)"), ["position 1"]),
        ("an activation after the output too", _SHALLOW.format(layers="nn.Linear(1, width), activation(), nn.Linear(width, 1), activation()"),
         ["unexpected from position 3"]),
        ("hard-coded width", _SHALLOW.format(layers="nn.Linear(1, 3), activation(), nn.Linear(3, 1)"),
         ["(1, 7, True)", "(1, 3, True)"]),
        ("layers in the wrong order", _SHALLOW.format(layers="nn.Linear(width, 1), activation(), nn.Linear(1, width)"),
         ["(1, 3, True)", "(3, 1, True)"]),
        ("no biases", _SHALLOW.format(layers="nn.Linear(1, width, bias=False), activation(), nn.Linear(width, 1, bias=False)"),
         ["has bias", "False", "bias=False"]),
        ("a plain list of layers", '''
def make_shallow(width, activation=nn.Sigmoid):
    return [nn.Linear(1, width), activation(), nn.Linear(width, 1)]
''', ["nn.Sequential", "list"]),
        ("the function torch.sigmoid instead of a layer", _SHALLOW.format(layers="nn.Linear(1, width), torch.sigmoid, nn.Linear(width, 1)"),
         ["function sigmoid", "nn.Sigmoid()"]),
    ],
    "ex2_node_contributions": [
        ("adds the output bias", _CONTRIB.format(result="hidden * last.weight[0] + last.bias"), ["output bias was added"]),
        ("sums the contributions", _CONTRIB.format(result="hidden @ last.weight.T"), ["sum over the nodes"]),
        ("activations only", _CONTRIB.format(result="hidden"), ["activations alone"]),
        ("always a sigmoid", '''
def node_contributions(model, X):
    with torch.no_grad():
        return torch.sigmoid(model[0](X)) * model[2].weight[0]
''', ["sigmoid was used", "model[1]"]),
        ("forgets the activation", '''
def node_contributions(model, X):
    with torch.no_grad():
        return model[0](X) * model[2].weight[0]
''', ["activation is missing"]),
        ("tracks gradients", '''
def node_contributions(model, X):
    return model[1](model[0](X)) * model[2].weight[0]
''', ["requires_grad", "torch.no_grad()"]),
        ("squeeze() drops a size-1 dimension", _CONTRIB.format(result="(hidden * last.weight[0]).squeeze()"),
         ["squeeze"]),
        ("the weight as a column does not broadcast", _CONTRIB.format(result="hidden * last.weight.T"),
         ["do not broadcast"]),
        ("the bias shared out over the nodes", _CONTRIB.format(result="hidden * last.weight[0] + last.bias / hidden.shape[1]"),
         ["shared out"]),
    ],
    "ex3_make_mlp": [
        ("an activation after the output layer", _mlp(end="layers.append(activation())"), ["unexpected from position", "none after the output layer"]),
        ("no activations", _mlp(act="nn.Identity()"), ["position 1", "expected ReLU"]),
        ("ignores the activation argument", _mlp(act="nn.ReLU()"), ["expected Sigmoid, got ReLU"]),
        ("ignores n_in", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    sizes = [1] + list(hidden) + [n_out]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
''', ["(2, 3)", "(1, 3)"]),
        ("ignores n_out", _mlp(out="1"), ["(3, 4)", "(3, 1)"]),
        ("inserts n_in into the caller's list", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    hidden.insert(0, n_in)
    hidden.append(n_out)
    layers = []
    for i in range(len(hidden) - 1):
        layers.append(nn.Linear(hidden[i], hidden[i + 1]))
        if i < len(hidden) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
''', ["do not change the list"]),
        ("fails without hidden layers", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    layers = [nn.Linear(n_in, hidden[0]), activation()]
    for a, b in zip(hidden[:-1], hidden[1:]):
        layers += [nn.Linear(a, b), activation()]
    layers.append(nn.Linear(hidden[-1], n_out))
    return nn.Sequential(*layers)
''', ["past the end of a list", "empty"]),
        ("widths in reverse order", _mlp(widths="hidden[::-1]"), ["in_features, out_features", "(1, 8)"]),
        ("the activation class without parentheses", _mlp(act="activation"), ["class ReLU itself"]),
    ],
    "ex4_train_mlp": [
        ("seeds after building the network", _train(before="model_ = None", after="set_seed(seed)"), ["set_seed(seed) before"]),
        ("SGD instead of Adam", _train(optimizer="torch.optim.SGD(model.parameters(), lr=lr)"), ["plain SGD"]),
        ("ignores lr", _train(optimizer="torch.optim.Adam(model.parameters(), lr=0.05)"), ["learning rate argument was ignored"]),
        ("one step too few", _train(epochs="epochs - 1"), ["one step too few"]),
        ("never zeroes the gradients", _train(zero="pass"), ["add up", "zero_grad()"]),
        ("ignores the activation", _train(act="nn.ReLU"), ["expected Tanh, got ReLU"]),
        ("returns the optimizer", _train(result="optimizer"), ["nn.Module", "Adam"]),
        ("never seeds", _train(before="pass"), ["same seed must give the same model"]),
        ("forgets to return", _train(result="None"), ["None", "return"]),
    ],
    "ex5_model_best": [
        ("a straight line", _best("return train_mlp(X, y, [], nn.ReLU, lr=0.05, epochs=300)"),
         ["underfits", "training MSE"]),
        ("far too few epochs", _best("return train_mlp(X, y, [16, 16], nn.ReLU, lr=0.02, epochs=20)"),
         ["underfits"]),
        ("two sigmoid nodes", _best("return train_mlp(X, y, [2], nn.Sigmoid, lr=0.05, epochs=300)"),
         ["underfits", "too small"]),
        ("a learning rate so large that training diverges", _best("return train_mlp(X, y, [16, 16], nn.ReLU, lr=50.0, epochs=100)"),
         ["too high", "expected"]),
        ("untrained", _best("set_seed(0)\nreturn make_mlp([16, 16], nn.ReLU).to(X.device)"), ["underfits"]),
        ("a learning rate far too small", _best("return train_mlp(X, y, [16, 16], nn.ReLU, lr=0.0005, epochs=300)"),
         ["underfits", "learning rate"]),
        ("the class instead of a model", _best("return nn.Sequential"), ["the class", "instance"]),
        ("trains a network under another name", _best("return train_mlp(X, y, [32, 32], nn.ReLU, lr=0.02, epochs=500)")
         .replace("model_best = fit_best(X_train, y_train)", "best = fit_best(X_train, y_train)\nmodel_best = best2"),
         ["the cell stopped with an error", "not defined"]),
    ],
}

RIGHT = {
    "ex1_make_shallow": [
        ("named layers in an OrderedDict", '''
from collections import OrderedDict

def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(OrderedDict(hidden=nn.Linear(1, width), act=activation(), out=nn.Linear(width, 1)))
'''),
        ("built with append", '''
def make_shallow(width, activation=nn.Sigmoid):
    net = nn.Sequential()
    net.append(nn.Linear(in_features=1, out_features=width))
    net.append(activation())
    net.append(nn.Linear(in_features=width, out_features=1))
    return net
'''),
        ("a list unpacked", '''
def make_shallow(width, activation=nn.Sigmoid):
    layers = [nn.Linear(1, width), activation(), nn.Linear(width, 1)]
    return nn.Sequential(*layers)
'''),
    ],
    "ex2_node_contributions": [
        ("detach instead of no_grad", '''
def node_contributions(model, X):
    activations = model[1](model[0](X))
    return (activations * model[2].weight.reshape(1, -1)).detach()
'''),
        ("diagonal matrix product", '''
def node_contributions(model, X):
    with torch.no_grad():
        a = model[1](model[0](X))
        return a @ torch.diag(model[2].weight.squeeze(0))
'''),
        ("einsum and the modules by index", '''
def node_contributions(model, X):
    with torch.no_grad():
        h = model[0](X)
        return torch.einsum("nj,j->nj", model[1](h), model[2].weight[0])
'''),
    ],
    "ex3_make_mlp": [
        ("sizes list and zip", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    sizes = [n_in, *hidden, n_out]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(hidden):
            layers.append(activation())
    return nn.Sequential(*layers)
'''),
        ("Sequential.append", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    net = nn.Sequential()
    previous = n_in
    for width in hidden:
        net.append(nn.Linear(previous, width))
        net.append(activation())
        previous = width
    net.append(nn.Linear(previous, n_out))
    return net
'''),
        ("recursive", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    if not hidden:
        return nn.Sequential(nn.Linear(n_in, n_out))
    rest = make_mlp(hidden[1:], activation, hidden[0], n_out)
    return nn.Sequential(nn.Linear(n_in, hidden[0]), activation(), *rest)
'''),
    ],
    "ex4_train_mlp": [
        ("set_to_none zero_grad and a named loss", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    net = make_mlp(hidden, activation)
    net = net.to(X.device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(epochs):
        opt.zero_grad(set_to_none=True)
        mse = nn.functional.mse_loss(net(X), y)
        mse.backward()
        opt.step()
    return net
'''),
        ("fit with a loader whose batch is the whole data set", '''
from torch.utils.data import DataLoader, TensorDataset

def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    loader = DataLoader(TensorDataset(X, y), batch_size=len(X))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            nn.MSELoss()(model(xb), yb).backward()
            optimizer.step()
    return model
'''),
        ("model.train() and a while loop", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation=activation).to(X.device)
    model.train()
    optimizer = torch.optim.Adam(params=model.parameters(), lr=lr)
    step = 0
    while step < epochs:
        optimizer.zero_grad()
        ((model(X) - y) ** 2).mean().backward()
        optimizer.step()
        step += 1
    return model
'''),
    ],
    "ex5_model_best": [
        ("three hidden layers", _best("return train_mlp(X, y, [24, 24, 24], nn.ReLU, lr=0.01, epochs=600)")),
        ("train_full_batch's recipe (Adam with a cosine learning-rate decay) on X, y", _best('''
set_seed(1)
model = make_mlp([32, 32]).to(X.device)
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=600, eta_min=0.0002)
for epoch in range(600):
    optimizer.zero_grad()
    loss_fn(model(X), y).backward()
    optimizer.step()
    schedule.step()
return model''')),
        ("a wide single layer of tanh nodes", _best("return train_mlp(X, y, [64], nn.Tanh, lr=0.02, epochs=1500, seed=3)")),
    ],
}

# Issue 20: mistakes new to the tests (dtype changes, frozen parameters, missing biases, leaving gradients off,
# dropped nodes, early exits, a floor on the learning rate, a network left on the CPU while training cannot finish
# on the data's device, training on the validation data) and right answers in styles the tests had not seen
# (an nn.Sequential subclass, float64 inside and cast back, explicit loops, inference_mode, einsum, zero_grad after
# step on a fresh network).
WRONG["ex1_make_shallow"] += [
    ("float64 layers", _SHALLOW.format(layers="nn.Linear(1, width, dtype=torch.float64), activation(), nn.Linear(width, 1, dtype=torch.float64)"),
     ["float32", "float64"]),
    ("frozen parameters", '''
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(nn.Linear(1, width), activation(), nn.Linear(width, 1)).requires_grad_(False)
''', ["does not require gradients", "requires_grad_(False)"]),
    ("built under torch.no_grad() with frozen layers", '''
def make_shallow(width, activation=nn.Sigmoid):
    with torch.no_grad():
        layers = [nn.Linear(1, width), activation(), nn.Linear(width, 1)]
        for layer in layers:
            for p in layer.parameters():
                p.requires_grad = False
    return nn.Sequential(*layers)
''', ["does not require gradients", "training cannot change it"]),
]
WRONG["ex2_node_contributions"] += [
    ("switches gradients off for good", '''
def node_contributions(model, X):
    torch.set_grad_enabled(False)
    return model[1](model[0](X)) * model[2].weight[0]
''', ["left gradients switched off", "torch.set_grad_enabled(False)"]),
    ("a NumPy array", _CONTRIB.format(result="(hidden * last.weight[0]).numpy()"), ["a tensor", "numpy"]),
    ("a loop that misses the last node", '''
def node_contributions(model, X):
    with torch.no_grad():
        hidden = model[1](model[0](X))
        return torch.stack([hidden[:, j] * model[2].weight[0, j] for j in range(hidden.shape[1] - 1)], dim=1)
''', ["last node is missing"]),
    (".float() on the result", _CONTRIB.format(result="(hidden * last.weight[0]).float()"), ["dtype", "float64", "float32"]),
]
WRONG["ex3_make_mlp"] += [
    ("linear layers without biases", _mlp().replace("nn.Linear(size, width)", "nn.Linear(size, width, bias=False)"),
     ["has a bias", "bias=False"]),
    ("float64 layers", _mlp().replace("nn.Linear(size, width)", "nn.Linear(size, width, dtype=torch.float64)").replace(
        "nn.Linear(size, n_out)", "nn.Linear(size, n_out, dtype=torch.float64)"), ["float32", "float64"]),
    ("the output width appended to the caller's list", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    hidden.append(n_out)
    sizes = [n_in] + hidden
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
''', ["the list `hidden` after", "do not change the list"]),
]
WRONG["ex4_train_mlp"] += [
    ("stops when the loss is small", _train(zero="optimizer.zero_grad()\n        if epoch > 0 and loss.item() < 1e-3:\n            break"),
     ["training stopped early", "no break"]),
    ("a floor on the learning rate", _train(optimizer="torch.optim.Adam(model.parameters(), lr=max(lr, 0.01))"),
     ["Adam got another learning rate", "lr=0.0005"]),
    ("network left on the CPU, losses logged with .item()", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    sizes = [1] + list(hidden)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), activation()]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(X.cpu()), y.cpu())
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return model
''', ["not on X's device", "parameters on cpu"]),
]
WRONG["ex5_model_best"] += [
    ("trains on the validation data", _best("return train_mlp(X_val, y_val, [32, 32], nn.ReLU, lr=0.01, epochs=1000)"),
     ["does not learn the data it is given", "notebook's curve", "train on X, y only"]),
    ("trains on the data it is given and the validation data together", _best(
        "return train_mlp(torch.cat([X, X_val]), torch.cat([y, y_val]), [32, 32], nn.ReLU, lr=0.01, epochs=1000)"),
     ["does not learn the data it is given", "validation data only measures"]),
    ("a smaller network on the given and the validation data, trained longer", _best(
        "return train_mlp(torch.cat([X, X_val]), torch.cat([y, y_val]), [16, 16], nn.ReLU, lr=0.02, epochs=1000)"),
     ["does not learn the data it is given", "never train on it"]),
    ("targets rounded to integers on the way", _best("return train_mlp(X, y.long(), [32, 32], nn.ReLU, lr=0.01, epochs=1000)"),
     ["does not learn the data it is given", ".long()"]),
    ("a wide network trained on the validation data", _best("return train_mlp(X_val, y_val, [64, 64], nn.ReLU, lr=0.01, epochs=2000)"),
     ["does not learn the data it is given", "train on X, y only"]),
    ("ignores its arguments and trains on the notebook's training data", _best(
        "return train_mlp(X_train, y_train, [32, 32], nn.ReLU, lr=0.01, epochs=1000)"),
     ["does not learn the data it is given", "instead of its arguments"]),
]

RIGHT["ex1_make_shallow"] += [
    ("an nn.Sequential subclass", '''
class Shallow(nn.Sequential):
    def __init__(self, width, activation):
        super().__init__(nn.Linear(1, width), activation(), nn.Linear(width, 1))

def make_shallow(width, activation=nn.Sigmoid):
    return Shallow(width, activation)
'''),
    ("built in float64 and cast back", '''
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(nn.Linear(1, width, dtype=torch.float64), activation(), nn.Linear(width, 1, dtype=torch.float64)).float()
'''),
]
RIGHT["ex2_node_contributions"] += [
    ("inference_mode and a loop over the nodes", '''
def node_contributions(model, X):
    with torch.inference_mode():
        hidden = model[1](model[0](X))
        columns = [hidden[:, j] * model[2].weight[0, j] for j in range(hidden.shape[1])]
        return torch.stack(columns, dim=1)
'''),
    ("float64 inside and cast back", '''
def node_contributions(model, X):
    with torch.no_grad():
        hidden = model[1](model[0](X)).double()
        return (hidden * model[2].weight[0].double()).to(X.dtype)
'''),
]
RIGHT["ex3_make_mlp"] += [
    ("an nn.Sequential subclass", '''
class MLP(nn.Sequential):
    def __init__(self, sizes, activation):
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(activation())
        super().__init__(*layers)

def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    return MLP([n_in, *hidden, n_out], activation)
'''),
    ("one activation module reused after every hidden layer", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    act = activation()
    layers, size = [], n_in
    for width in hidden:
        layers += [nn.Linear(size, width), act]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, n_out))
'''),
]
RIGHT["ex4_train_mlp"] += [
    ("zero_grad after step, on a fresh network", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return model
'''),
    ("device= via next(parameters) check and a list of losses", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation)
    model = model.to(device=X.device)
    from torch.optim import Adam
    optimizer = Adam(params=model.parameters(), lr=lr)
    criterion = nn.MSELoss(reduction="mean")
    history = []
    step = 0
    while step < epochs:
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(model(X), y)
        loss.backward()
        optimizer.step()
        history.append(loss.detach())
        step += 1
    return model
'''),
]
RIGHT["ex5_model_best"] += [
    ("an explicit loop on X, y, functional MSE", _best('''
set_seed(1)
model = make_mlp([32, 32], nn.ReLU).to(X.device)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for _ in range(1000):
    opt.zero_grad()
    nn.functional.mse_loss(model(X), y).backward()
    opt.step()
return model''')),
    ("a custom module with tanh units, trained with train_mlp's recipe by hand", _best('''
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Linear(1, 32), nn.Linear(32, 32), nn.Linear(32, 1)
    def forward(self, x):
        return self.c(torch.tanh(self.b(torch.tanh(self.a(x)))))
set_seed(0)
model = Net().to(X.device)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for _ in range(1500):
    opt.zero_grad()
    nn.functional.mse_loss(model(X), y).backward()
    opt.step()
return model''')),
    ("minibatches of 50 from a DataLoader over (X, y), and a copy of the model evaluated in eval mode", _best('''
from torch.utils.data import DataLoader, TensorDataset
import copy
set_seed(2)
model = make_mlp([32, 32], nn.ReLU).to(X.device)
opt = torch.optim.Adam(model.parameters(), lr=0.01)
loader = DataLoader(TensorDataset(X, y), batch_size=50, shuffle=True)
for epoch in range(150):
    for xb, yb in loader:
        opt.zero_grad()
        nn.functional.mse_loss(model(xb), yb).backward()
        opt.step()
best = copy.deepcopy(model).eval()
return best''')),
]

WRONG["ex1_make_shallow"] += [
    ("a cached network per width", '''
import functools

@functools.lru_cache(maxsize=None)
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(nn.Linear(1, width), activation(), nn.Linear(width, 1))
''', ["share layers", "changed with the first"]),
]
WRONG["ex3_make_mlp"] += [
    ("one Linear object for hidden layers of the same shape", '''
_layers = {}

def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    layers, size = [], n_in
    for width in hidden:
        layers += [_layers.setdefault((size, width), nn.Linear(size, width)), activation()]
        size = width
    layers.append(nn.Linear(size, n_out))
    return nn.Sequential(*layers)
''', ["fewer distinct parameters", "share their weights"]),
]

# ---------------------------------------------------------------------------------------------------------------
# Caught only by the properties against the instructor's solution (generated inputs, issue 20)
# ---------------------------------------------------------------------------------------------------------------
WRONG["ex2_node_contributions"] += [
    ("the activation looked up among the ones the student knows, the sigmoid for any other", '''
def node_contributions(model, X):
    first, last = model[0], model[2]
    act = {nn.ReLU: torch.relu, nn.Tanh: torch.tanh}.get(type(model[1]), torch.sigmoid)
    with torch.no_grad():
        return act(first(X)) * last.weight[0]
''', ["sigmoid", "model[1]"]),
    ("tanh and sigmoid written with exp(): the tanh overflows for large hidden values (inf / inf = nan)", '''
def node_contributions(model, X):
    first, act, last = model[0], model[1], model[2]
    with torch.no_grad():
        h = first(X)
        if isinstance(act, nn.Tanh):
            a = (torch.exp(h) - torch.exp(-h)) / (torch.exp(h) + torch.exp(-h))
        elif isinstance(act, nn.Sigmoid):
            a = 1 / (1 + torch.exp(-h))
        else:
            a = act(h)
        return a * last.weight[0]
''', ["overflows", "nan"]),
]
RIGHT["ex2_node_contributions"] += [
    ("an explicit loop over the nodes under torch.inference_mode", '''
def node_contributions(model, X):
    with torch.inference_mode():
        hidden = model[1](model[0](X))
        columns = [hidden[:, j] * model[2].weight[0, j] for j in range(model[0].out_features)]
        return torch.stack(columns, dim=1)
'''),
]
WRONG["ex1_make_shallow"] += [
    ("a Sequential that clamps its inputs to [-10, 10] (to keep the sigmoid from saturating)", '''
class _Clamped(nn.Sequential):
    def forward(self, x):
        return super().forward(x.clamp(-10, 10))

def make_shallow(width, activation=nn.Sigmoid):
    return _Clamped(nn.Linear(1, width), activation(), nn.Linear(width, 1))
''', ["make_shallow", "input"]),
    ("the hidden activations detached (a hook), so no gradient flows back to the first layer", '''
def make_shallow(width, activation=nn.Sigmoid):
    act = activation()
    act.register_forward_hook(lambda module, inputs, output: output.detach())
    return nn.Sequential(nn.Linear(1, width), act, nn.Linear(width, 1))
''', ["make_shallow", "gradient"]),
]
RIGHT["ex1_make_shallow"] += [
    ("named layers in an OrderedDict", '''
from collections import OrderedDict

def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(OrderedDict(hidden=nn.Linear(1, width), act=activation(), out=nn.Linear(width, 1)))
'''),
]
WRONG["ex3_make_mlp"] += [
    ("a Sequential that clamps its inputs to [-100, 100]", '''
class _Clamped(nn.Sequential):
    def forward(self, x):
        return super().forward(x.clamp(-100, 100))

def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    layers, size = [], n_in
    for width in hidden:
        layers += [nn.Linear(size, width), activation()]
        size = width
    return _Clamped(*layers, nn.Linear(size, n_out))
''', ["make_mlp", "input"]),
    ("the first layer's output detached (a hook): only the later layers would learn", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    layers, size = [], n_in
    for width in hidden:
        layers += [nn.Linear(size, width), activation()]
        size = width
    layers.append(nn.Linear(size, n_out))
    layers[0].register_forward_hook(lambda module, inputs, output: output.detach())
    return nn.Sequential(*layers)
''', ["make_mlp", "graph"]),
]
RIGHT["ex3_make_mlp"] += [
    ("sizes zipped pairwise, layers from a nested comprehension", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    sizes = [n_in, *hidden]
    body = [m for a, b in zip(sizes, sizes[1:]) for m in (nn.Linear(a, b), activation())]
    return nn.Sequential(*body, nn.Linear(sizes[-1], n_out))
'''),
]
WRONG["ex4_train_mlp"] += [
    ("targets clamped to [-20, 20] against outliers", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    y = y.clamp(-20, 20)
    for epoch in range(epochs):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
    return model
''', ["train_mlp", "input"]),
    ("a loop that checks its count at the end, so it trains at least once (one step for epochs=0)", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    epoch = 0
    while True:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
        epoch += 1
        if epoch >= epochs:
            break
    return model
''', ["train_mlp", "epochs = 0"]),
]
RIGHT["ex4_train_mlp"] += [
    ("torch.manual_seed, a hand-written mean squared error, model.zero_grad()", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    torch.manual_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.zero_grad()
        ((model(X) - y) ** 2).mean().backward()
        optimizer.step()
    return model
'''),
]


# The audit's answers (150 wrong answers and alternative right ones written against all eight topics):
# each WRONG one is rejected with a message that names its cause, each RIGHT one passes.
_AUDIT_WRONG = {
    'ex1_make_shallow': [
        ('output flattened to (N,) with nn.Flatten(0)', '''
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(nn.Linear(1, width), activation(), nn.Linear(width, 1), nn.Flatten(0))
''', ['three layers: Linear(1, width), the activation']),
        ('all weights and biases initialised to zero (symmetric nodes)', '''
def make_shallow(width, activation=nn.Sigmoid):
    model = nn.Sequential(nn.Linear(1, width), activation(), nn.Linear(width, 1))
    for p in model.parameters():
        nn.init.zeros_(p)
    return model
''', ['symmetric initialisation', 'same weight and bias']),
        ('one activation instance as the default argument, shared by all networks', '''
_act = nn.Sigmoid()
def make_shallow(width, activation=nn.Sigmoid):
    act = _act if activation is nn.Sigmoid else activation()
    return nn.Sequential(nn.Linear(1, width), act, nn.Linear(width, 2))
''', ['(in_features, out_features, has bias)', '(3, 2, True)']),
    ],
    'ex2_node_contributions': [
        ('returns (width, N): transposed', '''
def node_contributions(model, X):
    with torch.no_grad():
        hidden = model[1](model[0](X))
        return hidden.T * model[2].weight[0][:, None]
''', ['did you swap the dimensions?']),
        ('activation applied after multiplying by the output weight', '''
def node_contributions(model, X):
    with torch.no_grad():
        return model[1](model[0](X) * model[2].weight[0])
''', ['values are not close to the', 'node_contributions(net, X) for 7']),
        ('contribution measured as the prediction minus the prediction without that node', '''
def node_contributions(model, X):
    with torch.no_grad():
        hidden = model[1](model[0](X))
        full = model(X)
        cols = []
        for j in range(hidden.shape[1]):
            h = hidden.clone(); h[:, j] = 0
            cols.append((full - model[2](h))[:, 0] - model[2].bias)
        return torch.stack(cols, dim=1)
''', ['every value is off by the same amount']),
    ],
    'ex3_make_mlp': [
        ('a bare Linear when there are no hidden layers', '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    if not hidden:
        return nn.Linear(n_in, n_out)
    layers, size = [], n_in
    for width in hidden:
        layers += [nn.Linear(size, width), activation()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, n_out))
''', ['wrong type', 'make_mlp([])']),
        ('forgets to update the input size', '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    layers = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), activation()]
    layers.append(nn.Linear(hidden[-1] if hidden else n_in, n_out))
    return nn.Sequential(*layers)
''', ['Linear(n_in, hidden[0]), then one Linear per']),
        ('activation before each linear layer except the first', '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    sizes = [n_in] + list(hidden) + [n_out]
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if 0 < i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
''', ['an activation after each hidden linear layer']),
    ],
    'ex4_train_mlp': [
        ('seed argument ignored: set_seed(0)', '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(0)
    model = make_mlp(hidden, activation).to(X.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        loss = nn.MSELoss()(model(X), y)
        loss.backward()
        opt.step()
    return model
''', ['values are not close to the', 'the predictions of train_mlp(X']),
        ('targets flattened: (N, 1) - (N,) broadcasts', '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    target = y.view(-1)
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(model(X), target)
        loss.backward()
        opt.step()
    return model
''', ['values are not close to the', 'the predictions of train_mlp(X']),
        ('Adam with weight decay', '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-3)
    for _ in range(epochs):
        opt.zero_grad()
        loss = nn.MSELoss()(model(X), y)
        loss.backward()
        opt.step()
    return model
''', ['values are not close to the', 'the predictions of train_mlp(X']),
        ('mini-batches of 32 instead of full batch', '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.MSELoss()
    for _ in range(epochs):
        for i in range(0, len(X), 32):
            opt.zero_grad()
            loss = loss_fn(model(X[i:i + 32]), y[i:i + 32])
            loss.backward()
            opt.step()
    return model
''', ['no full-batch step', 'no mini-batches']),
    ],
    'ex5_model_best': [
        ("early stopping on the notebook's validation data", '''
import copy
def fit_best(X, y):
    set_seed(0)
    model = make_mlp([32, 32]).to(X.device)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    best, best_state = float("inf"), None
    for epoch in range(1000):
        opt.zero_grad()
        loss = nn.MSELoss()(model(X), y)
        loss.backward()
        opt.step()
        if epoch % 10 == 0:
            with torch.no_grad():
                v = nn.MSELoss()(model(X_val), y_val).item()
            if v < best:
                best, best_state = v, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    return model
''', ['its network does not follow the data it was given']),
        ('trains once and caches the network', '''
_best = None
def fit_best(X, y):
    global _best
    if _best is None:
        _best = train_mlp(X, y, [32, 32], nn.ReLU, lr=0.01, epochs=1000)
    return _best
''', ["its network follows the notebook's curve"]),
        ('a wide sigmoid network', '''
def fit_best(X, y):
    return train_mlp(X, y, [64], nn.Sigmoid, lr=0.01, epochs=1000)
''', ['the training MSE is high too']),
    ],
}
_AUDIT_RIGHT = {
    'ex1_make_shallow': [
        ('keyword arguments, Xavier init', '''
def make_shallow(width, activation=nn.Sigmoid):
    model = torch.nn.Sequential(nn.Linear(in_features=1, out_features=width), activation(),
                                nn.Linear(width, 1, bias=True))
    nn.init.xavier_uniform_(model[0].weight)
    return model
'''),
        ('add_module with names', '''
def make_shallow(width, activation=nn.Sigmoid):
    m = nn.Sequential()
    m.add_module("hidden", nn.Linear(1, width))
    m.add_module("act", activation())
    m.add_module("out", nn.Linear(width, 1))
    return m
'''),
    ],
    'ex2_node_contributions': [
        ('model[:2] and the full weight row, detach', '''
def node_contributions(model, X):
    return (model[:2](X) * model[2].weight).detach()
'''),
        ('hidden pre-activation by hand', '''
def node_contributions(model, X):
    with torch.no_grad():
        first, act, last = model
        z = X @ first.weight.T + first.bias
        return act(z) * last.weight.squeeze(0)
'''),
    ],
    'ex3_make_mlp': [
        ('itertools.chain of pairs', '''
import itertools
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    ins = [n_in] + list(hidden)
    body = itertools.chain.from_iterable((nn.Linear(a, b), activation()) for a, b in zip(ins, hidden))
    return nn.Sequential(*body, nn.Linear(ins[-1], n_out))
'''),
        ('while loop with indices', '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    seq = nn.Sequential()
    i, prev = 0, n_in
    while i < len(hidden):
        seq.append(nn.Linear(prev, hidden[i])); seq.append(activation())
        prev = hidden[i]; i += 1
    seq.append(nn.Linear(prev, n_out))
    return seq
'''),
    ],
    'ex4_train_mlp': [
        ('a closure passed to Adam.step, functional MSE', '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(X), y)
        loss.backward()
        return loss
    for _ in range(epochs):
        opt.step(closure)
    return model
'''),
        ('model.train(), zero_grad at the end of each step', '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    net = make_mlp(hidden, activation)
    net = net.to(X.device)
    net.train()
    adam = torch.optim.Adam(net.parameters(), lr=lr)
    crit = nn.MSELoss()
    adam.zero_grad()
    for step in range(epochs):
        crit(net(X), y).backward()
        adam.step()
        adam.zero_grad()
    return net
'''),
    ],
    'ex5_model_best': [
        ('three layers of 16', '''
def fit_best(X, y):
    return train_mlp(X, y, [16, 16, 16], nn.ReLU, lr=0.02, epochs=800)
'''),
        ('one wide ReLU layer, longer', '''
def fit_best(X, y):
    return train_mlp(X, y, [64], lr=0.02, epochs=1500, seed=1)
'''),
    ],
}
for _key, _entries in _AUDIT_WRONG.items():
    WRONG.setdefault(_key, []).extend(_entries)
for _key, _entries in _AUDIT_RIGHT.items():
    RIGHT.setdefault(_key, []).extend(_entries)
