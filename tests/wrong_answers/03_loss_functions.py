"""Plausible wrong answers (must fail the tests with a message that names the cause) and right answers
written in other styles (must pass) for 03_loss_functions.

Keys are the grade_ids of the solution cells. WRONG entries are (description, full cell source, words
the failure message must contain); RIGHT entries are (description, full cell source).
"""

_BCE = '''
def bce(p, y):
    eps = 1e-7
    {body}
'''

_HEAD = '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return {regression}
    if task == "binary":
        return {binary}
    if task == "multiclass":
        return {multiclass}
    raise ValueError(task)
'''


def _head(regression="nn.Linear(in_features, 1), nn.MSELoss()",
          binary="nn.Linear(in_features, 1), nn.BCEWithLogitsLoss()",
          multiclass="nn.Linear(in_features, num_classes), nn.CrossEntropyLoss()"):
    return _HEAD.format(regression=regression, binary=binary, multiclass=multiclass)


WRONG = {
    "ex1_one_hot": [
        ("float64 instead of float32", '''
def one_hot(labels, num_classes):
    out = torch.zeros(labels.shape[0], num_classes, dtype=torch.float64, device=labels.device)
    out[torch.arange(labels.shape[0]), labels] = 1.0
    return out
''', ["float64", "dtype=torch.float32"]),
        ("an int64 result", '''
def one_hot(labels, num_classes):
    out = torch.zeros(labels.shape[0], num_classes, dtype=torch.long, device=labels.device)
    out[torch.arange(labels.shape[0]), labels] = 1
    return out
''', ["int64", "floats"]),
        ("number of columns from the largest label", '''
def one_hot(labels, num_classes):
    n = labels.shape[0]
    out = torch.zeros(n, int(labels.max()) + 1, device=labels.device)
    out[torch.arange(n), labels] = 1.0
    return out
''', ["num_classes", "largest class"]),
        ("rows and columns swapped", '''
def one_hot(labels, num_classes):
    n = labels.shape[0]
    out = torch.zeros(num_classes, n, device=labels.device)
    out[labels, torch.arange(n)] = 1.0
    return out
''', ["rows and columns are swapped"]),
        ("a 1 in every label's column of every row", '''
def one_hot(labels, num_classes):
    out = torch.zeros(labels.shape[0], num_classes, device=labels.device)
    out[:, labels] = 1.0
    return out
''', ["every label's column", "torch.arange(N)"]),
        ("labels counted from 1", '''
def one_hot(labels, num_classes):
    out = torch.zeros(labels.shape[0], num_classes, device=labels.device)
    out[torch.arange(labels.shape[0]), labels - 1] = 1.0
    return out
''', ["one column too far left"]),
        ("F.one_hot without converting to float", '''
def one_hot(labels, num_classes):
    return torch.nn.functional.one_hot(labels, num_classes)
''', ["F.one_hot", "yourself"]),
        ("a bool comparison result", '''
def one_hot(labels, num_classes):
    return labels.unsqueeze(1) == torch.arange(num_classes, device=labels.device)
''', ["bool", "float32"]),
        # issue 20: device omissions that a check on 'meta' used to skip, and the library one_hot under its own name
        ("a loop over labels.tolist() on a result created without device=", '''
def one_hot(labels, num_classes):
    out = torch.zeros(len(labels), num_classes)
    for i, label in enumerate(labels.tolist()):
        out[i, label] = 1.0
    return out
''', ["not on the device of labels", "device=labels.device"]),
        ("comparison with an arange created without device=", '''
def one_hot(labels, num_classes):
    return (labels.unsqueeze(1) == torch.arange(num_classes)).float()
''', ["device"]),
        ("F.one_hot then .float(): the library function the exercise asks you to write", '''
def one_hot(labels, num_classes):
    return torch.nn.functional.one_hot(labels, num_classes).float()
''', ["F.one_hot", "yourself"]),
    ],
    "ex2_mse": [
        ("sum instead of mean", '''
def mse(pred, target):
    return ((pred - target) ** 2).sum()
''', ["sum of the squared differences", "mean"]),
        ("root mean squared error", '''
def mse(pred, target):
    return torch.sqrt(((pred - target) ** 2).mean())
''', ["square root"]),
        ("mean absolute error", '''
def mse(pred, target):
    return (pred - target).abs().mean()
''', ["absolute"]),
        ("returns a Python float", '''
def mse(pred, target):
    return ((pred - target) ** 2).mean().item()
''', ["Python float", ".item()"]),
        ("mean over one dimension only", '''
def mse(pred, target):
    return ((pred - target) ** 2).mean(dim=0)
''', ["wrong shape", "(4,)"]),
        ("rebuilds the loss from a number: the graph is cut", '''
def mse(pred, target):
    return torch.tensor(((pred - target) ** 2).mean().item())
''', ["requires_grad", "graph"]),
        ("uses F.mse_loss", '''
def mse(pred, target):
    return torch.nn.functional.mse_loss(pred, target)
