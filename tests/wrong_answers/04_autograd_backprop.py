"""Plausible wrong answers (must fail the tests with a message that names the cause) and right answers
written in other styles (must pass) for 04_autograd_backprop.

Keys are the grade_ids of the solution cells. WRONG entries are (description, full cell source, words
the failure message must contain); RIGHT entries are (description, full cell source).
"""

_CD = '''
def central_difference(f, x, h=1e-5):
    return {body}
'''

_TWO = '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    n = x.shape[0]
    dL_dyhat = {dyhat}
    dw2 = {dw2}
    db2 = {db2}
    dL_da = dL_dyhat[:, None] * w2
    dL_dz = {dz}
    dw1 = {dw1}
    db1 = dL_dz.sum(dim=0)
    return {result}
'''


def _two(dyhat="2 * (y_hat - y) / n", dw2="(dL_dyhat[:, None] * a).sum(dim=0)", db2="dL_dyhat.sum()",
         dz="dL_da * a * (1 - a)", dw1="(dL_dz * x[:, None]).sum(dim=0)", result="dw1, db1, dw2, db2"):
    return _TWO.format(dyhat=dyhat, dw2=dw2, db2=db2, dz=dz, dw1=dw1, result=result)


_GD = '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    weights, losses = [], []
    for _ in range(steps):
        loss = torch.mean((w * x - y) ** 2)
        weights.append({record_w})
        losses.append({record_l})
        loss.backward()
        with torch.no_grad():
            w {update}
        {zero}
    weights.append({record_w})
    losses.append({final_l})
    return weights, losses
'''


def _gd(record_w="w.item()", record_l="loss.item()", update="-= lr * w.grad", zero="w.grad.zero_()",
        final_l="torch.mean((w * x - y) ** 2).item()"):
    return _GD.format(record_w=record_w, record_l=record_l, update=update, zero=zero, final_l=final_l)


