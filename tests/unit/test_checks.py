"""utils.checks: every helper passes good input, fails each kind of bad input with a message
that names the object and says what was expected, what came back and a hint, and refuses
bad arguments from the test writer with TypeError/ValueError."""
import re

import numpy as np
import pytest
import torch
from torch import nn

from utils.checks import (check_close, check_decreasing, check_dtype, check_equal, check_layers,
                          check_param_count, check_requires_grad, check_shape, check_true, check_type)


def failure(func, *args, **kwargs) -> str:
    """Call a check that must fail; return its message."""
    with pytest.raises(AssertionError) as info:
        func(*args, **kwargs)
    return str(info.value)


def assert_message(message: str, name: str, *parts: str, hint: bool = True) -> None:
    assert message.startswith(f"{name}: "), message
    if hint:
        assert "\n  hint: " in message, message
    for part in parts:
        assert part in message, f"{part!r} not in:\n{message}"
    assert "Traceback" not in message


def student_fn(x):
    return x


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(4, 3)
        self.out = nn.Linear(3, 2)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


# ----------------------------------------------------------------------------- check_type

@pytest.mark.parametrize("value, expected", [
    (torch.zeros(2), torch.Tensor), (nn.Parameter(torch.zeros(2)), torch.Tensor), (3, int), (0.5, float),
    (True, bool), ("a", str), (np.zeros(2), np.ndarray), (nn.Linear(1, 1), nn.Module), (3, (int, float)),
])
def test_check_type_passes(value, expected):
    check_type(value, expected, "x")


@pytest.mark.parametrize("value, expected, hint", [
    (0.5, torch.Tensor, ".item()"),
    (np.zeros(2), torch.Tensor, "torch.from_numpy"),
    ([1, 2], torch.Tensor, "torch.tensor"),
    (torch.tensor(2.0), float, ".item()"),
    (torch.zeros(2), np.ndarray, ".numpy()"),
    (None, torch.Tensor, "return"),
    (student_fn, torch.Tensor, "call"),
    (NotImplemented, torch.Tensor, "placeholder"),
    (nn.Linear, nn.Module, "instance"),
    (True, int, "bool"),
    (np.float32(0.5), float, "float(...)"),
    (2, float, "float(...)"),
    (2.0, int, "int(...)"),
])
def test_check_type_fails_with_hint(value, expected, hint):
    message = failure(check_type, value, expected, "result")
    assert_message(message, "result", "wrong type", "expected:", "got:", hint)


def test_check_type_bad_arguments():
    with pytest.raises(TypeError, match="expected_type"):
        check_type(1, "int", "x")
    with pytest.raises(TypeError, match="name"):
        check_type(1, int, 5)
    with pytest.raises(TypeError, match="hint"):
        check_type(1, int, "x", hint=3)


def test_custom_hint_replaces_default():
    message = failure(check_type, 0.5, torch.Tensor, "loss", hint="Return the loss tensor itself.")
    assert message.endswith("hint: Return the loss tensor itself.")
    assert ".item()" not in message


# ----------------------------------------------------------------------------- check_shape

def test_check_shape_passes():
    check_shape(torch.zeros(3, 4), (3, 4), "x")
    check_shape(np.zeros((2,)), (2,), "x")
    check_shape(torch.zeros(()), (), "x")
    check_shape(torch.zeros(5, 4), (None, 4), "x")
    check_shape(torch.zeros(3, 4, requires_grad=True), [3, 4], "x")
    check_shape(torch.zeros(3, 4), torch.Size([3, 4]), "x")


@pytest.mark.parametrize("value, expected, parts", [
    (torch.zeros(4, 3), (3, 4), ["(3, 4)", "(4, 3)", "swap the dimensions"]),
    (torch.zeros(5, 1), (5,), ["(5,)", "(5, 1)", "squeeze"]),
    (torch.zeros(5), (5, 1), ["(5, 1)", "(5,)", "unsqueeze"]),
    (torch.zeros(2, 6), (3, 4), ["same number of elements"]),
    (torch.zeros(5, 2, 3), (5, 4), ["expected 2 dimension(s), got 3"]),
    (3.0, (1,), ["Python float", ".item()"]),
    ([1.0, 2.0], (2,), ["Python list", "torch.tensor"]),
    (None, (2,), ["None", "return"]),
    (student_fn, (2,), ["function", "call"]),
])
def test_check_shape_fails(value, expected, parts):
    message = failure(check_shape, value, expected, "y_hat")
    assert_message(message, "y_hat", "expected:", "got:", *parts)


