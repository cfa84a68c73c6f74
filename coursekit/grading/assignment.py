"""An assignment as nbgrader defines it: its files beside the notebooks, the student's own files,
the notebooks' kernel, and the nbgrader options the kit honours or refuses.

nbgrader autograde copies into the student's autograded folder every file of the submitted folder
that is not a notebook, then every file of the assignment's source folder that is not a notebook
(subfolders included), except those listed in ``Autograde.exclude_overwriting[assignment]``, and
skips names matching ``CourseDirectory.ignore``. The kit does the same, within budgets, never
following a link: the assignment's files are read here once per run (:func:`source_files`), the
student's per submission (:func:`submitted_files`), and the sandbox's driver lays them out for
nbgrader, which copies them as it always does.
"""
from __future__ import annotations

import fnmatch
import os
import stat
from pathlib import Path

from coursekit.grading import safeio

MiB = 2**20
MAX_SOURCE_FILES = 2000          # files beside the notebooks in an assignment's source folder
MAX_DEPTH = 16                   # folders below the assignment's (or the submission's) folder


class AssignmentError(SystemExit):
    """The assignment cannot be graded as it is: one line saying what and what to do."""


def ignored(name: str, ignore: list[str]) -> bool:
    """nbgrader's ``is_ignored``: a file or folder name matching one of ``CourseDirectory.ignore``."""
    return any(fnmatch.fnmatchcase(name, pat) for pat in ignore)


def source_files(folder: Path, ignore: list[str], max_mb: float) -> tuple[dict[str, bytes], list[str]]:
    """The assignment's files beside its notebooks (relative path -> content): every regular file
    below ``folder`` but notebooks and ignored names, as nbgrader copies them. Links are not followed
    (each is named in the warnings). More than ``max_mb`` MiB or :data:`MAX_SOURCE_FILES` files
    stops the run with what to do."""
    files: dict[str, bytes] = {}
    warnings: list[str] = []
    total = 0
    folder = Path(folder)

    def walk(path: Path, rel: str, depth: int) -> None:
        nonlocal total
        if depth > MAX_DEPTH:
            raise AssignmentError(f"{folder}: folders nested more than {MAX_DEPTH} deep; flatten them")
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            name = f"{rel}{entry.name}"
            st = entry.stat(follow_symlinks=False)
            if ignored(entry.name, ignore):
                continue
            if stat.S_ISLNK(st.st_mode):
                warnings.append(f"{folder.name}/{name} is a link: not copied for grading (copy the file itself)")
            elif stat.S_ISDIR(st.st_mode):
                walk(Path(entry.path), name + "/", depth + 1)
            elif stat.S_ISREG(st.st_mode) and not entry.name.endswith(".ipynb"):
                total += st.st_size
                if total > max_mb * MiB or len(files) >= MAX_SOURCE_FILES:
                    raise AssignmentError(
                        f"{folder}: the files beside the notebooks exceed {max_mb:g} MiB or {MAX_SOURCE_FILES} "
                        "files, more than a grading sandbox holds (a quarter of KitSandbox.disk_limit_mb): "
                        "raise KitSandbox.disk_limit_mb or make the data smaller")
                files[name] = Path(entry.path).read_bytes()

    if folder.is_dir():
        walk(folder, "", 0)
    return files, warnings


def submitted_files(folder: Path, base: Path, skip: set[str], ignore: list[str], max_files: int,
                    max_bytes: int) -> tuple[dict[str, bytes], list[str]]:
    """The student's own files in submitted/<student>/<topic>/ beside the notebooks (relative path ->
    content), read as hostile input: links, FIFOs and the like are not followed, only regular files
    and folders are read, at most ``max_files`` files and ``max_bytes`` bytes in all (what is left
    over is named in the notes). ``skip``: top-level names that are not the student's other files
    (the notebooks, timestamp.txt)."""
    files: dict[str, bytes] = {}
    notes: list[str] = []
    left = [max_bytes]

    def walk(path: Path, rel: str, depth: int) -> None:
        try:
            entries = safeio.list_dir(path, below=base)
        except safeio.Unsafe as exc:
            notes.append(f"{rel or '.'} could not be read ({exc}): its files ignored")
            return
        for name, kind in sorted(entries):
            shown = f"{rel}{name}"
            if (not rel and name in skip) or ignored(name, ignore) or name.endswith(".ipynb"):
                continue
            if kind == "dir":
                if depth >= MAX_DEPTH:
                    notes.append(f"{shown}/: nested too deep: ignored")
                else:
                    walk(path / name, shown + "/", depth + 1)
            elif kind != "file":
                notes.append(f"{shown} is a {kind}, not a file: ignored")
            elif len(files) >= max_files:
                notes.append(f"more than {max_files} other files (KitGrading.max_student_entries): {shown} "
                             "and the rest ignored")
                return
            else:
                try:
                    data = safeio.read_file(path, name, left[0], below=base)
                except safeio.Unsafe as exc:
                    notes.append(f"{shown} ignored: {exc} (KitGrading.max_student_mb for all the student's files)")
                    continue
                left[0] -= len(data)
                files[shown] = data

    walk(Path(folder), "", 0)
    return files, notes


