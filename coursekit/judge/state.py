"""What a call did to the objects that crossed by value in its arguments: a snapshot before, the change
after, the new state as data, written back into the caller's own objects."""
from __future__ import annotations

import sys

from ._lazy import has_pandas, is_array, is_module, is_optimizer, is_tensor, nn, np, pd, torch
from .encode import fingerprint
from .values import Encoder, NotData, module_class
from .wire import ProtocolError


# -- the state of arguments after a call ---------------------------------------------------------
def _snapshot(obj):
    if is_tensor(obj):
        g = obj.grad if obj.is_leaf else None
        data = obj.detach().clone() if obj.numel() <= 1_000_000 and obj.device.type != "meta" else None
        return (obj._version, obj.requires_grad, id(g), g._version if g is not None else None, data)
    if is_array(obj):
        return obj.copy()
    if _is_pandas(obj):
        return obj.copy(deep=True)
    if type(obj) is list:
        return [id(x) for x in obj]
    if type(obj) is dict:
        return [(id(k), id(v)) for k, v in obj.items()]
    if type(obj) is set:
        return sorted(id(x) for x in obj)
    return None


_STALE = object()


def snapshots(dec) -> dict:
    """Each decoded object's state before a call; the student's own tensors that are newer than the
    judge's copy of them (Decoder.stale) count as changed, so the judge's copy gets their state."""
    before = {i: _snapshot(o) for i, o in dec.memo.items()}
    for i in dec.stale:
        before[i] = _STALE
    return before


def _is_pandas(obj) -> bool:
    """A pandas Series or DataFrame (crossed as data: encode._pandas), not a subclass."""
    return has_pandas() and type(obj) in (pd.Series, pd.DataFrame)


def _changed(obj, before):
    if before is _STALE:
        return "td"
    if _is_pandas(obj):         # (values, dtypes, index and column labels; an in-place change of the student's)
        return "pd" if not (type(before) is type(obj) and before.equals(obj)
                            and list(getattr(before, "columns", [])) == list(getattr(obj, "columns", []))
                            and before.index.equals(obj.index)) else None
    if is_tensor(obj):
        g = obj.grad if obj.is_leaf else None
        now = (obj._version, obj.requires_grad, id(g), g._version if g is not None else None)
        data = before[4]      # p.data.clamp_() changes the values but not the tensor's version
        moved = data is not None and (data.shape != obj.shape or not torch.equal(data, obj.detach()))
        if now[0] != before[0]:
            return "t"            # an in-place operation on the tensor itself (its version moved)
        return "td" if now != before[:4] or moved else None     # through .data, or its grad
    if is_array(obj):
        return "a" if obj.shape != before.shape or obj.dtype != before.dtype or not np.array_equal(
            obj, before, equal_nan=obj.dtype.kind in "fc") else None        # (NaN: in float and complex arrays only)
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


def _state(obj, kind, known, handle, origins=None):
    if kind in ("t", "td", "a", "pd"):
        return Encoder(handle)(obj)
    enc = Encoder(handle, known, origins=origins)      # (a new parameter keeps its identity when it goes back)
    if kind == "m":
        attrs = {k: v for k, v in vars(obj).items() if not k.startswith("_") and k != "training"}
        # a module of torch.nn's: what it holds too, as the caller's own objects (ARG) where they are, new
        # ones as data (a parameter replaced, set to None or deleted, a new buffer or child); the student's
        # own class crossed as a handle: its members stay where they are
        members = [dict(obj._parameters), dict(obj._buffers), dict(obj._modules),
                   sorted(obj._non_persistent_buffers_set)] if module_class(type(obj)) is not None else []
        try:
            return enc(["M", obj.training, attrs, *members])
        except NotData:
            return enc(["M", obj.training, {}])
    if kind == "o":
        return enc(["O", [{k: v for k, v in g.items() if k != "params"} for g in obj.param_groups],
                        [[p, dict(s)] for p, s in obj.state.items()]])
    return enc(dict(obj) if kind == "d" else list(obj))     # the contents: the object itself would be an ARG


def _write_back(orig, kind, new, enc=None) -> None:
    """``orig`` takes the state ``new`` the call left its object in; where ``orig`` is the judge's copy of a
    student's object (``enc`` the call's encoder), both are now alike: not sent back with the next call."""
    _write(orig, kind, new)
    ids = getattr(enc, "_theirs_ids", None)
    k = ids.get(id(orig)) if ids else None
    if k is not None and enc.theirs.get(k) is orig:
        enc.theirs[~k] = fingerprint(orig)


