r"""The table that explains errors from their message alone: content authors extend it.

When a student's code raises an error that ``call`` (or ``with student_code(...)``) catches, the
message the student reads says what went wrong and its likely cause. Errors whose meaning depends on
where they happened (which loss, which layer, which dtypes) are explained in code
(``utils/checks/explain.py``); every other known error is a row of ``MESSAGE_RULES`` below.

Each row is ``(pattern, problem, hint)``:

- ``pattern``: a regular expression searched (case-insensitively) in the error's message, e.g.
  ``r"index (-?\d+) is out of bounds for dimension \d+ with size (\d+)"``;
- ``problem``: what went wrong, in words; ``{0}``, ``{1}``, ... are the pattern's groups. The student
  reads "your code raised an error: <problem>.";
- ``hint``: the likely cause and what to do, one or two sentences, read as "hint: <hint>".

The first row whose pattern matches wins, so put a specific pattern before a general one. To add a
row: reproduce the error, copy a stable part of its message (not sizes or addresses: match those
with groups), add the row, and add the case to ``tests/unit/test_checks.py``
(``test_call_explains_known_errors``: a student function that raises it, and the words the message
must contain).
"""

#: (pattern, problem, hint) rows; see the module's docstring.
MESSAGE_RULES = [
    (r"1D tensors expected", "torch.dot received a tensor that is not a vector",
     "torch.dot multiplies two vectors; for a matrix times a vector use X @ w (or torch.mv)."),
    (r"stack expects each tensor to be equal size, but got \[([\d, ]*)\] at entry \d+ and \[([\d, ]*)\] at entry \d+",
     "torch.stack received tensors of different shapes ([{0}] and [{1}])",
     "every piece must have the same shape: probably a reduction over the wrong dim, which leaves one value per row "
     "instead of one per column."),
    (r"expected target dtype to be long|expected scalar type long",
     "the loss expects class indices (int64) as its target but received floats",
     "pass the model's output first and the labels second, and keep the labels int64 (.long())."),
    (r"could not infer output dtype", "mean() of an integer tensor", "convert it first: .float().mean()."),
    (r"one_hot is only applicable to index tensor", "F.one_hot received a non-integer tensor",
     "one_hot takes int64 labels: use .long()."),
    (r"leaf variable that requires grad is being used in an in-place operation",
     "a tensor that requires grad (a parameter) was changed in place while autograd was recording",
     "do the update inside `with torch.no_grad():` (for example `p -= lr * p.grad`)."),
    (r"can't call numpy\(\) on tensor that requires grad", ".numpy() on a tensor that requires grad",
     "use t.detach().cpu().numpy(): detach() leaves the graph, cpu() brings it off a GPU."),
    (r"can't convert (\w+)(?::\d+)? device type tensor to numpy", ".numpy() on a tensor on the {0} device",
     "use t.detach().cpu().numpy(): only CPU tensors can become NumPy arrays."),
    (r"cannot assign (?:module|parameters) before module\.__init__\(\) call",
     "a layer was stored before nn.Module was set up", "call super().__init__() as the first line of __init__."),
    (r"cannot assign '[\w.]+' as parameter '(\w+)'", "a plain tensor was assigned to the parameter '{0}'",
     "wrap it in nn.Parameter(...), or copy the values into the existing parameter with .copy_(...) inside "
     "torch.no_grad()."),
    (r"does not require grad and does not have a grad_fn",
     "backward() was called on a value that is not connected to anything that requires grad",
     "the graph was cut: .item(), .detach(), .numpy(), torch.tensor(value) or computing under torch.no_grad() all "
     "leave the graph; keep the loss a tensor computed from the parameters."),
    (r"grad can be implicitly created only for scalar outputs", "backward() was called on a tensor with several values",
     "reduce the loss to a single number first (for example with .mean())."),
    (r"'(?:float|int)' object has no attribute 'backward'", "backward() was called on a plain Python number",
     ".item() and float() turn the loss into a number without a graph: call backward() on the loss tensor and use "
     ".item() only to record the value."),
    (r"backward through the graph a second time", "backward() went through the same graph twice",
     "probably an output computed once (before the loop) is reused: compute the forward pass and the loss again "
     "inside the loop, for every step."),
    (r"modified by an inplace operation", "a value that autograd still needed was changed in place",
     "use the out-of-place form (x = x + 1, torch.relu(x)) instead of +=, relu_() or x[...] = ...."),
    (r"a tensor with \d+ elements cannot be converted to scalar|only one element tensors can be converted",
     ".item() (or float()) on a tensor with several values",
     ".item() works on one-element tensors only: reduce first (.sum(), .mean())."),
    (r"meta tensor|meta device|meta\b.*\bdevice|device\b.*\bmeta\b",
     "tensors on the 'meta' device (which holds shapes but no values) met tensors on another device",
     "create new tensors and layers on the device of the ones you were given (device=layer.weight.device, or "
     ".to(x.device))."),
    (r"expected all tensors to be on the same device|is not on the expected device", "tensors on different devices met",
     "move the data to the model's device with .to(device) (both the inputs and the targets)."),
    (r"view size is not compatible with input tensor's size and stride",
     ".view() on a tensor whose memory layout does not allow it", "use .reshape(...) instead."),
    (r"shape '\[([-\d, ]+)\]' is invalid for input of size (\d+)",
     "reshape/view to [{0}] for a tensor of {1} elements",
     "the sizes must multiply to the number of elements: use -1 for one size and take the others from the tensor "
     "(e.g. images.shape[0]), not fixed numbers."),
    (r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton dimension (\d+)",
     "two tensors do not broadcast: sizes {0} and {1} in dimension {2}",
     "print both shapes: probably a reduction without keepdim=True, a missing .T or a missing .unsqueeze()."),
    (r"Target size \(torch\.Size\((\[[\d, ]*\])\)\) must be the same as input size \(torch\.Size\((\[[\d, ]*\])\)\)",
     "the targets have shape {0} but the outputs {1}",
     "the loss compares element by element: give the targets the output's shape (e.g. y.reshape(-1, 1) or "
     "y.unsqueeze(1))."),
    (r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)",
     "the output has {0} rows but there are {1} targets",
     "keep the batch dimension: reshape each batch to (N, features), e.g. x.reshape(len(x), -1)."),
    (r"0D or 1D target tensor expected|multi-target not supported",
     "CrossEntropyLoss received targets with an extra dimension",
     "class labels must have shape (N,): use y.reshape(-1) (or pass the arguments in the order output, target)."),
    (r"index (-?\d+) is out of bounds for dimension \d+ with size (\d+)", "index {0} used on a dimension of size {1}",
     "an index is too large: check which dimension you index and the size you created (num_classes? the number of "
     "rows?)."),
    (r"list index out of range", "an index past the end of a list",
     "probably an empty list (e.g. no hidden layers) or an off-by-one in a loop over indices."),
    (r"argument '(\w+)' \(position \d+\) must be ([\w ,]+), not (\w+)",
     "argument '{0}' of a torch function must be {1}, not {2}", "convert it: int(...) or round(...) for sizes and counts."),
]
