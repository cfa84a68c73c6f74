"""Values as data between the judge and the student's kernel (see wire.py for the messages).

A value is a list ``[tag, ...]``:

* plain data: ``N`` None, ``B`` bool, ``I`` int, ``BI`` a large int as text (up to 4300 digits; a larger
  one is a handle), ``F`` float, ``C`` complex, ``S`` str, ``Y`` bytes, ``L``/``T``/``SET``/``FS``
  list/tuple/set/frozenset, ``D`` dict (pairs), ``RG`` a range (start, stop, step: ``I``/``BI`` values);
* of the standard library, rebuilt exactly (the same type, equal, hashing the same): ``DEC`` a
  ``decimal.Decimal`` (its exact text, NaN/Infinity/sign kept, read whatever the context), ``FR`` a
  ``fractions.Fraction`` (numerator, denominator in lowest terms: ``I``/``BI`` values), ``DATE`` a
  ``datetime.date`` (year, month, day), ``DTM`` a ``datetime.datetime`` (its 7 fields, fold, tzinfo),
  ``TIME`` a ``datetime.time`` (4 fields, fold, tzinfo), ``TD`` a ``datetime.timedelta`` (days, seconds,
  microseconds), ``TZ`` a ``datetime.timezone`` (its offset as ``TD``, its name or ``N``): a tzinfo is
  ``N`` or ``TZ`` (any other tzinfo, of rules, makes the datetime a handle); ``NT`` a namedtuple
  (``collections.namedtuple`` or ``typing.NamedTuple``, nothing added: type name, field names, module,
  qualified name, items), rebuilt as an instance of a namedtuple class made by the receiver, one per
  sender's class (no code of the sender's: its methods are namedtuple's own);
* arrays: ``TEN`` a tensor (dtype, shape, bytes, requires_grad, device, grad, parameter?), rebuilt as a
  plain ``torch.Tensor`` (or ``nn.Parameter``); ``ND`` a NumPy array of a numeric, boolean or fixed-width
  str/bytes dtype, ``NDS`` one of a structured dtype (its fields' names, dtypes, subarray shapes
  and offsets, itemsize, alignment; fields of objects, datetimes or with titles make it a handle);
  ``NS`` a NumPy scalar of a numeric or boolean dtype,
  ``NU``/``NB`` a ``numpy.str_``/``numpy.bytes_`` (any other NumPy scalar is a handle); ``DT`` a torch
  dtype, ``NDT`` a NumPy dtype (of an ``ND`` array), ``DEV`` a device, ``SZ`` a ``torch.Size``, ``SL``
  a slice, ``EL`` Ellipsis, ``NI`` NotImplemented;
* pandas (sent only where pandas is imported; the receiver imports it when one arrives): ``PDS`` a Series
  (length, column, index, name), ``PDF`` a DataFrame (rows, columns' values, the columns as an index, the
  index), ``PDI`` an Index (length, column, name, freq: ``N`` or ``["S", its text]``; a DatetimeIndex,
  TimedeltaIndex or CategoricalIndex by its dtype), ``PRI`` a RangeIndex (start, stop, step, name); a column
  is ``["A", dtype, bytes]`` (a NumPy dtype of an allow-list: ints, uints, float32/64, bool, complex,
  datetime64/timedelta64 in s/ms/us/ns, native order), ``["O", items]`` (objects: each ``N``/``B``/``I``/
  ``F``/``S``), ``["STR", storage, NaN for missing?, items]`` (pandas's str dtype: ``S`` or ``N``), ``["CAT",
  ordered, categories (an index), codes' dtype, codes' bytes]``; a name is ``N``/``B``/``I``/``F``/``S``/``NS``;
  an index inside a Series or DataFrame has no memo index. Any other pandas object (a MultiIndex, a tz-aware,
  nullable, period or sparse dtype, objects of other types, attrs or flags, a subclass) is a handle;
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