def _write(orig, kind, new) -> None:
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
    elif kind == "pd" and _is_pandas(orig) and type(new) is type(orig):
        orig._update_inplace(new.copy(deep=True))    # (pandas' own in-place update: df["c"] = ..., df.drop(inplace=True))
    elif kind == "l" and type(orig) is list and type(new) is list:
        orig[:] = new
    elif kind == "d" and type(orig) is dict and type(new) is dict:
        orig.clear()
        orig.update(new)
    elif kind == "s" and type(orig) is set and type(new) is list:
        orig.clear()
        orig.update(new)
    elif kind == "m" and is_module(orig) and isinstance(new, list) and len(new) in (3, 7) and new[0] == "M":
        if isinstance(new[1], bool):
            orig.training = new[1]
        if isinstance(new[2], dict):
            for key, value in new[2].items():
                if isinstance(key, str) and key in vars(orig) and not key.startswith("_"):
                    setattr(orig, key, value)
        if len(new) == 7 and not getattr(type(orig), "__coursekit_remote__", False):
            _write_members(orig, *new[3:])
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



def _members(value, kind, what: str, one: str) -> dict:
    if not isinstance(value, dict) or not all(isinstance(k, str) and k and "." not in k for k in value):
        raise ProtocolError(f"a module's {what} must be a dict of names")
    for key, v in value.items():
        if v is not None and not isinstance(v, kind):
            raise ProtocolError(f"a module's {one} {key!r:.40} is a {type(v).__name__}")
    return value


def _write_members(orig, params, buffers, children, transient) -> None:
    """A module's parameters, buffers and children as the call left them (checked first, then set)."""
    params = _members(params, nn.Parameter, "parameters", "parameter")
    buffers = _members(buffers, torch.Tensor, "buffers", "buffer")
    children = _members(children, nn.Module, "children", "child")
    if not isinstance(transient, list) or not all(isinstance(k, str) and k in buffers for k in transient):
        raise ProtocolError("a module's non-persistent buffers must be names of its buffers")
    for table, value in ((orig._parameters, params), (orig._buffers, buffers), (orig._modules, children)):
        if [(k, id(v)) for k, v in table.items()] != [(k, id(v)) for k, v in value.items()]:
            table.clear()
            table.update(value)
    orig._non_persistent_buffers_set.clear()
    orig._non_persistent_buffers_set.update(transient)


# -- what a test cell changed in the student's objects --------------------------------------------
def dirty(session: dict) -> list:
    """The modules and parameters the judge rebuilt from the student's kernel and a test cell changed
    since they crossed (a parameter replaced or set to None, a submodule assigned, a mode, weights set
    in place): sent with the next call (``options["sync"]``) or before the next read (Peer.send_changes),
    they update the student's own objects there, so student code sees what it would see in one shared kernel."""
    t = sys.modules.get("torch")
    if t is None or not session:
        return []
    kinds = (t.nn.Module, t.Tensor)         # (checked before each read of the student's state: kept cheap)
    get = session.get
    return [obj for k, obj in session.items()
            if type(k) is int and k >= 0 and isinstance(obj, kinds) and get(~k) != fingerprint(obj)]


def sync_values(enc, session: dict) -> list:
    """The judge's side: the changed objects, encoded as the student's own (``-2 - origin``)."""
    return [enc(obj) for obj in dirty(session)] if session else []


def resync_values(enc, dec, origins) -> list:
    """The student's side, after a call: its objects the judge holds copies of that the call changed
    without their being in it (a global model trained by a function it was not passed), as data for the
    judge's copies (``info["resync"]``; the objects in the call came back in ``synced``)."""
    ids, kept = origins
    for obj in dec.memo.values():       # (alike on both sides once the call's synced state is applied)
        n = ids.get(id(obj))
        if n is not None and n < len(kept) and kept[n] is obj:
            ids[~n] = fingerprint(obj)
    changed = [obj for n, obj in enumerate(kept) if ids.get(~n, ()) not in ((), fingerprint(obj))]
    return [enc(obj) for obj in changed]


def apply_sync(dec, values) -> None:
    """Each value updates the other side's object it stands for in place as it is decoded (the student's
    own objects in ``sync``, the judge's copies in ``resync``)."""
    if not isinstance(values, list) or len(values) > 100_000:
        raise ProtocolError("sync and resync must be lists of values")
    for v in values:
        dec(v)
