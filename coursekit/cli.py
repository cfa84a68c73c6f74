"""``python -m coursekit COMMAND ...``: the instructor's and CI's entry point (the make targets call it).

    assignments [ASSIGNMENT ...]  regenerate notebooks/ (student versions) from solutions/
    execute [ASSIGNMENT ...]  re-execute solutions/ in place to refresh their stored outputs
    grade TOPIC [...]         collect, autograde, feedback, export (coursekit.grading)
    mutate [...]              mutation testing of the exercises' tests (coursekit.mutation)
    similarity TOPIC          the similarity report alone (coursekit.grading.similarity)
    conformance TOPIC --trust grade the submissions with plain nbgrader and with the kit, in throw-away
                              copies, and list every difference (coursekit.grading.conformance)
    export-lms TOPIC --format canvas|moodle|blackboard [--template LMS_EXPORT.csv]
                              the topic's grades in the LMS's gradebook-import CSV (coursekit.grading.lms_export)
    deadline TOPIC [--due DATE] [--extend STUDENT=48h]   the topic's due date and extensions, and who
                              was late (coursekit.grading.deadlines)
    bench [notebooks|grading|similarity [...]]   time every notebook, grading throughput, the similarity
                              report's recall on planted copies, or all (benchmarks/)
    student-bundle [DEST]     what students get (default dist/student-bundle.zip), checked for leaks

An assignment is any folder in solutions/: a course topic (NN_name) or any other, with every notebook
in it. With none named, assignments and execute process every assignment in solutions/.
"""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

from coursekit.paths import ROOT, check_assignments, tool_env

# command -> (module, what it is for); each module has main(argv) -> int
DELEGATES = {
    "grade": ("coursekit.grading.cli", "grading"),
    "mutate": ("coursekit.mutation", "mutation testing"),
    "similarity": ("coursekit.grading.similarity.cli", "the similarity report"),
    "conformance": ("coursekit.grading.conformance", "the comparison with plain nbgrader"),
    "export-lms": ("coursekit.grading.lms_export", "the LMS grade export"),
    "deadline": ("coursekit.grading.deadlines", "due dates and extensions"),
}


def _delegate(command: str, argv: list[str]) -> int:
    module_name, what = DELEGATES[command]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name is not None and module_name.startswith(err.name):
            raise SystemExit(f"`coursekit {command}` needs {module_name} ({what}), which is not in this "
                             f"checkout yet.") from None
        raise
    main = getattr(module, "main", None)
    if main is None:
        raise SystemExit(f"{module_name} has no main(argv); cannot run `coursekit {command}`.")
    return main(argv) or 0


BENCHMARKS = ("notebooks", "grading", "similarity")


def _bench(argv: list[str]) -> int:
    """One benchmark with its own arguments, or both in turn; run from the course root, where
    benchmarks/ lives (it is not an installed package)."""
    if argv and argv[0] in BENCHMARKS:
        names, argv = argv[:1], argv[1:]
    elif argv:
        raise SystemExit(f"coursekit bench: name the benchmark before its arguments: one of {', '.join(BENCHMARKS)}")
    else:
        names = list(BENCHMARKS)
    status = 0
    for name in names:
        status |= subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *argv],
                                 cwd=ROOT, env=tool_env()).returncode
    return status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m coursekit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["assignments", "execute", "grade", "mutate", "similarity", "bench",
                                                "student-bundle", "export-lms", "deadline", "conformance"])
    parser.add_argument("args", nargs=argparse.REMAINDER, help="topics, or the command's own arguments")
    ns = parser.parse_args(argv)
    if ns.command in DELEGATES:
        return _delegate(ns.command, ns.args)
    if ns.command == "bench":
        return _bench(ns.args)
    if ns.command == "student-bundle":
        from coursekit import bundle

        try:
            dest = bundle.build(Path(ns.args[0]) if ns.args else ROOT / "dist" / "student-bundle.zip")
        except ValueError as exc:   # a leak, or a README without its student part: nothing written
            raise SystemExit(f"student bundle not written: {exc}") from None
        print(f"student bundle written to {dest}")
        return 0
    from coursekit import build

    topics = check_assignments(ns.args)
    if ns.command == "assignments":
        build.assignments(topics)
    else:
        build.execute_topics(topics)
    return 0
