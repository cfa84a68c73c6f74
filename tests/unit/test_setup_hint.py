"""A cell run before the notebook's setup cell tells the student to run the setup cell (utils/_setup_hint.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from utils._setup_hint import CONFIG_LINE, HINT, install


def _errors(cell) -> str:
    return "\n".join("\n".join(o.get("traceback", [])) for o in cell.outputs if o.output_type == "error")


@pytest.mark.slow
def test_a_cell_before_the_setup_cell_says_to_run_it_and_only_then(tmp_path):
    config = Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.py"
    assert config.exists() and CONFIG_LINE in config.read_text(), "make setup installs the extension's config"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = torch.zeros(3)"),                      # before the setup cell
                nbformat.v4.new_code_cell("from utils.training import setup_notebook\ndevice = setup_notebook(0)"),
                nbformat.v4.new_code_cell("y = undefined_name + 1")]                # after it: a plain NameError
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    before, setup, after = (_errors(c) for c in nb.cells)
    assert "NameError" in before and HINT in before
    assert setup == ""
    assert "NameError" in after and "undefined_name" in after and HINT not in after


def test_install_is_idempotent(tmp_path):
    path = install(str(tmp_path))
    install(str(tmp_path))
    assert path.read_text().count(CONFIG_LINE) == 1


def test_grading_kernels_show_tracebacks_as_ipython_does(monkeypatch):
    """While nbgrader autogrades (plain nbgrader's kernels and the kit's, the judge's included) the extension
    installs no exception handler: a graded cell's traceback is IPython's own."""
    from utils import _setup_hint

    class Shell:
        handlers = []

        def set_custom_exc(self, exc_tuple, handler):
            self.handlers.append(exc_tuple)

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    _setup_hint.load_ipython_extension(Shell())
    assert Shell.handlers == []
    monkeypatch.delenv("NBGRADER_EXECUTION")
    _setup_hint.load_ipython_extension(Shell())
    assert Shell.handlers == [(NameError,)]
