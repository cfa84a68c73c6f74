"""Plausible wrong answers (must fail the tests) and alternative right answers (must pass) for 02_forward_pass.

Keys are the grade_ids of the solution cells; each value is a list of (description, full cell source).
"""

WRONG = {
    "ex1_linear_forward": [
        ("forgets the transpose: X @ W", '''
def linear_forward(X, W, b):
    return X @ W + b
'''),
        ("forgets the bias", '''
def linear_forward(X, W, b):
    return X @ W.T
'''),
        ("W @ X.T gives (out, n), the transpose of the answer", '''
def linear_forward(X, W, b):
    return W @ X.T + b.unsqueeze(1)
'''),
        ("element-wise product summed over everything", '''
def linear_forward(X, W, b):
    return (X.unsqueeze(1) * W).sum() + b
'''),
        ("subtracts the bias", '''
def linear_forward(X, W, b):
    return X @ W.T - b
'''),
    ],
    "ex2_collapse_linear": [
        ("weights multiplied in the wrong order", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_((layer1.weight.T @ layer2.weight.T))
        combined.bias.copy_(layer2.weight @ layer1.bias + layer2.bias)
    return combined
'''),
        ("adds the biases instead of passing b1 through layer2", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_(layer2.weight @ layer1.weight)
        combined.bias.copy_(layer2.bias + layer1.bias.sum())
    return combined
'''),
        ("keeps only layer2's bias", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_(layer2.weight @ layer1.weight)
        combined.bias.copy_(layer2.bias)
    return combined
'''),
        ("returns a Sequential of the two layers, not one nn.Linear", '''
def collapse_linear(layer1, layer2):
    return nn.Sequential(layer1, layer2)
'''),
        ("overwrites layer1 instead of making a new layer", '''
def collapse_linear(layer1, layer2):
    with torch.no_grad():
        new_bias = layer2.weight @ layer1.bias + layer2.bias
        new_weight = layer2.weight @ layer1.weight
    layer1.weight = nn.Parameter(new_weight)
    layer1.bias = nn.Parameter(new_bias)
    layer1.out_features = layer2.out_features
    return layer1
'''),
    ],
    "ex3_build_mlp": [
        ("a ReLU after the last layer too", '''
def build_mlp(sizes):
    modules = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        modules += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*modules)
'''),
        ("no activations at all", '''
def build_mlp(sizes):
    return nn.Sequential(*[nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
'''),
        ("hard-coded to the visible test", '''
def build_mlp(sizes):
    return nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10))
'''),
        ("sigmoid instead of ReLU", '''
def build_mlp(sizes):
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            modules.append(nn.Sigmoid())
    return nn.Sequential(*modules)
'''),
        ("off by one: drops the last layer", '''
def build_mlp(sizes):
    modules = []
    for i in range(len(sizes) - 2):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        modules.append(nn.ReLU())
    return nn.Sequential(*modules[:-1])
'''),
    ],
    "ex4_two_layer_net": [
        ("forgets the activation: two stacked linear layers", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.output(self.hidden(x))
'''),
        ("a ReLU on the output as well", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return torch.relu(self.output(torch.relu(self.hidden(x))))
'''),
        ("layers kept in a plain list: not registered", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.layers = [nn.Linear(in_features, hidden_features), nn.Linear(hidden_features, out_features)]

    def forward(self, x):
        return self.layers[1](torch.relu(self.layers[0](x)))
'''),
        ("forgets super().__init__()", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x)))
