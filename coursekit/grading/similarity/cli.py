"""``python -m coursekit similarity TOPIC [--threshold X]``: the similarity report alone, without grading.

Reads submitted/<student>/<topic>/ of the course, prints the summary section and writes
``similarity_<topic>.html`` beside grades.csv (the grading run does the same after export).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from coursekit.config import kit_settings, load_course_config


def main(argv: list[str] | None = None) -> int:
    from nbgrader.coursedir import CourseDirectory

    from coursekit.grading import similarity
    from coursekit.paths import ROOT

    ap = argparse.ArgumentParser(prog="python -m coursekit similarity", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("topic")
    ap.add_argument("--root", type=Path, default=ROOT, help="the course root (default: this repository)")
    ap.add_argument("--threshold", type=float, default=None,
                    help="report pairs scoring at least this (default: KitGrading.similarity_threshold)")
    ns = ap.parse_args(argv)
    root = ns.root.resolve()
    cfg = load_course_config(root)
    grading, _ = kit_settings(cfg)
    cd = CourseDirectory(config=cfg)
    folder = root / cd.release_directory / ns.topic
    if not folder.is_dir():
        raise SystemExit(f"unknown topic {ns.topic!r}: no folder {cd.release_directory}/{ns.topic}")
    notebooks = sorted(p.stem for p in folder.glob("*.ipynb"))
    rep = similarity.report(root, ns.topic, notebooks, grading, release_dir=cd.release_directory,
                            source_dir=cd.source_directory, threshold=ns.threshold)
    rep.write_html(root / similarity.html_name(ns.topic))
    print("\n".join(rep.text_lines()))
    return 0
