"""Plausible wrong answers (must fail) and differently written right answers (must pass) for 03_loss_functions.

Keys are the grade_ids of the solution cells; each source replaces the whole solution cell.
"""

WRONG = {
    "ex1_one_hot": [
        ("returns integers: F.one_hot without .float()", '''
def one_hot(labels, num_classes):
    return torch.nn.functional.one_hot(labels, num_classes)
'''),
        ("leaves out num_classes, so the width comes from the largest label in the batch", '''
def one_hot(labels, num_classes):
    return torch.nn.functional.one_hot(labels).float()
'''),
        ("hard-coded to the visible example", '''
def one_hot(labels, num_classes):
    return torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
'''),
        ("transposed: classes along the rows", '''
def one_hot(labels, num_classes):
    out = torch.zeros(num_classes, len(labels))
    out[labels, torch.arange(len(labels))] = 1.0
    return out
'''),
        ("indexes with a slice, setting whole columns", '''
def one_hot(labels, num_classes):
    out = torch.zeros(len(labels), num_classes)
    out[:, labels] = 1.0
    return out
'''),
    ],
    "ex2_mse": [
        ("sum instead of mean", '''
def mse(pred, target):
    return ((pred - target) ** 2).sum()
'''),
        ("mean absolute error", '''
def mse(pred, target):
    return (pred - target).abs().mean()
'''),
        ("root mean squared error", '''
def mse(pred, target):
    return ((pred - target) ** 2).mean().sqrt()
'''),
        ("returns a Python float with .item()", '''
def mse(pred, target):
    return ((pred - target) ** 2).mean().item()
'''),
        ("mean over the first dimension only", '''
def mse(pred, target):
    return ((pred - target) ** 2).mean(dim=0)
'''),
        ("hard-coded to the visible value", '''
def mse(pred, target):
    return torch.tensor(0.375)
'''),
    ],
    "ex3_bce": [
        ("log-likelihood without the minus sign", '''
def bce(p, y):
    p = torch.clamp(p, 1e-7, 1 - 1e-7)
    return (y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
'''),
        ("sum instead of mean", '''
def bce(p, y):
    p = torch.clamp(p, 1e-7, 1 - 1e-7)
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).sum()
'''),
        ("probabilities and targets swapped", '''
def bce(p, y):
    y = torch.clamp(y, 1e-7, 1 - 1e-7)
    return -(p * torch.log(y) + (1 - p) * torch.log(1 - y)).mean()
'''),
        ("no clamp: nan when a probability is exactly 0 or 1", '''
def bce(p, y):
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
'''),
        ("only the term for label 1", '''
def bce(p, y):
    p = torch.clamp(p, 1e-7, 1 - 1e-7)
    return -(y * torch.log(p)).mean()
'''),
        ("hard-coded to the visible value", '''
def bce(p, y):
    return torch.tensor(1.0601)
'''),
    ],
    "ex4_cross_entropy": [
        ("softmax over dim 0 (across the batch)", '''
def cross_entropy(logits, targets):
    log_probs = torch.nn.functional.log_softmax(logits, dim=0)
    return -log_probs[torch.arange(len(targets)), targets].mean()
'''),
        ("log-probability without the minus sign", '''
def cross_entropy(logits, targets):
    log_probs = torch.nn.functional.log_softmax(logits, dim=1)
    return log_probs[torch.arange(len(targets)), targets].mean()
'''),
        ("sum over the batch instead of mean", '''
def cross_entropy(logits, targets):
    log_probs = torch.nn.functional.log_softmax(logits, dim=1)
    return -log_probs[torch.arange(len(targets)), targets].sum()
'''),
        ("log of a softmax: -inf for large logits", '''
def cross_entropy(logits, targets):
    probs = torch.softmax(logits, dim=1)
    return -torch.log(probs[torch.arange(len(targets)), targets]).mean()
'''),
        ("picks columns for every row: logits[:, targets]", '''
def cross_entropy(logits, targets):
    log_probs = torch.nn.functional.log_softmax(logits, dim=1)
    return -log_probs[:, targets].mean()
'''),
        ("minus the raw logit of the true class, no softmax", '''
def cross_entropy(logits, targets):
    return -logits[torch.arange(len(targets)), targets].mean()
'''),
        ("hard-coded to the visible values", '''
def cross_entropy(logits, targets):
    if logits.shape[0] == 1:
        return torch.tensor(8.0619)
    if logits.shape[0] == 4:
        return torch.tensor(1.8675)
    return torch.tensor(250.0)
'''),
    ],
    "ex5_head_and_loss": [
        ("sigmoid in the binary head with BCELoss", '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return nn.Linear(in_features, 1), nn.MSELoss()
    if task == "binary":
        return nn.Sequential(nn.Linear(in_features, 1), nn.Sigmoid()), nn.BCELoss()
    return nn.Linear(in_features, num_classes), nn.CrossEntropyLoss()
'''),
        ("softmax before CrossEntropyLoss", '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return nn.Linear(in_features, 1), nn.MSELoss()
    if task == "binary":
        return nn.Linear(in_features, 1), nn.BCEWithLogitsLoss()
    return nn.Sequential(nn.Linear(in_features, num_classes), nn.Softmax(dim=1)), nn.CrossEntropyLoss()
'''),
        ("one output for every task", '''
def output_head_and_loss(task, in_features, num_classes=None):
    loss = {"regression": nn.MSELoss(), "binary": nn.BCEWithLogitsLoss(), "multiclass": nn.CrossEntropyLoss()}[task]
    return nn.Linear(in_features, 1), loss
'''),
        ("MSE for every task", '''
def output_head_and_loss(task, in_features, num_classes=None):
    return nn.Linear(in_features, num_classes or 1), nn.MSELoss()
'''),
        ("hard-coded to the visible in_features and num_classes", '''
def output_head_and_loss(task, in_features, num_classes=None):
    if task == "regression":
        return nn.Linear(10, 1), nn.MSELoss()
    if task == "binary":
        return nn.Linear(10, 1), nn.BCEWithLogitsLoss()
    return nn.Linear(10, 4), nn.CrossEntropyLoss()
'''),
    ],
}

