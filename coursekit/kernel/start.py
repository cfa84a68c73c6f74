"""Start one student kernel for grading, with the integrity guard installed before any student code.

Runs inside the kernel's own sandbox as ``python -I kernel_start.py -f CONNECTION_FILE`` (``-I``: no
current folder, no user site, no PYTHON* variables on sys.path), so it imports only the standard
library, IPython/ipykernel and the guarded modules. It is bound into the sandbox as a single file;
the rest of ``coursekit`` is not visible there. Settings come as JSON in ``$COURSEKIT_KERNEL``.

What it does, in order:

1. resource limits that cannot be raised again: file size, core dumps, and (only where no cgroup
   counts memory) the address space;
2. imports the guarded modules (``utils.checks`` and what it needs, torch, numpy, math) and
   snapshots them: their attributes, the code of their Python functions, the methods of their
   Python classes, ``builtins``, ``sys.modules``, ``sys.path``, the import machinery, IPython's
   input transformers, exception handlers and event callbacks;
3. an audit hook (it cannot be removed) that records ctypes, tracing, new processes and changes
   to guarded classes made from student code;
4. starts the IPython kernel, without IPython's SQLite history (``--HistoryManager.enabled=False``: no
   database, no saving thread; ``In``/``Out`` and ``_i`` work as usual) and without the second,
   stored copy of each traceback that only ``%notebook`` reads (``_stored_exception``): a grading
   kernel is thrown away once its notebook has run, and these cost about 0.07 CPU-s per submission.

Before each graded cell the grader runs ``__kit_guard__.check(nonce, names)`` (a cell it inserts):
everything snapshotted is put back, processes and threads the student left running are reported,
and what was found is published as a ``application/x-coursekit-guard+json`` output. After the graded
cell a trusted ``post_run_cell`` callback publishes whether the cell ran to its end without an
exception; the grader counts a graded cell only with that proof. Both outputs are removed from the
notebook before anyone sees it.
"""
import json
import os
import resource
import sys
import types

MIME = "application/x-coursekit-guard+json"
ALIASES = {"np": "numpy", "nn": "torch.nn", "F": "torch.nn.functional", "torch": "torch", "numpy": "numpy",
           "math": "math", "utils": "utils"}
HEAPTYPE = 1 << 9
WATCHED_EVENTS = frozenset({
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.cdata", "ctypes.cdata/buffer",
    "ctypes.addressof", "ctypes.call_function", "ctypes.create_string_buffer", "ctypes.string_at",
    "ctypes.wstring_at", "ctypes.set_errno", "ctypes.seh_exception", "ctypes.get_errno",
    "sys.settrace", "sys.setprofile", "sys.addaudithook", "object.__setattr__", "object.__delattr__",
    "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system", "subprocess.Popen",
    "os.kill", "os.killpg", "sys._current_frames", "gc.get_referrers", "gc.get_referents", "gc.get_objects",
    "sys.setrecursionlimit"})
KERNEL_MANAGED = frozenset({"input", "raw_input", "getpass", "exit", "quit", "get_ipython", "display",
                            "__IPYTHON__", "help"})
REPORTED_PROCESS_EVENTS = ("os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system",
                           "subprocess.Popen")


def _settings() -> dict:
    try:
        return json.loads(os.environ.pop("COURSEKIT_KERNEL", "{}"))
    except ValueError:
        return {}


def _limits(cfg: dict) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in (("fsize", resource.RLIMIT_FSIZE), ("address_space", resource.RLIMIT_AS),
                       ("nproc", resource.RLIMIT_NPROC)):
        value = int(cfg.get(key) or 0)
        if value > 0:
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):
                pass


