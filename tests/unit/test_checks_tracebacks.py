"""A failed check shows the student their own line and the message, not the checks' code.

Cells run in a real IPython kernel (nbclient, as nbgrader runs notebooks), and the error output stored
in the notebook, which is also what Validate prints, is read back: it must name the test cell's line
and carry the whole message, and show no line of utils/checks."""
import re

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

ANSI = re.compile(r"\x1b\[[0-9;]*m")

STUDENT = '''
import torch
from torch import nn

def forward(X, W):
    return X @ W                      # the student's mistake: W is (out, in)

def stub(x):
    # YOUR CODE HERE
    raise NotImplementedError()
'''

# test cells: (source, the line the traceback must point at, words of the message)
TESTS = [
    ('from utils.checks import check_shape\n'
     'y_hat = torch.zeros(10, 64)\n'
     'check_shape(y_hat, (64, 10), "y_hat")\n',
     'check_shape(y_hat, (64, 10), "y_hat")', ["y_hat: wrong shape.", "expected: (64, 10)", "swap the dimensions"]),
    ('from utils.checks import check_close\n'
     'check_close(torch.tensor([2.0, 4.0]), [1.0, 2.0], "mse(y_hat, y)")\n',
     'check_close(torch.tensor([2.0, 4.0]), [1.0, 2.0], "mse(y_hat, y)")', ["values are not close", "2 times"]),
    ('from utils.checks import call\n'
     'out = call(forward, torch.ones(4, 3), torch.ones(2, 3), what="forward(X, W)", exercise=1)\n',
     'what="forward(X, W)", exercise=1)', ["your code raised an error", "line 5 in forward: return X @ W", "X @ W.T"]),
    ('from utils.checks import call\n'
     'call(stub, 1, what="stub(1)", exercise=2)\n',
     'call(stub, 1, what="stub(1)", exercise=2)', ["exercise 2 is not written yet"]),
    ('from utils.checks import check_equal, student_code\n'
     'with student_code("forward(X, W)", exercise=1):\n'
     '    check_equal(forward(torch.ones(2, 2), torch.eye(2)).shape, (2, 3), "forward(X, W).shape")\n',
     'check_equal(forward(torch.ones(2, 2), torch.eye(2)).shape, (2, 3)', ["not equal to the expected value"]),
    ('from utils.checks import check_layers\n'
     'check_layers(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)), [nn.Linear, nn.ReLU, nn.Linear])\n',
     'check_layers(nn.Sequential(', ["wrong layers", "ReLU is missing"]),
]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The stored error output (ename, evalue, traceback text) of each test cell, run after the student's."""
    nb = new_notebook(cells=[new_code_cell(STUDENT)] + [new_code_cell(source) for source, _, _ in TESTS])
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path_factory.mktemp("nb"))}})
    client.execute()
    assert not [o for o in nb.cells[0].outputs if o.output_type == "error"]
    found = []
    for cell in nb.cells[1:]:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        assert len(errors) == 1, nbformat.writes(nb)[:2000]
        found.append((errors[0].ename, errors[0].evalue, ANSI.sub("", "\n".join(errors[0].traceback))))
    return found


@pytest.mark.parametrize("index", range(len(TESTS)))
def test_the_student_sees_the_test_line_and_the_message_not_the_checks_code(outputs, index):
    _, line, words = TESTS[index]
    ename, evalue, traceback = outputs[index]
    assert ename == "AssertionError"
    for word in words:
        assert word in evalue and word in traceback, (word, traceback)
    frames = re.findall(r"^(?:Cell In\[\d+\], line \d+|File \S+?[:,])", traceback, re.M)
    assert len(frames) == 1 and frames[0].startswith("Cell In["), traceback   # only the test cell's frame
    assert line in traceback.split(evalue.splitlines()[0])[0], traceback    # its line, before the message
    for internal in ("utils/checks", "site-packages", "raise failure", "at_caller", "__tracebackhide__"):
        assert internal not in traceback, (internal, traceback)