def test_check_shape_bad_arguments():
    for bad in ["3x4", (3.0, 4), (-1, 4), (True, 4), 3, None]:
        with pytest.raises(TypeError, match="expected_shape.*tuple of"):
            check_shape(torch.zeros(3, 4), bad, "x")


# ----------------------------------------------------------------------------- check_dtype

def test_check_dtype_passes():
    check_dtype(torch.zeros(2), torch.float32, "x")
    check_dtype(torch.zeros(2, dtype=torch.long), torch.int64, "x")
    check_dtype(np.zeros(2), np.float64, "x")
    check_dtype(np.zeros(2, dtype=np.float32), "float32", "x")
    check_dtype(np.float32(1.0), np.float32, "x")


@pytest.mark.parametrize("value, expected, parts", [
    (torch.from_numpy(np.zeros(3)), torch.float32, ["torch.float32", "torch.float64", "float64"]),
    (torch.tensor([1, 2]), torch.float32, ["int64", ".float()"]),
    (torch.tensor([0.0, 1.0]), torch.long, ["int64", ".long()"]),
    (torch.tensor([1.0]) > 0, torch.float32, ["bool", ".float()"]),
    (np.zeros(3), torch.float32, ["NumPy array", "torch.from_numpy"]),
    (torch.zeros(3), np.float32, ["tensor", ".numpy()"]),
    (1.5, torch.float32, ["Python float"]),
    (None, torch.float32, ["return"]),
])
def test_check_dtype_fails(value, expected, parts):
    message = failure(check_dtype, value, expected, "x")
    assert_message(message, "x", "expected:", "got:", *parts)


def test_check_dtype_bad_arguments():
    for bad in [None, "no-such-type", True, 3.5]:
        with pytest.raises(TypeError, match="expected_dtype"):
            check_dtype(torch.zeros(2), bad, "x")


# ----------------------------------------------------------------------------- check_close

def test_check_close_passes_on_every_kind_of_value():
    check_close(1.00001, 1.0, "x")
    check_close(torch.tensor(2.0), 2.0, "x")
    check_close(torch.tensor([1.0, 2.0], requires_grad=True) * 1, [1.0, 2.0], "x")
    check_close(np.array([[1.0, 2.0]]), torch.tensor([[1.0, 2.0]]), "x")
    check_close([1, 2, 3], np.array([1.0, 2.0, 3.0]), "x")
    check_close([torch.tensor(1.0), torch.tensor(2.0)], [1.0, 2.0], "x")
    check_close(torch.tensor([float("nan")]), [float("nan")], "x")
    check_close(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([1.0, 2.0]), "x")
    check_close(torch.tensor([1.0], dtype=torch.bfloat16), [1.0], "x")
    check_close(1.05, 1.0, "x", atol=0.1)
    check_close(110.0, 100.0, "x", rtol=0.2)
    check_close(torch.zeros(0), [], "x")


def test_check_close_reports_largest_difference_and_where():
    got = torch.tensor([[1.0, 2.0], [3.0, 4.5]])
    message = failure(check_close, got, [[1.0, 2.0], [3.0, 4.0]], "weights")
    assert_message(message, "weights", "expected:", "got:", hint=False)
    assert "1 of 4 values differ" in message
    assert re.search(r"largest difference is 0\.5 at index \[1, 1\]: got 4\.5, expected 4\.0", message), message


def test_check_close_scalar_message():
    message = failure(check_close, torch.tensor(0.75), 0.5, "loss")
    assert "expected: 0.5" in message and "got:      0.75" in message and "difference: 0.25" in message


