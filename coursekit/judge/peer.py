"""One end of the student-judge connection: requests, replies, handles and remote gradients.

The judge asks, the student's kernel answers; while an end waits for its reply it serves the other
end's requests (a function of the test cell passed to student code is called back in the judge).
Objects that are not data stay where they are and cross as handles (:class:`Remote`). Objects that
crossed by value in a call's arguments (tensors, arrays, modules, optimizers, lists, dicts) come back
in the reply as their state after the call, which the caller writes into its own objects: a model
trained by student code is the judge's model, trained. Outputs of a call that need gradients are
joined to the caller's graph by :class:`_RemoteGrad`, whose backward asks the other end for the
gradients of the call's inputs.
"""
from __future__ import annotations

import builtins
import contextlib
import io
import linecache
import os
import random
import sys
import traceback
import types

from . import wire
from ._lazy import has_numpy, has_torch, is_array, is_module, is_optimizer, is_tensor, np, torch
from .values import Decoder, Encoder, NotData
from .wire import ProtocolError, message

MAX_STDOUT = 64 << 10


class RemoteError(Exception):
    """An exception of student code whose type is not one of Python's own."""


class FrameRecord:
    """A frame of the other end's traceback, shaped as utils.checks reads frames."""

    def __init__(self, filename: str, lineno: int, name: str, line: str, library: bool):
        self.f_code = types.SimpleNamespace(co_filename=filename, co_name=name)
        self.f_globals: dict = {}
        self.f_locals: dict = {}          # (the other end's locals do not cross)
        self.f_lineno = lineno
        self.library = library
        if line and not filename.startswith("<"):
            entry = linecache.cache.get(filename)
            lines = list(entry[2]) if entry and len(entry) == 4 and entry[3] == "coursekit-remote" else []
            lines += [""] * max(0, lineno - len(lines))
            lines[lineno - 1] = line + "\n"
            linecache.cache[filename] = (0, None, lines, "coursekit-remote")


def _rng_state() -> dict:
    """This process's random generators and gradient mode (torch's and NumPy's only where loaded)."""
    version, internal, gauss = random.getstate()
    state = {"random": [int(version), list(internal), gauss], "torch": None, "numpy": None, "grad": True}
    if has_numpy():
        kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
        state["numpy"] = [keys.tobytes(), int(pos), int(has_gauss), float(cached)]
    if has_torch():
        state["torch"] = torch.get_rng_state().numpy().tobytes()
        state["grad"] = torch.is_grad_enabled()
    return state


def _set_rng_state(state: dict) -> None:
    try:
        t, n, grad = state["torch"], state["numpy"], state["grad"]
        version, internal, gauss = state["random"]
        if not (isinstance(grad, bool) and isinstance(internal, list) and len(internal) == 625
                and all(type(i) is int for i in internal) and (t is None or isinstance(t, bytes))
                and (n is None or isinstance(n, list) and len(n) == 4 and isinstance(n[0], bytes)
                     and len(n[0]) == 624 * 4)):
            raise ValueError("types")
        random.setstate((int(version), tuple(internal), gauss if isinstance(gauss, float) else None))
        if n is not None and has_numpy():
            keys, pos, has_gauss, cached = n
            np.random.set_state(("MT19937", np.frombuffer(keys, dtype=np.uint32), int(pos), int(has_gauss),
                                 float(cached)))
        if t is not None and has_torch():
            torch.set_rng_state(torch.frombuffer(bytearray(t), dtype=torch.uint8))
        if has_torch():
            torch.set_grad_enabled(grad)
    except ProtocolError:
        raise
    except Exception as exc:
        raise ProtocolError(f"a malformed generator state ({type(exc).__name__})") from None


_CLASSES: dict = {}


