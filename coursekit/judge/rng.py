"""The generators and gradient mode that cross with every call (and at each judge cell's start and end):
Python's ``random``, NumPy's legacy global generator, torch's CPU generator, ``torch.is_grad_enabled()``.

NumPy's own accessors of its legacy generator (``np.random.get_state``/``set_state``) copy the 624
words of the Mersenne Twister one by one (about 0.1 ms each way, four times per call). Here its state is
read directly, exactly and in microseconds: the twister's words and position from the bit generator's
state struct (``BitGenerator.ctypes.state_address``), the cached Gaussian (``has_gauss``, ``gauss``)
from the ``RandomState`` object, at the offset found once on a scratch ``RandomState`` by setting known
values. It is set with ``set_state`` only where it differs. Where either read cannot be checked against
``get_state`` (another NumPy, another interpreter), ``get_state``/``set_state`` are used every time.
"""
from __future__ import annotations

import ctypes
import random
import struct

from ._lazy import has_numpy, has_torch, np, torch
from .wire import ProtocolError

_MT_BYTES = 624 * 4 + 4           # mt19937_state: uint32 key[624]; int pos
_fast: dict = {}                  # "reader": a function giving the state as data, or None (the slow way)


def _gauss_offset(cls) -> int | None:
    """Where a RandomState keeps ``gauss`` (``has_gauss``, an int, 8 bytes before), found on scratch objects."""
    size = cls.__basicsize__
    found = None
    for has_gauss, value in ((1, 1.2345678901234567e-5), (0, -9876.54321), (1, 3.5e300)):
        probe = cls(0)
        probe.set_state(("MT19937", np.arange(624, dtype=np.uint32), 624, has_gauss, value))
        memory = ctypes.string_at(id(probe), size)
        needle = struct.pack("=d", value)
        hits = {i for i in range(8, size - 7, 8) if memory[i:i + 8] == needle
                and int.from_bytes(memory[i - 8:i - 4], "little") == has_gauss}
        found = hits if found is None else found & hits
    return found.pop() if found is not None and len(found) == 1 else None


def _make_reader():
    rand = np.random.get_state.__self__       # the legacy generator np.random's functions use
    address = int(rand._bit_generator.ctypes.state_address)
    offset = _gauss_offset(type(rand))
    if offset is None:
        return None
    base = id(rand) + offset - 8

    def read() -> list:
        raw = ctypes.string_at(address, _MT_BYTES)
        aug = ctypes.string_at(base, 16)
        return [raw[:-4], int.from_bytes(raw[-4:], "little", signed=True), int.from_bytes(aug[:4], "little"),
                struct.unpack("=d", aug[8:])[0]]
    kind, keys, pos, has_gauss, cached = rand.get_state(legacy=True)
    if read() != [keys.astype("<u4").tobytes(), int(pos), int(has_gauss), float(cached)]:
        return None
    return read


def _reader():
    if "reader" not in _fast:
        try:
            _fast["reader"] = _make_reader() if struct.pack("=I", 1) == struct.pack("<I", 1) else None
        except Exception:  # noqa: BLE001 - NumPy's own accessors then
            _fast["reader"] = None
    return _fast["reader"]


def _numpy_state() -> list:
    if _reader() is not None:
        return _fast["reader"]()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    return [keys.tobytes(), int(pos), int(has_gauss), float(cached)]


def _set_numpy_state(state: list) -> None:
    keys, pos, has_gauss, cached = state
    if _reader() is not None and _fast["reader"]() == [keys, pos, has_gauss, cached] \
            and type(pos) is int and type(has_gauss) is int and type(cached) is float:
        return                         # the generator is in that state already
    np.random.set_state(("MT19937", np.frombuffer(keys, dtype=np.uint32), int(pos), int(has_gauss), float(cached)))


def _rng_state() -> dict:
    """This process's random generators and gradient mode (torch's and NumPy's only where loaded)."""
    version, internal, gauss = random.getstate()
    state = {"random": [int(version), list(internal), gauss], "torch": None, "numpy": None, "grad": True}
    if has_numpy():
        state["numpy"] = _numpy_state()
    if has_torch():
        state["torch"] = torch.get_rng_state().numpy().tobytes()
        state["grad"] = torch.is_grad_enabled()
    return state


def _set_rng_state(state: dict) -> None:
    try:
        t, n, grad = state["torch"], state["numpy"], state["grad"]
        version, internal, gauss = state["random"]
        if not (isinstance(grad, bool) and isinstance(internal, list) and len(internal) == 625
                and set(map(type, internal)) <= {int} and (t is None or isinstance(t, bytes))
                and (n is None or isinstance(n, list) and len(n) == 4 and isinstance(n[0], bytes)
                     and len(n[0]) == 624 * 4)):
            raise ValueError("types")
        random.setstate((int(version), tuple(internal), gauss if isinstance(gauss, float) else None))
        if n is not None and has_numpy():
            _set_numpy_state(n)
        if t is not None and has_torch():
            torch.set_rng_state(torch.frombuffer(bytearray(t), dtype=torch.uint8))
        if has_torch():
            torch.set_grad_enabled(grad)
    except ProtocolError:
        raise
    except Exception as exc:
        raise ProtocolError(f"a malformed generator state ({type(exc).__name__})") from None