@pytest.mark.parametrize("value, expected, hint", [
    (torch.tensor([2.0, 4.0, 6.0]), [1.0, 2.0, 3.0], "2 times"),
    (torch.tensor([0.5, 1.0, 1.5]), [1.0, 2.0, 3.0], "1/2"),
    (torch.tensor([-1.0, -2.0]), [1.0, 2.0], "sign"),
    (torch.tensor([[1.0, 3.0], [2.0, 4.0]]), [[1.0, 2.0], [3.0, 4.0]], "transpose"),
    (torch.tensor([3.0, 1.0, 2.0]), [1.0, 2.0, 3.0], "wrong places"),
    (torch.tensor([2.0, 3.0, 4.0]), [1.0, 2.0, 3.0], "same amount"),
    (torch.tensor(float("nan")), 1.0, "NaN"),
    (torch.tensor([1.0]), 1.0, ".item()"),
    (torch.tensor([1.0, 2.0]), 1.5, "reduce"),
    (torch.zeros(3, 2), [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], "swap"),
    (None, 1.0, "return"),
    (student_fn, 1.0, "call"),
    (NotImplemented, 1.0, "placeholder"),
    ("1.0", 1.0, "return a tensor"),
])
def test_check_close_fails_with_hint(value, expected, hint):
    message = failure(check_close, value, expected, "out")
    assert_message(message, "out", "expected:", "got:", hint)


def test_check_close_device_and_grad(monkeypatch):
    # a tensor that requires grad is detached, not refused
    w = torch.ones(3, requires_grad=True)
    check_close(w * 2, [2.0, 2.0, 2.0], "w")
    assert "got:      [3.0, 3.0, 3.0]" in failure(check_close, w * 3, [2.0, 2.0, 2.0], "w")
    if torch.cuda.is_available():  # pragma: no cover - only on a GPU machine
        check_close(torch.ones(2, device="cuda"), torch.ones(2), "x")


def test_check_close_bad_arguments():
    with pytest.raises(ValueError, match="atol"):
        check_close(1.0, 1.0, "x", atol=-1)
    with pytest.raises(ValueError, match="rtol"):
        check_close(1.0, 1.0, "x", rtol="0.1")
    with pytest.raises(TypeError, match="expected"):
        check_close(1.0, None, "x")
    with pytest.raises(TypeError, match="expected"):
        check_close(1.0, "one", "x")


# ----------------------------------------------------------------------------- check_equal

def test_check_equal_passes():
    check_equal(3, 3, "n")
    check_equal("relu", "relu", "s")
    check_equal((2, 3), (2, 3), "t")
    check_equal(torch.Size([2, 3]), (2, 3), "shape")
    check_equal(torch.tensor(3), 3, "n")
    check_equal(np.int64(3), 3, "n")
    check_equal(torch.tensor([1, 2, 3]), torch.tensor([1, 2, 3]), "t")
    check_equal([1, 2, 3], np.array([1, 2, 3]), "t")
    check_equal(torch.tensor([1, 2, 3]), [1, 2, 3], "t")
    check_equal(torch.tensor([3]), 3, "n")
    check_equal(True, True, "b")
    check_equal({"a": 1}, {"a": 1}, "d")


@pytest.mark.parametrize("value, expected, parts", [
    (4, 3, ["expected: 3", "got:      4"]),
    ([2, 3], (2, 3), ["list", "tuple"]),
    ("ReLU", "relu", ["upper/lower case"]),
    ("relu\n", "relu", ["spaces"]),
    (1, True, ["bool"]),
    (torch.tensor([3, 3]), 3, ["single number", "reduce"]),
    (torch.tensor([3, 4]), [3, 5], ["1 of 2 values differ", "got 4"]),
    (3.0000001, 3, ["int("]),
    (torch.tensor(3.5), 3, ["expected: 3", "3.5"]),
    (None, 3, ["return"]),
    (torch.tensor([1, 2, 3]), torch.tensor([1, 5, 3]), ["1 of 3 values differ", "index [1]", "got 2", "expected 5"]),
    (torch.tensor([1, 2]), torch.tensor([1, 2, 3]), ["wrong shape", "(3,)", "(2,)"]),
    (np.array([1, 2]), torch.tensor([[1, 2]]), ["wrong shape", "unsqueeze"]),
])
def test_check_equal_fails(value, expected, parts):
    message = failure(check_equal, value, expected, "answer")
    assert_message(message, "answer", "expected:", "got:", *parts, hint=False)