class Guard:
    """Snapshot of what graded cells rely on, and the checks run before and after each of them."""

    def __init__(self, cfg: dict):
        self.trusted_prefixes = tuple(p for p in cfg.get("trusted_paths", []) if p)
        self.own_pid_namespace = bool(cfg.get("own_pid_namespace"))
        import sysconfig
        self.stdlib = (os.path.realpath(sysconfig.get_paths()["stdlib"]) + "/", "<frozen")
        self.events: list[str] = []
        self.process_notes: list[str] = []
        self.pending = None          # (nonce of the done marker, cells to skip)
        self.shell = None
        self.my_pid = os.getpid()
        import builtins
        import importlib
        import threading
        self._builtins = builtins
        self._threading = threading
        for name in cfg.get("guarded_modules", []):
            try:
                importlib.import_module(name)
            except Exception:  # a guarded module that is absent is simply not guarded
                pass
        prefixes = tuple(cfg.get("guarded_modules", []))
        # a warm kernel (coursekit/warm/sandboxed.py) was forked with more of utils loaded: its guard
        # takes only what a cold kernel's has at this point
        scope = cfg.get("utils_scope")
        self.modules = {n: m for n, m in sys.modules.items()
                        if m is not None and (n in prefixes or ((n == "utils" or n.startswith("utils."))
                                                                and (scope is None or n in scope)))}
        self.all_modules = dict(sys.modules)
        self.module_dicts = {n: dict(vars(m)) for n, m in self.modules.items()}
        # the student library's module-level settings (tolerances, tables) are restored by value too
        self.module_data = {(n, k): _data_copy(v) for n, d in self.module_dicts.items() if n.split(".")[0] == "utils"
                            for k, v in d.items() if not k.startswith("__")}
        self.builtins_dict = dict(vars(builtins))
        self.functions = {}
        self.classes = {}
        for mod_name, d in self.module_dicts.items():
            for value in d.values():
                self._remember(value)
        self.guarded_ids = {id(m) for m in self.modules.values()} | {id(c) for c in self.classes}
        self.known_ids = {id(v) for d in self.module_dicts.values() for v in d.values() if callable(v)}
        self.threads_at_start = {t.ident for t in threading.enumerate()}

    # -- snapshot -------------------------------------------------------------------------
    def _remember(self, value) -> None:
        if isinstance(value, types.FunctionType) and value not in self.functions:
            self.functions[value] = _function_state(value)
        elif isinstance(value, type) and (value.__flags__ & HEAPTYPE) and value not in self.classes:
            module = getattr(value, "__module__", "") or ""
            if module.split(".")[0] in ("utils", "torch", "numpy", "IPython", "ipykernel"):
                self.classes[value] = dict(vars(value))
                for attr in list(vars(value).values()):
                    fn = getattr(attr, "__func__", attr)
                    if isinstance(fn, types.FunctionType) and fn not in self.functions:
                        self.functions[fn] = _function_state(fn)

    def attach(self, shell, kernel) -> None:
        """Snapshot the IPython shell and kernel once they exist (before any cell runs)."""
        self.shell, self.kernel = shell, kernel
        # IPython replaced __main__, sys.displayhook and the like while it started: snapshot now
        self.all_modules = dict(sys.modules)
        self.sys_state = {k: list(getattr(sys, k)) for k in ("path", "meta_path", "path_hooks")}
        self.sys_hooks = {k: getattr(sys, k) for k in ("breakpointhook",)}
        for obj in (shell, kernel, shell.display_pub):
            for klass in type(obj).__mro__:
                if klass is not object:
                    self._remember(klass)
        self.shell_attrs = dict(vars(shell))
        self.kernel_attrs = dict(vars(kernel))
        self.pub_attrs = dict(vars(shell.display_pub))
        self.transformers = {
            "input_transformers_cleanup": list(shell.input_transformers_cleanup),
            "input_transformers_post": list(shell.input_transformers_post),
            "ast_transformers": list(shell.ast_transformers),
        }
        mgr = shell.input_transformer_manager
        self.manager = (mgr, list(mgr.cleanup_transforms), list(mgr.line_transforms), list(mgr.token_transformers))
        self.callbacks = {name: list(cbs) for name, cbs in shell.events.callbacks.items()}
        self.custom = (shell.custom_exceptions, shell.CustomTB)
        self.publish = type(shell.display_pub).publish
        self.pub = shell.display_pub
        self.user_builtins = shell.user_ns.get("__builtins__")
        self.builtins_dict = dict(vars(self._builtins))
        # names IPython itself puts in the notebook's namespace over a builtin (its own open()): the
        # notebook's value at start, which the tests may use as it is
        self.initial_names = {n: v for n, v in shell.user_ns.items() if n in self.builtins_dict}
        self.cell_prefix = None
        shell.events.register("post_run_cell", self._post_run_cell)
        self.callbacks["post_run_cell"] = list(shell.events.callbacks["post_run_cell"])
        self.post_run_cell = self._post_run_cell
        self.builtins_dict["__kit_guard__"] = self
        self._builtins.__kit_guard__ = self
        self.threads_at_start = {t.ident for t in self._threading.enumerate()}

    # -- who is calling -------------------------------------------------------------------
    def _student_frame(self, frame) -> str | None:
        """The file of the first frame outside ctypes and this guard, when it is not trusted code."""
        while frame is not None:
            filename = frame.f_code.co_filename
            if "/ctypes/" in filename or filename.startswith("<frozen"):
                frame = frame.f_back
                continue
            if filename == __file__ or filename.startswith(self.trusted_prefixes):
                return None
            return filename
        return None

    def audit(self, event: str, args) -> None:
        if event not in WATCHED_EVENTS:
            return
        if event.startswith(REPORTED_PROCESS_EVENTS):     # by the notebook, through any library
            try:   # the first caller outside the standard library (a library's own processes are fine)
                frame = sys._getframe(1)
                while frame is not None and (frame.f_code.co_filename == __file__ or
                                             frame.f_code.co_filename.startswith(self.stdlib)):
                    frame = frame.f_back
            except Exception:
                return
            if frame is not None and self._student_code(frame.f_code) and len(self.process_notes) < 10:
                note = f"the notebook started a process ({event})"
                if note not in self.process_notes:
                    self.process_notes.append(note)
            return
        try:
            where = self._student_frame(sys._getframe(1))
        except Exception:
            return
        if where is None:
            return
        if event in ("object.__setattr__", "object.__delattr__"):
            target = args[0] if args else None
            if id(target) in self.guarded_ids or (isinstance(target, types.FunctionType) and target in self.functions):
                self._event(f"changed {getattr(target, '__qualname__', type(target).__name__)}.{args[1]}")
            return
        if event == "sys.addaudithook":
            self._event("tried to add an audit hook")
            raise RuntimeError("audit hooks are not available while grading")
        if event.startswith(REPORTED_PROCESS_EVENTS):
            return
        if event == "sys.setrecursionlimit":
            return
        self._event(f"used {event.split('/')[0]}")

    def _event(self, text: str) -> None:
        if text not in self.events and len(self.events) < 50:
            self.events.append(text)

    # -- before a graded cell -------------------------------------------------------------
    def check(self, nonce: str, names=(), done: str = "") -> None:
        found: list[str] = []
        notes: list[str] = []
        for step in (self._threads, self._processes, self._stop_tracing, self._restore_ipython, self._restore_sys,
                     self._restore_builtins, self._restore_modules, self._restore_functions, self._restore_classes,
                     lambda f: self._restore_names(f, notes, names)):
            try:
                step(found)
            except Exception as exc:  # the student broke something the guard relies on
                found.append(f"the integrity check itself failed ({getattr(step, '__name__', 'step')}: "
                             f"{type(exc).__name__}: {str(exc)[:100]})")
        found += [e for e in self.events if e not in found]
        self.events.clear()
        notes += self.process_notes
        self.process_notes = []
        self.pending = [done, 1] if done else None
        self._publish({"guard": nonce, "found": found, "notes": notes})

    def _publish(self, payload: dict) -> None:
        try:
            self.publish(self.pub, data={MIME: payload, "text/plain": ""}, metadata={})
        except Exception:
            pass

    def _post_run_cell(self, result) -> None:
        if not self.pending:
            return
        if self.pending[1] > 0:   # the guard cell itself
            self.pending[1] -= 1
            return
        done, self.pending = self.pending[0], None
        ok = result.error_before_exec is None and result.error_in_exec is None
        self._publish({"done": done, "ok": bool(ok)})

    def _restore_ipython(self, found: list) -> None:
        shell = self.shell
        for name, original in self.transformers.items():
            current = getattr(shell, name)
            if list(current) != original:
                found.append(f"IPython {name} were changed")
                try:
                    current[:] = original          # some are properties of the transformer manager
                except TypeError:
                    setattr(shell, name, list(original))
        mgr, cleanup, line, token = self.manager
        if shell.input_transformer_manager is not mgr:
            found.append("IPython's input transformer manager was replaced")
            shell.input_transformer_manager = mgr
        for attr, original in (("cleanup_transforms", cleanup), ("line_transforms", line),
                               ("token_transformers", token)):
            if list(getattr(mgr, attr)) != original:
                found.append(f"IPython {attr} were changed")
            setattr(mgr, attr, list(original))
        if (shell.custom_exceptions, shell.CustomTB) != self.custom:
            found.append("a custom exception handler was set (set_custom_exc)")
            shell.custom_exceptions, shell.CustomTB = self.custom
        for obj, attrs, what in ((shell, self.shell_attrs, "the IPython shell"),
                                 (self.kernel, self.kernel_attrs, "the kernel"),
                                 (self.pub, self.pub_attrs, "the display publisher")):
            # a method shadowed on the instance (e.g. shell.showtraceback = ...): put the original back
            current = vars(obj)
            for name in list(current):
                if current[name] is attrs.get(name, _MISSING) or not callable(getattr(type(obj), name, None)):
                    continue
                found.append(f"{what}'s {name} was replaced")
                if name in attrs:
                    current[name] = attrs[name]
                else:
                    del current[name]
        if shell.display_pub is not self.pub:
            found.append("the display publisher was replaced")
            shell.display_pub = self.pub
        for event, original in self.callbacks.items():
            current = shell.events.callbacks.get(event, [])
            extra = [cb for cb in current if cb not in original and self._student_code(cb)]
            if extra or any(cb not in current for cb in original):
                found.append(f"IPython '{event}' callbacks were changed")
                shell.events.callbacks[event] = [cb for cb in current if cb not in extra] + \
                    [cb for cb in original if cb not in current]

    def _student_code(self, obj, depth: int = 0) -> bool:
        """Whether obj (a function, method, class or instance) comes from code outside the trusted
        installation (a notebook cell, a file the student wrote)."""
        if isinstance(obj, type):
            module = sys.modules.get(getattr(obj, "__module__", "") or "")
            filename = getattr(module, "__file__", None) or ""
            return obj.__module__ == "__main__" and filename != __file__ or \
                not (filename == __file__ or filename.startswith(self.trusted_prefixes) or module is self._builtins)
        fn = getattr(obj, "__func__", obj)
        code = fn if isinstance(fn, types.CodeType) else getattr(fn, "__code__", None)
        if code is not None:
            return not (code.co_filename == __file__ or code.co_filename.startswith(self.trusted_prefixes))
        if isinstance(fn, (types.BuiltinFunctionType, types.BuiltinMethodType)):
            return False
        return depth == 0 and self._student_code(type(obj), 1)

    def _restore_sys(self, found: list) -> None:
        for name, original in self.sys_state.items():
            current = list(getattr(sys, name))
            if current == original:
                continue
            extra = [x for x in current if x not in original]
            if name != "path" and (any(self._student_code(type(x)) for x in extra) or
                                   any(x not in current for x in original)):
                found.append(f"sys.{name} was changed")
                setattr(sys, name, list(original) + [x for x in extra if not self._student_code(type(x))])
            elif name == "path":
                sys.path[:] = original
        for name, original in self.sys_hooks.items():
            if getattr(sys, name) is not original:
                found.append(f"sys.{name} was replaced")
                setattr(sys, name, original)
        for name, module in self.all_modules.items():
            if sys.modules.get(name) is not module:
                found.append(f"sys.modules['{name}'] was replaced or removed")
                sys.modules[name] = module

    def _restore_builtins(self, found: list) -> None:
        current = vars(self._builtins)
        for name, value in self.builtins_dict.items():
            now = current.get(name, _MISSING)
            if now is value:
                continue
            if name in KERNEL_MANAGED and (now is _MISSING or not self._student_code(now)):
                continue      # IPython hides exit/quit and swaps input() around each execution
            found.append(f"builtins.{name} was replaced")
            current[name] = value
        ns = self.shell.user_ns
        if ns.get("__builtins__") is not self.user_builtins:
            found.append("the notebook's __builtins__ was replaced")
            ns["__builtins__"] = self.user_builtins

    def _suspicious(self, old, new, strict: bool) -> bool:
        """Whether replacing ``old`` by ``new`` is the notebook's doing. Libraries rebind some of their
        own functions lazily (torch._dynamo wraps torch.manual_seed): a new value from trusted code
        that is not simply another guarded object is accepted, except in the student library."""
        if strict or new is _MISSING:
            return True
        if callable(old) and not callable(new):
            return True
        return self._student_code(new) or id(new) in self.known_ids

    def _restore_modules(self, found: list) -> None:
        for name, snapshot in self.module_dicts.items():
            current = vars(self.modules[name])
            strict = name.split(".")[0] == "utils"
            for attr, value in list(snapshot.items()):
                now = current.get(attr, _MISSING)
                if now is value:
                    continue
                guarded = callable(value) or isinstance(value, types.ModuleType) or attr == "__builtins__" \
                    or (name, attr) in self.module_data
                if guarded and not self._suspicious(value, now, strict):
                    snapshot[attr] = now          # the library's own doing
                    continue
                if guarded:
                    found.append(f"{name}.{attr} was replaced")
                    current[attr] = value
        for (name, attr), copy_ in self.module_data.items():
            if copy_ is None:
                continue
            current = vars(self.modules[name])
            try:
                same = current.get(attr) == copy_
            except Exception:
                same = False
            if not same:
                found.append(f"{name}.{attr} was changed")
                import copy
                current[attr] = copy.deepcopy(copy_)

    def _restore_functions(self, found: list) -> None:
        for fn, state in self.functions.items():
            if _function_state(fn) != state:
                found.append(f"the code of {getattr(fn, '__module__', '?')}.{fn.__qualname__} was changed")
                fn.__code__, fn.__defaults__ = state[0], state[1]
                fn.__kwdefaults__ = dict(state[2]) if state[2] is not None else None

    def _restore_classes(self, found: list) -> None:
        for klass, snapshot in self.classes.items():
            current = vars(klass)
            for attr, value in list(snapshot.items()):
                now = current.get(attr, _MISSING)
                if now is not value and (callable(value) or hasattr(value, "__get__")):
                    if not self._suspicious(value, now, klass.__module__.split(".")[0] == "utils"):
                        snapshot[attr] = now
                        continue
                    found.append(f"{klass.__module__}.{klass.__qualname__}.{attr} was replaced")
                    setattr(klass, attr, value)
            for attr in [a for a in current if a not in snapshot]:
                value = current[attr]
                if (callable(value) or hasattr(value, "__get__")) and self._student_code(value):
                    found.append(f"{klass.__module__}.{klass.__qualname__}.{attr} was added")
                    try:
                        delattr(klass, attr)
                    except (AttributeError, TypeError):
                        pass

    def _restore_names(self, found: list, notes: list, names) -> None:
        """Names the graded cell uses: builtins shadowed by the notebook, modules replaced."""
        ns = self.shell.user_ns
        for name in names:
            if name not in ns:
                continue
            value = ns[name]
            initial = self.initial_names.get(name, _MISSING)
            if value is initial:
                continue                  # IPython's own (its open()), there before any student code
            if name in self.builtins_dict and value is not self.builtins_dict[name]:
                if callable(value):
                    found.append(f"the notebook redefined the builtin {name}() that the tests use")
                else:
                    notes.append(f"a variable named {name} hid the builtin the tests use: removed before the tests")
                if initial is _MISSING:
                    del ns[name]
                else:
                    ns[name] = initial
            elif name in ALIASES and ALIASES[name] in self.modules and value is not self.modules[ALIASES[name]] \
                    and (isinstance(value, types.ModuleType) or name in ("torch", "np", "numpy")):
                found.append(f"the notebook's {name} is not the real {ALIASES[name]} module")
                ns[name] = self.modules[ALIASES[name]]

    def _stop_tracing(self, found: list) -> None:
        if sys.gettrace() is not None:
            found.append("a trace function was set (sys.settrace)")
            sys.settrace(None)
        if sys.getprofile() is not None:
            found.append("a profile function was set (sys.setprofile)")
            sys.setprofile(None)
        th = self._threading
        if getattr(th, "_trace_hook", None) is not None or getattr(th, "_profile_hook", None) is not None:
            found.append("a thread trace/profile function was set")
            th.settrace(None)
            th.setprofile(None)

    def _processes(self, found: list) -> None:
        """Processes the notebook left running: killed. Only ever the kernel's own descendants, and,
        when the kernel verifiably has a pid namespace of its own (bwrap's init as pid 1, the kernel
        as pid 2), also what was reparented to that init. Never anything else on the machine."""
        me = os.getpid()
        parents = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != b"Z":
                parents[int(entry)] = int(fields[1])
        # a cold kernel is pid 2, bwrap's init's child; a warm one (coursekit/warm/sandboxed.py) is pid 2
        # too, but joined the sandbox from outside (its parent is not in the namespace: 0)
        own_namespace = self.own_pid_namespace and me == 2 and parents.get(me) in (0, 1)
        stray = []
        for pid in parents:
            if pid in (1, me):
                continue
            p, hops = pid, 0
            while p not in (0, 1, me) and hops < 64:
                p, hops = parents.get(p, 0), hops + 1
            if p == me or (own_namespace and p == 1):
                stray.append(pid)
        for pid in stray:
            try:
                os.kill(pid, 9)
            except OSError:
                pass
        if stray:
            found.append(f"{len(stray)} process(es) left running by the notebook (killed)")

    def _threads(self, found: list) -> None:
        """Threads running the notebook's code (one could re-patch what was just restored): each gets
        SystemExit raised in it, and is reported."""
        import ctypes
        me = self._threading.get_ident()
        stopped = 0
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            f = frame
            while f is not None:
                if self._student_code(f.f_code):
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(SystemExit))
                    stopped += 1
                    break
                f = f.f_back
        if stopped:
            import time
            time.sleep(0.05)          # let them stop before what they changed is put back
            found.append(f"{stopped} thread(s) running the notebook's code were left running (stopped)")