''', ["mse_loss", "not to use"]),
        ("divides by the number of rows", '''
def mse(pred, target):
    return ((pred - target) ** 2).sum() / len(pred)
''', ["len(pred)", "all elements"]),
        ("forgets to square", '''
def mse(pred, target):
    return (pred - target).mean()
''', ["not squared"]),
        ("detaches the result", '''
def mse(pred, target):
    return ((pred - target) ** 2).mean().detach()
''', ["requires_grad", ".detach()"]),
        # issue 20: in-place edits of the caller's tensors
        ("subtracts in place from the caller's target", '''
def mse(pred, target):
    return (target.sub_(pred) ** 2).mean()
''', ["target after", "in place"]),
        ("clamps pred.data in place to guard against huge predictions", '''
def mse(pred, target):
    pred.data.clamp_(-1000.0, 1000.0)
    return ((pred - target) ** 2).mean()
''', ["pred after", "in place"]),
        ("flattens with .view(-1), which fails on a transposed input", '''
def mse(pred, target):
    diff = pred.view(-1) - target.view(-1)
    return (diff ** 2).mean()
''', ["view", "reshape"]),
    ],
    "ex3_bce": [
        ("forgets the minus sign", _BCE.format(body='''p = torch.clamp(p, eps, 1 - eps)
    return (y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()'''), ["minus sign"]),
        ("sum instead of mean", _BCE.format(body='''p = torch.clamp(p, eps, 1 - eps)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).sum()'''), ["sum over the examples"]),
        ("no clamping: nan for p = 0 or 1", '''
def bce(p, y):
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
''', ["not a finite number", "clamp"]),
        ("only the positive term", _BCE.format(body='''p = torch.clamp(p, eps, 1 - eps)
    return -(y * torch.log(p)).mean()'''), ["(1 - y) * log(1 - p)"]),
        ("log10 instead of the natural log", _BCE.format(body='''p = torch.clamp(p, eps, 1 - eps)
    return -(y * torch.log10(p) + (1 - y) * torch.log10(1 - p)).mean()'''), ["log10"]),
        ("returns a Python float", _BCE.format(body='''p = torch.clamp(p, eps, 1 - eps)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean().item()'''), ["Python float"]),
        ("uses F.binary_cross_entropy", '''
def bce(p, y):
    return torch.nn.functional.binary_cross_entropy(p, y)
''', ["binary_cross_entropy", "not to use"]),
        ("p and y swapped in the formula", _BCE.format(body='''y = torch.clamp(y, eps, 1 - eps)
    return -(p * torch.log(y) + (1 - p) * torch.log(1 - y)).mean()'''), ["swapped roles"]),
        ("subtracts the second term", _BCE.format(body='''p = torch.clamp(p, eps, 1 - eps)
    return -(y * torch.log(p) - (1 - y) * torch.log(1 - p)).mean()'''), ["added, not subtracted"]),
        ("clamps with a much larger eps", '''
def bce(p, y):
    p = torch.clamp(p, 1e-3, 1 - 1e-3)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
''', ["eps = 1e-7"]),
        # issue 20: in-place clamps, an in-place edit autograd needed, and the library loss under another name
        ("clamps p.data in place", '''
def bce(p, y):
    eps = 1e-7
    p.data.clamp_(eps, 1 - eps)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
''', ["p after", "in place"]),
        ("reuses the clamped tensor in place for 1 - p", '''
def bce(p, y):
    q = torch.clamp(p, 1e-7, 1 - 1e-7)
    log_p = torch.log(q)
    log_not_p = torch.log(q.neg_().add_(1))
    return -(y * log_p + (1 - y) * log_not_p).mean()
''', ["modified by an inplace operation", "backward"]),
        ("BCE with logits of logit(p): the library loss under another name", '''
def bce(p, y):
    z = torch.logit(p, eps=1e-7)
    return torch.nn.functional.binary_cross_entropy_with_logits(z, y)
''', ["binary_cross_entropy_with_logits", "by hand"]),
    ],
    "ex4_cross_entropy": [
        ("log of softmax: -inf for large logits", '''
def cross_entropy(logits, targets):
    probs = torch.softmax(logits, dim=1)
    return -torch.log(probs[torch.arange(len(targets)), targets]).mean()
''', ["not a finite number", "log_softmax"]),
        ("softmax over dim=0", '''
def cross_entropy(logits, targets):
    log_probs = F.log_softmax(logits, dim=0)
    return -log_probs[torch.arange(len(targets)), targets].mean()
''', ["dim=0", "dim=1"]),
        ("sum instead of mean", '''
def cross_entropy(logits, targets):
    log_probs = F.log_softmax(logits, dim=1)
    return -log_probs[torch.arange(len(targets)), targets].sum()
''', ["sum over the rows"]),
        ("forgets the minus sign", '''
def cross_entropy(logits, targets):
    log_probs = F.log_softmax(logits, dim=1)
    return log_probs[torch.arange(len(targets)), targets].mean()
''', ["sign is flipped"]),
        ("probabilities instead of log-probabilities", '''
