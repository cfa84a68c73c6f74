"""A student's modules under the judge behave as in one shared kernel: what a test cell changes in them
(a parameter replaced, set to None or deleted, a buffer or submodule assigned, weights set in place, the
mode) is what the student's code sees next, a module passed back to the student's code is the student's
own object, and what the student's code replaces in a module the judge passed comes back. Each test cell
below runs twice, in-process (the student's namespace itself, as in JupyterLab, Validate and nbval) and
through the protocol (coursekit/judge), and must observe the same."""
from __future__ import annotations


import pytest
import torch
from torch import nn

from coursekit.judge.decode import Decoder
from coursekit.judge.namespace import JudgeNamespace
from coursekit.judge.state import _write_back, dirty
from coursekit.judge.wire import ProtocolError

STUDENT = '''
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
bn = nn.BatchNorm1d(2).eval()


class Own(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 1)

    def forward(self, x):
        return self.lin(x)


own = Own()
parts = {"first": model[0]}
stack = nn.Sequential(Own(), nn.ReLU())


def stack_kinds():
    return [type(m).__name__ for m in stack]


def predict(x):
    return model(x)


def predict_with(m, x):
    return m(x)


def names():
    return sorted(n for n, _ in model.named_parameters())


def kinds():
    return [type(m).__name__ for m in model]


def training():
    return [m.training for m in model.modules()]


def normalize(x):
    return bn(x)


def is_model(m, part):
    return m is model and part is model[0] and m[0].weight is model[0].weight


def step(m):
    with torch.no_grad():
        for p in m.parameters():
            p.sub_(0.25)


def bump_global():
    with torch.no_grad():
        model[0].weight.add_(1.0)


def sgd_global(lr):
    for p in model.parameters():           # (the manual SGD step of an old tutorial: .data, no version)
        p.data -= lr * torch.ones_like(p)


def fit_bn(x):
    bn.train()                             # (running statistics: buffers updated in place)
    bn(x)
    bn.eval()


def own_predict(x):
    return own(x)


def reset(layer):
    layer.weight = nn.Parameter(torch.zeros(2, 3))
    del layer.bias
    layer.register_buffer("scale", torch.full((1,), 3.0))
    layer.act = nn.Tanh()


def unset(layer):
    layer.bias = None
'''


def _plain(value):
    if isinstance(value, torch.Tensor):
        return [str(value.dtype), value.detach().tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _in_process():
    ns: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), ns)
    return ns.__getitem__


@pytest.fixture
def pair(peer_pair):
    """The judge's end and the student's kernel's namespace (served by its end on a thread)."""
    ns: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), ns)
    judge, _ = peer_pair(ns)
    return judge, ns


@pytest.fixture
def judged(pair):
    judge, _ = pair
    fetched: dict = {}

    def lookup(name):       # as JudgeNamespace.__missing__: once per cell, with the peer's session
        if name not in fetched:
            reply = judge.request("lookup", name=name)
            fetched[name] = Decoder(judge.proxy, judge.own, session=judge.session)(reply["value"])
        return fetched[name]
    return lookup


X = torch.tensor([[1.0, -2.0, 0.5]])


def replace_a_parameter(S):
    model = S("model")
    model[0].weight = nn.Parameter(torch.ones(2, 3))
    return S("predict")(X)


def set_a_bias_to_none(S):
    model = S("model")
    model[2].bias = None
    return S("predict")(X), S("names")()


def delete_a_bias(S):
    model = S("model")
    del model[2].bias
    return S("names")()


def assign_a_submodule(S):
    model = S("model")
    model[1] = nn.Tanh()
    model[2] = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model[2].weight.fill_(2.0)
    return S("kinds")(), S("predict")(X), S("names")()


def replace_a_buffer(S):
    bn = S("bn")
    bn.running_mean = torch.ones(2)
    with torch.no_grad():
        bn.running_var.fill_(4.0)
    return S("normalize")(torch.zeros(3, 2))


def set_weights_in_place(S):
    model = S("model")
    with torch.no_grad():
        model[0].weight.fill_(0.5)
        model[2].bias.zero_()
    return S("predict")(X)


