"""The examples in utils.checks' docstrings are the messages students read: each public check shows a
typical failure, and every example runs here, exactly as written (doctest compares the whole message)."""
import doctest
import importlib
import pkgutil

import numpy as np
import pytest
import torch
from torch import nn

import utils.checks

MODULES = sorted(m.name for m in pkgutil.iter_modules(utils.checks.__path__, "utils.checks."))


def _globs() -> dict:
    """What the examples assume: torch, NumPy, nn and every public check, as a test cell imports them."""
    return {"torch": torch, "np": np, "nn": nn, **{n: getattr(utils.checks, n) for n in utils.checks.__all__}}


def _run(test: doctest.DocTest) -> doctest.TestResults:
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    failures = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)
    return runner.summarize(verbose=False)


@pytest.mark.parametrize("name", utils.checks.__all__)
def test_every_public_check_shows_the_message_a_student_reads(name):
    tests = [t for t in doctest.DocTestFinder(recurse=False).find(getattr(utils.checks, name), name, globs=_globs())
             if t.examples]
    assert tests, f"utils.checks.{name} has no example in its docstring"
    results = _run(tests[0])
    shown = "".join(e.want + (e.exc_msg or "") for e in tests[0].examples)
    assert results.attempted >= 1
    if name.startswith("check_") or name in ("call", "student_code", "defined"):
        assert any(e.exc_msg for e in tests[0].examples), f"{name}'s example shows no failure"
        assert "expected" in shown, f"{name}'s example shows no 'expected' line"


@pytest.mark.parametrize("module", MODULES)
def test_every_example_in_the_package_runs(module):
    """Examples anywhere in the package (module docstrings, helpers) hold too."""
    mod = importlib.import_module(module)
    for test in doctest.DocTestFinder().find(mod, module, globs=_globs()):
        if test.examples:
            _run(test)


def test_a_changed_message_fails_its_example(monkeypatch):
    """The runner really compares: a check whose message changed no longer matches its docstring."""
    import utils.checks.kinds as kinds
    monkeypatch.setattr(kinds, "shape_hint", lambda got, expected: "a different hint.")
    test = doctest.DocTestFinder(recurse=False).find(utils.checks.check_shape, "check_shape", globs=_globs())[0]
    with pytest.raises(AssertionError, match="a different hint"):
        _run(test)


def test_solved_reads_the_notebook_namespace_and_refuses_bad_arguments(capsys):
    """passed() records in the namespace of the cell that calls it (a notebook's), never in utils."""
    notebook, other = {}, {}
    exec("from utils.checks import passed\npassed(3)", notebook)
    exec("from utils.checks import solved\nok = solved(3)", notebook)
    exec("from utils.checks import solved\nok = solved(3, uses='your trainer')", other)
    assert notebook["ok"] is True and other["ok"] is False
    assert capsys.readouterr().out.splitlines()[-1] == \
        "Solve exercise 3 first (until its test cell passes): this cell uses your trainer."
    for bad in ((), (True,), (3.5,)):
        with pytest.raises(TypeError, match=r"solved\(\): pass the numbers"):
            utils.checks.solved(*bad)
    with pytest.raises(TypeError, match="`uses` must be a string"):
        utils.checks.solved(3, uses=["trainer"])