def test_check_equal_never_leaks_library_errors():
    class Weird:
        def __eq__(self, other):
            raise RuntimeError("boom")
    message = failure(check_equal, Weird(), 3, "w")
    assert "boom" not in message


# ----------------------------------------------------------------------------- check_true

def test_check_true():
    check_true(True, "never shown")
    check_true(np.bool_(True), "never shown")
    check_true(torch.tensor(True), "never shown")
    check_true((torch.ones(3) > 0).all(), "never shown")
    with pytest.raises(AssertionError) as info:
        check_true(False, "probabilities must sum to 1")
    assert str(info.value) == "probabilities must sum to 1"
    with pytest.raises(AssertionError):
        check_true(torch.tensor(False), "x")
    with pytest.raises(TypeError, match="all"):
        check_true(torch.tensor([True, False]), "x")
    with pytest.raises(TypeError, match="message"):
        check_true(True, None)
    with pytest.raises(TypeError, match="condition"):
        check_true("yes", "x")


# ----------------------------------------------------------------------------- check_param_count

def test_check_param_count_passes():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    check_param_count(model, 4 * 3 + 3 + 3 * 2 + 2)
    check_param_count(Net(), 23)
    frozen = Net()
    frozen.hidden.weight.requires_grad_(False)
    check_param_count(frozen, 23 - 12)


def test_check_param_count_message_gives_both_counts_and_breakdown():
    message = failure(check_param_count, Net(), 30)
    assert_message(message, "model", "expected: 30", "got:      23", "per layer",
                   "hidden: Linear(4→3) -> 15", "out: Linear(3→2) -> 8")


def test_check_param_count_hints():
    no_bias = nn.Sequential(nn.Linear(4, 3, bias=False))
    assert "bias=False" in failure(check_param_count, no_bias, 15)
    frozen = Net()
    frozen.out.requires_grad_(False)
    message = failure(check_param_count, frozen, 23)
    assert "frozen" in message and "requires_grad=False" in message

    class Empty(nn.Module):
        def forward(self, x):
            return nn.Linear(4, 3)(x)
    assert "__init__" in failure(check_param_count, Empty(), 15)


@pytest.mark.parametrize("value, hint", [(None, "return"), (Net, "instance"), (student_fn, "call"),
                                         (torch.zeros(3), "nn.Sequential")])
def test_check_param_count_refuses_non_models(value, hint):
    message = failure(check_param_count, value, 3)
    assert_message(message, "model", "nn.Module", hint)


def test_check_param_count_bad_arguments():
    for bad in [-1, 2.5, "10", True, None]:
        with pytest.raises(TypeError, match="expected"):
            check_param_count(Net(), bad)


def test_check_param_count_lazy_layer():
    model = nn.Sequential(nn.LazyLinear(3))
    message = failure(check_param_count, model, 3)
    assert "forward pass" in message


# ----------------------------------------------------------------------------- check_layers

def test_check_layers_passes():
    check_layers(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)), [nn.Linear, nn.ReLU, nn.Linear])
    check_layers(nn.Linear(2, 3), [nn.Linear])
    nested = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.Tanh()), nn.Linear(3, 1))
    check_layers(nested, (nn.Linear, nn.Tanh, nn.Linear))


def test_check_layers_prints_both_sequences():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    message = failure(check_layers, model, [nn.Linear, nn.ReLU, nn.Linear])
    assert_message(message, "model", "expected: [Linear, ReLU, Linear]", "got:      [Linear, Sigmoid, Linear]",
                   "position 1")


def test_check_layers_hints():
    message = failure(check_layers, Net(), [nn.Linear, nn.ReLU, nn.Linear])
    assert "F.relu" in message and "nn.ReLU()" in message
    swapped = nn.Sequential(nn.ReLU(), nn.Linear(2, 3), nn.Linear(3, 1))
    assert "different order" in failure(check_layers, swapped, [nn.Linear, nn.ReLU, nn.Linear])
    longer = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    message = failure(check_layers, longer, [nn.Linear, nn.ReLU, nn.Linear])
    assert "unexpected from position 3" in message and "expected 3 layers, found 5" in message
    assert "None" in failure(check_layers, None, [nn.Linear])