# languages whose kernels the sandbox runs: the kit's own Python kernel, in the sandbox
PYTHON = "python"


def kernel_problem(name: str, nb: dict) -> str | None:
    """Why a notebook cannot be graded by the kit's kernel (a sandboxed Python kernel), or None:
    a notebook whose kernelspec or language is another language's (R, Julia ...) would be run as
    Python and score 0 without a word."""
    meta = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    spec = meta.get("kernelspec") if isinstance(meta.get("kernelspec"), dict) else {}
    info = meta.get("language_info") if isinstance(meta.get("language_info"), dict) else {}
    language = spec.get("language") or info.get("name")
    kernel = spec.get("name")
    words = []
    if isinstance(language, str) and language.strip().lower() != PYTHON:
        words.append(f"language {language[:40]!r}")
    elif not language and isinstance(kernel, str) and not kernel.lower().startswith(PYTHON):
        words.append(f"kernel {kernel[:40]!r}")
    if not words:
        return None
    return (f"{name} is a notebook in another language ({', '.join(words)}): the kit grades only Python notebooks "
            "(in its sandboxed Python kernel); grade it with plain nbgrader where that kernel is installed")


# -- nbgrader's options: honoured, or refused with the reason ------------------------------------------
NO_EXECUTE = ("nbgrader would then score the outputs saved in the students' own notebooks, which a student "
              "can fake; the kit always runs the notebooks (in the sandbox)")


def refuse_options(cfg, no_execute: bool) -> None:
    """Stop the run where an nbgrader option asks for what the kit does not do (never ignored)."""
    if no_execute:
        raise AssignmentError(f"--no-execute is not available: {NO_EXECUTE}; leave it out")
    for section, key in (("Execute", "enabled"), ("ExecutePreprocessor", "enabled"), ("ClearOutput", "enabled")):
        values = cfg.get(section, {})
        if key in values and not values[key]:
            raise AssignmentError(f"c.{section}.{key} = False (nbgrader's --no-execute) is not available: "
                                  f"{NO_EXECUTE}; remove it from nbgrader_config.py")
    cd = cfg.get("CourseDirectory", {})
    default = "{nbgrader_step}/{student_id}/{assignment_id}"
    if cd.get("directory_structure", default) != default:
        raise AssignmentError(f"c.CourseDirectory.directory_structure = {cd['directory_structure']!r} is not available: "
                              f"the kit reads and writes nbgrader's default layout ({default}); remove it from "
                              "nbgrader_config.py")
    if cd.get("student_id", "*") not in ("*", ""):
        raise AssignmentError(f"c.CourseDirectory.student_id = {cd['student_id']!r} in nbgrader_config.py would grade "
                              "one student: use GRADE_ARGS=\"--student ID\" (repeatable) for that, and remove it")


def only_notebook(name: str | None, notebooks: list[str]) -> str | None:
    """The one notebook to grade (``--notebook`` or ``CourseDirectory.notebook_id``), checked; None: all."""
    if not name:
        return None
    name = name[:-len(".ipynb")] if name.endswith(".ipynb") else name
    if name not in notebooks:
        raise AssignmentError(f"--notebook {name}: the topic has no such notebook (its notebooks: "
                              + ", ".join(notebooks) + ")")
    return name


def others_reader(ignore: list[str], grading):
    """What reads a submission's other files for plan.read_submission, within the student's budgets."""
    def read(folder: Path, base: Path, skip: set[str]):
        return submitted_files(folder, base, skip, ignore, grading.max_student_entries,
                               int(grading.max_student_mb * MiB))
    return read


def restrict(p, student_id_exclude: str, only: str | None) -> list[str]:
    """Honour ``CourseDirectory.student_id_exclude`` (those students are not graded, as nbgrader skips
    them) and ``--notebook`` (each job grades that notebook only; its other notebooks keep their
    grades, and the next run without it grades the whole submission again). Returns lines for the
    summary."""
    words = []
    excluded = {s.strip() for s in (student_id_exclude or "").split(",") if s.strip()}
    if excluded:
        left = [j for j in p.jobs if j.student in excluded]
        p.jobs[:] = [j for j in p.jobs if j.student not in excluded]
        if left:
            words.append(f"not graded (CourseDirectory.student_id_exclude): {', '.join(sorted(j.student for j in left))}")
    if only is not None:
        for job in p.jobs:
            job.graded = [only]
            job.notebooks = {k: v for k, v in job.notebooks.items() if k == only}
            job.digest = f"only {only}: {job.digest}"
    return words
