"""Plausible wrong answers (must fail the tests with a message that names the cause) and right answers
written in other styles (must pass) for 02_forward_pass.

Keys are the grade_ids of the solution cells. WRONG entries are (description, full cell source, words
the failure message must contain); RIGHT entries are (description, full cell source).
"""

_READ = '''
def to_probabilities(outputs, task):
    if task == "regression":
        return {regression}
    if task == "binary":
        return {binary}
    if task == "multiclass":
        return {multiclass}
    {other}
'''


def _read(regression="outputs", binary="torch.sigmoid(outputs)", multiclass="torch.softmax(outputs, dim=1)",
          other='raise ValueError(f"unknown task {task!r}")'):
    return _READ.format(regression=regression, binary=binary, multiclass=multiclass, other=other)


_NET = '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return {forward}
'''

WRONG = {
    "ex1_linear_forward": [
        ("forgets the transpose: X @ W", '''
def linear_forward(X, W, b):
    return X @ W + b
''', ["4×3 by a 2×3", ".T is missing"]),
        ("forgets the bias", '''
def linear_forward(X, W, b):
    return X @ W.T
''', ["bias b is missing"]),
        ("W @ X.T gives (out, n), the transpose of the answer", '''
def linear_forward(X, W, b):
    return W @ X.T + b.unsqueeze(1)
''', ["transpose of the answer"]),
        ("element-wise product summed over everything", '''
def linear_forward(X, W, b):
    return (X.unsqueeze(1) * W).sum() + b
''', ["wrong shape", "reduction"]),
        ("subtracts the bias", '''
def linear_forward(X, W, b):
    return X @ W.T - b
''', ["subtracted"]),
        ("the bias as a column does not broadcast", '''
def linear_forward(X, W, b):
    return X @ W.T + b.unsqueeze(1)
''', ["do not broadcast", "size"]),
        ("squeeze() drops a dimension of size 1", '''
def linear_forward(X, W, b):
    return (X @ W.T + b).squeeze()
''', ["squeeze", "squeeze"]),
        ("a ReLU on top", '''
def linear_forward(X, W, b):
    return torch.relu(X @ W.T + b)
''', ["ReLU", "no activation"]),
        ("computes in float64", '''
def linear_forward(X, W, b):
    return X.double() @ W.double().T + b.double()
''', ["float64", "float32"]),
        # issue 20: dtype narrowing, in-place edits of the caller's W and b, nn.Linear's function under another name
        ("narrows the result to float32 with .float()", '''
def linear_forward(X, W, b):
    return (X @ W.T + b).float()
''', ["float64", "dtype"]),
        ("transposes W in place with t_()", '''
def linear_forward(X, W, b):
    return X @ W.t_() + b
''', ["W after", "in place"]),
        ("unsqueezes b in place", '''
def linear_forward(X, W, b):
    return X @ W.T + b.unsqueeze_(0)
''', ["b after", "in place"]),
        ("a loop over the rows, stacked (the exercise says: no loops)", '''
def linear_forward(X, W, b):
    return torch.stack([W @ x + b for x in X])
''', ["loop over the samples", "no loops"]),
        ("F.linear: nn.Linear's own function", '''
def linear_forward(X, W, b):
    return torch.nn.functional.linear(X, W, b)
''', ["F.linear", "tensor operations only"]),
    ],
    "ex2_collapse_linear": [
        ("weights multiplied in the wrong order", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_(layer1.weight @ layer2.weight)
        combined.bias.copy_(layer2.weight @ layer1.bias + layer2.bias)
    return combined
''', ["other order", "wrong way round"]),
        ("adds the biases instead of passing b1 through layer2", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_(layer2.weight @ layer1.weight)
        combined.bias.copy_(layer2.bias + layer1.bias.sum())
    return combined
''', ["must pass through layer2's weight"]),
        ("keeps only layer2's bias", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_(layer2.weight @ layer1.weight)
        combined.bias.copy_(layer2.bias)
    return combined
''', ["layer1's bias is lost"]),
        ("returns a Sequential of the two layers, not one nn.Linear", '''
def collapse_linear(layer1, layer2):
    return nn.Sequential(layer1, layer2)
''', ["nn.Linear", "Sequential"]),
        ("overwrites layer1 instead of making a new layer", '''
def collapse_linear(layer1, layer2):
    with torch.no_grad():
        new_bias = layer2.weight @ layer1.bias + layer2.bias
        new_weight = layer2.weight @ layer1.weight
    layer1.weight = nn.Parameter(new_weight)
    layer1.bias = nn.Parameter(new_bias)
    layer1.out_features = layer2.out_features
    return layer1
''', ["given layers were changed"]),
        ("copies without torch.no_grad()", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    combined.weight.copy_(layer2.weight @ layer1.weight)
    combined.bias.copy_(layer2.weight @ layer1.bias + layer2.bias)
    return combined
''', ["torch.no_grad()"]),
        ("assigns a plain tensor as the weight", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    combined.weight = (layer2.weight @ layer1.weight).detach()
    combined.bias = (layer2.weight @ layer1.bias + layer2.bias).detach()
    return combined
''', ["nn.Parameter"]),
        ("creates the new layer on the default device", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features)
    with torch.no_grad():
        combined.weight.copy_(layer2.weight @ layer1.weight)
        combined.bias.copy_(layer2.weight @ layer1.bias + layer2.bias)
    return combined