def test_check_layers_bad_arguments():
    for bad in [nn.Linear, [nn.Linear(2, 3)], ["Linear"], [int], None]:
        with pytest.raises(TypeError, match="expected_types"):
            check_layers(Net(), bad)


# ----------------------------------------------------------------------------- check_requires_grad

def test_check_requires_grad():
    check_requires_grad(torch.zeros(2, requires_grad=True), True, "w")
    check_requires_grad(nn.Linear(2, 2).weight, True, "w")
    check_requires_grad(torch.zeros(2), False, "x")
    message = failure(check_requires_grad, torch.zeros(2), True, "w")
    assert_message(message, "w", "requires_grad=True", "requires_grad=False", ".requires_grad_()")
    message = failure(check_requires_grad, torch.zeros(2, requires_grad=True) * 2, False, "y")
    assert_message(message, "y", ".detach()")
    assert "float" in failure(check_requires_grad, torch.zeros(2, dtype=torch.long), True, "w")
    assert ".item()" in failure(check_requires_grad, 0.5, True, "w")
    assert "return" in failure(check_requires_grad, None, True, "w")
    with pytest.raises(TypeError, match="expected"):
        check_requires_grad(torch.zeros(2), "yes", "w")


# ----------------------------------------------------------------------------- check_decreasing

def test_check_decreasing_passes():
    check_decreasing([3.0, 2.0, 2.5, 1.0], "losses")
    check_decreasing(torch.tensor([3.0, 2.0]), "losses")
    check_decreasing(np.array([3, 2, 1]), "losses", strictly=True)
    check_decreasing([torch.tensor(2.0, requires_grad=True), torch.tensor(1.0)], "losses")


@pytest.mark.parametrize("values, kwargs, parts", [
    ([1.0, 2.0, 3.0], {}, ["does not decrease", "first 1.0, last 3.0", "zero_grad"]),
    ([2.0, 2.0, 2.0], {}, ["never change", "optimizer.step()"]),
    ([3.0, 1.0, 2.0, 0.5], {"strictly": True}, ["every step", "position 2"]),
    ([3.0, float("nan")], {}, ["nan", "learning rate"]),
    ([1.0], {}, ["at least 2 values"]),
    (0.5, {}, ["append"]),
    (None, {}, ["return"]),
    ([[1.0, 0.5]], {}, ["1-d"]),
])
def test_check_decreasing_fails(values, kwargs, parts):
    message = failure(check_decreasing, values, "losses", **kwargs)
    assert_message(message, "losses", "expected:", "got:", *parts)


def test_messages_are_short():
    messages = [failure(check_close, torch.arange(10000.0), torch.arange(10000.0) + 1, "big"),
                failure(check_equal, list(range(1000)), list(range(1, 1001)), "long"),
                failure(check_param_count, nn.Sequential(*[nn.Linear(2, 2) for _ in range(40)]), 1)]
    for message in messages:
        assert len(message) < 1000, message
        assert all(len(line) < 200 for line in message.splitlines()), message


def test_check_layers_counts_a_shared_activation_at_each_place():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(1, 4), relu, nn.Linear(4, 4), relu, nn.Linear(4, 1))
    check_layers(model, [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear])
    with pytest.raises(AssertionError):
        check_layers(model, [nn.Linear, nn.ReLU, nn.Linear, nn.Linear])


# ----------------------------------------------------------------------------- calling student code

import linecache  # noqa: E402

from utils.checks import call, check_raises, defined, passed, student_code  # noqa: E402


def student(source: str, name: str):
    """Define a function as a notebook cell would (its own file name, its source in linecache)."""
    filename = f"/tmp/ipykernel_0/{abs(hash(source))}.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"torch": torch, "nn": nn, "np": np}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


