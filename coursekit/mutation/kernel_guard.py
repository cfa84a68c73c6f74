"""Runs INSIDE the notebook's kernel: puts the kernel back where it was before a mutant ran.

Each mutant of an exercise must meet the state the real solution meets. A mutant (or the tests it
makes fail half-way) can leave things behind: new or rebound global names, a global model trained
or left in train mode, a loss function whose ``reduction`` was changed, a global tensor changed in
place, ``torch.set_grad_enabled(False)``, consumed random numbers, a changed working directory.
``snapshot()`` records all of that when the exercise is reached; ``restore()`` undoes it after every
mutant and reports what it had to repair. Objects are repaired *in place* (tensor values copied
back, a module's parameters, flags and simple attributes reset, an optimizer's state reloaded,
lists and dicts refilled), so every other object that refers to them still does. Objects of other
kinds are only re-bound to their names.

The runner sends this file's source to the kernel and calls ``make_guard(user_ns)`` when it reaches an
exercise; it imports nothing from the course kit, so the student library never sees the kit.
"""
import copy
import os
import random
import sys
import zlib

_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}
_SIMPLE = (int, float, str, bool, type(None), tuple)


def make_guard(ns):
    """A guard over the namespace ``ns``; it looks after torch and NumPy when the notebook has
    imported them (made at each exercise, so it never imports anything itself)."""
    torch = sys.modules.get("torch")
    numpy = sys.modules.get("numpy")

    def public(name):
        return not name.startswith("_") and name not in _IPYTHON_NAMES

    def tensor_print(t):
        grad = t.grad
        return (t._version, t.requires_grad, tuple(t.shape), t.dtype, t.device,
                None if grad is None else (id(grad), grad._version))

    def module_print(m):
        tensors = tuple((name, id(t), tensor_print(t)) for name, t in
                        list(m.named_parameters(recurse=True)) + list(m.named_buffers(recurse=True)))
        flags = tuple((id(sub), sub.training) for sub in m.modules())
        attrs = tuple(sorted((id(sub), key, repr(value)) for sub in m.modules()
                             for key, value in vars(sub).items()
                             if not key.startswith("_") and isinstance(value, _SIMPLE)))
        return tensors, flags, attrs

    def optimizer_print(o):
        groups = tuple(tuple(sorted((k, repr(v)) for k, v in g.items() if k != "params")) for g in o.param_groups)
        state = tuple((id(p), tuple((k, id(v), getattr(v, "_version", repr(v))) for k, v in s.items()))
                      for p, s in o.state.items())
        return groups, state

    def array_print(a):
        if a.nbytes > 50_000_000:
            return (a.shape, a.dtype.str, a.ctypes.data)
        return (a.shape, a.dtype.str, zlib.crc32(a.tobytes()))

    class Kind:
        def __init__(self, check, fingerprint, save, restore):
            self.check, self.fingerprint, self.save, self.restore = check, fingerprint, save, restore

    kinds = []
    if torch is not None:
        def save_tensor(t):
            return (t.detach().clone(), t.requires_grad, None if t.grad is None else t.grad.detach().clone())

        def restore_tensor(t, saved):
            value, requires_grad, grad = saved
            with torch.no_grad():
                if t.shape == value.shape and t.dtype == value.dtype:
                    t.copy_(value)
                else:
                    t.data = value.clone()
            if t.is_leaf:
                t.requires_grad_(requires_grad)
                t.grad = None if grad is None else grad.clone()

        def save_module(m):
            return {
                "tensors": {name: (t, save_tensor(t)) for name, t in
                            list(m.named_parameters(recurse=True)) + list(m.named_buffers(recurse=True))},
                "flags": [(sub, sub.training) for sub in m.modules()],
                "attrs": [(sub, {k: v for k, v in vars(sub).items() if not k.startswith("_") and isinstance(v, _SIMPLE)})
                          for sub in m.modules()],
                "structure": {id(sub): {key: dict(vars(sub).get(key) or {})
                                        for key in ("_modules", "_parameters", "_buffers")}
                              for sub in m.modules()},
            }

        def restore_module(m, saved):
            # submodules, parameters and buffers as they were (a mutant may have replaced some)
            for sub, _ in saved["flags"]:
                original = saved["structure"][id(sub)]
                for key, before in original.items():
                    current = sub.__dict__.get(key)
                    if current is not None and {k: id(v) for k, v in current.items()} != \
                            {k: id(v) for k, v in before.items()}:
                        current.clear()
                        current.update(before)
            # simple public attributes (reduction, in_features, training ...) as they were
            for sub, attrs in saved["attrs"]:
                for key in [k for k, v in vars(sub).items() if not k.startswith("_") and k not in attrs
                            and isinstance(v, _SIMPLE)]:
                    del sub.__dict__[key]
                sub.__dict__.update(attrs)
            for sub, training in saved["flags"]:
                sub.training = training
            for name, (t, state) in saved["tensors"].items():
                restore_tensor(t, state)

        def save_optimizer(o):
            return copy.deepcopy(o.state_dict())

        def restore_optimizer(o, saved):
            o.load_state_dict(copy.deepcopy(saved))

        kinds += [
            Kind(lambda v: isinstance(v, torch.Tensor) and type(v) in (torch.Tensor, torch.nn.Parameter),
                 tensor_print, save_tensor, restore_tensor),
            Kind(lambda v: isinstance(v, torch.nn.Module), module_print, save_module, restore_module),
            Kind(lambda v: isinstance(v, torch.optim.Optimizer), optimizer_print, save_optimizer, restore_optimizer),
        ]
    if numpy is not None:
        def restore_array(a, saved):
            if a.shape == saved.shape and a.flags.writeable:
                a[...] = saved

        kinds.append(Kind(lambda v: isinstance(v, numpy.ndarray), array_print, lambda a: a.copy(), restore_array))

    def restore_list(lst, saved):
        lst[:] = saved

    def restore_dict(d, saved):
        d.clear()
        d.update(saved)

    kinds += [
        Kind(lambda v: type(v) is list, lambda v: (len(v), tuple(map(id, v))), list, restore_list),
        Kind(lambda v: type(v) is dict, lambda v: (len(v), tuple((k, id(x)) for k, x in v.items())), dict,
             restore_dict),
    ]

    def kind_of(value):
        for kind in kinds:
            try:
                if kind.check(value):
                    return kind
            except Exception:
                return None
        return None

    class Guard:
        def snapshot(self):
            self.bindings = {k: v for k, v in ns.items() if public(k)}
            self.watched = {}
            for name, value in self.bindings.items():
                kind = kind_of(value)
                if kind is None:
                    continue
                try:
                    self.watched[name] = (kind, kind.fingerprint(value), kind.save(value))
                except Exception:
                    pass
            self.cwd = os.getcwd()
            self.random = random.getstate()
            self.numpy = numpy.random.get_state() if numpy is not None else None
            if torch is not None:
                self.torch_rng = torch.get_rng_state()
                self.torch_flags = (torch.is_grad_enabled(), torch.get_default_dtype(),
                                    torch.is_anomaly_enabled(), torch.get_num_threads())
            return len(self.watched)

        def restore(self):
            """Undo everything since snapshot(); return what had to be repaired (names and flags)."""
            repaired = []
            for name in [k for k in ns if public(k) and k not in self.bindings]:
                del ns[name]
            for name, value in self.bindings.items():
                if ns.get(name, self) is not value:
                    ns[name] = value
            for name, (kind, fingerprint, saved) in self.watched.items():
                value = self.bindings[name]
                try:
                    if kind.fingerprint(value) == fingerprint:
                        continue
                    kind.restore(value, saved)
                    self.watched[name] = (kind, kind.fingerprint(value), saved)
                    repaired.append(name)
                except Exception as err:      # report, never stop the run
                    repaired.append(f"{name} (could not restore: {type(err).__name__}: {err})")
            if os.getcwd() != self.cwd:
                os.chdir(self.cwd)
                repaired.append("working directory")
            random.setstate(self.random)
            if numpy is not None:
                numpy.random.set_state(self.numpy)
            if torch is not None:
                torch.set_rng_state(self.torch_rng)
                grad, dtype, anomaly, threads = self.torch_flags
                now = (torch.is_grad_enabled(), torch.get_default_dtype(), torch.is_anomaly_enabled(),
                       torch.get_num_threads())
                for label, before, after in zip(("torch grad mode", "torch default dtype", "torch anomaly mode",
                                                 "torch thread count"), self.torch_flags, now):
                    if before != after:
                        repaired.append(label)
                torch.set_grad_enabled(grad)
                torch.set_default_dtype(dtype)
                torch.set_anomaly_enabled(anomaly)
                if threads != torch.get_num_threads():
                    torch.set_num_threads(threads)
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close("all")
            return repaired

    return Guard()
