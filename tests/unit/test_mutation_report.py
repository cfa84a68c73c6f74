"""The mutation report: survivors, reviewed equivalents, conflicts and stale entries are told apart."""
from __future__ import annotations

import json

import pytest

from coursekit.mutation.generator import generate
from coursekit.mutation.report import EquivalentsError, load_equivalents, summarise, text_report, write_reports
from coursekit.mutation.runner import ExerciseResult, MutantResult, TopicResult

SOURCE = "def f(x):\n    ### BEGIN SOLUTION\n    return x.sum(dim=0) * 2\n    ### END SOLUTION\n"


def _result():
    mutants = generate(SOURCE)[:3]
    exr = ExerciseResult("ex1_f", 0, ["test_f"], generated=len(generate(SOURCE)), sampled=3, baseline_passed=True,
                         source=SOURCE, all_mutants={m.id: m for m in generate(SOURCE)})
    statuses = ["killed", "survived", "survived"]
    for m, status in zip(mutants, statuses):
        exr.mutants.append(MutantResult(m.id, m.operator, m.description, m.line, status,
                                        "test_f" if status == "killed" else None, None))
    return TopicResult("01_demo", "solutions/01_demo/01_demo.ipynb", 40, 30.0, exercises=[exr]), mutants


def test_survivor_equivalent_conflict_and_stale_are_reported(tmp_path):
    result, (killed, survivor, equivalent) = _result()
    equivalents = {"01_demo": {"ex1_f": {equivalent.id: {"reason": "the same sum"},
                                         killed.id: {"reason": "claimed right"},
                                         "000000000000": {"reason": "gone"}}}}
    data = summarise(result, equivalents)
    ex = data["exercises"][0]
    assert (ex["run"], ex["killed"], ex["survived"], ex["equivalent"]) == (3, 1, 1, 1)
    assert ex["score"] == 50.0
    by_id = {m["id"]: m for m in ex["mutants"]}
    assert by_id[survivor.id]["status"] == "survived" and "+++" in by_id[survivor.id]["diff"]
    assert by_id[equivalent.id]["status"] == "equivalent" and by_id[equivalent.id]["reason"] == "the same sum"
    assert by_id[killed.id].get("conflict")
    assert any(survivor.id in p for p in data["problems"])
    assert any(killed.id in p and "listed as equivalent" in p for p in data["problems"])
    assert any("000000000000" in w for w in data["warnings"])
    text = text_report(data)
    assert "SURVIVED" in text and "EQUIVALENT" in text and "the same sum" in text
    json_path, text_path = write_reports(data, tmp_path)
    assert json.loads(json_path.read_text())["totals"]["survived"] == 1
    assert text_path.read_text().startswith("Mutation testing of 01_demo")


def test_equivalents_need_a_reason(tmp_path):
    path = tmp_path / "eq.yaml"
    path.write_text("01_demo:\n  ex1_f:\n    abc:\n      mutation: x\n")
    with pytest.raises(EquivalentsError, match="reason"):
        load_equivalents(path)
    path.write_text("01_demo:\n  ex1_f:\n    abc:\n      reason: same result\n")
    assert load_equivalents(path)["01_demo"]["ex1_f"]["abc"]["reason"] == "same result"
    assert load_equivalents(tmp_path / "missing.yaml") == {}
