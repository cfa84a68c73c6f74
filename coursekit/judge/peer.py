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

import contextlib
import functools
import io
import sys
import types

from . import tracked, wire
from ._lazy import is_tensor, torch
from .errors import FrameRecord, RemoteError, error_info, rebuild_error  # noqa: F401 - (the package's API)
from .proxies import SERVED_BY_JUDGE, Remote, _torch_classes, remote_module_class, run_special
from .rng import _rng_state, _set_rng_state
from .state import _changed, _state, _write_back, apply_sync, resync_values, snapshots, sync_values
from .values import Decoder, Encoder
from .wire import ProtocolError, message

__all__ = ["FrameRecord", "Peer", "Remote", "RemoteError", "error_info", "rebuild_error", "remote_module_class"]

MAX_STDOUT = 64 << 10
_READS = frozenset({"lookup", "import", "getattr", "special"})     # the judge's requests that read student state
_RUNS_CODE = frozenset({"call", "getattr", "special", "backward", "import"})  # those that may run student code


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


# what the judge's objects that reached the student's code (its handles) may not be asked for: their
# attributes would lead to the judge's namespace, its modules and its frames (__globals__, gi_frame, f_globals)
_OPAQUE = (types.ModuleType, type, types.FunctionType, types.MethodType, types.BuiltinFunctionType,
           types.CodeType, types.FrameType, types.TracebackType, types.GeneratorType, types.CoroutineType,
           types.AsyncGeneratorType, types.CellType, types.MappingProxyType, types.MethodWrapperType,
           types.WrapperDescriptorType, types.MethodDescriptorType, types.ClassMethodDescriptorType,
           types.GetSetDescriptorType, types.MemberDescriptorType, property,
           staticmethod, classmethod, super, functools.partial)


def _judge_serves(obj, name: str, op: str) -> None:
    """Raises unless the judge answers the student's code ``op`` (getattr, special) ``name`` of ``obj``, one of
    its own objects handed to student code (an instance a test cell made, a random generator): a plain public
    attribute, or a special method of SERVED_BY_JUDGE; never of a module, a class, a function or a frame."""
    if op == "getattr":
        if not name.isidentifier() or name.startswith("_") or name in ("ctypes", "cffi", "capsule"):
            raise AttributeError(f"the judge gives the student's code no attribute {name!r:.60}")
        if isinstance(obj, _OPAQUE) or _native(obj):
            raise AttributeError(f"the judge gives the student's code no attribute of a {type(obj).__name__}")
    elif name not in SERVED_BY_JUDGE or _native(obj):
        raise TypeError(f"the judge does not run {name!r:.60} for the student's code")
    elif isinstance(obj, (types.ModuleType, types.FrameType, types.TracebackType, types.CodeType)):
        raise TypeError(f"the judge runs no special method of a {type(obj).__name__} for the student's code")