_MISSING = object()


def _function_state(fn) -> tuple:
    kw = fn.__kwdefaults__
    return (fn.__code__, fn.__defaults__, dict(kw) if kw is not None else None)


def _data_copy(value):
    """A comparable copy of a module-level container of the student library (None: not a container)."""
    import copy
    if isinstance(value, (dict, list, set, tuple, frozenset)):
        try:
            return copy.deepcopy(value)
        except Exception:
            return None
    return None


def _matplotlib_cache(cfg: dict) -> None:
    """A warm font cache (matplotlib would otherwise rebuild it in every kernel, slowly)."""
    src, dest = cfg.get("mpl_cache"), os.environ.get("MPLCONFIGDIR")
    if not src or not dest or not os.path.isdir(src):
        return
    try:
        os.makedirs(dest, exist_ok=True)
        for name in os.listdir(src):
            if name.endswith(".json"):
                with open(os.path.join(src, name), "rb") as fin, open(os.path.join(dest, name), "wb") as fout:
                    fout.write(fin.read())
    except OSError:
        pass


def _stored_exception(exception, *args, **kwargs) -> dict:
    """What a grading kernel's shell keeps of a cell's exception for ``%notebook``: its name and message.
    IPython formats the whole traceback a second time for that, though the output already has it."""
    try:
        value = str(exception)
    except Exception:  # noqa: BLE001 - as IPython's own formatting would have failed
        value = "<unprintable>"
    return {"ename": type(exception).__name__, "evalue": value, "traceback": []}