def cross_entropy(logits, targets):
    probs = torch.softmax(logits, dim=1)
    return -probs[torch.arange(len(targets)), targets].mean()
''', ["not log-probabilities"]),
        ("indexes with [:, targets]", '''
def cross_entropy(logits, targets):
    return -F.log_softmax(logits, dim=1)[:, targets].mean()
''', ["two tensors", "torch.arange(N)"]),
        ("uses F.cross_entropy", '''
def cross_entropy(logits, targets):
    return F.cross_entropy(logits, targets)
''', ["cross_entropy", "not to use"]),
        ("returns a Python float", '''
def cross_entropy(logits, targets):
    log_probs = F.log_softmax(logits, dim=1)
    return -log_probs[torch.arange(len(targets)), targets].mean().item()
''', ["Python float"]),
        ("raw logits instead of log-probabilities", '''
def cross_entropy(logits, targets):
    return -logits[torch.arange(len(targets)), targets].mean()
''', ["raw logits"]),
        ("NLL by hand through nn.NLLLoss", '''
def cross_entropy(logits, targets):
    return nn.NLLLoss()(F.log_softmax(logits, dim=1), targets)
''', ["nll_loss", "not to use"]),
        # issue 20: a global shift, an in-place shift of the caller's logits, an in-place edit autograd needed
        ("shifts by the largest logit of the whole batch, not of each row", '''
def cross_entropy(logits, targets):
    shifted = logits - logits.max()
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    return -log_probs[torch.arange(len(targets)), targets].mean()
''', ["own largest logit", "whole batch"]),
        ("shifts logits.data in place for stability", '''
def cross_entropy(logits, targets):
    logits.data -= logits.data.max(dim=1, keepdim=True).values
    log_probs = logits - torch.log(torch.exp(logits).sum(dim=1, keepdim=True))
    return -log_probs[torch.arange(len(targets)), targets].mean()
''', ["logits after", "in place"]),
        ("negates the log-probabilities in place", '''
def cross_entropy(logits, targets):
    losses = F.log_softmax(logits, dim=1).neg_()
    return losses[torch.arange(len(targets)), targets].mean()
''', ["modified by an inplace operation", "backward"]),
    ],
    "ex5_head_and_loss": [
        ("BCELoss on logits for binary", _head(binary="nn.Linear(in_features, 1), nn.BCELoss()"),
         ["BCEWithLogitsLoss", "probabilities"]),
        ("a sigmoid in the binary head", _head(binary="nn.Sequential(nn.Linear(in_features, 1), nn.Sigmoid()), nn.BCEWithLogitsLoss()"),
         ["applies a sigmoid"]),
        ("softmax in the multiclass head", _head(multiclass="nn.Sequential(nn.Linear(in_features, num_classes), nn.Softmax(dim=1)), nn.CrossEntropyLoss()"),
         ["applies a softmax"]),
        ("NLLLoss for multiclass", _head(multiclass="nn.Linear(in_features, num_classes), nn.NLLLoss()"),
         ["NLLLoss", "CrossEntropyLoss"]),
        ("MSE for binary classification", _head(binary="nn.Linear(in_features, 1), nn.MSELoss()"),
         ["MSE is the regression loss"]),
        ("hard-coded number of classes", _head(multiclass="nn.Linear(in_features, 4), nn.CrossEntropyLoss()"),
         ["(7, 9)", "(7, 4)"]),
        ("the loss class instead of an instance", _head(regression="nn.Linear(in_features, 1), nn.MSELoss"),
         ["instance", "MSELoss"]),
        ("two outputs for binary", _head(binary="nn.Linear(in_features, 2), nn.BCEWithLogitsLoss()"),
         ["(10, 1)", "(10, 2)"]),
        ("returns a list instead of a pair", '''
def output_head_and_loss(task, in_features, num_classes=None):
    width = {"regression": 1, "binary": 1, "multiclass": num_classes}[task]
    loss = {"regression": nn.MSELoss(), "binary": nn.BCEWithLogitsLoss(), "multiclass": nn.CrossEntropyLoss()}[task]
    return [nn.Linear(in_features, width), loss]
''', ["tuple", "list"]),
        ("CrossEntropyLoss for binary with one logit", _head(binary="nn.Linear(in_features, 1), nn.CrossEntropyLoss()"),
         ["one logit per example uses nn.BCEWithLogitsLoss"]),
        # issue 20: a head shared between calls, losses with settings the table does not use
        ("heads kept in a cache: two calls share one layer", '''
_heads = {}

def output_head_and_loss(task, in_features, num_classes=None):
    width = num_classes if task == "multiclass" else 1
    head = _heads.setdefault((in_features, width), nn.Linear(in_features, width))
    loss = {"regression": nn.MSELoss, "binary": nn.BCEWithLogitsLoss, "multiclass": nn.CrossEntropyLoss}[task]
    return head, loss()