def _torch_classes() -> dict:
    """The classes built on torch's (made on first use: see _lazy)."""
    if "Spy" in _CLASSES:
        return _CLASSES
    from torch.overrides import TorchFunctionMode

    class _Spy(TorchFunctionMode):
        """Torch functions a call must not use (``call(..., autograd=False, forbid=...)``), noticed where
        the call runs and reported as data."""
        _AUTOGRAD = ("backward", "grad", "vjp", "jvp", "jacobian", "hessian")

        def __init__(self, autograd: bool, forbid):
            super().__init__()
            self.watch = tuple(forbid) + (() if autograd else self._AUTOGRAD)
            self.used = None

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if name in self.watch and self.used is None:
                self.used = name
            return func(*args, **(kwargs or {}))


    class _RemoteGrad(torch.autograd.Function):
        @staticmethod
        def forward(ctx, peer, graph, n_remote, outputs, *inputs):
            ctx.peer, ctx.graph = peer, graph
            ctx.n, ctx.extra = n_remote, len(inputs) - n_remote
            outs = tuple(o.detach().clone() for o in outputs)
            ctx.mark_non_differentiable(*[o for o in outs if not (o.is_floating_point() or o.is_complex())])
            return outs

        @staticmethod
        def backward(ctx, *grads):
            found = ctx.peer.backward(ctx.graph, list(grads), ctx.n)  # noqa
            return (None, None, None, None, *found, *[None] * ctx.extra)

    _CLASSES.update(Spy=_Spy, RemoteGrad=_RemoteGrad)
    return _CLASSES


def _replace(value, new: dict):
    if is_tensor(value):
        return new.get(id(value), value)
    if type(value) is list:
        value[:] = [_replace(v, new) for v in value]
        return value
    if type(value) is tuple:
        return tuple(_replace(v, new) for v in value)
    if type(value) is dict:
        for k in list(value):
            value[k] = _replace(value[k], new)
        return value
    return value


