"""Objects of the other end (:class:`Remote`, and :class:`RemoteModule` for a student's own
``nn.Module`` subclass in the judge), and ``_RemoteGrad``, built on torch's autograd, which joins a remote
call's outputs to the caller's graph."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import torch
from .errors import rebuild_error
from .values import Decoder, Encoder

if TYPE_CHECKING:
    from .peer import Peer


_CLASSES: dict = {}


def _torch_classes() -> dict:
    """The classes built on torch's (made on first use: see _lazy)."""
    if "RemoteGrad" in _CLASSES:
        return _CLASSES

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

    _CLASSES.update(RemoteGrad=_RemoteGrad)
    return _CLASSES


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
        __tracebackhide__ = True      # (the student's error, as a test cell shows it: not the protocol's frames)
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
    __tracebackhide__ = True
    if reply["op"] == "error":
        raise rebuild_error(reply["error"], peer)
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
            # (made while a reply is decoded: read without first sending a test cell's changes, see Peer.request)
            reply = peer.request("getattr", changes_first=False, target=hid, name="training")
            object.__setattr__(self, "training", bool(_value(reply, peer)))

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