''', ["same head layer", "every call"]),
        ("label smoothing in the multiclass loss", '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return nn.Linear(in_features, 1), nn.MSELoss()
    if task == "binary":
        return nn.Linear(in_features, 1), nn.BCEWithLogitsLoss()
    return nn.Linear(in_features, num_classes), nn.CrossEntropyLoss(label_smoothing=0.1)
''', ["label_smoothing=0.1", "default settings"]),
        ("a pos_weight in the binary loss", '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return nn.Linear(in_features, 1), nn.MSELoss()
    if task == "binary":
        return nn.Linear(in_features, 1), nn.BCEWithLogitsLoss(pos_weight=torch.tensor([2.0]))
    return nn.Linear(in_features, num_classes), nn.CrossEntropyLoss()
''', ["pos_weight", "default settings"]),
    ],
}

RIGHT = {
    "ex1_one_hot": [
        ("scatter_", '''
def one_hot(labels, num_classes):
    out = torch.zeros(len(labels), num_classes, device=labels.device)
    return out.scatter_(1, labels.unsqueeze(1), 1.0)
'''),
        ("comparison with arange, then .float()", '''
def one_hot(labels, num_classes):
    classes = torch.arange(num_classes, device=labels.device)
    return (labels[:, None] == classes[None, :]).float()
'''),
        ("a loop over the rows", '''
def one_hot(labels, num_classes):
    result = torch.zeros((labels.shape[0], num_classes), dtype=torch.float32, device=labels.device)
    for i, label in enumerate(labels):
        result[i, label] = 1.0
    return result
'''),
        # issue 20: styles the tests had not seen
        ("rows of an identity matrix on labels.device", '''
def one_hot(labels, num_classes):
    return torch.eye(num_classes, device=labels.device)[labels]
'''),
        ("a loop over labels.tolist() on a result created on labels.device", '''
def one_hot(labels, num_classes):
    out = torch.zeros(len(labels), num_classes, device=labels.device)
    for i, label in enumerate(labels.tolist()):
        out[i, label] = 1.0
    return out
'''),
        # index tensors may stay on the CPU when they index a tensor on the GPU (as PyTorch allows)
        ("a result on labels.device indexed with an arange created without device=", '''
def one_hot(labels, num_classes):
    out = torch.zeros(len(labels), num_classes, device=labels.device)
    out[torch.arange(len(labels)), labels] = 1.0
    return out
'''),
    ],
    "ex2_mse": [
        ("torch.mean of a product", '''
def mse(pred, target):
    diff = pred - target
    return torch.mean(diff * diff)
'''),
        ("sum divided by numel", '''
def mse(pred, target):
    squared = (target - pred).pow(2)
    return squared.sum() / squared.numel()
'''),
        ("square with torch.square, with a print", '''
def mse(pred, target):
    loss = torch.square(pred - target).mean()
    print("mse:", loss.item())
    return loss
'''),
        # issue 20: styles the tests had not seen
        ("einsum of the flattened difference with itself", '''
def mse(pred, target):
    d = (pred - target).reshape(-1)
    return torch.einsum("i,i->", d, d) / d.numel()
'''),
        ("float64 inside, cast back to the input's dtype", '''
def mse(pred, target):
    diff = pred.double() - target.double()
    return (diff * diff).mean().to(pred.dtype)
'''),
        ("squares the difference in place (autograd allows it on a fresh result)", '''
def mse(pred, target):
    diff = pred - target
    diff.pow_(2)
    return diff.mean()
'''),
        ("an explicit loop over the elements", '''
def mse(pred, target):
    total = 0.0
    for a, b in zip(pred.reshape(-1), target.reshape(-1)):
        total = total + (a - b) ** 2
    return total / pred.numel()
'''),
    ],
    "ex3_bce": [
        ("clamp with min/max keywords and torch.where", '''
def bce(p, y):
    eps = 1e-7
    p = p.clamp(min=eps, max=1 - eps)
    return torch.where(y == 1, -torch.log(p), -torch.log(1 - p)).mean()
'''),
        ("log1p for log(1 - p)", '''
def bce(p, y):
    eps = 1e-7
    p = torch.clamp(p, eps, 1 - eps)
    losses = -(y * p.log() + (1 - y) * torch.log1p(-p))
    return losses.sum() / losses.numel()
'''),
        ("xlogy", '''
def bce(p, y):
    eps = 1e-7
    q = torch.clamp(p, eps, 1 - eps)
    return -(torch.xlogy(y, q) + torch.xlogy(1 - y, 1 - q)).mean()
'''),
        # issue 20: styles the tests had not seen
        ("float64 inside, cast back to the input's dtype", '''
def bce(p, y):
    q = torch.clamp(p.double(), 1e-7, 1 - 1e-7)
    yd = y.double()
    return (-(yd * q.log() + (1 - yd) * (1 - q).log()).mean()).to(p.dtype)
'''),
        ("torch.where picks the log of each example's own class", '''
def bce(p, y):
    q = p.clamp(1e-7, 1 - 1e-7)
    return torch.where(y == 1, -torch.log(q), -torch.log(1 - q)).mean()
'''),
    ],
    "ex4_cross_entropy": [
        ("logsumexp", '''
def cross_entropy(logits, targets):
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -log_probs[torch.arange(logits.shape[0]), targets].mean()
'''),
        ("gather", '''
def cross_entropy(logits, targets):
    log_probs = torch.log_softmax(logits, dim=-1)
    return -log_probs.gather(1, targets.unsqueeze(1)).mean()
'''),
        ("max-shifted by hand", '''
def cross_entropy(logits, targets):
    shifted = logits - logits.max(dim=1, keepdim=True).values
    log_probs = shifted - shifted.exp().sum(dim=1, keepdim=True).log()
    picked = log_probs[range(len(targets)), targets]
    return -picked.mean()
'''),
        # issue 20: styles the tests had not seen
        ("one-hot targets and einsum", '''
def cross_entropy(logits, targets):
    one_hot = torch.zeros_like(logits)
    one_hot[torch.arange(len(targets)), targets] = 1.0
    return -torch.einsum("nc,nc->n", one_hot, F.log_softmax(logits, dim=1)).mean()
'''),
        ("float64 inside, cast back to the logits' dtype", '''
def cross_entropy(logits, targets):
    log_probs = torch.log_softmax(logits.double(), dim=1)
    return (-log_probs[torch.arange(logits.shape[0]), targets].mean()).to(logits.dtype)
'''),
        ("an explicit loop over the rows with logsumexp", '''
def cross_entropy(logits, targets):
    losses = [torch.logsumexp(row, dim=0) - row[t] for row, t in zip(logits, targets)]
    return torch.stack(losses).mean()
'''),
    ],
    "ex5_head_and_loss": [
        ("a dictionary of widths and losses", '''
def output_head_and_loss(task, in_features, num_classes=None):
    table = {"regression": (1, nn.MSELoss), "binary": (1, nn.BCEWithLogitsLoss),
             "multiclass": (num_classes, nn.CrossEntropyLoss)}
    width, loss_class = table[task]
    return nn.Linear(in_features, width), loss_class()
'''),
        ("the head inside an nn.Sequential", '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "multiclass":
        return nn.Sequential(nn.Linear(in_features, num_classes)), nn.CrossEntropyLoss()
    loss = nn.MSELoss() if task == "regression" else nn.BCEWithLogitsLoss()
    return nn.Sequential(nn.Linear(in_features, 1)), loss
'''),
        ("an explicit nn.Identity after the regression layer", '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return nn.Sequential(nn.Linear(in_features, 1), nn.Identity()), nn.MSELoss()
    if task == "binary":
        return nn.Linear(in_features, 1), nn.BCEWithLogitsLoss(reduction="mean")
    return nn.Linear(in_features, num_classes), nn.CrossEntropyLoss()
'''),
        # issue 20: styles the tests had not seen
        ("a custom nn.Module around the nn.Linear", '''
class Head(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)

    def forward(self, x):
        return self.linear(x)

def output_head_and_loss(task, in_features, num_classes=None):
    if task == "multiclass":
        return Head(in_features, num_classes), nn.CrossEntropyLoss()
    return Head(in_features, 1), (nn.MSELoss() if task == "regression" else nn.BCEWithLogitsLoss())
'''),
        ("one loss object of each kind, shared by every call (losses keep no state)", '''
LOSSES = {"regression": nn.MSELoss(), "binary": nn.BCEWithLogitsLoss(), "multiclass": nn.CrossEntropyLoss()}

def output_head_and_loss(task, in_features, num_classes=None):
    width = num_classes if task == "multiclass" else 1
    return nn.Linear(in_features, width), LOSSES[task]
'''),
    ],
}

# issue 20, helper props2: mistakes that only the checks against the instructor's solution on generated inputs
# catch (each message comes from check_against_reference), and right answers in further styles
WRONG["ex1_one_hot"] += [
    ("results cached by (N, num_classes): labels of an earlier call's shape get its answer", '''
_CACHE = {}

def one_hot(labels, num_classes):
    key = (labels.shape[0], num_classes)
    if key not in _CACHE:
        out = torch.zeros(labels.shape[0], num_classes, device=labels.device)
        out[torch.arange(labels.shape[0], device=labels.device), labels] = 1.0
        _CACHE[key] = out
    return _CACHE[key].clone()
''', ["earlier call", "keep nothing between calls"]),
    ("a buffer reused between calls and never cleared", '''
_BUFFERS = {}

def one_hot(labels, num_classes):
    n = labels.shape[0]
    out = _BUFFERS.setdefault((n, num_classes), torch.zeros(n, num_classes, device=labels.device))
    out[torch.arange(n, device=labels.device), labels] = 1.0
    return out.clone()
''', ["more than one 1.0", "earlier calls"]),
]
WRONG["ex2_mse"] += [
    ("casts the loss to float32 (float64 inputs give a float32 loss)", '''
def mse(pred, target):
    return ((pred - target) ** 2).mean().float()
''', ["dtype", "float64", "inputs' dtype"]),
    ("converts the inputs to float32 first", '''
def mse(pred, target):
    diff = pred.float() - target.float()
    return (diff * diff).mean()
''', ["dtype", "float64", "generated input"]),
]
RIGHT["ex2_mse"] += [
    ("float64 inside, cast back to the inputs' dtype", '''
def mse(pred, target):
    diff = pred.double() - target.double()
    return (diff ** 2).sum().div(diff.numel()).to(pred.dtype)
'''),
]
WRONG["ex3_bce"] += [
    ("casts the loss to float32 (float64 inputs give a float32 loss)", '''
def bce(p, y):
    eps = 1e-7
    p = torch.clamp(p, eps, 1 - eps)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean().to(torch.float32)
''', ["dtype", "float64", "dtype of p"]),
    ("adds eps inside the logarithms instead of clamping", '''
def bce(p, y):
    eps = 1e-7
    return -(y * torch.log(p + eps) + (1 - y) * torch.log(1 - p + eps)).mean()
''', ["generated input", "eps"]),
]
RIGHT["ex3_bce"] += [
    ("an explicit loop over the flattened examples", '''
def bce(p, y):
    eps = 1e-7
    q, t = torch.clamp(p, eps, 1 - eps).reshape(-1), y.reshape(-1)
    total = 0
    for i in range(q.numel()):
        total = total - (t[i] * torch.log(q[i]) + (1 - t[i]) * torch.log(1 - q[i]))
    return total / q.numel()
'''),
]
WRONG["ex4_cross_entropy"] += [
    ("casts the loss to float32 (float64 logits give a float32 loss)", '''
def cross_entropy(logits, targets):
    log_probs = F.log_softmax(logits, dim=1)
    return -log_probs[torch.arange(logits.shape[0]), targets].mean().float()
''', ["dtype", "float64", "logits' dtype"]),
    ("log-softmax computed in float32 (dtype=torch.float32)", '''
def cross_entropy(logits, targets):
    log_probs = torch.log_softmax(logits, dim=1, dtype=torch.float32)
    return -log_probs[torch.arange(len(targets)), targets].mean()
''', ["dtype", "float64", "generated input"]),
]
RIGHT["ex4_cross_entropy"] += [
    ("float64 inside, an explicit loop over the rows, cast back", '''
def cross_entropy(logits, targets):
    x = logits.double()
    losses = []
    for i in range(x.shape[0]):
        row = x[i]
        m = row.max()
        losses.append(m + torch.log(torch.exp(row - m).sum()) - row[targets[i]])
    return torch.stack(losses).mean().to(logits.dtype)
'''),
]
RIGHT["ex1_one_hot"] += [
    ("an explicit loop: one comparison row per label, stacked", '''
def one_hot(labels, num_classes):
    classes = torch.arange(num_classes, device=labels.device)
    return torch.stack([(classes == label).to(torch.float32) for label in labels]) if len(labels) else \\
        torch.zeros(0, num_classes, device=labels.device)
'''),
]

# issue 20, helper spec: ex5 against the instructor's head and loss on generated tasks (what the head computes with
# the same weights, what the loss computes and its gradient): mistakes only those checks see, and right answers in
# further styles
WRONG["ex5_head_and_loss"] += [
    ("no bias in the multiclass head", _head(multiclass="nn.Linear(in_features, num_classes, bias=False), "
                                                        "nn.CrossEntropyLoss()"),
     ["no bias", "bias=False", "weight"]),
    ("no bias in the regression head, positional argument", '''
def output_head_and_loss(task, in_features, num_classes=None):
    width = num_classes if task == "multiclass" else 1
    losses = {"regression": nn.MSELoss, "binary": nn.BCEWithLogitsLoss, "multiclass": nn.CrossEntropyLoss}
    return nn.Linear(in_features, width, task != "regression"), losses[task]()
''', ["no bias", "regression"]),
    ("class 0 left out of the multiclass loss (ignore_index=0)",
     _head(multiclass="nn.Linear(in_features, num_classes), nn.CrossEntropyLoss(ignore_index=0)"),
     ["ignore_index=0", "multiclass", "targets"]),
    ("a hand-written cross-entropy loss module that sums over the batch", '''
class SummedCE(nn.CrossEntropyLoss):
    def forward(self, outputs, targets):
        return F.cross_entropy(outputs, targets, reduction="sum")

def output_head_and_loss(task, in_features, num_classes=None):
    if task == "multiclass":
        return nn.Linear(in_features, num_classes), SummedCE()
    return nn.Linear(in_features, 1), (nn.MSELoss() if task == "regression" else nn.BCEWithLogitsLoss())
''', ["sum over the batch", "mean"]),
]
RIGHT["ex5_head_and_loss"] += [
    ("Xavier-initialised head, zero bias (any initialisation is right)", '''
def output_head_and_loss(task, in_features, num_classes=None):
    head = nn.Linear(in_features, num_classes if task == "multiclass" else 1)
    nn.init.xavier_uniform_(head.weight)
    nn.init.zeros_(head.bias)
    loss = {"regression": nn.MSELoss(), "binary": nn.BCEWithLogitsLoss(), "multiclass": nn.CrossEntropyLoss()}
    return head, loss[task]
'''),
    ("match statement, the head in a named nn.Sequential", '''
from collections import OrderedDict

def output_head_and_loss(task, in_features, num_classes=None):
    match task:
        case "regression":
            width, loss = 1, nn.MSELoss()
        case "binary":
            width, loss = 1, nn.BCEWithLogitsLoss()
        case "multiclass":
            width, loss = num_classes, nn.CrossEntropyLoss()
        case _:
            raise ValueError(task)
    return nn.Sequential(OrderedDict(logits=nn.Linear(in_features, width))), loss
'''),
]


# The audit's answers (150 wrong answers and alternative right ones written against all eight topics):
# each WRONG one is rejected with a message that names its cause, each RIGHT one passes.
_AUDIT_WRONG = {
    'ex1_one_hot': [
        ('torch.empty: the other entries are garbage', '''
def one_hot(labels, num_classes):
    n = labels.shape[0]
    out = torch.empty(n, num_classes, dtype=torch.float32, device=labels.device)
    out[torch.arange(n, device=labels.device), labels] = 1.0
    return out
''', ['values are not close to the', 'one_hot(']),
        ("unsqueeze_ on the caller's labels before scatter", '''
def one_hot(labels, num_classes):
    out = torch.zeros(labels.shape[0], num_classes, device=labels.device)
    return out.scatter_(1, labels.unsqueeze_(1), 1.0)
''', ['do not change the labels you are given']),
        ('scatter on a result created without device=', '''
def one_hot(labels, num_classes):
    out = torch.zeros(len(labels), num_classes)
    return out.scatter(1, labels.view(-1, 1), 1.0)
''', ['different devices', 'no model is involved', 'device=x.device']),
    ],
    'ex2_mse': [
        ('variance of the differences', '''
def mse(pred, target):
    return torch.var(pred - target)
''', ['values are not close to the', 'mse(pred, target)']),
        ('divides by numel - 1', '''
def mse(pred, target):
    return ((pred - target) ** 2).sum() / (pred.numel() - 1)
''', ['divided by N - 1']),
        ('target flattened: (N, 1) - (N,) broadcasts to (N, N)', '''
def mse(pred, target):
    return ((pred - target.reshape(-1)) ** 2).mean()
''', ['print both shapes']),
        ('dot product of the difference (1-D only)', '''
def mse(pred, target):
    d = pred - target
    return (d @ d) / d.numel()
''', ['same shape', 'element by element use *']),
    ],
    'ex3_bce': [
        ('clamps only from below: p = 1 gives nan', '''
def bce(p, y):
    eps = 1e-7
    p = torch.clamp(p, min=eps)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
''', ['log(0) is -inf and 0 *']),
        ('a tiny eps 1e-12, which float32 rounds away at 1 - eps', '''
def bce(p, y):
    eps = 1e-12
    p = torch.clamp(p, eps, 1 - eps)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
''', ['values are not close to the', 'bce(p, y)']),
        ('nan_to_num instead of clamping', '''
def bce(p, y):
    return torch.nan_to_num(-(y * torch.log(p) + (1 - y) * torch.log(1 - p))).mean()
''', ['values are not close to the', 'bce(p, y)']),
        ('mean over dim 0 only', '''
def bce(p, y):
    eps = 1e-7
    p = torch.clamp(p, eps, 1 - eps)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean(dim=0)
''', ['there is an extra dimension of size 1']),
        ('logs clamped at -100 (as BCELoss) instead of p at eps', '''
def bce(p, y):
    return -(y * torch.log(p).clamp(min=-100) + (1 - y) * torch.log(1 - p).clamp(min=-100)).mean()
''', ['values are not close to the', 'bce(p, y)']),
    ],
    'ex4_cross_entropy': [
        ('log of the sum of exps without the shift', '''
def cross_entropy(logits, targets):
    log_probs = logits - logits.exp().sum(dim=1, keepdim=True).log()
    return -log_probs[torch.arange(logits.shape[0]), targets].mean()
''', ['inf usually comes from exp of a large number']),
        ('divides by the number of classes', '''
def cross_entropy(logits, targets):
    log_probs = F.log_softmax(logits, dim=1)
    return -log_probs[torch.arange(logits.shape[0]), targets].sum() / logits.shape[1]
''', ['values are not close to the', 'cross_entropy([[0.1, 6.0, -2.0, 3.2]]']),
        ('F.one_hot without num_classes', '''
def cross_entropy(logits, targets):
    log_probs = F.log_softmax(logits, dim=1)
    return -(log_probs * F.one_hot(targets)).sum(dim=1).mean()
''', ['print both shapes']),
    ],
    'ex5_head_and_loss': [
        ('C - 1 logits for C classes', '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return nn.Linear(in_features, 1), nn.MSELoss()
    if task == "binary":
        return nn.Linear(in_features, 1), nn.BCEWithLogitsLoss()
    if task == "multiclass":
        return nn.Linear(in_features, num_classes - 1), nn.CrossEntropyLoss()
    raise ValueError(f"unknown task {task!r}")
''', ['nn.Linear(in_features, number of outputs), with in_features']),
        ('L1 loss for regression', '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return nn.Linear(in_features, 1), nn.L1Loss()
    if task == "binary":
        return nn.Linear(in_features, 1), nn.BCEWithLogitsLoss()
    if task == "multiclass":
        return nn.Linear(in_features, num_classes), nn.CrossEntropyLoss()
    raise ValueError(f"unknown task {task!r}")
''', ["the table's regression loss is nn.MSELoss"]),
        ("binary loss with reduction='sum'", '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return nn.Linear(in_features, 1), nn.MSELoss()
    if task == "binary":
        return nn.Linear(in_features, 1), nn.BCEWithLogitsLoss(reduction="sum")
    if task == "multiclass":
        return nn.Linear(in_features, num_classes), nn.CrossEntropyLoss()
    raise ValueError(f"unknown task {task!r}")
''', ['this is the sum over the batch']),
        ("MSE with reduction='sum' for regression", '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return nn.Linear(in_features, 1), nn.MSELoss(reduction="sum")
    if task == "binary":
        return nn.Linear(in_features, 1), nn.BCEWithLogitsLoss()
    if task == "multiclass":
        return nn.Linear(in_features, num_classes), nn.CrossEntropyLoss()
    raise ValueError(f"unknown task {task!r}")
''', ['this is the sum over the batch']),
    ],
}
_AUDIT_RIGHT = {
    'ex1_one_hot': [
        ('Python range rows and += 1', '''
def one_hot(labels, num_classes):
    out = torch.zeros(len(labels), num_classes, device=labels.device)
    out[range(len(labels)), labels] += 1
    return out
'''),
        ('index_put_', '''
def one_hot(labels, num_classes):
    n = labels.shape[0]
    out = torch.zeros((n, num_classes), dtype=torch.float32, device=labels.device)
    return out.index_put_((torch.arange(n, device=labels.device), labels), torch.tensor(1.0, device=labels.device))
'''),
    ],
    'ex2_mse': [
        ('vector norm squared over numel', '''
def mse(pred, target):
    return torch.linalg.vector_norm(pred - target) ** 2 / pred.numel()
'''),
        ('square().sum().div()', '''
def mse(pred, target):
    return (pred - target).square().sum().div(pred.numel())
'''),
    ],
    'ex3_bce': [
        ('lerp between the two logs', '''
def bce(p, y):
    eps = 1e-7
    p = p.clamp(eps, 1 - eps)
    return -torch.lerp(torch.log1p(-p), torch.log(p), y).mean()
'''),
        ('sum over numel', '''
def bce(p, y):
    eps = 1e-7
    q = torch.clamp(p, min=eps, max=1 - eps)
    losses = -y * q.log() - (1 - y) * (1 - q).log()
    return losses.sum() / losses.numel()
'''),
    ],
    'ex4_cross_entropy': [
        ('diagonal of [:, targets]', '''
def cross_entropy(logits, targets):
    log_probs = torch.log_softmax(logits, dim=-1)
    return -log_probs[:, targets].diagonal().mean()
'''),
        ('logsumexp minus the gathered logit', '''
def cross_entropy(logits, targets):
    picked = torch.take_along_dim(logits, targets.unsqueeze(1), dim=1).squeeze(1)
    return (torch.logsumexp(logits, dim=1) - picked).mean()
'''),
    ],
    'ex5_head_and_loss': [
        ("keyword arguments and explicit reduction='mean'", '''
def output_head_and_loss(task, in_features, num_classes=None):
    table = {"regression": (1, nn.MSELoss), "binary": (1, nn.BCEWithLogitsLoss),
             "multiclass": (num_classes, nn.CrossEntropyLoss)}
    if task not in table:
        raise ValueError("task must be regression, binary or multiclass")
    width, loss = table[task]
    return nn.Linear(in_features=in_features, out_features=width, bias=True), loss(reduction="mean")
'''),
        ('if/elif with torch.nn spelled out', '''
import torch.nn as tnn
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "multiclass":
        head, loss = tnn.Linear(in_features, num_classes), tnn.CrossEntropyLoss()
    elif task == "binary":
        head, loss = tnn.Linear(in_features, 1), tnn.BCEWithLogitsLoss()
    elif task == "regression":
        head, loss = tnn.Linear(in_features, 1), tnn.MSELoss()
    else:
        raise ValueError(task)
    return head, loss
'''),
    ],
}
for _key, _entries in _AUDIT_WRONG.items():
    WRONG.setdefault(_key, []).extend(_entries)
for _key, _entries in _AUDIT_RIGHT.items():
    RIGHT.setdefault(_key, []).extend(_entries)
