"""Wrong and alternative-correct answers for solutions/06_nonlinear_regression (see tests/test_exercises.py)."""

WRONG = {
    "ex1_make_shallow": [
        ("no activation between the layers", '''
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(nn.Linear(1, width), nn.Linear(width, 1))
'''),
        ("an activation after the output layer too", '''
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(nn.Linear(1, width), activation(), nn.Linear(width, 1), activation())
'''),
        ("ignores the activation argument", '''
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(nn.Linear(1, width), nn.Sigmoid(), nn.Linear(width, 1))
'''),
        ("hard-coded to the visible width 3", '''
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(nn.Linear(1, 3), activation(), nn.Linear(3, 1))
'''),
        ("activation class not instantiated", '''
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(nn.Linear(1, width), activation, nn.Linear(width, 1))
'''),
        ("output layer with the wrong input size", '''
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(nn.Linear(1, width), activation(), nn.Linear(1, 1))
'''),
    ],
    "ex2_node_contributions": [
        ("forgets the activation", '''
def node_contributions(model, X):
    with torch.no_grad():
        return model[0](X) * model[2].weight[0]
'''),
        ("forgets the output weights", '''
def node_contributions(model, X):
    with torch.no_grad():
        return model[1](model[0](X))
'''),
        ("adds the output bias to every node", '''
def node_contributions(model, X):
    with torch.no_grad():
        return model[1](model[0](X)) * model[2].weight[0] + model[2].bias
'''),
        ("always uses the sigmoid", '''
def node_contributions(model, X):
    with torch.no_grad():
        return torch.sigmoid(model[0](X)) * model[2].weight[0]
'''),
        ("returns the summed prediction instead of one column per node", '''
def node_contributions(model, X):
    with torch.no_grad():
        return model[1](model[0](X)) @ model[2].weight.T
'''),
        ("multiplies by the first layer's weights", '''
def node_contributions(model, X):
    with torch.no_grad():
        return model[1](model[0](X)) * model[0].weight.T
'''),
    ],
    "ex3_make_mlp": [
        ("an activation after the output layer", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    layers, size = [], n_in
    for width in hidden + [n_out]:
        layers += [nn.Linear(size, width), activation()]
        size = width
    return nn.Sequential(*layers)
'''),
        ("no activations", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    sizes = [n_in] + list(hidden) + [n_out]
    return nn.Sequential(*[nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
'''),
        ("ignores the activation argument", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    layers, size = [], n_in
    for width in hidden:
        layers += [nn.Linear(size, width), nn.ReLU()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, n_out))
'''),
        ("every hidden layer takes n_in inputs", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    layers = []
    for width in hidden:
        layers += [nn.Linear(n_in, width), activation()]
    return nn.Sequential(*layers, nn.Linear(hidden[-1] if hidden else n_in, n_out))
'''),
        ("ignores n_in and n_out", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    layers, size = [], 1
    for width in hidden:
        layers += [nn.Linear(size, width), activation()]
        size = width
    return nn.Sequential(*layers, nn.Linear(size, 1))
'''),
        ("hard-coded to the visible [8, 4]", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    if not hidden:
        return nn.Sequential(nn.Linear(1, 1))
    return nn.Sequential(nn.Linear(1, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 1))
'''),
    ],
    "ex4_train_mlp": [
        ("SGD instead of Adam", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(epochs):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
    return model
'''),
        ("seeds after building the model", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    model = make_mlp(hidden, activation).to(X.device)
    set_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
    return model
'''),
        ("ignores the seed argument", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(0)
    model = make_mlp(hidden, activation).to(X.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
    return model
'''),
        ("ignores the learning rate", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    optimizer = torch.optim.Adam(model.parameters())
    for _ in range(epochs):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
    return model
'''),
        ("forgets zero_grad", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        nn.functional.mse_loss(model(X), y).backward()
        optimizer.step()
    return model
'''),
        ("mini-batches of 10 instead of full batch", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for i in range(0, len(X), 10):
            optimizer.zero_grad()
            nn.functional.mse_loss(model(X[i:i + 10]), y[i:i + 10]).backward()
            optimizer.step()
    return model
'''),
    ],
    "ex5_model_best": [
        ("a linear model", '''
model_best = train_mlp(X_train, y_train, [], lr=0.05, epochs=300)
print("validation MSE:", round(val_mse(model_best), 3))
'''),
        ("too narrow", '''
model_best = train_mlp(X_train, y_train, [2], lr=0.05, epochs=300)
print("validation MSE:", round(val_mse(model_best), 3))
'''),
        ("too few epochs", '''
model_best = train_mlp(X_train, y_train, [16, 16], lr=0.05, epochs=30)
print("validation MSE:", round(val_mse(model_best), 3))
'''),
        ("a stuck sigmoid network", '''
model_best = train_mlp(X_train, y_train, [10, 10], nn.Sigmoid, lr=0.05, epochs=300)
print("validation MSE:", round(val_mse(model_best), 3))
'''),
    ],
}

RIGHT = {
    "ex1_make_shallow": [
        ("named layers with an OrderedDict", '''
from collections import OrderedDict
def make_shallow(width, activation=nn.Sigmoid):
    return nn.Sequential(OrderedDict(hidden=nn.Linear(1, width), act=activation(), output=nn.Linear(width, 1)))
'''),
    ],
    "ex2_node_contributions": [
        ("children list and a diagonal matrix", '''
def node_contributions(model, X):
    first, act, last = list(model.children())
    with torch.no_grad():
        return act(first(X)) @ torch.diag(last.weight.reshape(-1))
'''),
        ("detach instead of no_grad", '''
def node_contributions(model, X):
    h = model[1](model[0](X))
    return (h * model[2].weight).detach()
'''),
    ],
    "ex3_make_mlp": [
        ("list of sizes, appending one layer at a time", '''
def make_mlp(hidden, activation=nn.ReLU, n_in=1, n_out=1):
    sizes = [n_in, *hidden, n_out]
    model = nn.Sequential()
    for i in range(len(sizes) - 1):
        model.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            model.append(activation())
    return model
'''),
    ],
    "ex4_train_mlp": [
        ("uses fit with a one-batch loader", '''
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    fit(model, [(X, y)], nn.MSELoss(), torch.optim.Adam(model.parameters(), lr=lr), epochs, progress=False)
    return model
'''),
        ("DataLoader with the whole data as one shuffled batch", '''
from torch.utils.data import DataLoader, TensorDataset
def train_mlp(X, y, hidden, activation=nn.ReLU, lr=0.05, epochs=300, seed=0):
    set_seed(seed)
    model = make_mlp(hidden, activation).to(X.device)
    loader = DataLoader(TensorDataset(X, y), batch_size=len(X), shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        for xb, yb in loader:
            optimizer.zero_grad()
            nn.MSELoss()(model(xb), yb).backward()
            optimizer.step()
    return model
'''),
    ],
    "ex5_model_best": [
        ("three narrow ReLU layers, longer", '''
model_best = train_mlp(X_train, y_train, [8, 8, 8], nn.ReLU, lr=0.03, epochs=600)
print("validation MSE:", round(val_mse(model_best), 3))
'''),
    ],
}
