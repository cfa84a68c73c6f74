"""Plausible wrong answers (must fail) and differently written right answers (must pass) for 04_autograd_backprop.

Keys are the grade_ids of the solution cells; each source replaces the whole solution cell.
"""

WRONG = {
    "ex1_central_difference": [
        ("forward difference", '''
def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x)) / h
'''),
        ("divides by h instead of 2h", '''
def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / h
'''),
        ("points in the wrong order: the negative slope", '''
def central_difference(f, x, h=1e-5):
    return (f(x - h) - f(x + h)) / (2 * h)
'''),
        ("hard-coded to the visible values", '''
def central_difference(f, x, h=1e-5):
    return 12.0 if x == 2.0 else 0.5403023058681398
'''),
    ],
    "ex2_mse_grad": [
        ("forgets the factor 2", '''
def mse_grad(w, x, y):
    return (x * (w * x - y)).mean()
'''),
        ("sum instead of mean", '''
def mse_grad(w, x, y):
    return 2 * (x * (w * x - y)).sum()
'''),
        ("sign flipped: y - w x", '''
def mse_grad(w, x, y):
    return 2 * (x * (y - w * x)).mean()
'''),
        ("forgets the inner derivative x", '''
def mse_grad(w, x, y):
    return 2 * (w * x - y).mean()
'''),
        ("uses autograd, which fails under torch.no_grad()", '''
def mse_grad(w, x, y):
    w_t = torch.tensor(float(w), requires_grad=True)
    loss = ((w_t * x - y) ** 2).mean()
    loss.backward()
    return w_t.grad
'''),
        ("hard-coded to the visible values", '''
def mse_grad(w, x, y):
    return -9.3333 if w == 1.0 else 0.0
'''),
    ],
    "ex3_two_layer_grads": [
        ("forgets the sigmoid's derivative", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = 2 * (y_hat - y) / x.shape[0]
    dz = g[:, None] * w2
    return (dz * x[:, None]).sum(0), dz.sum(0), (g[:, None] * a).sum(0), g.sum()
'''),
        ("sum of squared errors: no 1/N", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = 2 * (y_hat - y)
    dz = g[:, None] * w2 * a * (1 - a)
    return (dz * x[:, None]).sum(0), dz.sum(0), (g[:, None] * a).sum(0), g.sum()
'''),
        ("forgets the factor x in dw1", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = 2 * (y_hat - y) / x.shape[0]
    dz = g[:, None] * w2 * a * (1 - a)
    return dz.sum(0), dz.sum(0), (g[:, None] * a).sum(0), g.sum()
'''),
        ("uses z instead of a for dw2", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = 2 * (y_hat - y) / x.shape[0]
    dz = g[:, None] * w2 * a * (1 - a)
    return (dz * x[:, None]).sum(0), dz.sum(0), (g[:, None] * z).sum(0), g.sum()
'''),
        ("does not sum db2 over the batch", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = 2 * (y_hat - y) / x.shape[0]
    dz = g[:, None] * w2 * a * (1 - a)
    return (dz * x[:, None]).sum(0), dz.sum(0), (g[:, None] * a).sum(0), g
'''),
        ("autograd inside, which fails under torch.no_grad()", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    leaves = [t.clone().requires_grad_(True) for t in (w1, b1, w2, b2)]
    lw1, lb1, lw2, lb2 = leaves
    y_hat = torch.sigmoid(x[:, None] * lw1 + lb1) @ lw2 + lb2
    ((y_hat - y) ** 2).mean().backward()
    return tuple(t.grad for t in leaves)
'''),
    ],
    "ex4_gd_step": [
        ("forgets to zero the gradients", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
'''),
        ("steps up the gradient (+ instead of -)", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p += lr * p.grad
            p.grad.zero_()
'''),
        ("updates through .data", '''
def gd_step(params, lr):
    for p in params:
        p.data -= lr * p.grad.data
        p.grad.data.zero_()
'''),
        ("rebinds the name instead of updating in place", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p = p - lr * p.grad
    for p in params:
        p.grad = None
'''),
        ("zeroes the gradient before using it", '''
def gd_step(params, lr):
    for p in params:
        p.grad.zero_()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
'''),
        ("updates only the first tensor", '''
def gd_step(params, lr):
    p = params[0]
    with torch.no_grad():
        p -= lr * p.grad
    p.grad = None
'''),
    ],
    "ex5_gradient_descent": [
        ("never zeroes the gradient, so it accumulates", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), requires_grad=True)
    weights, losses = [], []
    for _ in range(steps):
        loss = ((w * x - y) ** 2).mean()
        weights.append(w.item())
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
    weights.append(w.item())
    losses.append(((w * x - y) ** 2).mean().item())
    return weights, losses
'''),
        ("history without the starting point (steps entries)", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), requires_grad=True)
    weights, losses = [], []
    for _ in range(steps):
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad = None
        weights.append(w.item())
        losses.append(((w * x - y) ** 2).mean().item())
    return weights, losses
'''),
        ("the last loss copied from the step before instead of computed at the final weight", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), requires_grad=True)
    weights, losses = [float(w0)], []
    for _ in range(steps):
        loss = ((w * x - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad = None
        weights.append(w.item())
    losses.append(losses[-1])
    return weights, losses
'''),
        ("gradient ascent", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), requires_grad=True)
    weights, losses = [], []
    for _ in range(steps + 1):
        loss = ((w * x - y) ** 2).mean()
        weights.append(w.item())
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w += lr * w.grad
        w.grad = None
    return weights, losses