''', ["device"]),
        ("drops both biases", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_(layer2.weight @ layer1.weight)
        combined.bias.zero_()
    return combined
''', ["both biases are missing"]),
        # issue 20: a layer shared between calls, an in-place edit of layer2 through a shared bias
        ("one combined layer per size, kept in a cache and reused", '''
_combined = {}

def collapse_linear(layer1, layer2):
    key = (layer1.in_features, layer2.out_features)
    if key not in _combined:
        _combined[key] = nn.Linear(*key, device=layer1.weight.device)
    combined = _combined[key]
    with torch.no_grad():
        combined.weight.copy_(layer2.weight @ layer1.weight)
        combined.bias.copy_(layer2.weight @ layer1.bias + layer2.bias)
    return combined
''', ["same layer", "every call"]),
        ("shares layer2's bias Parameter and adds to it in place", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_(layer2.weight @ layer1.weight)
        combined.bias = layer2.bias
        combined.bias += layer2.weight @ layer1.bias
    return combined
''', ["layer2.bias after", "leave them alone"]),
        ("builds the weights from Python lists: the device is lost", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features)
    with torch.no_grad():
        combined.weight.copy_(torch.tensor((layer2.weight @ layer1.weight).tolist()))
        combined.bias.copy_(torch.tensor((layer2.weight @ layer1.bias + layer2.bias).tolist()))
    return combined
''', ["device"]),
    ],
    "ex3_build_mlp": [
        ("a ReLU after the last layer too", '''
def build_mlp(sizes):
    modules = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        modules += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*modules)
''', ["except the last", "position 5"]),
        ("no activations at all", '''
def build_mlp(sizes):
    return nn.Sequential(*[nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])])
''', ["ReLU", "position 1"]),
        ("hard-coded to the visible test", '''
def build_mlp(sizes):
    return nn.Sequential(nn.Linear(784, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 10))
''', ["build_mlp([3, 5, 2])", "unexpected from position 3"]),
        ("sigmoid instead of ReLU", '''
def build_mlp(sizes):
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            modules.append(nn.Sigmoid())
    return nn.Sequential(*modules)
''', ["expected ReLU, got Sigmoid"]),
        ("off by one: drops the last layer", '''
def build_mlp(sizes):
    modules = []
    for i in range(len(sizes) - 2):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        modules.append(nn.ReLU())
    return nn.Sequential(*modules[:-1])
''', ["missing from position 3"]),
        ("the function torch.relu inside nn.Sequential", '''
def build_mlp(sizes):
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            modules.append(torch.relu)
    return nn.Sequential(*modules)
''', ["function relu", "nn.ReLU()"]),
        ("the class nn.ReLU without parentheses", '''
def build_mlp(sizes):
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            modules.append(nn.ReLU)
    return nn.Sequential(*modules)
''', ["class ReLU itself", "ReLU()"]),
        ("hidden widths in reverse order", '''
def build_mlp(sizes):
    widths = [sizes[0]] + sizes[1:-1][::-1] + [sizes[-1]]
    modules = []
    for i in range(len(widths) - 1):
        modules.append(nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)
''', ["in_features, out_features", "(8, 6)"]),
        ("linear layers without biases", '''
def build_mlp(sizes):
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1], bias=False))
        if i < len(sizes) - 2:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)
''', ["bias=False"]),
        ("returns a ModuleList", '''
def build_mlp(sizes):
    modules = nn.ModuleList()
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            modules.append(nn.ReLU())
    return modules
''', ["nn.Sequential", "ModuleList"]),
        # issue 20: layers shared between calls, the caller's list changed
        ("layers kept in a cache by size: two calls share them", '''
_layers = {}

def build_mlp(sizes):
    modules = []
    for i in range(len(sizes) - 1):
        key = (sizes[i], sizes[i + 1])
        if key not in _layers:
            _layers[key] = nn.Linear(*key)
        modules.append(_layers[key])
        if i < len(sizes) - 2:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)
''', ["reuses layers", "earlier call"]),
        ("the modules list lives outside the function", '''
modules = []

def build_mlp(sizes):
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)
''', ["reuses layers", "earlier call"]),
        ("pops the output size off the caller's list", '''
def build_mlp(sizes):
    n_out = sizes.pop()
    modules = []
    for n_in, n_next in zip(sizes, sizes[1:] + [n_out]):
        modules += [nn.Linear(n_in, n_next), nn.ReLU()]
    return nn.Sequential(*modules[:-1])
''', ["sizes after", "do not change the list"]),
    ],
    "ex4_two_layer_net": [
        ("forgets the activation: two stacked linear layers", _NET.format(forward="self.output(self.hidden(x))"),
         ["no activation between the layers"]),
        ("a ReLU on the output as well", _NET.format(forward="torch.relu(self.output(torch.relu(self.hidden(x))))"),
         ["ReLU after the output layer"]),
        ("layers kept in a plain list: not registered", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.layers = [nn.Linear(in_features, hidden_features), nn.Linear(hidden_features, out_features)]

    def forward(self, x):
        return self.layers[1](torch.relu(self.layers[0](x)))
''', ["self.hidden", "no such attribute"]),
        ("forgets super().__init__()", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x)))
''', ["super().__init__()"]),
        ("the hidden size is ignored (hard-coded 8)", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, 8)
        self.output = nn.Linear(8, out_features)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x)))
