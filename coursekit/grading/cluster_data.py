"""What crosses between the grader and its Dask workers (``cluster.py``, ``remote.py``), as data (the
messages' tables are in ``coursekit/wire.py``).

* The environment a worker is checked against (:func:`expected_environment`, :func:`environment`,
  :func:`differences`): Python, every package of requirements.lock, digests of ``coursekit/`` and
  ``utils/``, and the sandbox settings it must apply.
* The run (:func:`spec`) and a job (:func:`job_description`), sent to the workers.
* What a job's sandbox wrote (:func:`outputs`, on the worker), rebuilt here as a job folder
  (:func:`rebuild`) for ``worker.collect``: a regular file's bytes, or only what it was (a link, not
  a regular file, over the size cap), so that the checks and reasons are those of a local slot.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import sys
from pathlib import Path

from coursekit import wire as messages
from coursekit.grading.model import Job


def _tree_digest(folder: Path, suffixes: tuple[str, ...] | None) -> str:
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if "__pycache__" in rel.parts or any(p.endswith(".egg-info") for p in rel.parts) or not path.is_file():
            continue
        if suffixes is not None and path.suffix not in suffixes:
            continue
        h.update(str(rel).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def environment(packages: list[str]) -> dict:
    """This machine's course environment as plain data: Python, the given distributions' versions,
    and digests of the kit's and the student library's files."""
    from importlib.metadata import PackageNotFoundError, version

    from coursekit.sandbox import bwrap
    versions = {}
    for name in packages:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return {"python": ".".join(map(str, sys.version_info[:3])), "platform": sys.platform,
            "packages": versions,
            "coursekit": _tree_digest(Path(bwrap.package_dir("coursekit")), (".py", ".html", ".js", ".css")),
            "utils": _tree_digest(Path(bwrap.package_dir("utils")), None)}


def differences(expected: dict, here: dict) -> list[str]:
    """What differs between the client's environment and this one, in words."""
    out = []
    if expected["python"] != here["python"] or expected["platform"] != here["platform"]:
        out.append(f"Python {here['python']} on {here['platform']}, the grader has {expected['python']} on "
                   f"{expected['platform']}")
    wrong = [f"{name} {here['packages'].get(name) or 'missing'} (grader: {v})"
             for name, v in sorted(expected["packages"].items()) if here["packages"].get(name) != v]
    if wrong:
        out.append(f"{len(wrong)} package(s) differ from the grader's: " + ", ".join(wrong[:5])
                   + (" ..." if len(wrong) > 5 else ""))
    for part in ("coursekit", "utils"):
        if expected[part] != here[part]:
            out.append(f"its {part}/ differs from the grader's (another checkout or version of the course)")
    return out


def _traits(configurable) -> dict:
    return {name: (list(v) if isinstance(v, (list, tuple)) else v)
            for name in configurable.trait_names(config=True) for v in [getattr(configurable, name)]}


def expected_environment(run_id: str, sandbox) -> dict:
    """What every worker is checked against: this machine's environment (every package of
    requirements.lock installed here) and the sandbox settings it must be able to apply."""
    from importlib.metadata import distributions

    from coursekit.paths import ROOT
    lock = ROOT / "requirements.lock"
    names = set()
    if lock.is_file():
        for line in lock.read_text().splitlines():
            if line.strip() and not line.startswith("#") and "==" in line:
                names.add(line.split("==")[0].strip())
    def norm(name: str) -> str:
        return name.lower().replace("_", "-").replace(".", "-")

    installed = {norm(d.metadata["Name"] or ""): d.metadata["Name"] for d in distributions()}
    packages = sorted(installed[norm(n)] for n in names if norm(n) in installed) if names else \
        sorted(n for n in installed.values() if n)
    env = environment(packages)
    env["packages"] = {k: v for k, v in env["packages"].items() if v is not None}
    sb = {k: getattr(sandbox, k) for k in ("mode", "memory_limit_mb", "max_processes", "uid_base", "uid_count")}
    return {**env, "run": run_id, "sandbox": sb}


#: Context fields that each worker makes of its own (its machine's paths, run, isolation) or never
#: needs (they are for reading results back, which happens here).
LOCAL_FIELDS = {"root", "template", "isolation", "run", "grading", "sandbox", "mpl_cache", "released",
                "released_sources", "scrub", "kernelspec"}


