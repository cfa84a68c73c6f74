"""What a call did to the objects that crossed by value in its arguments: a snapshot before, the change
after, the new state as data, written back into the caller's own objects."""
from __future__ import annotations

from ._lazy import is_array, is_module, is_optimizer, is_tensor, np, torch
from .values import Encoder, NotData
from .wire import ProtocolError


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