'''),
        ("the hidden size is ignored (hard-coded 8)", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, 8)
        self.output = nn.Linear(8, out_features)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x)))
'''),
    ],
    "ex5_mlp_param_count": [
        ("forgets the biases", '''
def mlp_param_count(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
'''),
        ("one bias per input node instead of per output node", '''
def mlp_param_count(sizes):
    return sum(a * b + a for a, b in zip(sizes[:-1], sizes[1:]))
'''),
        ("hard-coded to the visible tests", '''
def mlp_param_count(sizes):
    return 13002 if sizes[0] == 784 else 10
'''),
        ("counts nodes, not parameters", '''
def mlp_param_count(sizes):
    return sum(sizes)
'''),
        ("biases for the input layer too", '''
def mlp_param_count(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + sizes[0]
'''),
    ],
    "ex6_output_layer": [
        ("softmax over the single binary output (always 1)", '''
def make_output_layer(in_features, task, num_classes=None):
    if task == "regression":
        return nn.Sequential(nn.Linear(in_features, 1))
    if task == "binary":
        return nn.Sequential(nn.Linear(in_features, 1), nn.Softmax(dim=1))
    if task == "multiclass":
        return nn.Sequential(nn.Linear(in_features, num_classes), nn.Softmax(dim=1))
    raise ValueError(task)
'''),
        ("softmax over dim=0, across the samples", '''
def make_output_layer(in_features, task, num_classes=None):
    if task == "regression":
        return nn.Sequential(nn.Linear(in_features, 1))
    if task == "binary":
        return nn.Sequential(nn.Linear(in_features, 1), nn.Sigmoid())
    if task == "multiclass":
        return nn.Sequential(nn.Linear(in_features, num_classes), nn.Softmax(dim=0))
    raise ValueError(task)
'''),
        ("sigmoid on the regression output", '''
def make_output_layer(in_features, task, num_classes=None):
    if task == "regression":
        return nn.Sequential(nn.Linear(in_features, 1), nn.Sigmoid())
    if task == "binary":
        return nn.Sequential(nn.Linear(in_features, 1), nn.Sigmoid())
    if task == "multiclass":
        return nn.Sequential(nn.Linear(in_features, num_classes), nn.Softmax(dim=1))
    raise ValueError(task)
'''),
        ("two outputs with a sigmoid for binary", '''
def make_output_layer(in_features, task, num_classes=None):
    if task == "regression":
        return nn.Sequential(nn.Linear(in_features, 1))
    if task == "binary":
        return nn.Sequential(nn.Linear(in_features, 2), nn.Sigmoid())
    if task == "multiclass":
        return nn.Sequential(nn.Linear(in_features, num_classes), nn.Softmax(dim=1))
    raise ValueError(task)
'''),
        ("hard-coded 4 classes", '''
def make_output_layer(in_features, task, num_classes=None):
    if task == "regression":
        return nn.Sequential(nn.Linear(in_features, 1))
    if task == "binary":
        return nn.Sequential(nn.Linear(in_features, 1), nn.Sigmoid())
    if task == "multiclass":
        return nn.Sequential(nn.Linear(in_features, 4), nn.Softmax(dim=1))
    raise ValueError(task)
'''),
        ("unknown tasks silently fall back to regression", '''
def make_output_layer(in_features, task, num_classes=None):
    if task == "binary":
        return nn.Sequential(nn.Linear(in_features, 1), nn.Sigmoid())
    if task == "multiclass":
        return nn.Sequential(nn.Linear(in_features, num_classes), nn.Softmax(dim=1))
    return nn.Sequential(nn.Linear(in_features, 1))
'''),
    ],
}

RIGHT = {
    "ex1_linear_forward": [
        ("torch.matmul with a transposed weight and an explicit broadcast", '''
def linear_forward(X, W, b):
    return torch.matmul(X, W.transpose(0, 1)) + b.unsqueeze(0)
'''),
        ("torch.nn.functional.linear", '''
def linear_forward(X, W, b):
    return torch.nn.functional.linear(X, W, b)
'''),
    ],
    "ex2_collapse_linear": [
        ("assigns new Parameters and moves the layer", '''
def collapse_linear(layer1, layer2):
    W = (layer2.weight @ layer1.weight).detach()
    b = (layer2.weight @ layer1.bias + layer2.bias).detach()
    combined = nn.Linear(W.shape[1], W.shape[0])
    combined.weight = nn.Parameter(W.clone())
    combined.bias = nn.Parameter(b.clone())
    return combined.to(W.device)
'''),
        ("computes the bias by passing zeros through both layers", '''
def collapse_linear(layer1, layer2):
    device = layer1.weight.device
    combined = nn.Linear(layer1.in_features, layer2.out_features).to(device)
    with torch.no_grad():
        zero = torch.zeros(1, layer1.in_features, device=device)
        combined.bias.copy_(layer2(layer1(zero)).squeeze(0))
        combined.weight.copy_(torch.matmul(layer2.weight, layer1.weight))
    return combined
'''),
    ],
    "ex3_build_mlp": [
        ("add_module in a loop over pairs", '''
def build_mlp(sizes):
    model = nn.Sequential()
    pairs = list(zip(sizes[:-1], sizes[1:]))
    for i, (n_in, n_out) in enumerate(pairs):
        model.append(nn.Linear(n_in, n_out))
        if i != len(pairs) - 1:
            model.append(nn.ReLU())
    return model
'''),
    ],
    "ex4_two_layer_net": [
        ("an nn.ReLU module attribute and nn.functional.relu-free forward", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.act = nn.ReLU()
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        h = self.act(self.hidden(x))
        return self.output(h)
'''),
        ("clamp(min=0) as the ReLU", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super(TwoLayerNet, self).__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.output(self.hidden(x).clamp(min=0))
'''),
    ],
    "ex5_mlp_param_count": [
        ("an explicit loop with (n_in + 1) * n_out", '''
def mlp_param_count(sizes):
    total = 0
    for i in range(1, len(sizes)):
        total += (sizes[i - 1] + 1) * sizes[i]
    return total
'''),
    ],
    "ex6_output_layer": [
        ("a dictionary of builders and Softmax(dim=-1)", '''
def make_output_layer(in_features, task, num_classes=None):
    builders = {
        "regression": lambda: nn.Sequential(nn.Linear(in_features, 1)),
        "binary": lambda: nn.Sequential(nn.Linear(in_features, 1), nn.Sigmoid()),
        "multiclass": lambda: nn.Sequential(nn.Linear(in_features, num_classes), nn.Softmax(dim=-1)),
    }
    if task not in builders:
        raise ValueError(f"task must be one of {sorted(builders)}, not {task!r}")
    return builders[task]()
'''),
    ],
}