WRONG = {
    "ex1_central_difference": [
        ("forward difference", _CD.format(body="(f(x + h) - f(x)) / h"), ["forward difference"]),
        ("divides by h instead of 2h", _CD.format(body="(f(x + h) - f(x - h)) / h"), ["2h apart"]),
        ("backward difference", _CD.format(body="(f(x) - f(x - h)) / h"), ["backward difference"]),
        ("ignores h and uses a fixed step", _CD.format(body="(f(x + 1e-5) - f(x - 1e-5)) / 2e-5"), ["h was ignored"]),
        ("forgets to divide", _CD.format(body="f(x + h) - f(x - h)"), ["not divided by 2h"]),
        ("signs the wrong way round", _CD.format(body="(f(x - h) - f(x + h)) / (2 * h)"), ["sign is flipped"]),
        ("hard-coded answer", _CD.format(body="12.0"), ["expected: 12.0001", "got:      12.0"]),
        ("returns both one-sided differences", _CD.format(body="(f(x + h) - f(x)) / h, (f(x) - f(x - h)) / h"),
         ["wrong type", "tuple"]),
        ("divides by h squared", _CD.format(body="(f(x + h) - f(x - h)) / (2 * h * h)"),
         ["central_difference(t ** 3, 2.0, h=0.01)", "expected: 12.0001"]),
        ("a lower limit on the step, against rounding", '''
def central_difference(f, x, h=1e-5):
    h = max(h, 1e-4)
    return (f(x + h) - f(x - h)) / (2 * h)
''', ["sin(100 t)", "step 0.0001", "however small"]),
        ("the values of f as a float32 tensor", '''
def central_difference(f, x, h=1e-5):
    values = torch.tensor([f(x + h), f(x - h)])
    return ((values[0] - values[1]) / (2 * h)).item()
''', ["rounded to float32", "float64"]),
        ("a step relative to x", '''
def central_difference(f, x, h=1e-5):
    step = h * abs(x) if x != 0 else h
    return (f(x + step) - f(x - step)) / (2 * step)
''', ["scaled by |x|", "h=0.01"]),
    ],
    "ex2_mse_grad": [
        ("forgets the factor 2", '''
def mse_grad(w, x, y):
    return (x * (w * x - y)).mean()
''', ["factor 2"]),
        ("sum instead of mean", '''
def mse_grad(w, x, y):
    return 2 * (x * (w * x - y)).sum()
''', ["divide by N"]),
        ("forgets the inner derivative x", '''
def mse_grad(w, x, y):
    return 2 * (w * x - y).mean()
''', ["factor x_i"]),
        ("residual the wrong way round", '''
def mse_grad(w, x, y):
    return 2 * (x * (y - w * x)).mean()
''', ["sign is flipped"]),
        ("autograd inside torch.enable_grad()", '''
def mse_grad(w, x, y):
    w_leaf = torch.tensor(w, requires_grad=True)
    with torch.enable_grad():
        loss = ((w_leaf * x - y) ** 2).mean()
        loss.backward()
    return w_leaf.grad
''', ["used autograd", "backward()"]),
        ("torch.autograd.grad inside torch.enable_grad()", '''
def mse_grad(w, x, y):
    with torch.enable_grad():
        w_leaf = torch.tensor(w, requires_grad=True)
        return torch.autograd.grad(((w_leaf * x - y) ** 2).mean(), w_leaf)[0]
''', ["used autograd"]),
        ("plain autograd: fails under no_grad", '''
def mse_grad(w, x, y):
    w_leaf = torch.tensor(w, requires_grad=True)
    ((w_leaf * x - y) ** 2).mean().backward()
    return w_leaf.grad
''', ["used autograd"]),
        ("one value per example", '''
def mse_grad(w, x, y):
    return 2 * x * (w * x - y) / len(x)
''', ["one value per example", "sum"]),
        ("divides by N - 1", '''
def mse_grad(w, x, y):
    return 2 * (x * (w * x - y)).sum() / (len(x) - 1)
''', ["N - 1"]),
        ("converts the data to float32", '''
def mse_grad(w, x, y):
    x, y = x.float(), y.float()
    return 2 * (x * (w * x - y)).mean()
''', ["float32", "the data is float64", "near x = 100"]),
        ("w as a float32 tensor", '''
def mse_grad(w, x, y):
    w = torch.tensor(w)
    return 2 * (x * (w * x - y)).mean()
''', ["rounded to float32", "torch.tensor(w)"]),
        ("the residual computed in place in y", '''
def mse_grad(w, x, y):
    y -= w * x
    return -2 * (x * y).mean()
''', ["y after", "do not change the data", "in-place"]),
    ],
    "ex3_two_layer_grads": [
        ("forgets the 1/N of the mean", _two(dyhat="2 * (y_hat - y)"), ["N times the gradient"]),
        ("forgets the sigmoid's derivative", _two(dz="dL_da"), ["a * (1 - a) is missing"]),
        ("sigmoid derivative as a instead of a(1 - a)", _two(dz="dL_da * a"), ["not a."]),
        ("forgets the factor x in dw1", _two(dw1="dL_dz.sum(dim=0)"), ["needs the factor x"]),
        ("dw2 from z instead of a", _two(dw2="(dL_dyhat[:, None] * z).sum(dim=0)"), ["activations a"]),
        ("db2 not summed over the batch", _two(db2="dL_dyhat"), ["db2", "wrong shape"]),
        ("gradients returned in another order", _two(result="dw2, db2, dw1, db1"), ["in this order"]),
        ("sums over the hidden units instead of the batch", _two(dw1="(dL_dz * x[:, None]).sum(dim=1)"),
         ["dw1", "wrong shape", "(2,)", "(3,)"]),
        ("rounds dL/dy_hat to float32", _two(dyhat="(2 * (y_hat - y) / n).float()"),
         ["float64 inputs", "float32", ".float()"]),
        ("x made a column in place", _two(dw1="(dL_dz * x.unsqueeze_(1)).sum(dim=0)"),
         ["the shape of x", "in-place", "unsqueeze_"]),
        ("a loop over the examples that returns inside the loop", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    n = x.shape[0]
    dw1, db1, dw2, db2 = (torch.zeros_like(t) for t in (w1, b1, w2, b2))
    for i in range(n):
        d = 2 * (y_hat[i] - y[i]) / n
        dz = d * w2 * a[i] * (1 - a[i])
        dw1 = dw1 + dz * x[i]
        db1 = db1 + dz
        dw2 = dw2 + d * a[i]
        db2 = db2 + d
        return dw1, db1, dw2, db2
''', ["only the first example", "inside the loop", "N = 3"]),
        ("autograd under enable_grad", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    with torch.enable_grad():
        leaves = [t.clone().requires_grad_(True) for t in (w1, b1, w2, b2)]
        lw1, lb1, lw2, lb2 = leaves
        y_hat = torch.sigmoid(x[:, None] * lw1 + lb1) @ lw2 + lb2
        ((y_hat - y) ** 2).mean().backward()
    return tuple(t.grad for t in leaves)
''', ["used autograd"]),
    ],
    "ex4_gd_step": [
        ("no torch.no_grad(): in-place update of a leaf", '''
def gd_step(params, lr):
    for p in params:
        p -= lr * p.grad
        p.grad.zero_()
''', ["torch.no_grad()", "in place"]),
        ("steps with the gradient", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p += lr * p.grad
            p.grad.zero_()
''', ["went with the gradient"]),
        ("forgets to clear the gradients", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
''', ["gradient was not cleared", "zero_()"]),
        ("one number per tensor: grad.mean()", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad.mean()
            p.grad.zero_()
''', ["same amount", "entry by entry"]),
        ("updates only the first tensor", '''
def gd_step(params, lr):
    p = params[0]
    with torch.no_grad():
        p -= lr * p.grad
    for q in params:
        q.grad = None
''', ["did not change", "every tensor"]),
        ("updates through .data", '''
def gd_step(params, lr):
    for p in params:
        p.data = p.data - lr * p.grad
        p.grad = None
''', ["in-place operation on p itself", ".data"]),
        ("rebinds the loop variable", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p = p - lr * p.grad
    for p in params:
        p.grad.zero_()
''', ["did not change", "rebinds"]),
        ("forgets the learning rate", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= p.grad
            p.grad.zero_()
''', ["learning rate is missing"]),
        ("updates through p.data in place", '''
def gd_step(params, lr):
    for p in params:
        p.data.sub_(lr * p.grad)
        p.grad.zero_()
''', [".data", "version counter"]),
        ("returns at the first tensor with a zero gradient", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if not p.grad.any():     # nothing to do for this one
                return
            p -= lr * p.grad
            p.grad.zero_()
''', ["zero gradient", "stopped there", "every tensor"]),
        ("clips the gradient to [-1, 1]", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad.clamp(-1, 1)
            p.grad.zero_()
''', ["clipped to [-1, 1]"]),
        ("the step in float32", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad.float()
            p.grad.zero_()
''', ["float32", "float64 tensor"]),
        ("clears the gradient before using it", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p.grad.zero_()
            p -= lr * p.grad
''', ["did not change"]),
    ],
    "ex5_gradient_descent": [
        ("never zeroes the gradient", _gd(zero="pass"), ["add up", "zero"]),
        ("steps with the gradient", _gd(update="+= lr * w.grad"), ["with the gradient"]),
        ("off by one: steps entries only", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), requires_grad=True)
    weights, losses = [], []
    for _ in range(steps):
        loss = torch.mean((w * x - y) ** 2)
        weights.append(w.item())
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
    return weights, losses
''', ["len(weights)", "steps + 1"]),
        ("records tensors instead of floats", _gd(record_w="w.detach().clone()", final_l="torch.mean((w * x - y) ** 2).item()"),
         ["Python floats", ".item()"]),
        ("records the loss tensor itself", _gd(record_l="loss"), ["Python floats", "Tensor"]),
        ("rebinds w to a new tensor under no_grad", _gd(update="= w - lr * w.grad"), ["grad is None", "in place"]),
        ("returns the lists in the other order", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), requires_grad=True)
    weights, losses = [], []
    for _ in range(steps + 1):
        loss = torch.mean((w * x - y) ** 2)
        weights.append(w.item())
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
    return losses, weights
''', ["the weights of", "expected"]),
        ("root mean squared loss", _gd(record_l="loss.sqrt().item()", final_l="torch.mean((w * x - y) ** 2).sqrt().item()"),
         ["square roots"]),
        ("stops when the loss goes up", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    weights, losses = [w.item()], [torch.mean((w * x - y) ** 2).item()]
    for _ in range(steps):
        loss = torch.mean((w * x - y) ** 2)
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
        new_loss = torch.mean((w * x - y) ** 2).item()
        if new_loss > losses[-1]:      # diverging: stop
            break
        weights.append(w.item())
        losses.append(new_loss)
    return weights, losses
''', ["stopped early", "the loss goes up", "lr=2.0"]),
        ("stops when the gradient is tiny", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    weights, losses = [w.item()], [torch.mean((w * x - y) ** 2).item()]
    for _ in range(steps):
        loss = torch.mean((w * x - y) ** 2)
        loss.backward()
        if abs(w.grad.item()) < 1e-6:  # converged
            break
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
        weights.append(w.item())
        losses.append(torch.mean((w * x - y) ** 2).item())
    return weights, losses
''', ["stopped early", "gradient is zero", "w0=2.0"]),
        ("records the weight after the update", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    weights, losses = [], []
    for _ in range(steps + 1):
        loss = torch.mean((w * x - y) ** 2)
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
        weights.append(w.item())
    return weights, losses
''', ["after each update", "weights[0] is w0"]),
        ("w of one element made on the CPU", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor([float(w0)], requires_grad=True)
    weights, losses = [], []
    for _ in range(steps + 1):
        loss = torch.mean((w * x - y) ** 2)
        weights.append(w.item())
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
    return weights, losses
''', ["on the CPU while x is on the GPU", "device=x.device"]),
        ("returns NumPy arrays", '''
import numpy as np

def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), requires_grad=True)
    weights, losses = [], []
    for _ in range(steps + 1):
        loss = torch.mean((w * x - y) ** 2)
        weights.append(w.item())
        losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
    return np.array(weights), np.array(losses)