''', ["hidden's sizes", "(2, 3)", "(2, 8)"]),
        ("an nn.ReLU that is registered but never called", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.relu = nn.ReLU()
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.output(self.hidden(x))
''', ["never called"]),
        ("sigmoid instead of ReLU", _NET.format(forward="self.output(torch.sigmoid(self.hidden(x)))"),
         ["sigmoid between the layers"]),
        ("a sigmoid at the end", _NET.format(forward="torch.sigmoid(self.output(torch.relu(self.hidden(x))))"),
         ["sigmoid after the output layer"]),
        ("other attribute names", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.fc2 = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
''', ["self.hidden", "names"]),
        # issue 20: weights edited in place in forward, layers shared between instances, a range-narrowing "ReLU"
        ("clips the weights in place in forward (p.data.clamp_)", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        for p in self.parameters():
            p.data.clamp_(-0.1, 0.1)
        return self.output(torch.relu(self.hidden(x)))
''', ["after a forward pass", "in-place"]),
        ("layers kept in a class-level cache: networks share them", '''
class TwoLayerNet(nn.Module):
    _layers = {}

    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        key = (in_features, hidden_features, out_features)
        if key not in TwoLayerNet._layers:
            TwoLayerNet._layers[key] = (nn.Linear(in_features, hidden_features), nn.Linear(hidden_features, out_features))
        self.hidden, self.output = TwoLayerNet._layers[key]

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x)))
''', ["share layers", "every instance"]),
        ("clamp(0, 1) as the activation", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.output(torch.clamp(self.hidden(x), 0, 1))
''', ["clamp(0, 1)", "above 1"]),
    ],
    "ex5_mlp_param_count": [
        ("forgets the biases", '''
def mlp_param_count(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
''', ["biases are missing"]),
        ("one bias per input node instead of per output node", '''
def mlp_param_count(sizes):
    return sum(a * b + a for a, b in zip(sizes[:-1], sizes[1:]))
''', ["one bias per input"]),
        ("hard-coded to the visible tests", '''
def mlp_param_count(sizes):
    return 13002 if sizes[0] == 784 else 10
''', ["visible example"]),
        ("counts nodes, not parameters", '''
def mlp_param_count(sizes):
    return sum(sizes)
''', ["counts the nodes"]),
        ("biases for the input layer too", '''
def mlp_param_count(sizes):
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])) + sizes[0]
''', ["inputs have no biases"]),
        ("assumes every hidden layer has the first hidden width", '''
def mlp_param_count(sizes):
    h, n_hidden = sizes[1], len(sizes) - 2
    if n_hidden == 0:
        return sizes[0] * sizes[1] + sizes[1]
    return (sizes[0] * h + h) + (n_hidden - 1) * (h * h + h) + (h * sizes[-1] + sizes[-1])
''', ["first hidden width"]),
        ("returns a float", '''
def mlp_param_count(sizes):
    return float(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:])))
''', ["int"]),
        ("off by one in the loop: misses the last layer", '''
def mlp_param_count(sizes):
    total = 0
    for i in range(len(sizes) - 2):
        total += sizes[i] * sizes[i + 1] + sizes[i + 1]
    return total
''', ["last layer is missing"]),
        ("pops from the caller's list", '''
def mlp_param_count(sizes):
    total = 0
    while len(sizes) > 1:
        n_in = sizes.pop(0)
        total += n_in * sizes[0] + sizes[0]
    return total
''', ["do not change the list"]),
        # issue 20: a requirement the tests could not see ("without building the network"), int32 overflow
        ("builds the network with build_mlp and counts its parameters", '''
def mlp_param_count(sizes):
    return sum(p.numel() for p in build_mlp(sizes).parameters())
''', ["builds the network", "formula"]),
        ("builds one nn.Linear per pair and counts", '''
def mlp_param_count(sizes):
    total = 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        total += sum(p.numel() for p in nn.Linear(n_in, n_out).parameters())
    return total
''', ["builds the network", "formula"]),
        ("computes with 32-bit integer tensors", '''
def mlp_param_count(sizes):
    s = torch.tensor(sizes).int()
    return int((s[:-1] * s[1:] + s[1:]).sum())