def _native(obj) -> bool:
    """The kit's own objects and foreign functions and pointers (``ctypes``, ``cffi``: a NumPy generator's
    ``bit_generator.ctypes``), which would read and write the judge's memory."""
    top = str(getattr(type(obj), "__module__", "")).split(".")[0]
    return top in ("coursekit_judge", "coursekit", "ctypes", "_ctypes", "cffi", "_cffi_backend")


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
        self.tracked: dict = {}                 # the student's: plain-data names the judge read -> [object, digest]
        self.before_reading = None              # the judge's: sends what a test cell changed in those (tracked.py)
        self.on_names = None                    # the judge's: takes what a call changed in them

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
    def request(self, op: str, /, changes_first: bool = True, **fields) -> dict:
        """Sends a request and serves the other end's until its reply comes. A judge's request that reads
        the student's state first leaves there what a test cell changed in the student's modules
        (:meth:`send_changes`), as in one shared kernel (``changes_first=False``: not while a reply is
        being decoded, when the judge's copies may be half rebuilt)."""
        __tracebackhide__ = True      # (IPython shows a test cell's error without the protocol's frames)
        if changes_first and self.side == "judge" and (op in _READS or op == "call"):
            if self.before_reading is not None:
                self.before_reading()
            if self.session and op in _READS:
                self.send_changes()
        rid = self.next_id
        self.next_id += 2
        wire.send(self.sock, message(op, rid, **fields))
        try:
            while True:
                msg = wire.receive(self.sock)
                if msg["op"] in wire.REPLIES:
                    if msg["id"] == rid:
                        self._take_names(msg)
                        return msg
                    if msg["id"] in self.abandoned:
                        self.abandoned.discard(msg["id"])
                        continue
                    raise ProtocolError(f"a reply to request {msg['id']}, which is not waiting")
                self.serve_one(msg)
        except KeyboardInterrupt:
            late = self._interrupted_reply(rid) if self.side == "judge" else None
            if late is None:
                self.abandoned.add(rid)
                raise
            self._take_names(late)
            return late
        except BaseException:
            self.abandoned.add(rid)
            raise

    def _interrupted_reply(self, rid: int, wait: float = 6.0) -> dict | None:
        """The judge was interrupted (its cell's time limit) while the student's code it asked for ran; the
        student's kernel is interrupted too (preprocessors.JudgedExecute), and its code's error, with the
        student's own lines, is the better answer to give the cell: the error reply to ``rid`` if it comes
        within ``wait`` seconds, else None (the request is abandoned as it is)."""
        import select
        import time
        deadline = time.monotonic() + wait
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                    return None
                msg = wire.receive(self.sock)
                if msg["op"] not in wire.REPLIES:
                    return None            # (the student's code asks the judge for something: not now)
                if msg["id"] == rid:
                    return msg if msg["op"] == "error" and msg["error"].get("type") == "KeyboardInterrupt" else None
                if msg["id"] not in self.abandoned:
                    return None
                self.abandoned.discard(msg["id"])
        except (KeyboardInterrupt, OSError, ProtocolError):
            return None

    def send_changes(self) -> None:
        """The student's modules and parameters a test cell changed since they crossed (state.dirty), sent
        in a ``push`` with only ``sync``; no message when there are none."""
        sync = sync_values(Encoder(self.handle, origins=self.origins, theirs=self.session), self.session)
        if sync:
            reply = self.request("push", state={}, names=[], deleted=[], sync=sync, writes=[])
            if reply["op"] == "error":
                raise rebuild_error(reply["error"], self)

    def serve_forever(self) -> None:
        while True:
            self.serve_one(wire.receive(self.sock))

    def serve_one(self, msg: dict) -> None:
        op = msg["op"]
        if op in wire.REPLIES:
            raise ProtocolError("a reply nobody waits for")
        allowed = ("call", "backward", "getattr", "special") if self.side == "judge" else tuple(wire.REQUESTS)
        try:
            if op not in allowed:
                raise ProtocolError(f"{op!r} is not served by the {self.side}")
            reply = getattr(self, "_serve_" + op)(msg)
        except BaseException as exc:  # noqa: BLE001 - the caller gets it as data
            if isinstance(exc, (SystemExit, KeyboardInterrupt)) and self.side == "judge":
                raise
            info = error_info(exc, self if self.side == "student" else None)
            if op == "call":
                info["state"] = _rng_state()      # e.g. gradients switched off before the error
            if op in _RUNS_CODE and self.side == "student":
                info["names"] = self._changed_names()
            wire.send(self.sock, message("error", msg["id"], error=info))
            return
        if op in _RUNS_CODE and self.side == "student":
            names = self._changed_names()
            if names:
                reply["info"]["names"] = names
        wire.send(self.sock, message("result", msg["id"], **reply))

    def _take_names(self, reply: dict) -> None:
        """The judge takes what the student's code changed in the names the cell read (tracked.py), with the
        reply to any request that ran it (a call, a property, a special method), or with its error."""
        if self.on_names is None or reply["op"] not in wire.REPLIES:
            return
        names = (reply.get("info") or {}).get("names") if reply["op"] == "result" else \
            (reply.get("error") or {}).get("names")
        if names:
            self.on_names(names)

    @staticmethod
    def _reply(value, state=None, synced=None, stdout="", info=None) -> dict:
        return {"value": value, "state": state or {}, "synced": synced or [], "stdout": stdout, "info": info or {}}

    # -- the caller's side --------------------------------------------------------------------
    def call(self, target, args, kwargs, options=None):
        """``target(*args, **kwargs)`` where target lives; returns (value, what the spy saw)."""
        __tracebackhide__ = True
        options = dict(options or {})
        instruments = sys.modules.get("utils.checks.instruments")
        active = instruments.active_modes() if instruments is not None else []
        enc = Encoder(self.handle, origins=self.origins, theirs=self.session if self.side == "judge" else None)
        options["modes"] = [[type(m).__name__, enc(m.settings())] for m in active]
        a = enc(list(args))
        kw = [[str(k), enc(v)] for k, v in kwargs.items()]
        grad_inputs = [i for i, o in enumerate(enc.objects) if is_tensor(o) and o.requires_grad
                       and torch.is_grad_enabled()]
        options["grad_inputs"] = grad_inputs
        if self.side == "judge":       # the student's modules a test cell changed (state.dirty)
            options["sync"] = sync_values(enc, self.session)
        reply = self.request("call", target=self.handle(target) if not isinstance(target, int) else target,
                             args=a, kwargs=kw, state=_rng_state(), options=options)
        return self._result(reply, enc, grad_inputs, active)

    def _result(self, reply, enc, grad_inputs, active=()):
        __tracebackhide__ = True
        records = (reply.get("info") or {}).get("mode_records") if reply["op"] == "result" else \
            reply["error"].get("mode_records")
        if active and isinstance(records, list) and len(records) == len(active):
            for m, rec in zip(active, records):      # what each instrument's mode saw where the code ran
                m.absorb(Decoder(self.proxy, self.own, session=self.session)(rec))
        if reply["op"] == "error":
            if isinstance(reply["error"].get("state"), dict):
                _set_rng_state(reply["error"]["state"])
            raise rebuild_error(reply["error"], self)
        if reply["state"]:
            _set_rng_state(reply["state"])
        if reply["stdout"]:
            sys.stdout.write(reply["stdout"])
        self._apply_synced(reply["synced"], enc)
        dec = Decoder(self.proxy, self.own, enc.objects, session=self.session)
        value = dec(reply["value"])
        apply_sync(dec, reply["info"].get("resync", []))      # (state.resync_values)
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
            _write_back(orig, kind, new, enc)

    # -- the answering side -------------------------------------------------------------------
    def _serve_lookup(self, msg):
        ns = self.namespace or {}
        name = msg["name"]
        if name not in ns:
            return self._reply(["S", "\0missing"], info={"missing": True})
        value = ns[name]
        reply = self._reply(Encoder(self.handle, origins=self.origins)(value))
        tracked.follow(self.tracked, name, value)
        return reply

    def _changed_names(self) -> list:
        """The plain-data names the judge read that the call changed or rebound (tracked.py)."""
        return tracked.changed(self.tracked, (self.namespace or {}).get, lambda v: Encoder(self.handle)(v),
                               rebound=True)

    def _serve_import(self, msg):
        import importlib
        name = msg["name"]
        if not all(part.isidentifier() for part in name.split(".")):
            raise ProtocolError(f"import: {name!r:.80} is not a module name")
        return self._reply(Encoder(self.handle, origins=self.origins)(importlib.import_module(name)))

    def _serve_getattr(self, msg):
        obj = self.own(msg["target"])
        name = msg["name"]
        if self.side == "judge":          # the student's code reads plain attributes of the judge's objects only
            _judge_serves(obj, name, "getattr")
        value = getattr(obj, name)
        if self.side == "judge" and _native(value):
            raise AttributeError(f"the judge gives the student's code no {type(value).__name__}")
        return self._reply(Encoder(self.handle, origins=self.origins)(value))

    def _serve_special(self, msg):
        obj = self.own(msg["target"])
        name = msg["name"]
        if self.side == "judge":
            _judge_serves(obj, name, "special")
        dec = Decoder(self.proxy, self.own, session=self.session)
        args = [dec(a) for a in msg["args"]]
        value = run_special(obj, name, args)
        if self.side == "judge" and _native(value):
            raise TypeError(f"the judge gives the student's code no {type(value).__name__}")
        return self._reply(Encoder(self.handle, origins=self.origins)(value))

    def _serve_pull(self, msg):
        self.tracked.clear()             # (a judge cell begins: it looks its names up again)
        return self._reply(["N"], state=_rng_state(), info={"last_error": self.last_error()})

    def _serve_push(self, msg):
        if msg["state"]:
            _set_rng_state(msg["state"])
        apply_sync(Decoder(self.proxy, self.own, session=self.session, mine=self.origins), msg["sync"])
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
                ns[pair[0]] = Decoder(self.proxy, self.own, session=self.session, mine=self.origins)(pair[1])
                tracked.follow(self.tracked, pair[0], ns[pair[0]])       # (the judge follows what it binds here)
        for pair in msg["writes"]:         # a test cell's changes to plain data it read: in place, as in one kernel
            if not (isinstance(pair, list) and len(pair) in (2, 3) and isinstance(pair[0], str)):
                raise ProtocolError("push: writes are [name, value, places kept] entries")
            keep = tracked.kept_paths(pair[2] if len(pair) == 3 else None)
            new = Decoder(self.proxy, self.own, session=self.session, mine=self.origins)(pair[1])
            if ns is not None:
                tracked.take(self.tracked, ns.get, ns.__setitem__, pair[0], new, keep)
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
        dec = Decoder(self.proxy, self.own, session=self.session,
                      mine=self.origins if self.side == "student" else None)
        args = dec(msg["args"])
        kwargs = {}
        for pair in msg["kwargs"]:
            if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], str)):
                raise ProtocolError("call: kwargs are [name, value] pairs")
            kwargs[pair[0]] = dec(pair[1])
        if not isinstance(args, list):
            raise ProtocolError("call: args must be a list")
        options = msg["options"]
        apply_sync(dec, options.get("sync", []))
        _set_rng_state(msg["state"])
        grad_inputs = options.get("grad_inputs") or []
        if not isinstance(grad_inputs, list) or not all(isinstance(i, int) and i in dec.memo for i in grad_inputs):
            raise ProtocolError("call: grad_inputs must be indices of the arguments")
        forbid = tuple(f for f in options.get("forbid") or () if isinstance(f, str))
        autograd = options.get("autograd", True) is not False
        spy = None
        if forbid or not autograd:      # what utils.checks.call watches in-process, watched where the call runs
            from utils.checks.calling import Spy
            spy = Spy(autograd, forbid)
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
        before = snapshots(dec)
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
                synced.append([i, kind, _state(obj, kind, known, self.handle, self.origins)])
        resync = resync_values(enc, dec, self.origins)
        if resync:
            info["resync"] = resync
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