''', ["list", "NumPy"]),
    ],
}

RIGHT = {
    "ex1_central_difference": [
        ("named intermediate values", '''
def central_difference(f, x, h=1e-5):
    upper, lower = f(x + h), f(x - h)
    return (upper - lower) / (2 * h)
'''),
        ("halving first", '''
def central_difference(f, x, h=1e-5):
    return 0.5 * (f(x + h) - f(x - h)) / h
'''),
        ("the mean of the forward and backward differences", '''
def central_difference(f, x, h=1e-5):
    forward = (f(x + h) - f(x)) / h
    backward = (f(x) - f(x - h)) / h
    return (forward + backward) / 2
'''),
        ("NumPy float64 inside, a Python float out", '''
import numpy as np

def central_difference(f, x, h=1e-5):
    upper, lower = np.float64(f(x + h)), np.float64(f(x - h))
    return float((upper - lower) / (2 * np.float64(h)))
'''),
        ("an explicit loop over the two points", '''
def central_difference(f, x, h=1e-5):
    total = 0.0
    for sign in (1, -1):
        total += sign * f(x + sign * h)
    return total / (2 * h)
'''),
        ("float64 tensors and .item()", '''
def central_difference(f, x, h=1e-5):
    pair = torch.tensor([f(x + h), f(x - h)], dtype=torch.float64)
    return ((pair[0] - pair[1]) / (2 * h)).item()