def set_weights_through_data(S):
    model = S("model")                     # (.data: the parameter's version does not move)
    model[0].weight.data.fill_(0.5)
    model[2].bias.data.copy_(torch.tensor([0.25]))
    model[0].bias.data[1] = -1.0
    return S("predict")(X)


def set_the_students_own_class_through_data(S):
    own = S("own")
    own.lin.weight.data.mul_(2.0)
    return own(X), S("own_predict")(X)


def set_a_buffer_in_place(S):
    bn = S("bn")                           # (a buffer crosses as a plain tensor, with its module)
    with torch.no_grad():
        bn.running_mean.add_(1.0)
    return S("normalize")(torch.ones(3, 2))


def set_a_buffer_through_data(S):
    bn = S("bn")
    bn.running_var.data.fill_(9.0)
    return S("normalize")(torch.ones(3, 2))


def change_the_mode(S):
    S("model").eval()
    return S("training")()


def pass_the_students_own_model_back(S):
    model = S("model")
    same = S("is_model")(model, model[0])
    S("step")(model)                       # the student's own model, changed in place ...
    return same, S("predict")(X), model(X)      # ... as the judge's copy is


def student_code_changed_it_first(S):
    model = S("model")
    S("bump_global")()                     # the student's global, not passed: the judge's copy is older
    out = S("predict_with")(model, X)      # passed: the student's own model, as it is there ...
    return out, model[0].weight            # ... and the judge's copy takes its state


def student_code_changes_a_global(S):
    model = S("model")
    S("bump_global")()                     # not passed: its state comes back with the call all the same
    return model[0].weight, model(X)


def student_code_changes_a_global_through_data(S):
    model = S("model")
    S("sgd_global")(0.5)                   # not passed, changed through .data
    return model[0].weight, model(X), S("predict")(X)


def student_code_updates_a_globals_buffers(S):
    bn = S("bn")
    S("fit_bn")(torch.tensor([[1.0, 2.0], [3.0, 6.0]]))   # not passed
    return bn.running_mean, bn.running_var, bn(torch.ones(1, 2))


def change_the_students_own_class(S):
    own = S("own")
    with torch.no_grad():
        for p in own.parameters():
            p.fill_(1.0)
    return own(X), S("own_predict")(X)


def student_code_replaces_members(S):
    layer = nn.Linear(3, 2)
    S("reset")(layer)
    return (layer.weight, isinstance(layer.weight, nn.Parameter), sorted(n for n, _ in layer.named_parameters()),
            sorted(n for n, _ in layer.named_buffers()), type(layer.act).__name__, layer.act(layer.scale))


def student_code_sets_none(S):
    layer = nn.Linear(3, 2)
    S("unset")(layer)
    return layer.bias is None, "bias" in layer._parameters


def change_the_students_own_class_then_read_it(S):
    own = S("own")                         # (a handle: its attributes are read in the student's kernel)
    own.lin.weight = nn.Parameter(torch.ones(1, 3))
    with torch.no_grad():
        own.lin.bias.fill_(0.5)
    return own.lin.weight, own.lin.bias, own(X)


def change_the_students_own_class_then_show_it(S):
    own = S("own")
    own.lin.bias = None
    return repr(own)


def change_a_model_then_look_up_another_name(S):
    model = S("model")
    model[0].weight = nn.Parameter(torch.ones(2, 3))
    return S("parts")["first"].weight, model[0].weight


def look_up_a_model_holding_the_students_own_class(S):
    stack = S("stack")                     # (its Own is a handle, made while the Sequential is rebuilt)
    return [type(m).__name__ for m in stack][1:], S("stack_kinds")(), stack[0](X).shape


CELLS = [replace_a_parameter, set_a_bias_to_none, delete_a_bias, assign_a_submodule, replace_a_buffer,
         set_weights_in_place, set_weights_through_data, set_the_students_own_class_through_data,
         set_a_buffer_in_place, set_a_buffer_through_data, change_the_mode, pass_the_students_own_model_back, student_code_changed_it_first,
         student_code_changes_a_global, student_code_changes_a_global_through_data,
         student_code_updates_a_globals_buffers, change_the_students_own_class, student_code_replaces_members, student_code_sets_none,
         change_the_students_own_class_then_read_it, change_the_students_own_class_then_show_it,
         change_a_model_then_look_up_another_name, look_up_a_model_holding_the_students_own_class]


