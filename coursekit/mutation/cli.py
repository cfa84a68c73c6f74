"""Mutation testing of the exercises' tests (`make mutate [TOPICS=...]`, `python -m coursekit mutate`).

Mutants of each exercise's solution (only the code between the solution markers) run against that
exercise's graded test cells, hidden tests included, one kernel per topic. Every surviving mutant
is a wrong answer the tests accept, unless tests/mutation_equivalents.yaml lists it as equivalent
(a right answer) with its reason. Reports: artifacts/mutation/<topic>.txt and .json. Exit status 1
when a non-equivalent mutant survives, a listed equivalent is killed, or a solution fails its tests.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from coursekit.paths import ROOT, check_assignments, is_topic, not_a_topic, solution_notebook, topics as course_topics

from .generator import OPERATORS, generate, sample
from .report import EQUIVALENTS_FILE, load_equivalents, summarise, text_report, write_reports
from .runner import find_exercises, run_topic

DEFAULT_MAX = 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m coursekit.mutation", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Operators: " + "; ".join(f"{o.name}: {o.doc}" for o in OPERATORS.values()))
    p.add_argument("topics", nargs="*", help="topics to test (default: all, one after the other); another "
                                             "assignment of solutions/ is skipped with the reason")
    p.add_argument("--max-per-exercise", "-k", type=int, default=DEFAULT_MAX, metavar="K",
                   help="run at most K mutants per exercise, a deterministic sample spread over the operators "
                        "(default 0 = all). Reviewed equivalent mutants always run.")
    p.add_argument("--exercise", "-e", action="append", metavar="GRADE_ID",
                   help="only this exercise (repeatable); the other solutions still run")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="per-cell timeout of a mutant: at least S seconds, and 5x the real solution's "
                        "test time (default 30); a timed-out mutant counts as killed")
    p.add_argument("--out", type=Path, default=ROOT / "artifacts" / "mutation", help="report folder")
    p.add_argument("--equivalents", type=Path, default=ROOT / EQUIVALENTS_FILE,
                   help="reviewed equivalent mutants (default tests/mutation_equivalents.yaml)")
    p.add_argument("--json", action="store_true", help="print the JSON report(s) on stdout instead of the text")
    p.add_argument("--list", action="store_true", help="only list the mutants that would run (no kernel)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    named = check_assignments(args.topics) if args.topics else course_topics()
    for name in named:
        if not is_topic(name):
            print(f"{name}: skipped: {not_a_topic(name)}; mutation testing needs a topic's layout (one notebook, "
                  "each answer between solution markers followed by its test cells) and its reviewed "
                  f"equivalents in {EQUIVALENTS_FILE}", file=sys.stderr)
    topics = [name for name in named if is_topic(name)]
    os.environ.setdefault("OMP_NUM_THREADS", "1")      # tiny models; the kernels inherit it
    equivalents = load_equivalents(args.equivalents)
    limit = args.max_per_exercise or None
    only = set(args.exercise) if args.exercise else None

    if args.list:
        import nbformat
        for topic in topics:
            nb = nbformat.read(str(solution_notebook(topic)), as_version=4)
            for ex in find_exercises(nb):
                if only and ex.grade_id not in only:
                    continue
                every = generate(nb.cells[ex.solution_index].source)
                chosen = {m.id for m in sample(every, limit)}
                print(f"{topic} {ex.grade_id}: {len(every)} generated, {len(chosen)} sampled")
                for m in every:
                    print(f"  {'*' if m.id in chosen else ' '} {m.id} {m.operator:13} line {m.line}: {m.description}")
        return 0

    status, reports = 0, []
    for topic in topics:
        def say(message, topic=topic):
            if not args.quiet:
                print(f"[{topic}] {message}" if not message.startswith("  ") else message, file=sys.stderr, flush=True)
        say(f"mutation testing ({'all' if limit is None else f'at most {limit}'} mutants per exercise)")
        listed = {g: set(ids) for g, ids in (equivalents.get(topic) or {}).items()}
        result = run_topic(topic, solution_notebook(topic), max_per_exercise=limit, min_timeout=args.timeout,
                           only=only, always=listed, progress=say)
        data = summarise(result, equivalents)
        json_path, text_path = write_reports(data, args.out)
        t = data["totals"]
        say(f"done in {data['seconds']:.0f} s: {t['run']} run, {t['killed']} killed, {t['survived']} survived, "
            f"{t['equivalent']} equivalent; report {text_path.relative_to(ROOT) if text_path.is_relative_to(ROOT) else text_path}")
        reports.append(data)
        if data["problems"]:
            status = 1
        if not args.json:
            print(text_report(data))
            print()
    if args.json:
        print(json.dumps(reports if len(reports) != 1 else reports[0], indent=1))
    return status