'''),
        ("hard-coded to the visible run", '''
def gradient_descent(x, y, w0, lr, steps):
    w, weights, losses = 1.0, [], []
    for _ in range(11):
        weights.append(w)
        losses.append(14 / 3 * (w - 2) ** 2)
        w = 2 + (1 - 0.05 * 28 / 3) * (w - 2)
    return weights, losses
'''),
    ],
}

RIGHT = {
    "ex1_central_difference": [
        ("average of the forward and backward differences", '''
def central_difference(f, x, h=1e-5):
    forward = (f(x + h) - f(x)) / h
    backward = (f(x) - f(x - h)) / h
    return 0.5 * (forward + backward)
'''),
    ],
    "ex2_mse_grad": [
        ("matrix product form, as in the lecture notes", '''
def mse_grad(w, x, y):
    return x @ (x * w - y) * (2 / len(x))
'''),
        ("plain Python loop returning a float", '''
def mse_grad(w, x, y):
    total = 0.0
    for xi, yi in zip(x.tolist(), y.tolist()):
        total += 2 * xi * (w * xi - yi)
    return total / len(x)
'''),
    ],
    "ex3_two_layer_grads": [
        ("matrix products instead of broadcasting and sums", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    delta = (y_hat - y) * (2.0 / len(x))
    dw2 = a.T @ delta
    db2 = delta.sum()
    dz = torch.outer(delta, w2) * torch.sigmoid(z) * (1 - torch.sigmoid(z))
    dw1 = x @ dz
    db1 = dz.sum(dim=0)
    return dw1, db1, dw2, db2
'''),
    ],
    "ex4_gd_step": [
        ("sub_ and grad = None, one loop", '''
def gd_step(params, lr):
    for p in params:
        with torch.no_grad():
            p.sub_(p.grad, alpha=lr)
        p.grad = None
'''),
        ("torch.no_grad as a decorator", '''
@torch.no_grad()
def gd_step(params, lr):
    for p in params:
        p.add_(-lr * p.grad)
        p.grad.zero_()
'''),
    ],
    "ex5_gradient_descent": [
        ("torch.optim.SGD instead of a hand-written step", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor([float(w0)], device=x.device, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    weights, losses = [], []
    for k in range(steps + 1):
        opt.zero_grad()
        loss = ((w * x - y) ** 2).mean()
        weights.append(w.item())
        losses.append(loss.item())
        if k < steps:
            loss.backward()
            opt.step()
    return weights, losses
'''),
        ("inline update with w.grad = None", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), requires_grad=True)
    weights, losses = [float(w0)], []
    for _ in range(steps):
        loss = torch.mean((x * w - y) ** 2)
        losses.append(float(loss))
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad = None
        weights.append(float(w))
    losses.append(float(torch.mean((x * w - y) ** 2)))
    return weights, losses
'''),
    ],
}
