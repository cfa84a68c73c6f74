"""The notebook checks can still fail: real course cells, changed the way a regression would change them.

The first part of 05_training_loops (exact cells and training cells with a declared tolerance, with the
outputs stored by executing it) is checked by nbval with the course's comparator, as `make test` does:
unchanged it passes; a learning rate 100 times larger in a training cell, a changed figure in an exact
cell (even in its fourth decimal) and a changed label in the printed text of a training cell each fail.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from coursekit import notebook
from coursekit.paths import ROOT, solution_notebook

TRAINING = "train_loader = DataLoader(dataset, batch_size=50, shuffle=True)"
EXACT = "batch_losses = [1.0, 1.0, 10.0]"


def _prefix(tmp_path, change=None):
    """The solution notebook of 05 up to its first training loop, optionally with one cell's source changed."""
    nb = notebook.read(solution_notebook("05_training_loops"))
    end = next(i for i, c in enumerate(nb.cells) if TRAINING in c.source and "trainer(" in c.source)
    nb.cells = nb.cells[:end + 1]
    assert nb.cells[end].metadata.get("coursekit", {}).get("tolerance"), "the training cell declares a tolerance"
    if change:
        old, new = change
        hits = [c for c in nb.cells if old in c.source]
        assert len(hits) == 1, f"{old!r} is in {len(hits)} cells"
        hits[0].source = hits[0].source.replace(old, new)
    path = tmp_path / "nb.ipynb"
    notebook.write(nb, path)
    return path


def _nbval(path):
    cmd = [sys.executable, "-m", "pytest", "-p", "coursekit.nbcompare", "-p", "no:cacheprovider", "-p", "no:randomly",
           "--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "tests" / "sanitize.cfg"),
           "-q", "--no-header", "-o", "addopts=", "-c", str(path.parent / "empty.ini"), str(path)]
    (path.parent / "empty.ini").write_text("[pytest]\n")
    return subprocess.run(cmd, cwd=path.parent, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_unchanged_cells_pass(tmp_path):
    proc = _nbval(_prefix(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("change, words", [
    (("lr=0.02)\n\n    history = trainer", "lr=2.0)\n\n    history = trainer"), "coursekit.nbcompare: number"),
    (("[1.0, 1.0, 10.0]", "[1.0, 1.0, 10.0003]"), "this cell is compared exactly"),
    (('"mean loss, every 5th epoch:"', '"mean loss every 5th epoch:"'), "text around the numbers changed"),
], ids=["learning rate x100 in a training cell", "fourth decimal of an exact cell", "label of a training cell"])
def test_regressions_fail_and_say_where_the_outputs_came_from(tmp_path, change, words):
    proc = _nbval(_prefix(tmp_path, change))
    assert proc.returncode != 0, f"nbval passed a changed notebook ({change[0]!r} -> {change[1]!r})"
    assert "1 failed" in proc.stdout, proc.stdout[-3000:]
    assert words in proc.stdout, proc.stdout[-3000:]
    assert "stored outputs were written on" in proc.stdout, proc.stdout[-3000:]