class Peer:
    def __init__(self, sock, side: str):
        self.sock = sock
        self.side = side
        self.next_id = 1 if side == "judge" else 2
        self.handles: dict[int, object] = {}
        self.handle_ids: dict[int, int] = {}
        self.graphs: dict[int, tuple] = {}
        self.abandoned: set[int] = set()
        self.namespace: dict | None = None      # the student's kernel: its notebook namespace
        self.origins = ({}, [])                 # modules and parameters this side sent (values._origin)
        self.session: dict = {}                 # the other side's origins -> what was rebuilt here

    # -- handles ------------------------------------------------------------------------------
    def handle(self, obj) -> int:
        if getattr(type(obj), "__coursekit_remote__", False) and obj._peer is self:
            return -obj._hid
        key = id(obj)
        if key in self.handle_ids:
            return self.handle_ids[key]
        if len(self.handles) >= wire.MAX_HANDLES:
            raise ProtocolError("too many handles")
        hid = len(self.handles) + 1
        self.handles[hid] = obj
        self.handle_ids[key] = hid
        return hid

    def own(self, hid: int):
        if hid not in self.handles:
            raise ProtocolError(f"no object with handle {hid}")
        return self.handles[hid]

    def proxy(self, hid: int, info: list):
        if self.side == "judge" and info[1] == "module":
            return remote_module_class()(self, hid, info)
        return Remote(self, hid, info)

    # -- requests -----------------------------------------------------------------------------
    def request(self, op: str, **fields) -> dict:
        rid = self.next_id
        self.next_id += 2
        wire.send(self.sock, message(op, rid, **fields))
        try:
            while True:
                msg = wire.receive(self.sock)
                if msg["op"] in wire.REPLIES:
                    if msg["id"] == rid:
                        return msg
                    if msg["id"] in self.abandoned:
                        self.abandoned.discard(msg["id"])
                        continue
                    raise ProtocolError(f"a reply to request {msg['id']}, which is not waiting")
                self.serve_one(msg)
        except BaseException:
            self.abandoned.add(rid)
            raise

    def serve_forever(self) -> None:
        while True:
            self.serve_one(wire.receive(self.sock))

    def serve_one(self, msg: dict) -> None:
        op = msg["op"]
        if op in wire.REPLIES:
            raise ProtocolError("a reply nobody waits for")
        allowed = ("call", "backward") if self.side == "judge" else tuple(wire.REQUESTS)
        try:
            if op not in allowed:
                raise ProtocolError(f"{op!r} is not served by the {self.side}")
            reply = getattr(self, "_serve_" + op)(msg)
        except BaseException as exc:  # noqa: BLE001 - the caller gets it as data
            if isinstance(exc, (SystemExit, KeyboardInterrupt)) and self.side == "judge":
                raise
            info = error_info(exc)
            if op == "call":
                info["state"] = _rng_state()      # e.g. gradients switched off before the error
            wire.send(self.sock, message("error", msg["id"], error=info))
            return
        wire.send(self.sock, message("result", msg["id"], **reply))

    @staticmethod
    def _reply(value, state=None, synced=None, stdout="", info=None) -> dict:
        return {"value": value, "state": state or {}, "synced": synced or [], "stdout": stdout, "info": info or {}}

    # -- the caller's side --------------------------------------------------------------------
    def call(self, target, args, kwargs, options=None):
        """``target(*args, **kwargs)`` where target lives; returns (value, what the spy saw)."""
        options = dict(options or {})
        instruments = sys.modules.get("utils.checks.instruments")
        active = instruments.active_modes() if instruments is not None else []
        enc = Encoder(self.handle, origins=self.origins)
        options["modes"] = [[type(m).__name__, enc(m.settings())] for m in active]
        a = enc(list(args))
        kw = [[str(k), enc(v)] for k, v in kwargs.items()]
        grad_inputs = [i for i, o in enumerate(enc.objects) if is_tensor(o) and o.requires_grad
                       and torch.is_grad_enabled()]
        options["grad_inputs"] = grad_inputs
        reply = self.request("call", target=self.handle(target) if not isinstance(target, int) else target,
                             args=a, kwargs=kw, state=_rng_state(), options=options)
        return self._result(reply, enc, grad_inputs, active)

    def _result(self, reply, enc, grad_inputs, active=()):
        records = (reply.get("info") or {}).get("mode_records") if reply["op"] == "result" else \
            reply["error"].get("mode_records")
        if active and isinstance(records, list) and len(records) == len(active):
            for m, rec in zip(active, records):      # what each instrument's mode saw where the code ran
                m.absorb(Decoder(self.proxy, self.own, session=self.session)(rec))
        if reply["op"] == "error":
            if isinstance(reply["error"].get("state"), dict):
                _set_rng_state(reply["error"]["state"])
            raise rebuild_error(reply["error"])
        if reply["state"]:
            _set_rng_state(reply["state"])
        if reply["stdout"]:
            sys.stdout.write(reply["stdout"])
        self._apply_synced(reply["synced"], enc)
        dec = Decoder(self.proxy, self.own, enc.objects, session=self.session)
        value = dec(reply["value"])
        info = reply["info"]
        graph = info.get("graph")
        if isinstance(graph, int) and isinstance(info.get("outputs"), list):
            outs = [dec.memo.get(i) for i in info["outputs"]]
            if not all(is_tensor(o) for o in outs):
                raise ProtocolError("a graph's outputs are not tensors")
            inputs = [enc.objects[i] for i in grad_inputs]
            # outputs that depend only on the other end's parameters (a student's own model) still
            # need a graph here: one empty input that requires grad gives them one
            extra = [torch.empty(0, requires_grad=True)] if torch.is_grad_enabled() else []
            joined = _torch_classes()["RemoteGrad"].apply(self, graph, len(inputs), outs, *inputs, *extra) \
                if outs else ()
            value = _replace(value, {id(o): j for o, j in zip(outs, joined)})
        return value, info.get("spy"), info.get("saved", 0)

    def backward(self, graph: int, grads: list, n: int):
        enc = Encoder(self.handle, by_value_modules=False)
        reply = self.request("backward", graph=graph, grads=[enc(g) for g in grads])
        if reply["op"] == "error":
            raise rebuild_error(reply["error"])
        found = Decoder(self.proxy, self.own, session=self.session)(reply["value"])
        if not isinstance(found, list) or len(found) != n or \
                not all(g is None or is_tensor(g) for g in found):
            raise ProtocolError("the gradients of a remote call do not match its inputs")
        return found

    def _apply_synced(self, synced, enc) -> None:
        if not isinstance(synced, list):
            raise ProtocolError("synced must be a list")
        for entry in synced:
            if not (isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], int)
                    and 0 <= entry[0] < len(enc.objects) and isinstance(entry[1], str)):
                raise ProtocolError("a malformed synced entry")
            index, kind, state = entry
            orig = enc.objects[index]
            new = Decoder(self.proxy, self.own, enc.objects, session=self.session)(state)
            _write_back(orig, kind, new)

    # -- the answering side -------------------------------------------------------------------
    def _serve_lookup(self, msg):
        ns = self.namespace or {}
        name = msg["name"]
        if name not in ns:
            return self._reply(["S", "\0missing"], info={"missing": True})
        return self._reply(Encoder(self.handle, origins=self.origins)(ns[name]))

    def _serve_import(self, msg):
        import importlib
        name = msg["name"]
        if not all(part.isidentifier() for part in name.split(".")):
            raise ProtocolError(f"import: {name!r:.80} is not a module name")
        return self._reply(Encoder(self.handle, origins=self.origins)(importlib.import_module(name)))

    def _serve_getattr(self, msg):
        obj = self.own(msg["target"])
        return self._reply(Encoder(self.handle, origins=self.origins)(getattr(obj, msg["name"])))

    def _serve_special(self, msg):
        obj = self.own(msg["target"])
        dec = Decoder(self.proxy, self.own, session=self.session)
        args = [dec(a) for a in msg["args"]]
        name = msg["name"]
        if name == "__iter__":
            value = iter(obj)
        elif name == "__next__":
            value = next(obj)
        else:
            method = getattr(type(obj), name, None)
            if method is None:
                raise TypeError(f"object of type {type(obj).__name__!r} has no {name}()")
            value = method(obj, *args)
        return self._reply(Encoder(self.handle, origins=self.origins)(value))

    def _serve_pull(self, msg):
        return self._reply(["N"], state=_rng_state(), info={"last_error": self.last_error()})

    def _serve_push(self, msg):
        if msg["state"]:
            _set_rng_state(msg["state"])
        ns = self.namespace
        for name in msg["deleted"]:
            if not isinstance(name, str):
                raise ProtocolError("push: deleted names are strings")
            if ns is not None:
                ns.pop(name, None)
        for pair in msg["names"]:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise ProtocolError("push: names are [name, value] pairs")
            if ns is not None:
                ns[pair[0]] = Decoder(self.proxy, self.own, session=self.session)(pair[1])
        if msg["state"]:
            self.graphs.clear()          # the end of a judge cell
        return self._reply(["N"])

    def last_error(self):
        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        result = getattr(shell, "last_execution_result", None)
        err = getattr(result, "error_in_exec", None)
        return error_info(err) if err is not None else None

    def _serve_call(self, msg):
        fn = self.own(msg["target"])
        dec = Decoder(self.proxy, self.own, session=self.session)
        args = dec(msg["args"])
        kwargs = {}
        for pair in msg["kwargs"]:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise ProtocolError("call: kwargs are [name, value] pairs")
            kwargs[pair[0]] = dec(pair[1])
        if not isinstance(args, list):
            raise ProtocolError("call: args must be a list")
        options = msg["options"]
        _set_rng_state(msg["state"])
        grad_inputs = options.get("grad_inputs") or []
        if not isinstance(grad_inputs, list) or not all(isinstance(i, int) and i in dec.memo for i in grad_inputs):
            raise ProtocolError("call: grad_inputs must be indices of the arguments")
        forbid = tuple(f for f in options.get("forbid") or () if isinstance(f, str))
        autograd = options.get("autograd", True) is not False
        spy = _torch_classes()["Spy"](autograd, forbid) if (forbid or not autograd) else None
        saved: list = []
        out = io.StringIO()       # (what student code writes to stderr stays in its kernel: nbgrader would
        #                            give a test cell with stderr output 0, and the kit keeps passing cells' points)
        modes = options.get("modes") or []
        if not isinstance(modes, list) or not all(isinstance(m, list) and len(m) == 2 and isinstance(m[0], str)
                                                  for m in modes):
            raise ProtocolError("call: modes are [name, settings] of the instruments' modes")
        instances = []
        if modes:
            from utils.checks import instruments
            for name, settings in modes:
                settings = dec(settings)
                if not isinstance(settings, dict) or not all(isinstance(k, str) for k in settings):
                    raise ProtocolError("call: a mode's settings are a dict of names")
                try:
                    instances.append(instruments.mode(name, settings))
                except KeyError:
                    raise ProtocolError(f"call: no instrument mode {name!r:.60}") from None
        before = {i: _snapshot(o) for i, o in dec.memo.items()}
        with contextlib.redirect_stdout(out), contextlib.ExitStack() as stack:
            for instance in instances:
                stack.enter_context(instance)
            if spy is not None:
                if not autograd:
                    stack.enter_context(torch.no_grad())
                    stack.enter_context(torch.autograd.graph.saved_tensors_hooks(
                        lambda t: (saved.append(1), t)[1], lambda t: t))
                stack.enter_context(spy)
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:
                if spy is not None and spy.used is not None:
                    exc.__coursekit_spy__ = spy.used
                if instances:
                    exc.__coursekit_modes__ = [Encoder(self.handle, origins=self.origins)(m.record) for m in instances]
                raise
        known = {id(o): i for i, o in dec.memo.items()}
        enc = Encoder(self.handle, known, origins=self.origins)
        encoded = enc(value)
        info: dict = {"spy": spy.used if spy is not None else None, "saved": len(saved),
                      "mode_records": [Encoder(self.handle, origins=self.origins)(m.record) for m in instances]}
        outs = [i for i, o in enumerate(enc.objects) if is_tensor(o) and o.grad_fn is not None]
        if outs:
            gid = len(self.graphs) + 1
            self.graphs[gid] = ([enc.objects[i] for i in outs], [dec.memo[i] for i in grad_inputs])
            info.update(graph=gid, outputs=outs)
        synced = []
        for i, obj in dec.memo.items():
            kind = _changed(obj, before[i])
            if kind is not None:
                synced.append([i, kind, _state(obj, kind, known, self.handle)])
        text = out.getvalue()
        return self._reply(encoded, state=_rng_state(), synced=synced, stdout=text[:MAX_STDOUT], info=info)

    def _serve_backward(self, msg):
        graph = self.graphs.get(msg["graph"])
        if graph is None:
            raise ProtocolError(f"no graph {msg['graph']}")
        outputs, inputs = graph
        dec = Decoder(self.proxy, self.own, session=self.session)
        grads = [dec(g) for g in msg["grads"]]
        if len(grads) != len(outputs):
            raise ProtocolError("backward: one gradient per output")
        before = [None if t.grad is None else t.grad.clone() for t in inputs]
        pairs = [(o, g) for o, g in zip(outputs, grads) if g is not None and o.requires_grad]
        if pairs:
            torch.autograd.backward([o for o, _ in pairs], [g for _, g in pairs], retain_graph=True)
        found = []
        for t, b in zip(inputs, before):
            if t.grad is None:
                found.append(None)
            else:
                found.append(t.grad - b if b is not None else t.grad.clone())
        return self._reply(Encoder(self.handle, by_value_modules=False)(found))


