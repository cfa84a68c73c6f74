"""Fixtures shared by the test suite (tests/unit, tests/content, tests/grading, tests/e2e).

Figures are drawn with Agg: no window opens, and what was drawn can be read back.
"""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def matplotlib_untouched(monkeypatch):
    """The code under test must not call plt.show() nor change rcParams (the notebook's settings are
    the student's); the figures it made are closed afterwards."""
    rc = dict(matplotlib.rcParams)

    def no_show(*args, **kwargs):
        raise AssertionError("library functions must not call plt.show()")

    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")
    changed = sorted(k for k in rc if rc[k] != matplotlib.rcParams.get(k))
    assert not changed, f"rcParams changed: {changed}"