''', ["overflowed", "int32"]),
    ],
    "ex6_output_layer": [
        ("softmax over the single binary output (always 1)",
         _read(binary="torch.softmax(outputs, dim=1)"), ["softmax over a single output is always 1"]),
        ("softmax over dim=0, across the samples",
         _read(multiclass="torch.softmax(outputs, dim=0)"), ["dim=0", "dim=1"]),
        ("sigmoid on the regression output",
         _read(regression="torch.sigmoid(outputs)"), ["no activation"]),
        ("ReLU on the regression output",
         _read(regression="torch.relu(outputs)"), ["ReLU", "no activation"]),
        ("sigmoid instead of softmax for multiclass",
         _read(multiclass="torch.sigmoid(outputs)"), ["sum to 1", "softmax"]),
        ("no activation for binary",
         _read(binary="outputs"), ["needs a sigmoid"]),
        ("in-place sigmoid changes the caller's outputs",
         _read(binary="outputs.sigmoid_()"), ["unchanged", "in-place"]),
        ("unknown tasks silently read as regression",
         _read(other="return outputs"), ["did not raise", "ValueError"]),
        ("unknown tasks return None",
         _read(other="return None"), ["did not raise", "None"]),
        ("classes instead of probabilities for binary",
         _read(binary="(outputs > 0).float()"), ["expected", "got"]),
        ("probabilities cut from the graph with .detach()",
         _read(binary="torch.sigmoid(outputs).detach()"), ["cut from the graph"]),
        ("float64 probabilities",
         _read(multiclass="torch.softmax(outputs, dim=1).double()"), ["changed the dtype", "torch.float64"]),
        # issue 20: dtype narrowing, softmax by hand with a global shift or none
        ("narrows the outputs to float32 first", '''
def to_probabilities(outputs, task):
    outputs = outputs.float()
    if task == "regression":
        return outputs
    if task == "binary":
        return torch.sigmoid(outputs)
    if task == "multiclass":
        return torch.softmax(outputs, dim=1)
    raise ValueError(f"unknown task {task!r}")
''', ["changed the dtype", "float64"]),
        ("softmax by hand, shifted by the largest output of the whole batch", '''
def to_probabilities(outputs, task):
    if task == "regression":
        return outputs
    if task == "binary":
        return torch.sigmoid(outputs)
    if task == "multiclass":
        e = torch.exp(outputs - outputs.max())
        return e / e.sum(dim=1, keepdim=True)
    raise ValueError(f"unknown task {task!r}")
''', ["whole batch", "own maximum"]),
        ("softmax by hand without a shift", '''
def to_probabilities(outputs, task):
    if task == "regression":
        return outputs
    if task == "binary":
        return 1 / (1 + torch.exp(-outputs))
    if task == "multiclass":
        e = torch.exp(outputs)
        return e / e.sum(dim=1, keepdim=True)
    raise ValueError(f"unknown task {task!r}")
''', ["overflows", "maximum"]),
    ],
}

RIGHT = {
    "ex1_linear_forward": [
        ("torch.matmul with a transposed weight and an explicit broadcast", '''
def linear_forward(X, W, b):
    return torch.matmul(X, W.transpose(0, 1)) + b.unsqueeze(0)
'''),
        ("torch.addmm", '''
def linear_forward(X, W, b):
    return torch.addmm(b, X, W.t())
'''),
        ("einsum", '''
def linear_forward(X, W, b):
    out = torch.einsum("ni,oi->no", X, W)
    return out + b
'''),
        # issue 20: styles the tests had not seen
        ("float64 inside, cast back to X's dtype", '''
def linear_forward(X, W, b):
    return (X.double() @ W.double().T + b.double()).to(X.dtype)
'''),
        ("torch.tensordot over the feature dimension", '''
def linear_forward(X, W, b):
    return torch.tensordot(X, W, dims=([1], [1])) + b
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
        ("torch.linalg.multi_dot and F.linear for the bias", '''
def collapse_linear(layer1, layer2):
    with torch.no_grad():
        weight = torch.linalg.multi_dot([layer2.weight, layer1.weight])
        bias = torch.nn.functional.linear(layer1.bias, layer2.weight, layer2.bias)
        new_layer = nn.Linear(weight.shape[1], weight.shape[0], device=weight.device)
        new_layer.weight.copy_(weight)
        new_layer.bias.copy_(bias)
    return new_layer
'''),
        # issue 20: styles the tests had not seen
        ("float64 inside, cast back to the layers' dtype", '''
def collapse_linear(layer1, layer2):
    W1, b1 = layer1.weight.double(), layer1.bias.double()
    W2, b2 = layer2.weight.double(), layer2.bias.double()
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_((W2 @ W1).to(combined.weight.dtype))
        combined.bias.copy_((W2 @ b1 + b2).to(combined.bias.dtype))
    return combined
'''),
        ("a new layer moved with .to(), its .data replaced", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features).to(layer1.weight.device)
    combined.weight.data = (layer2.weight @ layer1.weight).detach().clone()
    combined.bias.data = (layer2.weight @ layer1.bias + layer2.bias).detach().clone()
    return combined
'''),
    ],
    "ex3_build_mlp": [
        ("append in a loop over pairs", '''
def build_mlp(sizes):
    model = nn.Sequential()
    pairs = list(zip(sizes[:-1], sizes[1:]))
    for i, (n_in, n_out) in enumerate(pairs):
        model.append(nn.Linear(n_in, n_out))
        if i != len(pairs) - 1:
            model.append(nn.ReLU())
    return model
