"""Start one student kernel for grading: limits, then the IPython kernel (and, with the judge, its server).

Runs inside the kernel's own sandbox as ``python -I start.py -f CONNECTION_FILE`` (``-I``: no current
folder, no user site, no PYTHON* variables on sys.path), so it imports only the standard library and
IPython/ipykernel before the notebook does. It is bound into the sandbox as a single file; the rest of
``coursekit`` is not visible there. Settings come as JSON in ``$COURSEKIT_KERNEL``.

What it does, in order:

1. resource limits that cannot be raised again: file size, core dumps, and (only where no cgroup
   counts memory) the address space and, as root, the number of processes;
2. the notebook's folder last on ``sys.path`` (a student's ``utils/`` never shadows the course library);
3. starts the IPython kernel, without IPython's SQLite history (``--HistoryManager.enabled=False``: no
   database, no saving thread; ``In``/``Out`` and ``_i`` work as usual) and without the second,
   stored copy of each traceback that only ``%notebook`` reads (``stored_exception``): a grading
   kernel is thrown away once its notebook has run, and these cost about 0.07 CPU-s per submission;
4. with the judge (``judge_socket``), the thread that answers the judge's requests on a Unix socket
   (``student_side.serve`` of ``coursekit/judge``, loaded by path).

Nothing here defends a verdict: with the judge no verdict is computed in this process; without it
(``c.KitGrading.judge = False``) the test cells run here, as in plain nbgrader, undefended.
"""
import json
import os
import resource
import sys


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


def stored_exception(exception, *args, **kwargs) -> dict:
    """What a grading kernel's shell keeps of a cell's exception for ``%notebook``: its name and message.
    IPython formats the whole traceback a second time for that, though the output already has it.
    (The judge's kernel uses this one too: coursekit/judge/judge_start.py loads this file by path.)"""
    try:
        value = str(exception)
    except Exception:  # noqa: BLE001 - as IPython's own formatting would have failed
        value = "<unprintable>"
    return {"ename": type(exception).__name__, "evalue": value, "traceback": []}


def _serve_judge(cfg: dict, namespace: dict, app) -> None:
    _load_judge(cfg)
    from coursekit_judge.student_side import serve
    serve(cfg["judge_socket"], namespace, main_loop=lambda: getattr(app, "io_loop", None))


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
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize([*sys.argv[1:], "--HistoryManager.enabled=False"])
    app.shell._format_exception_for_storage = stored_exception
    if cfg.get("judge_socket"):     # the judge runs the graded test cells and asks this kernel (coursekit/judge)
        _serve_judge(cfg, app.shell.user_ns, app)
    app.start()


if __name__ == "__main__":
    main()