# -- the state of arguments after a call ---------------------------------------------------------
def _snapshot(obj):
    if is_tensor(obj):
        g = obj.grad if obj.is_leaf else None
        data = obj.detach().clone() if obj.numel() <= 1_000_000 and obj.device.type != "meta" else None
        return (obj._version, obj.requires_grad, id(g), g._version if g is not None else None, data)
    if is_array(obj):
        return obj.copy()
    if type(obj) is list:
        return [id(x) for x in obj]
    if type(obj) is dict:
        return [(id(k), id(v)) for k, v in obj.items()]
    if type(obj) is set:
        return sorted(id(x) for x in obj)
    return None


def _changed(obj, before):
    if is_tensor(obj):
        g = obj.grad if obj.is_leaf else None
        now = (obj._version, obj.requires_grad, id(g), g._version if g is not None else None)
        data = before[4]      # p.data.clamp_() changes the values but not the tensor's version
        moved = data is not None and (data.shape != obj.shape or not torch.equal(data, obj.detach()))
        if now[0] != before[0]:
            return "t"            # an in-place operation on the tensor itself (its version moved)
        return "td" if now != before[:4] or moved else None     # through .data, or its grad
    if is_array(obj):
        return "a" if obj.shape != before.shape or not np.array_equal(obj, before, equal_nan=True) else None
    if type(obj) is list:
        return "l" if [id(x) for x in obj] != before else None
    if type(obj) is dict:
        return "d" if [(id(k), id(v)) for k, v in obj.items()] != before else None
    if type(obj) is set:
        return "s" if sorted(id(x) for x in obj) != before else None
    if is_module(obj):
        return "m"
    if is_optimizer(obj):
        return "o"
    return None


