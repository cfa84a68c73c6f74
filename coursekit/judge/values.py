"""Values as data between the judge and the student's kernel (see wire.py for the messages).

A value is a list ``[tag, ...]``:

* plain data: ``N`` None, ``B`` bool, ``I`` int, ``BI`` a large int as text, ``F`` float, ``C`` complex,
  ``S`` str, ``Y`` bytes, ``L``/``T``/``SET``/``FS`` list/tuple/set/frozenset, ``D`` dict (pairs);
* arrays: ``TEN`` a tensor (dtype, shape, bytes, requires_grad, device, grad, parameter?), rebuilt as a
  plain ``torch.Tensor`` (or ``nn.Parameter``); ``ND`` a NumPy array of a numeric or boolean dtype;
  ``NS`` a NumPy scalar; ``DT`` a torch dtype, ``NDT`` a NumPy dtype, ``DEV`` a device, ``SZ`` a
  ``torch.Size``, ``SL`` a slice, ``EL`` Ellipsis, ``NI`` NotImplemented;
* by name, resolved by the receiver in its own imports: ``MODREF`` a Python module, ``FN`` a function
  or class of an allowed library (``torch``, ``numpy``, ``math`` ...), sent only when the name
  leads to the very same object on the sender's side;
* by description, rebuilt by the receiver from data: ``MOD`` an ``nn.Module`` whose every class is
  one of ``torch.nn``'s or the checks' instruments (``utils.checks.instruments``), with its plain
  attributes, parameters, buffers and children; ``OPT`` a ``torch.optim`` optimizer; ``DL`` a
  ``DataLoader`` over a ``TensorDataset`` (``TDS``) or a ``Subset`` (``SUB``);
* ``H`` a handle: any other object stays where it is and the receiver gets a proxy
  (``peer.Remote``) whose use becomes a request; ``REF`` an object sent earlier in the same message
  (shared objects stay shared), ``ARG`` an object the receiver itself sent in the request being
  answered (``return model`` gives the caller its own model back).

Every decoded value is checked: known tags, types, sizes within ``wire``'s caps, byte counts that
match dtype and shape, classes only from the allowed lists. Nothing is unpickled or evaluated.
"""
from __future__ import annotations

from .decode import Decoder
from .encode import Encoder
from .names import INSTRUMENTS, LIBRARIES, NotData, by_name, module_class, tensor_class

__all__ = ["INSTRUMENTS", "LIBRARIES", "Decoder", "Encoder", "NotData", "by_name", "module_class", "tensor_class"]
