"""The student-judge protocol (coursekit/judge): values cross as data and come back equal, objects that
crossed by value come back as their state after the call, gradients flow back through remote calls,
and whatever the student's end sends is either a well-formed value or a ProtocolError, never code."""
from __future__ import annotations

import socket
import threading

import msgpack
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from coursekit.judge import wire
from coursekit.judge.peer import Peer, Remote, remote_module_class
from coursekit.judge.values import Decoder, Encoder
from coursekit.judge.wire import ProtocolError


@pytest.fixture
def link():
    a, b = socket.socketpair()
    judge, student = Peer(a, "judge"), Peer(b, "student")
    student.namespace = {}
    threading.Thread(target=lambda: _serve(student), daemon=True).start()

    def lookup(name, value):
        student.namespace[name] = value
        reply = judge.request("lookup", name=name)
        return Decoder(judge.proxy, judge.own)(reply["value"])
    yield judge, lookup
    a.close()


def _serve(peer):
    try:
        peer.serve_forever()
    except ProtocolError:
        pass


def test_values_round_trip_as_plain_data(link):
    _, lookup = link
    t = torch.arange(6.0).reshape(2, 3)
    value = {"t": t, "same": [t, t], "i": torch.tensor([1, 2], dtype=torch.int64), "b": torch.ones(2).bfloat16(),
             "a": np.arange(4, dtype=np.uint8), "s": np.float32(2.5), "x": (1, 2.5, "s", None, True, 2**80),
             "dt": torch.float64, "dev": torch.device("cpu"), "size": torch.Size([2, 3]), "sl": slice(1, None, 2)}
    got = lookup("v", value)
    assert torch.equal(got["t"], t) and type(got["t"]) is torch.Tensor
    assert got["same"][0] is got["same"][1]
    assert got["b"].dtype == torch.bfloat16 and got["a"].dtype == np.uint8 and got["s"] == np.float32(2.5)
    assert got["x"] == (1, 2.5, "s", None, True, 2**80) and got["dt"] is torch.float64
    assert got["size"] == torch.Size([2, 3]) and got["sl"] == slice(1, None, 2)


def test_a_tensor_subclass_is_not_data_and_a_model_of_nn_layers_is_rebuilt(link):
    _, lookup = link

    class Liar(torch.Tensor):
        pass
    got = lookup("liar", torch.zeros(2).as_subclass(Liar))
    assert isinstance(got, Remote) and not isinstance(got, torch.Tensor)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Dropout(0.2)).eval()
    copy = lookup("model", model)
    assert type(copy) is nn.Sequential and not copy.training
    x = torch.randn(4, 2)
    assert torch.allclose(copy(x), model(x))

    class Own(nn.Module):
        def forward(self, x):
            return x * 2
    own = lookup("own", Own())
    assert isinstance(own, remote_module_class()) and torch.equal(own(torch.ones(2)), torch.full((2,), 2.0))


def test_training_by_student_code_is_the_judges_model_trained(link):
    _, lookup = link

    def train_step(model, X, y, loss_fn, opt):
        opt.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        opt.step()
        return loss.item()
    step = lookup("train_step", train_step)
    torch.manual_seed(0)
    net, ref = nn.Linear(2, 1), nn.Linear(2, 1)
    ref.load_state_dict(net.state_dict())
    opt, ref_opt = torch.optim.Adam(net.parameters(), lr=0.1), torch.optim.Adam(ref.parameters(), lr=0.1)
    X, y = torch.randn(8, 2), torch.randn(8, 1)
    for _ in range(3):
        loss = step(net, X, y, nn.MSELoss(), opt)
        expected = train_step(ref, X, y, nn.MSELoss(), ref_opt)
        assert loss == pytest.approx(expected)
    assert torch.allclose(net.weight, ref.weight) and torch.allclose(net.weight.grad, ref.weight.grad)
    assert len(opt.state) == 2