def _state(obj, kind, known, handle):
    if kind in ("t", "td", "a"):
        return Encoder(handle)(obj)
    enc = Encoder(handle, known)
    if kind == "m":
        attrs = {k: v for k, v in vars(obj).items() if not k.startswith("_") and k != "training"}
        try:
            return enc(["M", obj.training, attrs])
        except NotData:
            return enc(["M", obj.training, {}])
    if kind == "o":
        return enc(["O", [{k: v for k, v in g.items() if k != "params"} for g in obj.param_groups],
                        [[p, dict(s)] for p, s in obj.state.items()]])
    return enc(dict(obj) if kind == "d" else list(obj))     # the contents: the object itself would be an ARG


def _write_back(orig, kind, new) -> None:
    if kind in ("t", "td") and is_tensor(orig) and is_tensor(new):
        if orig.shape != new.shape or orig.dtype != new.dtype:
            orig.data = new.detach()
        elif kind == "t":                  # the version moves, as it did where the code ran
            with torch.no_grad():
                orig.copy_(new)
        elif not torch.equal(orig.detach(), new.detach()):
            orig.data.copy_(new)           # .data: the version stays, as it did there
        if orig.is_leaf:
            if orig.requires_grad != new.requires_grad and (orig.is_floating_point() or orig.is_complex()):
                orig.requires_grad_(new.requires_grad)
            orig.grad = new.grad
    elif kind == "a" and is_array(orig) and is_array(new):
        if orig.shape == new.shape and orig.flags.writeable:
            orig[...] = new
    elif kind == "l" and type(orig) is list and type(new) is list:
        orig[:] = new
    elif kind == "d" and type(orig) is dict and type(new) is dict:
        orig.clear()
        orig.update(new)
    elif kind == "s" and type(orig) is set and type(new) is list:
        orig.clear()
        orig.update(new)
    elif kind == "m" and is_module(orig) and isinstance(new, list) and len(new) == 3 and new[0] == "M":
        if isinstance(new[1], bool):
            orig.training = new[1]
        if isinstance(new[2], dict):
            for key, value in new[2].items():
                if isinstance(key, str) and key in vars(orig) and not key.startswith("_"):
                    setattr(orig, key, value)
    elif kind == "o" and is_optimizer(orig) and isinstance(new, list) and new[0] == "O":
        groups, state = new[1], new[2]
        if isinstance(groups, list) and len(groups) == len(orig.param_groups):
            for group, hyper in zip(orig.param_groups, groups):
                if isinstance(hyper, dict):
                    group.update({k: v for k, v in hyper.items() if k != "params" and isinstance(k, str)})
        if isinstance(state, list):
            mine = {id(p) for g in orig.param_groups for p in g["params"]}
            orig.state.clear()
            for pair in state:
                if isinstance(pair, list) and len(pair) == 2 and id(pair[0]) in mine and isinstance(pair[1], dict):
                    orig.state[pair[0]] = pair[1]
    else:
        raise ProtocolError(f"a synced state of kind {kind!r} for a {type(orig).__name__}")