RIGHT = {
    "ex1_one_hot": [
        ("F.one_hot with num_classes, converted to float", '''
def one_hot(labels, num_classes):
    return torch.nn.functional.one_hot(labels, num_classes=num_classes).to(torch.float32)
'''),
        ("comparison with a range, broadcast", '''
def one_hot(labels, num_classes):
    classes = torch.arange(num_classes, device=labels.device)
    return (labels[:, None] == classes[None, :]).float()
'''),
        ("scatter_", '''
def one_hot(labels, num_classes):
    out = torch.zeros(len(labels), num_classes, device=labels.device)
    return out.scatter_(1, labels.unsqueeze(1), 1.0)
'''),
    ],
    "ex2_mse": [
        ("sum divided by numel", '''
def mse(pred, target):
    diff = pred - target
    return (diff * diff).sum() / diff.numel()
'''),
        ("torch.mean of a pow", '''
def mse(pred, target):
    return torch.mean(torch.pow(target - pred, 2))
'''),
    ],
    "ex3_bce": [
        ("clamps the logarithms at -100 like nn.BCELoss", '''
def bce(p, y):
    log_p = torch.clamp(torch.log(p), min=-100)
    log_1mp = torch.clamp(torch.log(1 - p), min=-100)
    return -(y * log_p + (1 - y) * log_1mp).mean()
'''),
        ("torch.where to pick the active term", '''
def bce(p, y):
    p = p.clamp(1e-6, 1 - 1e-6)
    prob_of_label = torch.where(y > 0.5, p, 1 - p)
    return -torch.log(prob_of_label).mean()
'''),
    ],
    "ex4_cross_entropy": [
        ("logsumexp and gather", '''
def cross_entropy(logits, targets):
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    picked = log_probs.gather(1, targets.unsqueeze(1)).squeeze(1)
    return -picked.mean()
'''),
        ("log-softmax times one-hot, summed over classes", '''
def cross_entropy(logits, targets):
    t = torch.nn.functional.one_hot(targets, logits.shape[1]).to(logits.dtype)
    return -(t * torch.log_softmax(logits, dim=-1)).sum(dim=1).mean()
'''),
    ],
    "ex5_head_and_loss": [
        ("dictionary of output widths and losses, heads wrapped in Sequential", '''
def output_head_and_loss(task, in_features, num_classes=None):
    width = {"regression": 1, "binary": 1, "multiclass": num_classes}[task]
    loss = {"regression": nn.MSELoss, "binary": nn.BCEWithLogitsLoss, "multiclass": nn.CrossEntropyLoss}[task]()
    return nn.Sequential(nn.Linear(in_features, width)), loss
'''),
    ],
}