def test_gradients_flow_back_and_in_place_changes_come_back(link):
    _, lookup = link
    f = lookup("f", lambda x, w: (x @ w).sum())
    x = torch.randn(3, 2, requires_grad=True)
    w = torch.randn(2, requires_grad=True)
    f(x, w).backward()
    assert torch.allclose(x.grad, w.detach().expand(3, 2)) and torch.allclose(w.grad, x.detach().sum(0))

    def clamp(p):
        p.data.clamp_(0, 1)
        return p
    p = torch.tensor([-1.0, 0.5, 2.0])
    out = lookup("clamp", clamp)(p)
    assert out is p and torch.equal(p, torch.tensor([0.0, 0.5, 1.0]))


def test_errors_come_back_with_their_type_message_and_frames(link):
    _, lookup = link

    def bad(x):
        return x @ x
    with pytest.raises(RuntimeError, match="cannot be multiplied") as info:
        lookup("bad", bad)(torch.ones(2, 3))
    names = [f.f_code.co_name for f in info.value.__coursekit_frames__]
    assert "bad" in names


def test_the_judge_answers_nothing_but_calls_of_what_it_handed_out(link):
    judge, lookup = link
    secret = {"expected": 42}

    def callback(x):
        return x + 1

    def probe(cb):
        found = []
        for op, fields in (("lookup", {"name": "secret"}), ("getattr", {"target": -1, "name": "__globals__"}),
                           ("pull", {})):
            try:
                cb._peer.request(op, **fields)
            except Exception as exc:      # noqa: BLE001
                found.append(type(exc).__name__)
        return found, cb(1)
    assert secret
    found, value = lookup("probe", probe)(callback)
    assert value == 2
    assert found == ["RemoteError", "RemoteError", "RemoteError"] or all(f != "dict" for f in found)


_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5)
                       | st.binary(max_size=12),
                       lambda children: st.lists(children, max_size=4)
                       | st.dictionaries(st.text(max_size=3), children, max_size=3), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(_values, min_size=1, max_size=10), st.sampled_from(
    ["N", "B", "I", "F", "S", "L", "T", "D", "TEN", "ND", "MOD", "OPT", "DL", "H", "REF", "ARG", "FN", "MODREF", "SL",
     "DT", "SZ", "NS", "TDS", "SUB", "XX"]))
def test_any_value_from_the_other_end_decodes_or_is_a_protocol_error(data, tag):
    for value in ([tag, *data], data, data[0]):
        try:
            Decoder(lambda h, i: ("proxy", h), lambda h: (_ for _ in ()).throw(ProtocolError("no handle")))(value)
        except ProtocolError:
            pass


@pytest.mark.parametrize("value, words", [
    (["FN", "os", "system"], "module 'os'"),
    (["MOD", "Parameter", True, [], [], [], [], -1, 0], "not one the judge rebuilds"),
    (["MOD", "../../x", True, [], [], [], [], -1, 0], "not one the judge rebuilds"),
    (["TEN", "float32", [2, 2], b"\0" * 3, False, "cpu", ["N"], "", [2, 1], -1, 0], "3 bytes"),
    (["TEN", "float32", [1], b"\0" * 4, False, "cpu", ["N"], "instruments.ModeRecorder", [1], -1, 0], "tensor class"),
    (["ND", "|O", [1], b"\0" * 8, 0], "not a numeric one"),
    (["TEN", "int64", [1], b"\0" * 8, True, "cpu", ["N"], "", [1], -1, 0], "integer tensor that requires grad"),
    (["REF", 5], "not sent before"),
])
def test_malformed_values_are_refused_with_the_reason(value, words):
    with pytest.raises(ProtocolError, match=words):
        Decoder(lambda h, i: None, lambda h: None)(value)


def test_frames_over_the_cap_or_of_another_version_are_refused():
    a, b = socket.socketpair()
    a.sendall((wire.MAX_FRAME + 1).to_bytes(8, "big"))
    with pytest.raises(ProtocolError, match="over the cap"):
        wire.receive(b)
    data = msgpack.packb({"v": wire.VERSION + 1, "op": "pull", "id": 1})
    a.sendall(len(data).to_bytes(8, "big") + data)
    with pytest.raises(ProtocolError, match="version"):
        wire.receive(b)
    with pytest.raises(ProtocolError, match="unexpected fields"):
        wire.validate({"v": wire.VERSION, "op": "pull", "id": 1, "code": "print(1)"})
    assert Encoder(lambda o: 1)(torch.zeros(1))[0] == "TEN"


