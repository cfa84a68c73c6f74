"""The similarity report (coursekit.grading.similarity) on small synthetic classes of the real topics:
no grading run, no kernels. Planted copies are found and ranked above honest pairs; base code and
answers much of the class wrote are discounted; the notebook traces show up; malformed notebooks are
skipped with a reason; the page escapes what students wrote; the threshold decides what is listed."""
from __future__ import annotations

import copy
import importlib.util
import json
import os
import random
from pathlib import Path

import nbformat
import pytest

from coursekit import notebook, synth
from coursekit.config import KitGrading
from coursekit.grading import similarity
from coursekit.grading.similarity import fingerprints, page, synthetic
from coursekit.grading.similarity.score import Pair, Share
from coursekit.paths import ROOT

TOPIC = "05_training_loops"


def _right(topic: str) -> dict:
    path = ROOT / "tests" / "wrong_answers" / f"{topic}.py"
    spec = importlib.util.spec_from_file_location(f"_right_{topic}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.RIGHT


def _course(tmp: Path, topic: str = TOPIC) -> Path:
    for folder in ("notebooks", "solutions"):
        (tmp / folder).mkdir(parents=True, exist_ok=True)
        os.symlink(ROOT / folder / topic, tmp / folder / topic)
    return tmp


def _released(topic: str = TOPIC):
    return notebook.read(ROOT / "notebooks" / topic / f"{topic}.ipynb")


def _exercises(topic: str = TOPIC):
    return notebook.exercises(ROOT / "solutions" / topic / f"{topic}.ipynb")


def _submit(root: Path, students: list[synthetic.Student], topic: str = TOPIC) -> None:
    released = _released(topic)
    for st in students:
        synth.submit(root, topic, st.name, {f"{topic}.ipynb": synthetic.notebook_of(st, released)})


def _report(root: Path, threshold: float = similarity.DEFAULT_THRESHOLD, topic: str = TOPIC):
    return similarity.report(root, topic, [topic], KitGrading(similarity_threshold=threshold))


def _scores(rep) -> dict[frozenset, float]:
    return {frozenset((p.a, p.b)): p.score for p in rep.pairs}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """14 honest students; four who wrote their own answers (right answers in other styles, changed in
    their own way, each with a line of its own), each copied by one student who disguised the copy in
    one way (partial: half of the exercises) and retyped it (no file traces)."""
    rng = random.Random(7)
    exs = _exercises()
    right = _right(TOPIC)
    wrong = synth.wrong_answers(ROOT / "tests" / "wrong_answers" / f"{TOPIC}.py")
    stubs = {notebook.grade_id(c): c.source for c in _released().cells if notebook.is_answer_cell(c)}
    honest = [synthetic.honest(f"h{i:02d}", exs, right, wrong, rng, variation=0.5) for i in range(14)]
    pairs = {}
    for j, how in enumerate(synthetic.DISGUISES):
        # (each source its own right answers: with `% 3` the first and the fourth source were built from the same
        # ones, a pair of copies in all but name, which a larger pool of answers made rare enough to rank first)
        source = synthetic.Student(f"source_{how}", {
            ex.grade_id: synthetic.vary(right[ex.grade_id][(i + j) % len(right[ex.grade_id])][1].strip("\n"), rng, 0.5)
            + f"\nscale_{i} = {rng.random():.5f} * {i + 2}" for i, ex in enumerate(exs)})
        own = synthetic.honest("x", exs, right, wrong, rng, variation=0.5)
        pairs[how] = (source, synthetic.copier(f"copy_{how}", source, how, exs, stubs, rng, own, file_copied=False))
    root = _course(tmp_path_factory.mktemp("planted"))
    _submit(root, honest + [st for pair in pairs.values() for st in pair])
    return root, pairs


def test_planted_copies_found_and_ranked_above_honest_pairs(planted):
    root, pairs = planted
    rep = _report(root, threshold=0.0)
    scores = _scores(rep)
    planted_pairs = {frozenset((a.name, b.name)) for a, b in pairs.values()}
    honest_best = max((s for pair, s in scores.items() if pair not in planted_pairs), default=0.0)
    for how, (source, copied) in pairs.items():
        score = scores.get(frozenset((source.name, copied.name)), 0.0)
        assert score >= similarity.DEFAULT_THRESHOLD, (how, score)
        assert score > honest_best, (how, score, honest_best)
    ranked = [frozenset((p.a, p.b)) for p in rep.pairs]
    assert set(ranked[:len(planted_pairs)]) == planted_pairs
    shown = _report(root)
    # each copy is grouped with its source (two groups may join where an honest answer of one copier happens to
    # be another source's: clusters are linked pairs)
    assert all(any(pair <= set(g) for g in shown.clusters) for pair in planted_pairs), shown.clusters
    assert any("copy_renamed ~ source_renamed" in line for line in shown.text_lines())


@pytest.mark.parametrize("kind", ["stub", "solution"])
def test_everyone_submitting_the_stub_or_the_solution_is_not_paired(tmp_path, kind):
    exs = _exercises()
    answers = {ex.grade_id: (None if kind == "stub" else ex.answer) for ex in exs}
    root = _course(tmp_path)
    _submit(root, [synthetic.Student(f"s{i}", dict(answers)) for i in range(8)])
    rep = _report(root, threshold=0.01)
    assert rep.students == [f"s{i}" for i in range(8)]
    assert rep.pairs == [] and rep.clusters == []


@pytest.mark.parametrize("kind", ["stub", "solution"])
def test_two_students_with_the_stub_or_the_solution_among_others_are_not_paired(tmp_path, kind):
    """Base code: two students hand in the stub (or the instructor's answers), the eight others each
    their own code; the two hold the same rare code, and it is not evidence."""
    exs = _exercises()
    right = _right(TOPIC)
    rng = random.Random(5)
    base = {ex.grade_id: (None if kind == "stub" else ex.answer) for ex in exs}
    students = [synthetic.Student(f"base{i}", dict(base)) for i in range(2)]
    for i in range(8):
        students.append(synthetic.Student(f"own{i}", {
            ex.grade_id: right[ex.grade_id][i % 3][1].strip("\n") + f"\nscale_{i} = {rng.random():.5f}" for ex in exs}))
    root = _course(tmp_path)
    _submit(root, students)
    rep = _report(root, threshold=0.01)
    assert not [p for p in rep.pairs if p.a.startswith("base") or p.b.startswith("base")]


def test_an_answer_most_of_the_class_wrote_is_discounted(tmp_path):
    """8 of 10 students wrote the same (non-solution) answer to ex3; two wrote a rare one together."""
    exs = _exercises()
    right = _right(TOPIC)
    common = right["ex3_train_step"][1][1]
    rare = right["ex4_trainer"][2][1]
    students = []
    for i in range(10):
        answers = {ex.grade_id: ex.answer for ex in exs}
        if i < 8:
            answers["ex3_train_step"] = common
        if i >= 8:
            answers["ex4_trainer"] = rare
        students.append(synthetic.Student(f"s{i}", answers))
    root = _course(tmp_path)
    _submit(root, students)
    rep = _report(root, threshold=0.01)
    assert {frozenset((p.a, p.b)) for p in rep.pairs} == {frozenset(("s8", "s9"))}
    assert [s.key for s in rep.pairs[0].shares] == ["ex4_trainer"]


def test_notebook_traces_appear_as_evidence(tmp_path):
    """Honest answers; a shared added-cell id, an identical random output and the same error in an
    added cell, each held by one pair."""
    exs = _exercises()
    rng = random.Random(3)
    right, wrong = _right(TOPIC), synth.wrong_answers(ROOT / "tests" / "wrong_answers" / f"{TOPIC}.py")
    students = [synthetic.honest(f"s{i}", exs, right, wrong, rng, variation=0.0) for i in range(12)]
    for st in students:
        st.answers = {ex.grade_id: ex.answer for ex in exs}          # nothing rare in the code
        st.wrong, st.history = {}, None
        st.added = [(f"{abs(hash(st.name)) % 16**8:08x}", "print('hi')", "hi")]
    students[0].added = students[1].added = [("c0ffee00", "x = 1", "1")]
    students[2].added = [("aaaa0001", "torch.randn(3)", "tensor([ 0.3367,  0.1288,  0.2345])")]
    students[3].added = [("bbbb0002", "torch.randn(3)", "tensor([ 0.3367,  0.1288,  0.2345])")]
    root = _course(tmp_path)
    _submit(root, students)
    err = root / "submitted" / "s4" / TOPIC / f"{TOPIC}.ipynb"
    for path in (err, root / "submitted" / "s5" / TOPIC / f"{TOPIC}.ipynb"):
        nb = nbformat.read(str(path), as_version=4)
        cell = nbformat.v4.new_code_cell("model(torch.ones(7, 3))")
        cell.outputs = [nbformat.v4.new_output("error", ename="RuntimeError", traceback=[],
                                               evalue="mat1 and mat2 shapes cannot be multiplied (7x3 and 5x2)")]
        nb.cells.append(cell)
        nbformat.write(nb, str(path))
    rep = _report(root, threshold=0.1)
    found = {frozenset((p.a, p.b)): " | ".join(p.evidence) for p in rep.pairs}
    assert "same id of a cell they added" in found[frozenset(("s0", "s1"))]
    assert "c0ffee00" in found[frozenset(("s0", "s1"))]
    assert "identical output that differs between runs" in found[frozenset(("s2", "s3"))]
    assert "same error shown: RuntimeError: mat1 and mat2" in found[frozenset(("s4", "s5"))]
    assert len(found) == 3


def test_same_irregular_execution_history_is_evidence(tmp_path):
    exs = _exercises()
    students = [synthetic.Student(f"s{i}", {ex.grade_id: ex.answer for ex in exs}) for i in range(6)]
    students[0].history = students[1].history = [1, 4, None, 9, 10, 2, 3] * 6
    students[2].history = [1, 2, 3, 5, 8, 13, 21] * 6
    root = _course(tmp_path)
    _submit(root, students)
    rep = _report(root, threshold=0.1)
    assert [(p.a, p.b) for p in rep.pairs] == [("s0", "s1")]
    assert "same history of execution counts: 1 4 - 9" in rep.pairs[0].evidence[0]


def test_malformed_notebooks_are_skipped_with_a_reason(tmp_path):
    root = _course(tmp_path)
    exs = _exercises()
    good = [synthetic.Student(f"ok{i}", {ex.grade_id: ex.answer for ex in exs}) for i in range(3)]
    _submit(root, good)
    name = f"{TOPIC}.ipynb"
    deep = b'{"cells": ' + b"[" * 5000 + b"]" * 5000 + b', "nbformat": 4}'
    bad_cell = json.dumps({"cells": [{"cell_type": "code", "source": 5, "metadata": {}}], "nbformat": 4,
                           "metadata": {}}).encode()
    no_id = copy.deepcopy(_released())
    for i, cell in enumerate(no_id.cells):
        cell.pop("id", None)
        if notebook.is_answer_cell(cell):
            cell.source = "def f(:\n    ((((\n" + "(" * 3000          # does not parse or tokenize
    text = nbformat.writes(no_id, version=4).replace('"nbformat_minor": 5', '"nbformat_minor": 4')
    for student, data in {"notjson": b"{nope", "deep": deep, "badcell": bad_cell, "empty": b"",
                          "notutf8": b"\xff\xfe{}", "broken_code": text.encode()}.items():
        synth.submit(root, TOPIC, student, {name: data})
    (root / "submitted" / "link" / TOPIC).mkdir(parents=True)
    os.symlink("/etc/passwd", root / "submitted" / "link" / TOPIC / name)
    rep = _report(root, threshold=0.01)
    joined = "\n".join(rep.problems)
    for student in ("notjson", "deep", "badcell", "empty", "notutf8", "link"):
        assert f"submitted/{student}/{TOPIC}/{name}" in joined, student
    assert "nested deeper" in joined and "is not valid JSON" in joined and "not text" in joined
    assert sorted(rep.students) == ["broken_code", "ok0", "ok1", "ok2"]
    assert all("\n" not in p for p in rep.problems)
    assert any("skipped" in line for line in rep.text_lines())


def test_page_escapes_what_students_wrote(tmp_path):
    evil = "<script>alert(1)</script>"
    exs = _exercises()
    students = []
    for i in range(2):
        answers = {ex.grade_id: ex.answer for ex in exs}
        answers["ex2_n_batches"] = (f"def n_batches(n, batch_size, drop_last=False):\n    s = '{evil}'\n"
                                    "    return len(s) + n * 3 - batch_size ** 2 + int(drop_last) * 17")
        students.append(synthetic.Student(f"s{i}", answers, added=[("feedf00d", f"print('{evil}')", evil)]))
    students.append(synthetic.Student("s2", {ex.grade_id: ex.answer for ex in exs}))
    root = _course(tmp_path)
    _submit(root, students)
    rep = _report(root, threshold=0.1)
    assert rep.pairs
    # a student id cannot hold '<' (the import refuses it), but the page does not rely on that
    rep.pairs.append(Pair(evil, "b&<img src=x onerror=alert(1)>", 9.0, [Share("ex1", 1.0, {1}, {1})],
                          [f"same error shown: {evil}"]))
    rep.code[evil] = {"ex1": evil}
    rep.clusters.append([evil, "x"])
    html = rep.write_html(tmp_path / "similarity.html").read_text()
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "default-src 'none'" in html
    assert "<mark>" in html


def test_threshold_decides_what_is_reported(planted):
    root, _ = planted
    low, default, high = _report(root, 0.5), _report(root), _report(root, 100.0)
    assert len(low.pairs) > len(default.pairs) > 0 == len(high.pairs)
    assert min(p.score for p in default.pairs) >= similarity.DEFAULT_THRESHOLD
    assert "similarity: 0 pair(s)" in high.text_lines()[0]
    assert set(default.by_student()) == {s for p in default.pairs for s in (p.a, p.b)}
    assert KitGrading().similarity_threshold == similarity.DEFAULT_THRESHOLD


def test_html_page_names_the_topic():
    assert similarity.html_name("01_tensors") == "similarity_01_tensors.html"
    assert page.MAX_PAIRS > 0
