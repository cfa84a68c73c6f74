"""The mutation report: scores per exercise, survivors with their diff, reviewed equivalent mutants.

Equivalent mutants (code that differs from the solution but is a right answer, so no test may kill
it) are listed, with the reason, in the reviewed file tests/mutation_equivalents.yaml:

    01_tensors:                      # topic
      ex2_standardize_columns:       # the solution cell's grade_id
        "0a1b2c3d4e5f":              # the mutant's id, quoted (coursekit.mutation.generator.mutant_id)
          mutation: "dim=0 -> dim=-1 ..."   # for the reader; not checked
          reason: "why every test must accept this code"

A listed mutant still runs every time: when it survives it is counted as *equivalent*; when the
tests kill it, the report says so as a conflict (either the tests reject a right answer or the
entry is wrong). An entry whose mutant is no longer generated is reported as stale.
"""
from __future__ import annotations

import json
from pathlib import Path

import yaml

from .runner import TopicResult, result_dict

EQUIVALENTS_FILE = Path("tests") / "mutation_equivalents.yaml"


class EquivalentsError(ValueError):
    pass


def load_equivalents(path: Path) -> dict[str, dict[str, dict[str, dict]]]:
    """topic -> grade_id -> mutant id -> {"reason": ..., ...}; EquivalentsError when malformed."""
    path = Path(path)
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise EquivalentsError(f"{path}: expected a mapping topic -> grade_id -> mutant id")
    for topic, exercises in data.items():
        if not isinstance(exercises, dict):
            raise EquivalentsError(f"{path}: {topic}: expected a mapping grade_id -> mutant id")
        for grade_id, mutants in exercises.items():
            if not isinstance(mutants, dict):
                raise EquivalentsError(f"{path}: {topic}/{grade_id}: expected a mapping mutant id -> entry")
            for mutant_id, entry in mutants.items():
                if not isinstance(mutant_id, str):
                    raise EquivalentsError(f"{path}: {topic}/{grade_id}/{mutant_id}: quote the mutant id "
                                           f"(YAML reads unquoted digits as a number)")
                if not isinstance(entry, dict) or not str(entry.get("reason") or "").strip():
                    raise EquivalentsError(f"{path}: {topic}/{grade_id}/{mutant_id}: every equivalent mutant "
                                           f"needs a `reason:` saying why it is a right answer")
    return data


def summarise(result: TopicResult, equivalents: dict) -> dict:
    """The JSON report of one topic: every count the text report shows, and every mutant."""
    data = result_dict(result)
    listed_topic = equivalents.get(result.topic, {}) or {}
    totals = dict(generated=0, run=0, killed=0, survived=0, equivalent=0)
    problems, warnings = list(result.errors), []
    for exr, ex in zip(result.exercises, data["exercises"]):
        listed = listed_topic.get(exr.grade_id, {}) or {}
        counts = dict(generated=exr.generated, sampled=exr.sampled, run=len(exr.mutants),
                      killed=0, survived=0, equivalent=0)
        for m, md in zip(exr.mutants, ex["mutants"]):
            entry = listed.get(m.id)
            md["diff"] = exr.all_mutants[m.id].diff(exr.source, exr.grade_id) if m.id in exr.all_mutants else ""
            if m.status == "survived" and entry:
                md["status"] = "equivalent"
                md["reason"] = entry.get("reason")
                counts["equivalent"] += 1
            elif m.status == "survived":
                counts["survived"] += 1
                problems.append(f"{exr.grade_id}: mutant {m.id} ({m.operator}) survived: {m.description}")
            else:
                counts["killed"] += 1
                if entry:
                    md["conflict"] = True
                    problems.append(f"{exr.grade_id}: mutant {m.id} is listed as equivalent in {EQUIVALENTS_FILE} "
                                    f"but the tests kill it ({m.killed_by}: {m.error}); either the tests reject "
                                    f"a right answer or the entry is wrong")
            if md["status"] == "killed" and not md.get("conflict"):
                md.pop("diff", None)            # the diffs of killed mutants would only fill the file
        for mutant_id in sorted(set(listed) - set(exr.all_mutants)):
            warnings.append(f"{exr.grade_id}: equivalent entry {mutant_id} matches no mutant generated now (stale)")
        if exr.baseline_passed is False:
            problems.append(f"{exr.grade_id}: the real solution fails its own tests: {exr.baseline_error}")
        denominator = counts["run"] - counts["equivalent"]
        counts["score"] = round(100.0 * counts["killed"] / denominator, 1) if denominator else None
        ex.update(counts)
        ex.pop("source", None)
        for key in totals:
            totals[key] += counts[key]
    for grade_id in sorted(set(listed_topic) - {e.grade_id for e in result.exercises}):
        warnings.append(f"{grade_id}: listed in {EQUIVALENTS_FILE} but the notebook has no such exercise (stale)")
    denominator = totals["run"] - totals["equivalent"]
    totals["score"] = round(100.0 * totals["killed"] / denominator, 1) if denominator else None
    data["totals"] = totals
    data["problems"] = problems
    data["warnings"] = warnings
    return data