# -- errors as data --------------------------------------------------------------------------
_LIBRARY_MARKERS = ("site-packages", "dist-packages", os.sep + "lib" + os.sep + "python")


def _is_library(filename: str) -> bool:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return filename.startswith(("<frozen",)) or any(m in filename for m in _LIBRARY_MARKERS) or \
        filename.startswith(here) or "/utils/" in filename


def error_info(exc: BaseException) -> dict:
    frames = []
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        code = frame.f_code
        if code.co_filename == __file__:
            continue
        line = linecache.getline(code.co_filename, lineno, frame.f_globals).rstrip("\n")
        frames.append([code.co_filename[:500], int(lineno), code.co_name[:200], line[:500],
                       _is_library(code.co_filename)])
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001
        text = "<unprintable>"
    cls = type(exc)
    return {"type": cls.__name__[:100], "module": cls.__module__[:100], "message": text[:4000],
            "frames": frames[-40:], "stub": False,
            **({"spy": exc.__coursekit_spy__} if isinstance(getattr(exc, "__coursekit_spy__", None), str) else {}),
            **({"mode_records": exc.__coursekit_modes__} if isinstance(getattr(exc, "__coursekit_modes__", None), list)
               else {})}


_NOT_REBUILT = (SystemExit, KeyboardInterrupt, GeneratorExit)


def rebuild_error(info: dict) -> BaseException:
    """The other end's exception as one of this side's: Python's own type where the name is one of
    its exceptions, else RemoteError; with the other end's frames (``__coursekit_frames__``)."""
    cls = getattr(builtins, info["type"], None) if info["module"] == "builtins" else None
    if not (isinstance(cls, type) and issubclass(cls, BaseException)) or issubclass(cls, _NOT_REBUILT):
        cls = RemoteError
    try:
        exc = cls(info["message"])
    except Exception:  # noqa: BLE001 - exception types whose constructor wants more
        exc = RemoteError(info["message"])
    if cls is RemoteError and info["type"] != "RemoteError":
        exc.__coursekit_type__ = info["type"]
    exc.__coursekit_frames__ = [FrameRecord(*f) for f in info["frames"]]
    if isinstance(info.get("spy"), str):
        exc.__coursekit_spy__ = info["spy"]
    return exc