def _serve_judge(cfg: dict, namespace: dict) -> None:
    _load_judge(cfg)
    from coursekit_judge.student_side import serve
    serve(cfg["judge_socket"], namespace)


def _load_judge(cfg: dict) -> None:
    import importlib.util
    folder = cfg["judge_dir"]
    if "coursekit_judge" not in sys.modules:
        spec = importlib.util.spec_from_file_location("coursekit_judge", os.path.join(folder, "__init__.py"),
                                                      submodule_search_locations=[folder])
        module = importlib.util.module_from_spec(spec)
        sys.modules["coursekit_judge"] = module
        spec.loader.exec_module(module)


def main() -> None:
    cfg = _settings()
    _limits(cfg)
    _matplotlib_cache(cfg)
    here = os.path.realpath(os.getcwd())
    sys.path[:] = [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) != here]
    # the notebook's folder last, as plain nbgrader's kernel has it first: a student's own module
    # (helper.py beside the notebook) imports, and never shadows the course library or the standard one
    sys.path.append(here)
    guard = Guard(cfg) if cfg.get("guard", True) else None
    if guard is not None:
        sys.addaudithook(guard.audit)
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize([*sys.argv[1:], "--HistoryManager.enabled=False"])
    app.shell._format_exception_for_storage = _stored_exception
    if cfg.get("judge_socket"):     # the judge runs the graded test cells and asks this kernel (coursekit/judge)
        _serve_judge(cfg, app.shell.user_ns)
    if guard is not None:
        guard.attach(app.shell, app.kernel)
    app.start()


if __name__ == "__main__":
    main()
