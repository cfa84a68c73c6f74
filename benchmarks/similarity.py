"""Measurement: recall and false pairs of the similarity report on synthetic classes with planted copies.

    python -m benchmarks.similarity [--topics 01_tensors,03_loss_functions,05_training_loops] [--n 40]
                                    [--seeds 5] [--thresholds 1,1.5,2,2.5,3,4]

For each topic and seed, a class of ``--n`` students (coursekit.grading.similarity.synthetic): honest
students drawing, per exercise and independently, the instructor's answer, a right answer in another
style or a wrong answer (tests/wrong_answers/<topic>.py), often varied in their own way, with their own
notebook traces; plus 6 planted copies (renamed, reformatted, reordered, partial; half of them the file
copied with its traces, half retyped) and a group of 3 who copied one source. Their notebooks are the
released notebook with the answer cells replaced, written to submitted/ of a throw-away course, and
the report is made exactly as the grading run makes it. Prints, for each threshold, the planted pairs
found (recall) and the unplanted pairs at or above it (false pairs), per topic and over all classes,
then recall by kind of copy at the default threshold. Nothing is executed.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from coursekit import notebook, synth
from coursekit.grading import similarity
from coursekit.grading.similarity import synthetic
from coursekit.paths import ROOT

TOPICS = ("01_tensors", "03_loss_functions", "05_training_loops")


def wrong_and_right(topic: str) -> tuple[dict, dict]:
    path = ROOT / "tests" / "wrong_answers" / f"{topic}.py"
    wrong = synth.wrong_answers(path)
    import importlib.util
    spec = importlib.util.spec_from_file_location(f"_right_{topic}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return wrong, getattr(mod, "RIGHT", {})


def course(dest: Path, topic: str, klass: synthetic.SyntheticClass) -> Path:
    """A throw-away course: the real released and source notebooks, the class in submitted/."""
    for folder in ("notebooks", "solutions"):
        (dest / folder).mkdir(parents=True, exist_ok=True)
        os.symlink(ROOT / folder / topic, dest / folder / topic)
    student_nb = notebook.read(ROOT / "notebooks" / topic / f"{topic}.ipynb")
    for st in klass.students:
        synth.submit(dest, topic, st.name, {f"{topic}.ipynb": synthetic.notebook_of(st, student_nb)})
    return dest


def one_class(topic: str, n: int, seed: int, variation: float = 0.25):
    source = ROOT / "solutions" / topic / f"{topic}.ipynb"
    exercises = notebook.exercises(source)
    stubs = {notebook.grade_id(c): c.source for c in notebook.read(ROOT / "notebooks" / topic / f"{topic}.ipynb").cells
             if notebook.is_answer_cell(c)}
    wrong, right = wrong_and_right(topic)
    klass = synthetic.build_class(exercises, right, wrong, stubs, n=n, seed=seed, variation=variation)
    with tempfile.TemporaryDirectory() as tmp:
        root = course(Path(tmp), topic, klass)
        t0 = time.perf_counter()
        rep = similarity.report(root, topic, [topic], threshold=0.0)
        seconds = time.perf_counter() - t0
    return klass, rep, seconds


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--topics", default=",".join(TOPICS))
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--thresholds", default="1,1.5,2,2.5,3,3.5,4")
    ap.add_argument("--variation", type=float, default=0.25,
                    help="chance that an honest student makes each of the independent changes to an answer "
                         "(synthetic.VARIATIONS); 0: honest answers are drawn from the pool as they are")
    ns = ap.parse_args(argv)
    thresholds = [float(t) for t in ns.thresholds.split(",")]
    default = similarity.DEFAULT_THRESHOLD
    if default not in thresholds:
        thresholds.append(default)
    total = defaultdict(lambda: [0, 0, 0])           # threshold -> found, planted, false
    by_kind = defaultdict(lambda: [0, 0])
    worst_honest = []
    for topic in ns.topics.split(","):
        per = defaultdict(lambda: [0, 0, 0])
        secs = []
        for seed in range(ns.seeds):
            klass, rep, seconds = one_class(topic, ns.n, seed, ns.variation)
            secs.append(seconds)
            scores = {frozenset((p.a, p.b)): p.score for p in rep.pairs}
            honest = sorted((s for pair, s in scores.items() if pair not in klass.planted), reverse=True)
            worst_honest.append((honest[0] if honest else 0.0, topic, seed))
            for t in thresholds:
                found = sum(scores.get(p, 0.0) >= t for p in klass.planted)
                false = sum(s >= t for s in honest)
                for acc in (per[t], total[t]):
                    acc[0] += found
                    acc[1] += len(klass.planted)
                    acc[2] += false
            for p in klass.planted:
                kind = klass.kinds[p]
                by_kind[kind][0] += scores.get(p, 0.0) >= default
                by_kind[kind][1] += 1
        print(f"{topic}: {ns.seeds} classes of {ns.n} students, {len(klass.planted)} planted pairs each; "
              f"report made in {sum(secs) / len(secs):.2f} s per class")
        for t in thresholds:
            found, planted, false = per[t]
            print(f"  threshold {t:4g}: recall {found}/{planted} = {found / planted:5.1%}, "
                  f"false pairs {false} ({false / ns.seeds:.1f} per class)")
    print(f"all topics ({len(worst_honest)} classes):")
    for t in thresholds:
        found, planted, false = total[t]
        mark = "  <- default" if t == default else ""
        print(f"  threshold {t:4g}: recall {found}/{planted} = {found / planted:5.1%}, false pairs {false} "
              f"({false / len(worst_honest):.2f} per class){mark}")
    print(f"recall by kind at the default threshold {default:g}:")
    for kind, (found, planted) in sorted(by_kind.items()):
        print(f"  {kind:<28} {found}/{planted}")
    top = sorted(worst_honest, reverse=True)[:3]
    print("highest unplanted pair scores: " + ", ".join(f"{s:.2f} ({t} seed {k})" for s, t, k in top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