def spec(ctx: worker.Context) -> dict:
    """The run for :func:`remote.open_run` (sent once to each checked worker): the template gradebook's
    bytes, the kit's settings as values, and every other field of the Context that is data (the
    deadlines read here first: the course is here, not on the worker)."""
    try:
        from coursekit.grading import deadlines
        deadlines.for_context(ctx)
    except (ImportError, AttributeError):
        pass
    except Exception:     # noqa: BLE001 - each job's precheck says what is wrong with them
        pass
    fields = {f.name: getattr(ctx, f.name) for f in dataclasses.fields(ctx) if f.name not in LOCAL_FIELDS}
    return messages.make("cluster_run", run=ctx.run.id, template=Path(ctx.template).read_bytes(),
                         grading=_traits(ctx.grading), sandbox=_traits(ctx.sandbox), fields=fields)


def job_description(job: Job) -> dict:
    """A job for :func:`remote.grade`: everything but the path of its folder here."""
    return {f.name: getattr(job, f.name) for f in dataclasses.fields(job) if f.name != "folder"}


def isolation(report: dict):
    """The Isolation a worker reported (its check), for reading its results back with its limits."""
    from coursekit.sandbox import Isolation, limits
    iso, lim = report["isolation"], report["isolation"]["limiter"]
    limiter = limits.Limiter(lim["kind"], lim["memory_mb"], lim["max_processes"])
    return Isolation(iso["bwrap"], bool(iso["as_root"]), limiter, list(iso["warnings"]))


def outputs(ctx, jdir: Path) -> dict:
    """What the sandbox left in ``out/``, for the names the client reads there and nothing else:
    name -> ``["file", bytes]`` (a regular file, read without following links, at most the cap the
    client applies), ``["large", size]`` (over that cap), ``["link"]``, ``["other"]`` (not a regular
    file) or absent. The client rebuilds exactly this in a folder of its own and reads it with
    ``worker.collect`` (:func:`rebuild`): the same checks, the same reasons as for a local slot's results."""
    from coursekit.grading import safeio, worker
    cap_nb = int(ctx.grading.max_notebook_mb * 4 * 2**20)
    wanted = {"result.json": worker.RESULT_CAP, **{f"{n}.ipynb": cap_nb for n in ctx.notebooks}}
    out = {}
    try:
        fd = safeio.open_dir(jdir / "out", below=jdir)
    except safeio.Unsafe:
        return out
    try:
        for name, cap in wanted.items():
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                out[name] = ["link"]
            elif not stat.S_ISREG(st.st_mode):
                out[name] = ["other"]
            elif st.st_size > cap:
                out[name] = ["large", cap + 1]
            else:
                try:
                    out[name] = ["file", safeio.read_at(fd, name, cap)]
                except safeio.Unsafe as exc:      # (it changed while read)
                    out[name] = ["large", cap + 1] if "larger than" in str(exc) else ["other"]
    finally:
        os.close(fd)
    return out


def rebuild(files: dict, jdir: Path, notebooks: list[str]) -> None:
    """A job folder ``jdir`` (new, private) whose ``out/`` holds what :func:`outputs` found: the same
    files, or a dangling link, a FIFO or a sparse file over the cap where the sandbox left one."""
    jdir.mkdir(mode=0o700)
    out = jdir / "out"
    out.mkdir(mode=0o700)
    wanted = {"result.json", *(f"{n}.ipynb" for n in notebooks)}
    for name, entry in (files if isinstance(files, dict) else {}).items():
        if name not in wanted or not isinstance(entry, list) or not entry:
            continue
        path = out / name
        if entry[0] == "file" and len(entry) == 2 and isinstance(entry[1], bytes):
            path.write_bytes(entry[1])
        elif entry[0] == "large" and len(entry) == 2 and isinstance(entry[1], int):
            with open(path, "wb") as fh:
                fh.truncate(entry[1])               # (sparse: only its size is read)
        elif entry[0] == "link":
            os.symlink("/nonexistent", path)
        elif entry[0] == "other":
            os.mkfifo(path, 0o600)
