"""An error of student code that ran in the student's kernel is explained in the judge as in-process:
what explain's rules read of torch.nn's frames (the layer, its tensor arguments' shapes and dtypes)
crosses with the error as data (coursekit/judge/errors.py), and nothing else of the frames does."""
from __future__ import annotations


import pytest
import torch
from torch import nn

from coursekit.judge.decode import Decoder
from coursekit.judge.errors import rebuild_error
from coursekit.judge.wire import ProtocolError
from utils.checks import call

STUDENT = '''
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(x)


net = Net()


def apply(model, x):
    return model(x)


def make(x):
    return nn.Linear(x, 3)
'''


@pytest.fixture
def student_names(peer_pair):
    ns: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), ns)
    judge, _ = peer_pair(ns)

    def judged(name):
        return Decoder(judge.proxy, judge.own, session=judge.session)(judge.request("lookup", name=name)["value"])

    def in_process(name):
        return ns[name]
    return {"in-process": in_process, "judged": judged}, judge


def _message(cell, S) -> str:
    with pytest.raises(AssertionError) as info:
        cell(S)
    return str(info.value)


def a_layer_the_test_made(S):
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
    call(S("apply"), model, torch.ones(4, 5), what="apply(model, x)")


def a_layer_of_the_students_class(S):
    net = S("net")
    call(net, torch.ones(4, 2, 5), what="net(x)")


def a_layer_class_called_with_data(S):
    call(S("make"), torch.ones(2, 3), what="make(x)")


@pytest.mark.parametrize("cell, words", [
    (a_layer_the_test_made, "layer '0' Linear(3→2) expects 3 features per sample but receives 5"),
    (a_layer_of_the_students_class, "layer 'lin' Linear(3→2) expects 3 features per sample but receives 5 "
                                    "(an input of shape (4, 2, 5))"),
    (a_layer_class_called_with_data, "the class nn.Linear was called with data"),
], ids=["test's layer", "student's class", "class called with data"])
def test_an_error_in_the_students_kernel_is_explained_as_in_process(cell, words, student_names):
    names, _ = student_names
    expected = _message(cell, names["in-process"])
    assert words in expected
    assert _message(cell, names["judged"]) == expected


def test_malformed_locals_in_an_error_are_refused_with_the_reason(student_names):
    _, judge = student_names
    info = {"type": "RuntimeError", "module": "builtins", "message": "m", "stub": False,
            "frames": [["/x/torch/nn/modules/linear.py", 1, "forward", "", True]]}
    for local, words in ([[5, ["N"]]], "locals are"), ([[0, ["S", "code"]]], "layer and meta tensors"), \
            ([[0, ["D", [[["S", "input"], ["S", "x"]]], 0]]], "layer and meta tensors"):
        with pytest.raises(ProtocolError, match=words):
            rebuild_error({**info, "locals": local}, judge)
    meta = ["TEN", "float32", [2, 5], b"", False, "meta", ["N"], "", [5, 1], -1, 1]
    ok = rebuild_error({**info, "locals": [[0, ["D", [[["S", "input"], meta]], 0]]]}, judge)
    assert ok.__coursekit_frames__[0].f_locals["input"].shape == (2, 5)