'''),
        ("interleave then drop the last ReLU", '''
def build_mlp(sizes):
    modules = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        modules.extend([nn.Linear(n_in, n_out), nn.ReLU()])
    return nn.Sequential(*modules[:-1])
'''),
        ("named layers in an OrderedDict", '''
from collections import OrderedDict

def build_mlp(sizes):
    layers = OrderedDict()
    for i in range(len(sizes) - 1):
        layers[f"linear{i}"] = nn.Linear(sizes[i], sizes[i + 1])
        if i + 2 < len(sizes):
            layers[f"relu{i}"] = nn.ReLU()
    return nn.Sequential(layers)
'''),
        # issue 20: styles the tests had not seen
        ("one nn.ReLU object reused (it has no weights)", '''
RELU = nn.ReLU()

def build_mlp(sizes):
    modules = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        modules += [nn.Linear(n_in, n_out), RELU]
    return nn.Sequential(*modules[:-1])
'''),
        ("an empty nn.Sequential filled with add_module", '''
def build_mlp(sizes):
    model = nn.Sequential()
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if i > 0:
            model.add_module(f"relu{i}", nn.ReLU())
        model.add_module(f"linear{i}", nn.Linear(n_in, n_out))
    return model
'''),
    ],
    "ex4_two_layer_net": [
        ("an nn.ReLU module attribute", '''
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
        ("F.relu, the output layer created first, and an explicit nn.Identity", '''
import torch.nn.functional as F

class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.output = nn.Linear(hidden_features, out_features)
        self.hidden = nn.Linear(in_features, hidden_features)
        self.final = nn.Identity()

    def forward(self, x):
        return self.final(self.output(F.relu(self.hidden(x))))
'''),
        # issue 20: styles the tests had not seen
        ("the functional API on the layers' weights", '''
import torch.nn.functional as F

class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        h = F.relu(F.linear(x, self.hidden.weight, self.hidden.bias))
        return F.linear(h, self.output.weight, self.output.bias)
'''),
        ("einsum with the layers' weights", '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        h = torch.einsum("ni,hi->nh", x, self.hidden.weight) + self.hidden.bias
        return torch.einsum("nh,oh->no", h.clamp(min=0), self.output.weight) + self.output.bias
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
        ("itertools.pairwise", '''
from itertools import pairwise

def mlp_param_count(sizes):
    return sum(n_out * (n_in + 1) for n_in, n_out in pairwise(sizes))
'''),
        ("NumPy arrays, converted back to int", '''
import numpy as np

def mlp_param_count(sizes):
    s = np.array(sizes)
    return int((s[:-1] * s[1:]).sum() + s[1:].sum())
'''),
        # issue 20: styles the tests had not seen
        ("NumPy's dot product, converted back to int", '''
import numpy as np

def mlp_param_count(sizes):
    s = np.array(sizes, dtype=np.int64)
    return int(np.dot(s[:-1], s[1:]) + s[1:].sum())
'''),
        ("recursion over the list", '''
def mlp_param_count(sizes):
    if len(sizes) < 2:
        return 0
    return sizes[0] * sizes[1] + sizes[1] + mlp_param_count(sizes[1:])
'''),
    ],
    "ex6_output_layer": [
        ("a dictionary of readers and softmax over dim=-1", '''
def to_probabilities(outputs, task):
    readers = {
        "regression": lambda z: z,
        "binary": torch.sigmoid,
        "multiclass": lambda z: torch.softmax(z, dim=-1),
    }
    if task not in readers:
        raise ValueError(f"task must be one of {sorted(readers)}, not {task!r}")
    return readers[task](outputs)
'''),
        ("modules applied outside the model, with nn.Identity for regression", '''
def to_probabilities(outputs, task):
    if task not in ("regression", "binary", "multiclass"):
        raise ValueError("task must be 'regression', 'binary' or 'multiclass'")
    reader = {"regression": nn.Identity(), "binary": nn.Sigmoid(), "multiclass": nn.Softmax(dim=1)}[task]
    return reader(outputs)
'''),
        ("match statement, the formulas written out", '''
def to_probabilities(outputs, task):
    match task:
        case "regression":
            return outputs.clone()
        case "binary":
            return 1 / (1 + torch.exp(-outputs))
        case "multiclass":
            shifted = torch.exp(outputs - outputs.max(dim=1, keepdim=True).values)
            return shifted / shifted.sum(dim=1, keepdim=True)
        case _:
            raise ValueError(f"unknown task {task!r}")
'''),
        # issue 20: styles the tests had not seen
        ("the functional API, softmax over dim=-1", '''
import torch.nn.functional as F

def to_probabilities(outputs, task):
    readers = {"regression": lambda z: z, "binary": F.sigmoid, "multiclass": lambda z: F.softmax(z, dim=-1)}
    if task not in readers:
        raise ValueError(f"task must be one of {sorted(readers)}, not {task!r}")
    return readers[task](outputs)
'''),
        ("logsumexp for the softmax, tanh for the sigmoid", '''
def to_probabilities(outputs, task):
    if task == "regression":
        return outputs
    if task == "binary":
        return (torch.tanh(outputs / 2) + 1) / 2
    if task == "multiclass":
        return torch.exp(outputs - torch.logsumexp(outputs, dim=1, keepdim=True))
    raise ValueError(f"unknown task {task!r}")
'''),
        ("float64 inside, cast back to the outputs' dtype", '''
def to_probabilities(outputs, task):
    if task not in ("regression", "binary", "multiclass"):
        raise ValueError(f"unknown task {task!r}")
    z = outputs.double()
    probs = {"regression": z, "binary": torch.sigmoid(z), "multiclass": torch.softmax(z, dim=1)}[task]
    return probs.to(outputs.dtype)
'''),
    ],
}