def call_failure(fn, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        call(fn, *args, **kwargs)
    assert info.value.__cause__ is None and (info.value.__context__ is None or info.value.__suppress_context__)
    return str(info.value)


def test_call_returns_the_result():
    f = student("def f(x):\n    return x * 2\n", "f")
    assert call(f, 3, what="f(3)") == 6
    assert call(f, x=4) == 8


def test_call_placeholder_says_not_written_yet():
    f = student("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n", "f")
    message = call_failure(f, 1, what="f(1)", exercise=3)
    assert_message(message, "f(1)", "exercise 3 is not written yet", "expected:", "got:", "YOUR CODE HERE")


@pytest.mark.parametrize("source, args, parts", [
    ("def f(X, W):\n    return X @ W\n", (torch.ones(4, 3), torch.ones(2, 3)),
     ["4×3 by a 2×3", "X @ W.T", "line 2 in f: return X @ W", "mat1 and mat2"]),
    ("def f(X, W):\n    return X.double() @ W.T\n", (torch.ones(4, 3), torch.ones(2, 3)),
     ["float64", "NumPy", ".float()"]),
    ("def f(out, y):\n    return nn.CrossEntropyLoss()(y, out)\n", (torch.randn(4, 3), torch.tensor([0, 1, 2, 0])),
     ["swapped", "loss_fn(output, target)", "Long"]),
    ("def f(w):\n    w -= 0.1\n", (torch.ones(2, requires_grad=True),), ["torch.no_grad()", "in place"]),
    ("def f(t):\n    return t.numpy()\n", (torch.ones(2, requires_grad=True),), [".detach().cpu().numpy()"]),
    ("def f(w):\n    loss = torch.tensor((w * 2).sum().item())\n    loss.backward()\n",
     (torch.ones(2, requires_grad=True),), ["graph was cut", ".item()"]),
    ("def f(w):\n    loss = (w * 2).sum().item()\n    loss.backward()\n", (torch.ones(2, requires_grad=True),),
     [".item()", "Python number"]),
    ("def f(p):\n    return p - 0.1 * p.grad\n", (torch.ones(2, requires_grad=True),), ["None", "backward()"]),
    ("def f(n):\n    return nn.Sequential(nn.Linear(1, n), nn.Sigmoid, nn.Linear(n, 1))\n", (3,),
     ["class Sigmoid itself", "Sigmoid()"]),
    ("def f(n):\n    return nn.Sequential(nn.Linear(1, n), torch.relu, nn.Linear(n, 1))\n", (3,),
     ["function relu", "nn.ReLU()"]),
    ("def f(a, b):\n    return nn.MSELoss(a, b)\n", (torch.randn(3), torch.randn(3)), ["loss_fn = nn.MSELoss()"]),
    ("def f(images):\n    return images.reshape(-1, 784)\n", (torch.ones(2, 3, 3),), ["-1", "fixed numbers"]),
    ("def f(out, y):\n    return nn.BCEWithLogitsLoss()(out, y)\n", (torch.randn(4, 1), torch.ones(4)),
     ["shape [4]", "[4, 1]"]),
    ("def f(d):\n    return (d @ d) / d.numel()\n", (torch.ones(3, 4),),
     ["3×4 by a 3×4", "same shape", "element by element use *", "a @ b.T"]),
    ("def f(labels):\n    raise RuntimeError('Expected all tensors to be on the same device, but found at least two "
     "devices, cuda:0 and cpu!')\n", (torch.ones(2),), ["different devices", "no model is involved", "device=x.device"]),
    ("def f(model, x):\n    raise RuntimeError('Expected all tensors to be on the same device, but found at least two "
     "devices, cuda:0 and cpu!')\n", (nn.Linear(1, 1), torch.ones(2)), ["different devices", "the model's device"]),
])
def test_call_explains_known_errors(source, args, parts):
    f = student(source, "f")
    message = call_failure(f, *args, what="f(...)")
    assert_message(message, "f(...)", "your code raised an error", "expected:", "got:", *parts)
    assert "site-packages" not in message and "torch/nn" not in message


def test_call_names_the_layer_of_a_shape_mismatch():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(5, 2))
    message = call_failure(model, torch.randn(6, 3), what="model(X)")
    assert "layer '2' Linear(5→2) expects 5 features per sample but receives 4" in message
    images = nn.Sequential(nn.Linear(784, 10))
    assert "flatten" in call_failure(images, torch.randn(2, 1, 28, 28), what="model(images)")


def test_call_class_instead_of_instance():
    message = call_failure(nn.Linear, torch.ones(3, 2), what="model3(X)")
    assert_message(message, "model3(X)", "class, not a model", "instance")
    assert "not a function" in call_failure(None, what="f()")