@pytest.mark.parametrize("cell", CELLS, ids=[c.__name__ for c in CELLS])
def test_a_test_cell_sees_through_the_judge_what_it_sees_in_process(cell, judged):
    expected = _plain(cell(_in_process()))
    assert _plain(cell(judged)) == expected


def test_what_came_back_from_a_call_is_not_sent_again(pair, judged):
    """A model trained by the student's code is, after the call, alike on both sides: the next call sends
    none of it (only what a test cell changes after is sent)."""
    judge, _ = pair
    model = judged("model")
    judged("step")(model)
    assert dirty(judge.session) == []
    model[0].bias = nn.Parameter(torch.zeros(2))
    assert [type(o).__name__ for o in dirty(judge.session)] == ["Linear"]
    judged("predict")(X)
    assert dirty(judge.session) == []


def test_a_malformed_module_state_from_the_student_is_refused_with_the_reason():
    layer = nn.Linear(2, 2)
    with pytest.raises(ProtocolError, match="parameter 'weight' is a Tensor"):
        _write_back(layer, "m", ["M", True, {}, {"weight": torch.ones(2, 2)}, {}, {}, []])
    with pytest.raises(ProtocolError, match="child 'act' is a str"):
        _write_back(layer, "m", ["M", True, {}, {}, {}, {"act": "code"}, []])
    with pytest.raises(ProtocolError, match="non-persistent buffers"):
        _write_back(layer, "m", ["M", True, {}, {}, {}, {}, ["nope"]])
    assert isinstance(layer.weight, nn.Parameter) and layer.weight.shape == (2, 2)     # left as it was


def test_only_the_student_resolves_its_own_objects_and_only_those_it_sent():
    value = ["TEN", "float32", [1], torch.ones(1).numpy().tobytes(), False, "cpu", ["N"], "P", [1], -2, 0]
    for mine in (None, ({}, [])):          # the judge's end (no objects of its own by origin), or none sent
        with pytest.raises(ProtocolError, match="did not send"):
            Decoder(None, None, session={}, mine=mine)(value)
    p = nn.Parameter(torch.zeros(1))
    got = Decoder(None, None, session={}, mine=({id(p): 0}, [p]))(value)
    assert got is p and torch.equal(p, torch.ones(1))


CELL = """
model[0].weight = nn.Parameter(torch.ones(2, 3))
model[2].bias = None
bn.running_mean = torch.ones(2)
"""


def test_what_a_test_cell_changed_is_what_the_students_next_cell_sees(pair):
    """The judge's notebook namespace (as the judge kernel runs a test cell) leaves the cell's changes in the
    student's kernel at the cell's end, with no call after them."""
    judge, student = pair
    ns: dict = {}
    exec(compile(STUDENT, "<student>", "exec"), ns)
    exec(CELL, {**ns})                                    # in-process: the one kernel's objects
    jns = JudgeNamespace("unused")
    jns.use(judge)
    jns.update(torch=torch, nn=nn)                        # (the instructor's imports, bound first)
    exec(CELL, jns)
    jns.end_cell()
    for check in ("predict(X)", "names()", "normalize(torch.zeros(3, 2))"):     # the student's next cell
        env = {"X": X}
        assert _plain(eval(check, student, env)) == _plain(eval(check, ns, env)), check


def test_a_read_sends_a_test_cells_changes_first_and_nothing_more_when_there_are_none(pair, judged, monkeypatch):
    """Reading a student's object (here an attribute of its own class's model) first leaves the test cell's
    changes in the student's kernel, in a push of their own; with nothing changed, the read is one request."""
    from coursekit.judge import peer as peer_mod
    judge, student = pair
    sent: list = []
    send = peer_mod.wire.send

    def counting(sock, msg):
        if sock is judge.sock:
            sent.append(msg["op"])
        return send(sock, msg)
    monkeypatch.setattr(peer_mod.wire, "send", counting)
    own = judged("own")
    lin = own.lin
    del sent[:]
    assert own.lin is lin and sent == ["getattr"]       # nothing changed: no push
    lin.bias = None
    del sent[:]
    assert own.lin.bias is None and sent == ["push", "getattr"]
    assert student["own"].lin.bias is None and dirty(judge.session) == []