def text_report(data: dict) -> str:
    lines = [f"Mutation testing of {data['topic']} ({data['notebook']})",
             f"{data['seconds']:.0f} s, "
             f"{'at most ' + str(data['max_per_exercise']) if data['max_per_exercise'] else 'all'} mutants per exercise, "
             f"per-cell timeout >= {data['min_timeout']:.0f} s, kernel restarts: {data['restarts']}", ""]
    header = f"{'exercise':34} {'generated':>9} {'run':>5} {'killed':>6} {'survived':>8} {'equivalent':>10} {'score':>7} {'time':>6}"
    lines += [header, "-" * len(header)]
    for ex in data["exercises"]:
        score = "-" if ex["score"] is None else f"{ex['score']:.1f}%"
        base = "" if ex["baseline_passed"] is not False else "   BASELINE FAILED"
        lines.append(f"{ex['grade_id']:34} {ex['generated']:9d} {ex['run']:5d} {ex['killed']:6d} {ex['survived']:8d} "
                     f"{ex['equivalent']:10d} {score:>7} {ex['seconds']:5.0f}s{base}")
    t = data["totals"]
    score = "-" if t["score"] is None else f"{t['score']:.1f}%"
    lines += ["-" * len(header),
              f"{'total':34} {t['generated']:9d} {t['run']:5d} {t['killed']:6d} {t['survived']:8d} "
              f"{t['equivalent']:10d} {score:>7}", ""]
    for title, status in (("SURVIVED (the tests accept this wrong code)", "survived"),
                          ("EQUIVALENT (reviewed in tests/mutation_equivalents.yaml)", "equivalent")):
        chosen = [(ex, m) for ex in data["exercises"] for m in ex["mutants"] if m["status"] == status]
        if not chosen:
            continue
        lines += [f"{title}: {len(chosen)}", ""]
        for ex, m in chosen:
            lines.append(f"== {ex['grade_id']}  mutant {m['id']}  [{m['operator']}]  line {m['line']}: {m['description']}")
            if m.get("reason"):
                lines.append(f"   reason: {m['reason']}")
            lines += [m.get("diff", "").rstrip(), ""]
    conflicts = [(ex, m) for ex in data["exercises"] for m in ex["mutants"] if m.get("conflict")]
    if conflicts:
        lines += [f"LISTED AS EQUIVALENT BUT KILLED: {len(conflicts)}", ""]
        for ex, m in conflicts:
            lines.append(f"== {ex['grade_id']}  mutant {m['id']}  [{m['operator']}]: {m['description']} "
                         f"-- killed by {m['killed_by']}: {m['error']}")
        lines.append("")
    if data["problems"]:
        lines += ["PROBLEMS", *[f"  {p}" for p in data["problems"]], ""]
    if data["warnings"]:
        lines += ["WARNINGS", *[f"  {w}" for w in data["warnings"]], ""]
    repaired = [(ex["grade_id"], m["id"], m["repaired"]) for ex in data["exercises"] for m in ex["mutants"]
                if m["repaired"]]
    if repaired:
        lines += ["STATE PUT BACK AFTER A MUTANT (for information)",
                  *[f"  {g} {i}: {', '.join(r)}" for g, i, r in repaired], ""]
    return "\n".join(lines)


def write_reports(data: dict, out_dir: Path) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"{data['topic']}.json"
    text_path = out_dir / f"{data['topic']}.txt"
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    text_path.write_text(text_report(data) + "\n")
    return json_path, text_path