'''),
    ],
    "ex2_mse_grad": [
        ("torch.dot over N", '''
def mse_grad(w, x, y):
    residual = w * x - y
    return 2 * torch.dot(x, residual) / len(x)
'''),
        ("expanded: (2/N)(w sum x^2 - sum x y)", '''
def mse_grad(w, x, y):
    n = x.numel()
    return 2.0 / n * (w * (x ** 2).sum() - (x * y).sum())
'''),
        ("a Python loop returning a float", '''
def mse_grad(w, x, y):
    total = 0.0
    for xi, yi in zip(x.tolist(), y.tolist()):
        total += 2 * xi * (w * xi - yi)
    return total / len(x)
'''),
        ("einsum", '''
def mse_grad(w, x, y):
    return 2 * torch.einsum("i,i->", x, w * x - y) / x.numel()
'''),
        ("float64 inside, cast back to the data's dtype", '''
def mse_grad(w, x, y):
    x64, y64 = x.double(), y.double()
    return (2 * (x64 * (w * x64 - y64)).mean()).to(x.dtype)
'''),
        ("an explicit loop over the indices", '''
def mse_grad(w, x, y):
    total = 0
    for i in range(len(x)):
        total = total + 2 * x[i] * (w * x[i] - y[i])
    return total / len(x)