# -- proxies ---------------------------------------------------------------------------------
class Remote:
    """An object of the other end. Calling it, its attributes (served by the student's kernel only)
    and a few special methods become requests."""
    __coursekit_remote__ = True

    def __init__(self, peer: Peer, hid: int, info: list):
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_hid", hid)
        object.__setattr__(self, "_info", info)

    @property
    def __name__(self):
        return self._info[2] or self._info[0].rsplit(".", 1)[-1]

    def __call__(self, *args, **kwargs):
        return self._peer.call(self._hid, args, kwargs)[0]

    def __coursekit_call__(self, args, kwargs, autograd=True, forbid=()):
        return self._peer.call(self._hid, args, kwargs, {"autograd": autograd, "forbid": list(forbid)})

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _value(self._peer.request("getattr", target=self._hid, name=name), self._peer)

    def _special(self, name, *args):
        enc = Encoder(self._peer.handle)
        return _value(self._peer.request("special", target=self._hid, name=name, args=[enc(a) for a in args]),
                      self._peer)

    def __len__(self):
        return self._special("__len__")

    def __iter__(self):
        return self._special("__iter__")

    def __next__(self):
        return self._special("__next__")

    def __getitem__(self, key):
        return self._special("__getitem__", key)

    def __contains__(self, key):
        return self._special("__contains__", key)

    def __bool__(self):
        return self._special("__bool__")

    def __repr__(self):
        try:
            return self._special("__repr__")
        except Exception:  # noqa: BLE001
            return f"<{self._info[0]} of the student's kernel>"

    def __str__(self):
        return self._special("__str__")


def _value(reply, peer):
    if reply["op"] == "error":
        raise rebuild_error(reply["error"])
    return Decoder(peer.proxy, peer.own, session=peer.session)(reply["value"])


def remote_module_class():
    """RemoteModule, made on first use (its base class is torch's)."""
    if "RemoteModule" in _CLASSES:
        return _CLASSES["RemoteModule"]
    from torch import nn

    class RemoteModule(nn.Module):
        """A model of a class the judge does not rebuild (the student's own nn.Module subclass): its
        forward passes run in the student's kernel, with gradients back through _RemoteGrad; its
        parameters are read as data."""
        __coursekit_remote__ = True

        def __init__(self, peer: Peer, hid: int, info: list):
            super().__init__()
            object.__setattr__(self, "_peer", peer)
            object.__setattr__(self, "_hid", hid)
            object.__setattr__(self, "_info", info)
            object.__setattr__(self, "_remote", Remote(peer, hid, info))
            object.__setattr__(self, "training", bool(self._remote.training))

        def forward(self, *args, **kwargs):
            return self._peer.call(self._hid, args, kwargs)[0]

        def __coursekit_call__(self, args, kwargs, autograd=True, forbid=()):
            return self._peer.call(self._hid, args, kwargs, {"autograd": autograd, "forbid": list(forbid)})

        def train(self, mode: bool = True):
            self._remote.train(mode)
            object.__setattr__(self, "training", mode)
            return self

        def named_parameters(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
            return iter(list(self._remote.named_parameters(prefix, recurse)))

        def parameters(self, recurse: bool = True):
            return iter([p for _, p in self.named_parameters(recurse=recurse)])

        def named_children(self):
            return iter(list(self._remote.named_children()))

        def children(self):
            return iter([c for _, c in self.named_children()])

        def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
            return iter([(prefix, self)] + [(f"{prefix}.{n}" if prefix else n, m)
                                             for n, m in list(self._remote.named_modules())[1:]])

        def modules(self):
            return iter([m for _, m in self.named_modules()])

        def state_dict(self, *args, **kwargs):
            return dict(self._remote.state_dict())

        def to(self, *args, **kwargs):
            self._remote.to(*args, **kwargs)
            return self

        def __getattr__(self, name):
            if name.startswith("_"):
                return super().__getattr__(name)
            return getattr(self._remote, name)

        def __repr__(self):
            return repr(self._remote)

    _CLASSES["RemoteModule"] = RemoteModule
    return RemoteModule