def test_call_lets_failed_checks_through_and_translates_student_asserts():
    def inner():
        check_close(1.0, 2.0, "inner value")
    with pytest.raises(AssertionError, match="inner value"):
        call(inner)
    f = student("def f():\n    assert 1 == 2\n", "f")
    assert "an assert in your code failed" in call_failure(f)


def test_call_without_autograd():
    formula = student("def g(w, x):\n    return 2 * (x * (w * x)).mean()\n", "g")
    assert float(call(formula, 1.0, torch.ones(3), autograd=False)) == 2.0
    cheat = student("def g(w, x):\n    w = torch.tensor(w, requires_grad=True)\n"
                    "    with torch.enable_grad():\n        ((w * x) ** 2).mean().backward()\n    return w.grad\n", "g")
    message = call_failure(cheat, 1.0, torch.ones(3), autograd=False, what="g(...)")
    assert_message(message, "g(...)", "used autograd", "backward()")
    grad = student("def g(w, x):\n    w = torch.tensor(w, requires_grad=True)\n    with torch.enable_grad():\n"
                   "        return torch.autograd.grad((w * x).pow(2).mean(), w)[0]\n", "g")
    assert "grad()" in call_failure(grad, 1.0, torch.ones(3), autograd=False)


def test_call_bad_arguments():
    with pytest.raises(TypeError, match="what"):
        call(len, [1], what=3)
    with pytest.raises(TypeError, match="exercise"):
        call(len, [1], exercise=True)


def test_student_code_block():
    model = nn.Sequential(nn.Linear(2, 3))
    with student_code("model(X)", exercise=2, objects=(model,)):
        model(torch.ones(1, 2))
    with pytest.raises(AssertionError) as info:
        with student_code("model(X)", exercise=2, objects=(model,)):
            model(torch.ones(1, 5))
    assert "layer '0' Linear(2→3)" in str(info.value)
    with pytest.raises(AssertionError, match="^x: "):
        with student_code("model(X)"):
            check_equal(1, 2, "x")


def test_check_raises():
    def strict(task):
        if task != "ok":
            raise ValueError("unknown task")
        return 1
    check_raises(ValueError, strict, "nope")
    assert "did not raise" in failure(check_raises, ValueError, strict, "ok", what="f('ok')")
    assert "wrong kind of error" in failure(check_raises, KeyError, strict, "nope")
    stub = student("def f(x):\n    raise NotImplementedError()\n", "f")
    assert "not written yet" in failure(check_raises, ValueError, stub, 1, exercise=6)
    with pytest.raises(TypeError, match="expected_error"):
        check_raises("ValueError", strict, "x")


some_global = 42


def test_defined_and_passed(capsys):
    assert defined("some_global") == 42
    message = failure(defined, "no_such_name_here", exercise=6)
    assert_message(message, "no_such_name_here", "is not defined", "exercise 6")
    passed(3)
    passed(3, "stability")
    assert capsys.readouterr().out == ("✓ exercise 3: all visible tests passed.\n"
                                       "✓ exercise 3 (stability): all visible tests passed.\n")


# ----------------------------------------------------------------------------- evidence for hints

def test_causes_replace_the_hint_only_when_the_answer_equals_them():
    x = torch.tensor([1.0, 2.0, 3.0])
    causes = [(x * 2, "a sum where a mean belongs"), (x.unsqueeze(1), "a column")]
    assert "a sum where a mean belongs" in failure(check_close, x * 2, x, "y", causes=causes)
    assert "a column" in failure(check_close, x.unsqueeze(1), x, "y", causes=causes)
    message = failure(check_close, x * 5, x, "y", causes=causes, hint="general hint")
    assert "general hint" in message and "a sum where" not in message
    assert "swapped" in failure(check_equal, [2, 1], [1, 2], "pair", causes=[([2, 1], "swapped")])
    assert "swapped" in failure(check_equal, torch.tensor([2, 1]), torch.tensor([1, 2]), "t",
                                causes=[(torch.tensor([2, 1]), "swapped")])
    with pytest.raises(TypeError, match="causes"):
        check_close(1.0, 1.0, "x", causes=[1.0])