# issue 20: answers that only the property tests catch (generated inputs against the instructor's reference:
# size-1 dimensions, float64, extreme values, gradients through backward), and right answers in further styles
WRONG["ex1_linear_forward"] += [
    ("detaches the input batch", '''
def linear_forward(X, W, b):
    return X.detach() @ W.T + b
''', ["X.grad", "no gradient reached"]),
    ("the bias through .data", '''
def linear_forward(X, W, b):
    return X @ W.T + b.data
''', ["b.grad", "no gradient reached"]),
]
RIGHT["ex1_linear_forward"] += [
    ("W @ X.T, transposed back", '''
def linear_forward(X, W, b):
    return (W @ X.T).T + b
'''),
]
RIGHT["ex2_collapse_linear"] += [
    ("einsum for the weight, torch.mv for the bias", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features).to(layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_(torch.einsum("oh,hi->oi", layer2.weight, layer1.weight))
        combined.bias.copy_(torch.mv(layer2.weight, layer1.bias) + layer2.bias)
    return combined
'''),
]
WRONG["ex3_build_mlp"] += [
    ("no ReLU after a layer whose width equals the output size", '''
def build_mlp(sizes):
    modules = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        modules.append(nn.Linear(n_in, n_out))
        if n_out != sizes[-1]:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)
''', ["the layers of build_mlp(sizes)", "sizes ="]),
    ("the pairs kept in a dict: repeated input widths are lost", '''
def build_mlp(sizes):
    pairs = dict(zip(sizes[:-1], sizes[1:]))
    modules = []
    for n_in, n_out in pairs.items():
        modules += [nn.Linear(n_in, n_out), nn.ReLU()]
    return nn.Sequential(*modules[:-1])
''', ["wrong layers", "missing"]),
]
RIGHT["ex3_build_mlp"] += [
    ("lists of pairs joined with sum(..., [])", '''
def build_mlp(sizes):
    blocks = [[nn.Linear(a, b), nn.ReLU()] for a, b in zip(sizes[:-1], sizes[1:])]
    return nn.Sequential(*sum(blocks, [])[:-1])
'''),
]
WRONG["ex4_two_layer_net"] += [
    ("detaches the input in forward", _NET.format(forward="self.output(torch.relu(self.hidden(x.detach())))"),
     ["x.grad", "no gradient reached"]),
    ("reads the input through .data", _NET.format(forward="self.output(torch.relu(self.hidden(x.data)))"),
     ["x.grad", "no gradient reached"]),
]
RIGHT["ex4_two_layer_net"] += [
    ("torch.addmm and clamp_min", _NET.format(
        forward="torch.addmm(self.output.bias, torch.addmm(self.hidden.bias, x, self.hidden.weight.t()).clamp_min(0), "
                "self.output.weight.t())")),
]
WRONG["ex5_mlp_param_count"] += [
    ("the pairs in a set: repeated layers counted once", '''
def mlp_param_count(sizes):
    return sum(a * b + b for a, b in set(zip(sizes[:-1], sizes[1:])))
''', ["counted once", "every pair"]),
    ("the pairs in a dict: repeated input widths are lost", '''
def mlp_param_count(sizes):
    return sum(a * b + b for a, b in dict(zip(sizes[:-1], sizes[1:])).items())
''', ["counted once", "dict"]),
]
RIGHT["ex5_mlp_param_count"] += [
    ("weights and biases summed separately", '''
def mlp_param_count(sizes):
    return sum(a * b for a, b in zip(sizes, sizes[1:])) + sum(sizes[1:])
'''),
]
WRONG["ex6_output_layer"] += [
    ("clamps the probabilities away from 0 and 1", _read(binary="torch.sigmoid(outputs).clamp(1e-4, 1 - 1e-4)",
                                                          multiclass="torch.softmax(outputs, dim=1).clamp(1e-4, 1)"),
     ["cut off at", "no clamp"]),
    ("a one-column multiclass output read as binary", _read(
        multiclass="torch.sigmoid(outputs) if outputs.shape[1] == 1 else torch.softmax(outputs, dim=1)"),
     ["values are not close", "'multiclass'"]),
]
RIGHT["ex6_output_layer"] += [
    ("torch.special.expit and log_softmax().exp()", _read(binary="torch.special.expit(outputs)",
                                                          multiclass="torch.log_softmax(outputs, dim=1).exp()")),
]


# The audit's answers (150 wrong answers and alternative right ones written against all eight topics):
# each WRONG one is rejected with a message that names its cause, each RIGHT one passes.
_AUDIT_WRONG = {
    'ex1_linear_forward': [
        ('view instead of transpose for W', '''
def linear_forward(X, W, b):
    return X @ W.view(W.shape[1], W.shape[0]) + b
''', ['values are not close to the', 'linear_forward(X, W, b), compared']),
        ('computed under no_grad to be fast', '''
def linear_forward(X, W, b):
    with torch.no_grad():
        return X @ W.T + b
''', ['wrong requires_grad', 'requires_grad=False']),
        ('only the first bias entry', '''
def linear_forward(X, W, b):
    return X @ W.T + b[0]
''', ['values are not close to the', 'linear_forward(X, W, b), compared']),
        ('the output detached', '''
def linear_forward(X, W, b):
    return (X @ W.T + b).detach()
''', ['wrong requires_grad', 'requires_grad=False']),
    ],
    'ex2_collapse_linear': [
        ('deepcopy of layer2 with new Parameters: in_features stale', '''
import copy
def collapse_linear(layer1, layer2):
    combined = copy.deepcopy(layer2)
    with torch.no_grad():
        combined.weight = nn.Parameter(layer2.weight @ layer1.weight)
        combined.bias = nn.Parameter(layer2.weight @ layer1.bias + layer2.bias)
    return combined
''', ['(in_features, out_features) of the combined layer', '(6, 3)']),
        ("layer2's bias counted twice via layer2(layer1.bias)", '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        combined.weight.copy_(layer2.weight @ layer1.weight)
        combined.bias.copy_(layer2(layer1.bias) + layer2.bias)
    return combined
''', ['values are not close to the', 'combined(X), compared with layer2(layer1(X))']),
        ('weight built with layer1.weight.T @ layer2.weight.T, not transposed back', '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    with torch.no_grad():
        W = layer1.weight.T @ layer2.weight.T
        combined.weight.copy_(W.reshape(layer2.out_features, layer1.in_features))
        combined.bias.copy_(layer2.weight @ layer1.bias + layer2.bias)
    return combined
''', ['values are not close to the', 'combined(X), compared with layer2(layer1(X))']),
    ],
    'ex3_build_mlp': [
        ('LeakyReLU instead of ReLU', '''
def build_mlp(sizes):
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            modules.append(nn.LeakyReLU())
    return nn.Sequential(*modules)
''', ['a Linear between each pair of consecutive sizes']),
        ('a bare nn.Linear when there are two sizes', '''
def build_mlp(sizes):
    if len(sizes) == 2:
        return nn.Linear(sizes[0], sizes[1])
    modules = []
    for i in range(len(sizes) - 1):
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            modules.append(nn.ReLU())
    return nn.Sequential(*modules)
''', ['wrong type', 'build_mlp([2, 1])']),
        ('ReLU before every linear layer except the first (so none after hidden of the last) - shifted', '''
def build_mlp(sizes):
    modules = []
    for i in range(len(sizes) - 1):
        if i > 1:
            modules.append(nn.ReLU())
        modules.append(nn.Linear(sizes[i], sizes[i + 1]))
    return nn.Sequential(*modules)
''', ['a Linear between each pair of consecutive sizes']),
    ],
    'ex4_two_layer_net': [
        ('ReLU on the input instead of the hidden layer', '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.output(self.hidden(torch.relu(x)))
''', ['values are not close to the', 'TwoLayerNet(4, 8, 3)(X)']),
        ('squeezes the output', '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x))).squeeze()
''', ['a dimension of size 1 is missing']),
        ('hidden layer without bias', '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features, bias=False)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x)))
''', ['some Linear layers have no bias']),
    ],
    'ex5_mlp_param_count': [
        ('one bias per layer instead of per node', '''
def mlp_param_count(sizes):
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:])) + len(sizes) - 1
''', ['not equal to the expected value', 'mlp_param_count([784, 16, 16, 10])']),
        ('a NumPy integer, not an int', '''
import numpy as np
def mlp_param_count(sizes):
    s = np.array(sizes)
    return np.sum(s[:-1] * s[1:] + s[1:])
''', ['wrong type', 'NumPy int64']),
        ('all nodes except the input as biases but weights between input and output only', '''
def mlp_param_count(sizes):
    return sizes[0] * sizes[-1] + sum(sizes[1:])
''', ['not equal to the expected value', 'mlp_param_count([784, 16, 16, 10])']),
    ],
    'ex6_output_layer': [
        ('softmax normalised over the whole batch', '''
def to_probabilities(outputs, task):
    if task == "regression":
        return outputs
    if task == "binary":
        return torch.sigmoid(outputs)
    if task == "multiclass":
        e = torch.exp(outputs)
        return e / e.sum()
    raise ValueError(f"unknown task {task!r}")
''', ['values are not close to the', 'to_probabilities(outputs of shape (6']),
        ('sign error in the sigmoid', '''
def to_probabilities(outputs, task):
    if task == "regression":
        return outputs
    if task == "binary":
        return 1 / (1 + torch.exp(outputs))
    if task == "multiclass":
        return torch.softmax(outputs, dim=1)
    raise ValueError(f"unknown task {task!r}")
''', ['values are not close to the', 'to_probabilities(']),
        ('log_softmax for multiclass', '''
def to_probabilities(outputs, task):
    if task == "regression":
        return outputs
    if task == "binary":
        return torch.sigmoid(outputs)
    if task == "multiclass":
        return torch.log_softmax(outputs, dim=1)
    raise ValueError(f"unknown task {task!r}")
''', ['values are not close to the', 'to_probabilities(outputs of shape (6']),
        ('assert instead of ValueError', '''
def to_probabilities(outputs, task):
    assert task in ("regression", "binary", "multiclass"), f"unknown task {task}"
    if task == "regression":
        return outputs
    if task == "binary":
        return torch.sigmoid(outputs)
    return torch.softmax(outputs, dim=1)
''', ['raise ValueError("...") yourself, with a message']),
    ],
}
_AUDIT_RIGHT = {
    'ex1_linear_forward': [
        ('broadcast product summed over the last dim', '''
def linear_forward(X, W, b):
    return (X.unsqueeze(1) * W).sum(dim=-1) + b
'''),
        ('torch.mm with b as a row', '''
def linear_forward(X, W, b):
    return torch.mm(X, W.t()) + b.unsqueeze(0)
'''),
    ],
    'ex2_collapse_linear': [
        ('bias through layer2(layer1.bias), weight via .data', '''
def collapse_linear(layer1, layer2):
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=layer1.weight.device)
    combined.weight.data = (layer2.weight @ layer1.weight).detach().clone()
    combined.bias.data = layer2(layer1.bias).detach().clone()
    return combined
'''),
        ('identity matrix through both layers', '''
def collapse_linear(layer1, layer2):
    dev = layer1.weight.device
    combined = nn.Linear(layer1.in_features, layer2.out_features, device=dev)
    with torch.no_grad():
        eye = torch.eye(layer1.in_features, device=dev)
        zero = torch.zeros(1, layer1.in_features, device=dev)
        b = layer2(layer1(zero))[0]
        combined.weight.copy_((layer2(layer1(eye)) - b).T)
        combined.bias.copy_(b)
    return combined
'''),
    ],
    'ex3_build_mlp': [
        ('in-place ReLUs', '''
def build_mlp(sizes):
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers[:-1])
'''),
        ('recursion', '''
def build_mlp(sizes):
    def mods(s):
        if len(s) == 2:
            return [nn.Linear(s[0], s[1])]
        return [nn.Linear(s[0], s[1]), nn.ReLU()] + mods(s[1:])
    return nn.Sequential(*mods(list(sizes)))
'''),
    ],
    'ex4_two_layer_net': [
        ('masked assignment as the ReLU', '''
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        h = self.hidden(x)
        h = torch.where(h > 0, h, torch.zeros_like(h))
        return self.output(h)
'''),
        ('F.relu inplace on the hidden output', '''
import torch.nn.functional as F
class TwoLayerNet(nn.Module):
    def __init__(self, in_features, hidden_features, out_features):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden_features)
        self.output = nn.Linear(hidden_features, out_features)

    def forward(self, x):
        return self.output(F.relu(self.hidden(x), inplace=True))
'''),
    ],
    'ex5_mlp_param_count': [
        ('map with (a + 1) * b', '''
def mlp_param_count(sizes):
    return sum(map(lambda p: (p[0] + 1) * p[1], zip(sizes, sizes[1:])))
'''),
        ('a torch tensor reduced with .item()', '''
def mlp_param_count(sizes):
    s = torch.tensor(list(sizes), dtype=torch.int64)
    return int((s[:-1] * s[1:] + s[1:]).sum().item())
'''),
    ],
    'ex6_output_layer': [
        ('nn.Softmax module and a two-class softmax for binary', '''
def to_probabilities(outputs, task):
    if task == "regression":
        return outputs
    if task == "binary":
        both = torch.cat([torch.zeros_like(outputs), outputs], dim=1)
        return torch.softmax(both, dim=1)[:, 1:]
    if task == "multiclass":
        return nn.Softmax(dim=1)(outputs)
    raise ValueError("task must be 'regression', 'binary' or 'multiclass', not " + repr(task))
'''),
        ('softmax by hand with a per-row shift', '''
def to_probabilities(outputs, task):
    if task not in ("regression", "binary", "multiclass"):
        raise ValueError(f"unknown task {task!r}")
    if task == "regression":
        return outputs
    if task == "binary":
        return 1 / (1 + torch.exp(-outputs))
    z = outputs - outputs.max(dim=1, keepdim=True).values
    return z.exp() / z.exp().sum(dim=1, keepdim=True)
'''),
    ],
}
for _key, _entries in _AUDIT_WRONG.items():
    WRONG.setdefault(_key, []).extend(_entries)
for _key, _entries in _AUDIT_RIGHT.items():
    RIGHT.setdefault(_key, []).extend(_entries)