'''),
    ],
    "ex3_two_layer_grads": [
        ("the reference formulas, returned as a list", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = 2 * (y_hat - y) / len(x)
    dz = torch.outer(g, w2) * a * (1 - a)
    return [x @ dz, dz.sum(0), a.T @ g, g.sum()]
'''),
        ("einsum", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = 2.0 * (y_hat - y) / x.shape[0]
    dz = torch.einsum("n,h->nh", g, w2) * torch.sigmoid(z) * (1 - torch.sigmoid(z))
    return (torch.einsum("nh,n->h", dz, x), dz.sum(dim=0), torch.einsum("n,nh->h", g, a), torch.sum(g))
'''),
        ("means instead of sums with the factor 2 outside", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    r = y_hat - y
    s = a * (1 - a) * w2
    return (2 * (r[:, None] * s * x[:, None]).mean(dim=0), 2 * (r[:, None] * s).mean(dim=0),
            2 * (r[:, None] * a).mean(dim=0), 2 * r.mean())
'''),
        ("an explicit loop over the examples", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    n = x.shape[0]
    dw1, db1, dw2, db2 = (torch.zeros_like(t) for t in (w1, b1, w2, b2))
    for i in range(n):
        d = 2 * (y_hat[i] - y[i]) / n
        dz = d * w2 * a[i] * (1 - a[i])
        dw1 = dw1 + dz * x[i]
        db1 = db1 + dz
        dw2 = dw2 + d * a[i]
        db2 = db2 + d
    return dw1, db1, dw2, db2
'''),
        ("float64 inside, cast back", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    a64, x64, w2_64 = a.double(), x.double(), w2.double()
    g = 2 * (y_hat.double() - y.double()) / len(x)
    dz = g[:, None] * w2_64 * a64 * (1 - a64)
    return tuple(t.to(w1.dtype) for t in (dz.T @ x64, dz.sum(0), a64.T @ g, g.sum()))
'''),
        ("torch.mv and sigmoid(z) * sigmoid(-z)", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = torch.mul(y_hat - y, 2.0 / len(y))
    dz = torch.outer(g, w2) * torch.sigmoid(z) * torch.sigmoid(-z)
    return torch.mv(dz.T, x), dz.sum(dim=0), torch.mv(a.T, g), g.sum()
'''),
    ],
    "ex4_gd_step": [
        ("sub_ and grad = None", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p.sub_(lr * p.grad)
            p.grad = None
'''),
        ("add_ with alpha, no_grad inside the loop", '''
def gd_step(params, lr):
    for p in params:
        with torch.no_grad():
            p.add_(p.grad, alpha=-lr)
        p.grad.zero_()
'''),
        ("torch.optim.SGD for one step", '''
def gd_step(params, lr):
    optimizer = torch.optim.SGD(params, lr=lr)
    optimizer.step()
    optimizer.zero_grad()
'''),
        ("torch.inference_mode for the update", '''
def gd_step(params, lr):
    with torch.inference_mode():
        for p in params:
            p -= lr * p.grad
    for p in params:
        p.grad = None
'''),
        ("the decorator form of no_grad and copy_", '''
@torch.no_grad()
def gd_step(params, lr):
    for p in params:
        p.copy_(p - lr * p.grad)
        p.grad.zero_()
'''),
    ],
    "ex5_gradient_descent": [
        ("uses gd_step", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    weights, losses = [w.item()], []
    for _ in range(steps):
        loss = ((w * x - y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        gd_step([w], lr)
        weights.append(w.item())
    losses.append(((w * x - y) ** 2).mean().item())
    return weights, losses
'''),
        ("steps + 1 forward passes, no update after the last", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor([float(w0)], device=x.device, requires_grad=True)
    weights, losses = [], []
    for step in range(steps + 1):
        loss = torch.mean((w * x - y) ** 2)
        weights.append(float(w))
        losses.append(float(loss))
        if step == steps:
            break
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            w.grad = None
    return weights, losses
'''),
        ("torch.optim.SGD and a tuple of lists", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.nn.Parameter(torch.tensor(float(w0)))
    optimizer = torch.optim.SGD([w], lr=lr)
    weights, losses = [], []
    for _ in range(steps + 1):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(w * x, y)
        weights.append(w.item())
        losses.append(loss.item())
        loss.backward()
        optimizer.step()
    return (weights, losses)
'''),
        ("torch.autograd.grad and F.mse_loss, w rebuilt each step", '''
import torch.nn.functional as F

def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    weights, losses = [], []
    for step in range(steps + 1):
        loss = F.mse_loss(w * x, y)
        weights.append(w.item())
        losses.append(loss.item())
        if step < steps:
            (grad,) = torch.autograd.grad(loss, w)
            w = (w - lr * grad).detach().requires_grad_()
    return weights, losses
'''),
        ("float64 inside", '''
def gradient_descent(x, y, w0, lr, steps):
    x64, y64 = x.double(), y.double()
    w = torch.tensor(float(w0), dtype=torch.float64, device=x.device, requires_grad=True)
    weights, losses = [], []
    for _ in range(steps + 1):
        loss = ((w * x64 - y64) ** 2).mean()
        weights.append(float(w))
        losses.append(float(loss))
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad = None
    return weights, losses
'''),
    ],
}

# issue 20, helper props2: mistakes that only the checks against the instructor's solution on generated inputs
# catch (each message comes from check_against_reference), and right answers in further styles
WRONG["ex1_central_difference"] += [
    ("the estimate rounded to float32 at the end", _CD.format(body="float(torch.tensor((f(x + h) - f(x - h)) / (2 * h)))"),
     ["float32", "generated input"]),
    ("the estimate rounded to 6 decimals", _CD.format(body="round((f(x + h) - f(x - h)) / (2 * h), 6)"),
     ["6 decimals", "generated input"]),
]
RIGHT["ex1_central_difference"] += [
    ("multiplies by 0.5 / h", _CD.format(body="(f(x + h) - f(x - h)) * (0.5 / h)")),
]
WRONG["ex2_mse_grad"] += [
    ("returns 0 when the gradient is tiny (treated as converged)", '''
def mse_grad(w, x, y):
    g = 2 * (x * (w * x - y)).mean()
    return 0.0 if abs(float(g)) < 1e-4 else g
''', ["set to 0", "however small"]),
    ("results cached by (w, N): data of the same size with the same w get an earlier answer", '''
_SEEN = {}

def mse_grad(w, x, y):
    key = (w, len(x))
    if key not in _SEEN:
        _SEEN[key] = 2 * (x * (w * x - y)).mean()
    return _SEEN[key]
''', ["earlier call", "keep nothing between calls"]),
]
RIGHT["ex2_mse_grad"] += [
    ("a dot product, float64 inside and cast back", '''
def mse_grad(w, x, y):
    xd, yd = x.double(), y.double()
    return (2 * torch.dot(xd, w * xd - yd) / len(x)).to(x.dtype)
'''),
]
WRONG["ex3_two_layer_grads"] += [
    ("the sigmoid's derivative as exp(-z) / (1 + exp(-z))**2 (nan when exp(-z) overflows)",
     _two(dz="dL_da * torch.exp(-z) / (1 + torch.exp(-z)) ** 2"), ["overflowed", "inf / inf", "generated input"]),
    ("the sigmoid's derivative as exp(z) / (1 + exp(z))**2 (nan when exp(z) overflows)",
     _two(dz="dL_da * torch.exp(z) / (1 + torch.exp(z)) ** 2"), ["overflowed", "inf / inf", "generated input"]),
]
RIGHT["ex3_two_layer_grads"] += [
    ("sigmoid(z) * sigmoid(-z) and matrix products", '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = 2 * (y_hat - y) / x.shape[0]
    dz = torch.outer(g, w2) * torch.sigmoid(z) * torch.sigmoid(-z)
    return x @ dz, dz.sum(dim=0), g @ a, g.sum()
'''),
]
WRONG["ex4_gd_step"] += [
    ("the learning rate capped at 1 (for stability)", '''
def gd_step(params, lr):
    lr = min(lr, 1.0)
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad.zero_()
''', ["learning rate 1", "however large"]),
    ("tensors with a tiny gradient skipped (treated as converged)", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            if p.grad.abs().max() >= 1e-6:
                p -= lr * p.grad
            p.grad.zero_()
''', ["tiny gradient", "however small"]),
]
RIGHT["ex4_gd_step"] += [
    ("copy_ of the new values, gradients set to None", '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p.copy_(p - lr * p.grad)
    for p in params:
        p.grad = None
'''),
]
WRONG["ex5_gradient_descent"] += [
    ("records the final weight inside the loop, on its last step (nothing for steps=0)", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    weights, losses = [], []
    for k in range(steps):
        loss = torch.mean((w * x - y) ** 2)
        weights.append(w.item())
        losses.append(loss.item())
        loss.backward()
        gd_step([w], lr)
        if k == steps - 1:
            weights.append(w.item())
            losses.append(torch.mean((w * x - y) ** 2).item())
    return weights, losses
''', ["lists are empty", "steps = 0"]),
    ("at least one step, even for steps=0", _gd().replace("for _ in range(steps):", "for _ in range(max(steps, 1)):"),
     ["a step was taken", "steps = 0"]),
]
RIGHT["ex5_gradient_descent"] += [
    ("float64 weight and torch.optim.SGD", '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(w0, dtype=torch.float64, device=x.device, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    weights, losses = [], []
    for k in range(steps + 1):
        opt.zero_grad()
        loss = ((w * x - y) ** 2).mean()
        weights.append(float(w))
        losses.append(float(loss))
        if k < steps:
            loss.backward()
            opt.step()
    return weights, losses
'''),
]


# The audit's answers (150 wrong answers and alternative right ones written against all eight topics):
# each WRONG one is rejected with a message that names its cause, each RIGHT one passes.
_AUDIT_WRONG = {
    'ex1_central_difference': [
        ('precedence: / 2 * h', '''
def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / 2 * h
''', ['values are not close to the', 'central_difference(t ** 3, 2.0']),
        ('half steps: (f(x + h/2) - f(x - h/2)) / h', '''
def central_difference(f, x, h=1e-5):
    return (f(x + h / 2) - f(x - h / 2)) / h
''', ['values are not close to the', 'central_difference(t ** 3, 2.0']),
        ('sum of forward and backward differences', '''
def central_difference(f, x, h=1e-5):
    return (f(x + h) - f(x)) / h + (f(x) - f(x - h)) / h
''', ['divided by h']),
    ],
    'ex2_mse_grad': [
        ('product of means instead of mean of products', '''
def mse_grad(w, x, y):
    return 2 * x.mean() * (w * x - y).mean()
''', ['values are not close to the', 'mse_grad(1.0, x, y) for']),
        ('x squared but y not multiplied by x', '''
def mse_grad(w, x, y):
    return 2 * (w * x ** 2 - y).mean()
''', ['values are not close to the', 'mse_grad(1.0, x, y) for']),
    ],
    'ex3_two_layer_grads': [
        ('db2 keeps a dimension (1,)', '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    n = x.shape[0]
    g = 2 * (y_hat - y) / n
    dw2 = (g[:, None] * a).sum(dim=0)
    db2 = g.sum(dim=0, keepdim=True)
    dz = g[:, None] * w2 * a * (1 - a)
    return (dz * x[:, None]).sum(dim=0), dz.sum(dim=0), dw2, db2
''', ['expected a single number']),
        ('sigmoid applied again inside the derivative', '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    n = x.shape[0]
    g = 2 * (y_hat - y) / n
    dw2 = (g[:, None] * a).sum(dim=0)
    db2 = g.sum()
    dz = g[:, None] * w2 * torch.sigmoid(a) * (1 - torch.sigmoid(a))
    return (dz * x[:, None]).sum(dim=0), dz.sum(dim=0), dw2, db2
''', ['values are not close to the', 'dw1 (the one-example, one-unit']),
        ('1/N applied twice (mean at the parameters as well)', '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    n = x.shape[0]
    g = 2 * (y_hat - y) / n
    dw2 = (g[:, None] * a).mean(dim=0)
    db2 = g.mean()
    dz = g[:, None] * w2 * a * (1 - a)
    return (dz * x[:, None]).mean(dim=0), dz.mean(dim=0), dw2, db2
''', ['every value is 1/3 of the expected one']),
        ('dw1 as a product of sums', '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    n = x.shape[0]
    g = 2 * (y_hat - y) / n
    dw2 = (g[:, None] * a).sum(dim=0)
    db2 = g.sum()
    dz = g[:, None] * w2 * a * (1 - a)
    return dz.sum(dim=0) * x.sum(), dz.sum(dim=0), dw2, db2
''', ['dL/dw1 needs the factor x']),
    ],
    'ex4_gd_step': [
        ('torch.no_grad() called, not used as a context manager', '''
def gd_step(params, lr):
    torch.no_grad()
    for p in params:
        p -= lr * p.grad
        p.grad.zero_()
''', ['do the update inside `with torch.no_grad']),
        ('zero_ outside the loop: only the last tensor cleared', '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
    p.grad.zero_()
''', ['after the update']),
        ('steps by the sign of the gradient', '''
def gd_step(params, lr):
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad.sign()
            p.grad.zero_()
''', ['values are not close', 'after gd_step(lr=0.1)']),
    ],
    'ex5_gradient_descent': [
        ('sum instead of mean in the loss', '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    weights, losses = [], []
    for _ in range(steps + 1):
        loss = ((w * x - y) ** 2).sum()
        weights.append(w.item()); losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
    return weights, losses
''', ['values are not close to the', 'the weights of gradient_descent(x']),
        ('SGD with momentum 0.9', '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr, momentum=0.9)
    weights, losses = [], []
    for _ in range(steps + 1):
        loss = ((w * x - y) ** 2).mean()
        weights.append(w.item()); losses.append(loss.item())
        opt.zero_grad(); loss.backward(); opt.step()
    return weights, losses
''', ['values are not close to the', 'the weights of gradient_descent(x']),
        ('losses[k] recorded after the k-th update', '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    weights, losses = [w.item()], [((w * x - y) ** 2).mean().item()]
    for _ in range(steps):
        loss = ((w * x - y) ** 2).mean()
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
        w.grad.zero_()
        weights.append(w.item())
        losses.append(loss.item())
    return weights, losses
''', ['values are not close to the', 'the losses of gradient_descent(x']),
    ],
}
_AUDIT_RIGHT = {
    'ex1_central_difference': [
        ('a helper lambda', '''
def central_difference(f, x, h=1e-5):
    g = lambda s: f(x + s * h)
    return (g(1) - g(-1)) / (h + h)
'''),
        ('with float()', '''
def central_difference(f, x, h=1e-5):
    up, down = f(x + h), f(x - h)
    return float((up - down) / (2.0 * h))
'''),
    ],
    'ex2_mse_grad': [
        ('torch.mean of 2 x (wx - y)', '''
def mse_grad(w, x, y):
    residual = w * x - y
    return torch.mean(2 * x * residual)
'''),
        ('NumPy round trip to a float', '''
def mse_grad(w, x, y):
    xs, ys = x.detach().cpu().numpy().astype(np.float64), y.detach().cpu().numpy().astype(np.float64)
    return float(np.mean(2 * xs * (w * xs - ys)))
'''),
    ],
    'ex3_two_layer_grads': [
        ('outer products and a - a**2', '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = (y_hat - y) * (2.0 / len(x))
    dz = torch.outer(g, w2) * (a - a ** 2)
    return x @ dz, dz.sum(0), a.T @ g, g.sum()
'''),
        ('a loop over the hidden units', '''
def two_layer_grads(x, y, w1, b1, w2, b2):
    z = x[:, None] * w1 + b1
    a = torch.sigmoid(z)
    y_hat = a @ w2 + b2
    g = 2 * (y_hat - y) / x.shape[0]
    dw1, db1, dw2 = torch.zeros_like(w1), torch.zeros_like(b1), torch.zeros_like(w2)
    for j in range(w1.shape[0]):
        dz = g * w2[j] * a[:, j] * (1 - a[:, j])
        dw1[j] = (dz * x).sum(); db1[j] = dz.sum(); dw2[j] = (g * a[:, j]).sum()
    return dw1, db1, dw2, g.sum()
'''),
    ],
    'ex4_gd_step': [
        ('foreach ops, grads set to None', '''
def gd_step(params, lr):
    params = list(params)
    with torch.no_grad():
        torch._foreach_add_(params, [p.grad for p in params], alpha=-lr)
    for p in params:
        p.grad = None
'''),
        ('the gradient multiplied by zero', '''
def gd_step(params, lr):
    for p in params:
        with torch.no_grad():
            p.sub_(p.grad * lr)
        p.grad.mul_(0)
'''),
    ],
    'ex5_gradient_descent': [
        ('w rebuilt as a fresh leaf each step', '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.tensor(float(w0), device=x.device, requires_grad=True)
    weights, losses = [], []
    for k in range(steps + 1):
        loss = ((w * x - y) ** 2).mean()
        weights.append(w.item()); losses.append(loss.item())
        if k == steps:
            break
        loss.backward()
        w = (w - lr * w.grad).detach().requires_grad_()
    return weights, losses
'''),
        ('SGD with zero_grad(set_to_none=False)', '''
def gradient_descent(x, y, w0, lr, steps):
    w = torch.full((), float(w0), device=x.device, requires_grad=True)
    opt = torch.optim.SGD([w], lr=lr)
    weights, losses = [], []
    for _ in range(steps):
        opt.zero_grad(set_to_none=False)
        loss = torch.nn.functional.mse_loss(w * x, y)
        weights.append(float(w)); losses.append(float(loss))
        loss.backward()
        opt.step()
    weights.append(float(w)); losses.append(float(torch.nn.functional.mse_loss(w * x, y)))
    return weights, losses
'''),
    ],
}
for _key, _entries in _AUDIT_WRONG.items():
    WRONG.setdefault(_key, []).extend(_entries)
for _key, _entries in _AUDIT_RIGHT.items():
    RIGHT.setdefault(_key, []).extend(_entries)