def test_ratio_hint_needs_several_values_sharing_it():
    assert "times the expected" not in failure(check_close, torch.tensor(0.005253), 1.0, "p")
    assert "times the expected" not in failure(check_close, torch.tensor([2.0, 2.0]), [1.0, 1.0], "p")
    message = failure(check_close, torch.tensor([2.0, 4.0]), [1.0, 2.0], "p")
    assert "2 times the expected" in message and "probably" in message


def test_long_tensors_show_where_they_differ():
    expected = torch.arange(40.0)
    got = expected.clone()
    got[10] += 1
    got[30] -= 2
    message = failure(check_close, got, expected, "big")
    assert "expected: 10.0 at [10], 30.0 at [30]" in message
    assert "got:      11.0 at [10], 28.0 at [30]" in message
    message = failure(check_equal, torch.arange(20).reshape(4, 5) * 0, torch.arange(20).reshape(4, 5), "grid")
    lines = message.splitlines()
    assert lines[1] != lines[2].replace("got:     ", "expected:") and "at [0, 1]" in message


def test_check_true_with_expected_and_got():
    with pytest.raises(AssertionError) as info:
        check_true(False, "the model was in training mode", expected="model.eval()", got="training=True",
                   hint="call model.eval()")
    assert str(info.value) == ("the model was in training mode\n  expected: model.eval()\n  got:      training=True\n"
                               "  hint: call model.eval()")
    with pytest.raises(TypeError, match="expected"):
        check_true(False, "x", expected=3)


def test_check_layers_skips_identity():
    check_layers(nn.Sequential(nn.Linear(2, 1), nn.Identity()), [nn.Linear])
    check_layers(nn.Identity(), [nn.Identity])


def test_call_forbids_named_library_functions():
    own = student("def f(a, b):\n    return ((a - b) ** 2).mean()\n", "f")
    call(own, torch.ones(2), torch.zeros(2), forbid=("mse_loss",))
    library = student("def f(a, b):\n    return nn.MSELoss()(a, b)\n", "f")
    message = call_failure(library, torch.ones(2), torch.zeros(2), what="mse(a, b)", forbid=("mse_loss",))
    assert_message(message, "mse(a, b)", "uses mse_loss", "not to use", "expected:", "got:")
    with pytest.raises(TypeError, match="forbid"):
        call(own, 1, 2, forbid="mse_loss")


def test_torch_not_implemented_is_not_the_placeholder():
    f = student("def f(labels):\n    return torch.softmax(labels, dim=0)\n", "f")
    message = call_failure(f, torch.tensor([1, 2]), what="f(labels)", exercise=2)
    assert "not written yet" not in message and "integer tensor" in message


def test_call_restores_grad_mode_after_an_error():
    f = student("def f(w):\n    torch.set_grad_enabled(False)\n    (w * 2).sum().backward()\n", "f")
    message = call_failure(f, torch.ones(2, requires_grad=True))
    assert torch.is_grad_enabled()
    assert "switched off" in message and "torch.no_grad()" in message


def test_several_matching_causes_are_all_named():
    message = failure(check_equal, 2, 3, "n", causes=[(2, "rounded down"), (2, "used round()")])
    assert "probably one of these: rounded down Or: used round()" in message


def test_python_list_index_error_is_explained():
    f = student("def f(hidden):\n    return hidden[0]\n", "f")
    assert "past the end of a list" in call_failure(f, [])


def test_a_value_with_a_huge_repr_is_described_in_bounded_time():
    """A list nested 40 levels deep whose items are shared has a full repr of 2**40 parts: the messages of
    check_type and check_equal show a bounded part of it (a submission returning one must fail its check,
    not hang its test cell), and a small value is shown whole, as before."""
    import time
    x = 0
    for _ in range(40):
        x = [x, x]
    start = time.process_time()
    for check in (lambda: check_type(x, torch.Tensor, "f(X)"), lambda: check_equal(x, [1], "f(X)")):
        with pytest.raises(AssertionError, match=r"\[\[\[\[") as err:
            check()
        assert len(str(err.value)) < 1000
    assert time.process_time() - start < 5      # (the full repr would not end)
    with pytest.raises(AssertionError, match=re.escape("[1, [2, 3], {'a': (4, 5)}]")):
        check_equal([1, [2, 3], {"a": (4, 5)}], [1], "f(X)")