def test_instruments_cross_by_value_and_their_records_come_back(link):
    from torch.utils.data import DataLoader, TensorDataset

    from utils.checks.instruments import DeviceModel, ModeRecorder, NotMovedYet, OnDevice, StandInGpuTensor, \
        unmoved_batches
    _, lookup = link

    def evaluate(model, loader):
        import copy
        frozen = copy.deepcopy(model).eval()
        with torch.inference_mode():
            return [frozen(x.to("cpu")).sum().item() for x, _ in loader]
    rec = ModeRecorder(nn.Linear(2, 1)).train()
    loader = DataLoader(TensorDataset(torch.ones(5, 2), torch.zeros(5)), batch_size=2, collate_fn=unmoved_batches)
    out = lookup("evaluate", evaluate)(rec, loader)
    assert len(out) == 3 and rec.training
    assert rec.modes == [(False, False)] * 3 and rec.any_training == [False] * 3 and rec.moved == [True] * 3

    def to_numpy(t):
        return t.numpy()
    with pytest.raises(TypeError, match="cuda:0"):
        lookup("to_numpy", to_numpy)(torch.ones(2).as_subclass(StandInGpuTensor))
    model = DeviceModel(nn.Linear(2, 1))
    y = lookup("forward", lambda m, x: m(x))(model, torch.ones(3, 2))
    assert type(y) is OnDevice and type(y.cpu()) is torch.Tensor
    with pytest.raises(RuntimeError, match="same device"):
        lookup("forward", lambda m, x: m(x))(model, torch.ones(3, 2).as_subclass(NotMovedYet))


def test_a_students_own_model_keeps_its_graph(link):
    _, lookup = link

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(2, 1)

        def forward(self, x):
            return self.layer(x).relu()
    net = Net()
    out = lookup("net", net)(torch.ones(4, 2))
    assert out.requires_grad
    out.sum().backward()
    assert net.layer.weight.grad is not None      # backward ran where the model lives


def test_an_instruments_mode_is_active_where_the_student_code_runs(link):
    from utils.checks.instruments import SimulatedGpuTensor, on_gpu, simulated_gpu
    _, lookup = link

    def descend(x, w0):
        w = torch.tensor(float(w0), device=x.device, requires_grad=True)
        ones = torch.ones(3, device=x.device)
        return (x * w + ones).sum()
    x = on_gpu(torch.ones(3))
    with simulated_gpu():
        assert type(lookup("descend", descend)(x, 2.0)) is SimulatedGpuTensor

    def forgets(x, w0):
        return (x * torch.ones(3)).sum()
    with simulated_gpu(), pytest.raises(RuntimeError, match="cuda:0 and cpu"):
        lookup("forgets", forgets)(x, 2.0)


def test_an_instrument_modes_record_comes_back_from_where_the_code_ran(link, monkeypatch):
    from utils.checks import instruments
    _, lookup = link

    class CountOps(instruments.InstrumentMode):
        def __init__(self, watch=("matmul",)):
            super().__init__()
            self.watch, self.record = tuple(watch), 0

        def settings(self):
            return {"watch": list(self.watch)}

        def absorb(self, record):
            self.record += record

        def __torch_function__(self, func, types, args=(), kwargs=None):
            if getattr(func, "__name__", "") in self.watch:
                self.record += 1
            return func(*args, **(kwargs or {}))
    CountOps.__module__ = instruments.__name__
    monkeypatch.setitem(instruments._MODES, "CountOps", CountOps)
    f = lookup("f", lambda x: x @ x.T @ x)
    with instruments.use(CountOps()) as counter:
        f(torch.ones(2, 2))
        f(torch.ones(2, 2))
    assert counter.record == 4
    with pytest.raises(TypeError, match="not one of the instruments' modes"):
        instruments.use(torch.overrides.TorchFunctionMode())


def test_versions_and_gradient_mode_come_back_as_they_were_left(link):
    _, lookup = link

    def through_data(p):
        p.data -= 1.0

    def in_place(p):
        with torch.no_grad():
            p -= 1.0
    p, q = torch.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    v_p, v_q = p._version, q._version
    lookup("through_data", through_data)(p)
    lookup("in_place", in_place)(q)
    assert torch.equal(p, torch.zeros(2)) and p._version == v_p      # .data: no version change, as in-process
    assert torch.equal(q, torch.zeros(2)) and q._version > v_q

    def off_then_fail(x):
        torch.set_grad_enabled(False)
        raise ValueError("late")
    try:
        with pytest.raises(ValueError):
            lookup("off", off_then_fail)(1)
        assert not torch.is_grad_enabled()
    finally:
        torch.set_grad_enabled(True)


def test_a_transposed_tensor_keeps_its_layout(link):
    _, lookup = link
    got = lookup("t", torch.arange(6.0).reshape(2, 3).T)
    assert got.stride() == (1, 3) and not got.is_contiguous()
    with pytest.raises(RuntimeError, match="view"):
        got.view(-1)
    assert torch.equal(got, torch.arange(6.0).reshape(2, 3).T)


def test_a_layer_sent_twice_is_one_object_in_the_judge(link):
    _, lookup = link
    cache = {}

    def make(n):
        if n not in cache:
            cache[n] = nn.Linear(n, 1)
        return nn.Sequential(cache[n], nn.ReLU())
    make_remote = lookup("make", make)
    a, b, c = make_remote(2), make_remote(2), make_remote(3)
    assert a is not b and a[0] is b[0] and a[0].weight is b[0].weight and a[0] is not c[0]


def test_numpys_generator_crosses_exactly_with_its_cached_gaussian(link):
    """NumPy's legacy generator, read and set without get_state's copy (coursekit/judge/rng.py): a call that
    leaves a Gaussian cached, a state set with one and without, come back as they would be in-process."""
    from coursekit.judge import rng
    judge, lookup = link

    def slow():
        _, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
        return [keys.tobytes(), int(pos), int(has_gauss), float(cached)]
    for state in (("MT19937", np.arange(624, dtype=np.uint32) * 7, 100, 1, 0.25),
                  ("MT19937", np.arange(624, dtype=np.uint32), 624, 0, 0.0), ("MT19937", np.ones(624, np.uint32), 3, 0, 2.5)):
        np.random.set_state(state)
        assert rng._numpy_state() == slow()
    assert rng._fast["reader"] is not None          # (the fast reader, not the fallback, was checked)

    draw = lookup("draw", lambda: float(np.random.randn()))
    saved = lookup("saved", np.random.get_state())
    restore = lookup("restore", lambda: np.random.set_state(saved))
    np.random.seed(3)
    expected = [np.random.randn(), np.random.randn(), np.random.randn()]
    np.random.seed(3)
    got = [draw(), np.random.randn(), draw()]        # a Gaussian cached by the student's call, used here
    assert got == expected
    np.random.seed(4)
    np.random.randn()                               # one cached here
    before = slow()
    assert before[2] == 1
    np.random.seed(5)
    restore()                                        # set there, with its cached Gaussian: the same here
    assert slow() == rng._numpy_state() == [np.asarray(saved[1]).tobytes(), *slow()[1:]]
    rng._set_rng_state({**rng._rng_state(), "numpy": before})
    assert slow() == before


def test_a_judged_call_watches_where_the_student_code_runs(link):
    """``call(fn, ..., autograd=False, forbid=...)`` on a function of the student's kernel: utils.checks' Spy
    runs around the call there, and what it saw comes back (a forbidden function, autograd used)."""
    from utils.checks import call
    _, lookup = link

    def cheat(w, x):
        w = torch.tensor(w, requires_grad=True)
        with torch.enable_grad():
            ((w * x) ** 2).mean().backward()
        return w.grad

    def library(a, b):
        return torch.nn.functional.mse_loss(a, b)
    with pytest.raises(AssertionError, match="backward"):
        call(lookup("cheat", cheat), 1.0, torch.ones(3), autograd=False, what="g(...)")
    with pytest.raises(AssertionError, match="mse_loss"):
        call(lookup("library", library), torch.ones(2), torch.zeros(2), forbid=("mse_loss",))
    assert float(call(lookup("formula", lambda w, x: 2 * (x * (w * x)).mean()), 1.0, torch.ones(3), autograd=False)) == 2.0
