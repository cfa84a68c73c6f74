"""Exercises specified as properties against the instructor's reference, over generated inputs.

``check_against_reference(fn, ref, inputs, name=...)`` calls the student's ``fn`` and the reference
``ref`` (``utils.checks.reference.reference(name)``, the instructor's own code) on inputs that a
Hypothesis strategy generates (``properties_inputs``: shapes with size-1 dimensions and batches of
one, every dtype the text allows, extreme values), and checks the properties every right answer has:
by default the same kind, shape, dtype and values as the reference's result, inputs left unchanged,
and a second call giving the same result. ``same_gradients()`` adds gradients through ``backward``.

Generation is deterministic (``derandomize``, no example database), cheap (``max_examples``, 20 by
default) and reports the smallest input that fails (Hypothesis shrinks it), in one message: what
failed, expected, got, the input, and the cause when a known mistake matches (``causes``).

The student's ``fn`` is called through ``call``: errors are explained, and under the judge ``fn`` is
a proxy of the student's kernel (arguments cross as data: pass plain tensors, arrays and numbers).
"""
from __future__ import annotations

import contextlib
import inspect
import os
import tempfile

import numpy as np
import torch

from ._format import at_caller, check_name, describe, is_failure, is_tensor, mark
from .calling import call
from .properties_checks import DEFAULT, _clone, _plain, _same
from .properties_inputs import Args, describe_input

__all__ = ["check_against_reference"]

_STATE_CAUSE = ("this is the result of an earlier call with other inputs: compute it from this call's inputs, and "
                "keep nothing between calls (no global, cache or default argument that remembers).")


class _Falsified(Exception):
    """Raised inside Hypothesis for a failed property (one type: one bug to shrink)."""


class Context:
    """One generated case: the inputs, the student's result, the reference's, and how to call both."""

    def __init__(self, check, args, kwargs):
        self.check = check
        self.args, self.kwargs = args, kwargs
        self.what = check.what

    def fresh(self):
        """A deep copy of the inputs (each call gets its own, so that one cannot change another's)."""
        return _clone(self.args), _clone(self.kwargs)

    def call_student(self, what=None):
        args, kwargs = self.fresh()
        self.check.calls += 1
        return call(self.check.fn, *args, what=what or self.what, exercise=self.check.exercise, **kwargs), args, kwargs

    def call_reference(self, args=None, kwargs=None):
        if args is None:
            args, kwargs = self.fresh()
        try:
            return self.check.ref(*args, **kwargs)
        except Exception as err:
            raise RuntimeError(f"check_against_reference(): the reference raised {type(err).__name__}: {err} on a "
                               f"generated input ({_arguments(self.check.names, self.args, self.kwargs)}): the "
                               "strategy makes inputs outside the exercise's domain.") from err

    def causes(self):
        found = list(self.check.causes(*self.args, **self.kwargs)) if self.check.causes else []
        got = getattr(self, "got", None)
        if got is not None and any(_same(got, r) for r, _ in found):
            return found        # the exercise's own mistake explains it (an answer that ignores an input also
                                # gives an earlier call's result: that is not kept state)
        found += [(r, _STATE_CAUSE) for inputs, r in self.check.earlier if _stale(inputs, r, self.args, self.expected)]
        return found


def _stale(inputs, result, args, expected) -> bool:
    """Whether an earlier call's ``result`` is evidence of state kept between calls: its inputs had the
    same shapes and other values, and it is far (1 %) from what this call should give."""
    if len(inputs) != len(args) or all(_same(a, b) for a, b in zip(inputs, args)):
        return False
    try:
        if any(np.shape(_plain(a)) != np.shape(_plain(b)) for a, b in zip(inputs, args)):
            return False
        r, e = np.asarray(_plain(result), dtype=float), np.asarray(_plain(expected), dtype=float)
        return r.shape == e.shape and not np.allclose(r, e, rtol=1e-2, atol=1e-2 * float(np.abs(e).max(initial=0)))
    except (TypeError, ValueError):
        return False


def _arguments(names, args, kwargs) -> str:
    return "; ".join(f"{n} = {describe_input(a)}" for n, a in zip(names, args)) + "".join(
        f"; {k} = {describe_input(v)}" for k, v in kwargs.items())



# ---------------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------------

class _Check:
    def __init__(self, fn, ref, what, exercise, properties, causes, budget):
        self.fn, self.ref, self.what, self.exercise = fn, ref, what, exercise
        self.properties, self.causes, self.budget = properties, causes, budget
        self.calls = 0
        self.earlier: list = []           # the student's results of earlier cases (a stale result shows)
        self.failed: tuple | None = None  # (message, args, kwargs) of the last failing case
        try:
            target = ref.forward if isinstance(ref, torch.nn.Module) else ref   # a model: its forward's names
            params = [p for p in inspect.signature(target).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            self.names = [p.name for p in params]
        except (TypeError, ValueError):
            self.names = []

    def run(self, case) -> AssertionError | None:
        """The failed check of one case, or None when every property holds."""
        args, kwargs = (case.args, case.kwargs) if isinstance(case, Args) else (tuple(case), {})
        if len(self.names) < len(args):
            self.names = self.names + [f"argument {i + 1}" for i in range(len(self.names), len(args))]
        ctx = Context(self, args, kwargs)
        ctx.expected = ctx.call_reference()
        try:
            ctx.got, ctx.student_args, _ = ctx.call_student()
            for prop in self.properties:
                prop.check(ctx)
        except AssertionError as err:
            if not is_failure(err):
                raise
            return err
        finally:
            if hasattr(ctx, "got") and len(self.earlier) < 2:
                self.earlier.append((args, _clone(ctx.got) if is_tensor(ctx.got) else ctx.got))
        return None

    def message(self, err: AssertionError, args, kwargs, generated: bool) -> AssertionError:
        lines = str(err).splitlines()
        at = next((i for i, line in enumerate(lines) if line.startswith("  hint:")), len(lines))
        title = ("  input (the smallest generated input that shows it):" if generated else "  input:")
        shown = [f"    {n} = {describe_input(a)}" for n, a in zip(self.names, args)]
        shown += [f"    {k} = {describe_input(v)}" for k, v in kwargs.items()]
        return mark(AssertionError("\n".join(lines[:at] + [title] + shown + lines[at:])))


def check_against_reference(fn, ref, inputs, *, name: str, exercise=None, properties=DEFAULT, causes=None,
                            examples=(), max_examples: int = 20, budget: int = 400) -> None:
    """The student's ``fn`` must behave as the instructor's ``ref`` on every input ``inputs`` generates.

    ``inputs``: a Hypothesis strategy of argument tuples (or ``Args(*args, **kwargs)``); ``examples``:
    argument tuples always tried first; ``name``: the call as the student reads it (``"f(X)"``);
    ``properties``: what must hold (default ``same_kind(), same_values(), inputs_unchanged(),
    repeatable()``); ``causes``: a function of the arguments returning ``(value, explanation)`` pairs,
    what known mistakes compute (as in ``check_close``). ``max_examples`` generated cases; at most
    ``budget`` calls of ``fn`` in all (the search for the smallest failing input stops there).

    A typical failure, as the student reads it:

    >>> from hypothesis import strategies as st
    >>> from utils.checks.properties_inputs import tensors
    >>> def ref(X):
    ...     return X - X.mean(dim=0)
    >>> def centre(X):
    ...     return X - X.mean()
    >>> check_against_reference(centre, ref, st.tuples(tensors((st.integers(1, 4), st.integers(1, 3)))),
    ...                         name="centre(X)", exercise=2)
    Traceback (most recent call last):
    ...
    AssertionError: centre(X): values are not close to the expected ones.
      expected: [0.0, 0.0]
      got:      [0.9172, -0.9172]
      2 of 2 values differ; the largest difference is 0.917212 at index [0, 0]: got 0.917212, expected 0.0
      (allowed: atol=1e-06 + rtol=1e-05 × |expected|)
      input (the smallest generated input that shows it):
        X = a tensor of shape (1, 2), dtype torch.float32: [[1.541, -0.2934]]
    """
    __tracebackhide__ = True   # IPython and pytest show the caller's line, not this one
    with at_caller():
        check_name("check_against_reference", name)
        if not callable(ref):
            raise TypeError(f"check_against_reference(): `ref` must be the reference function, got {describe(ref)}.")
        if causes is not None and not callable(causes):
            raise TypeError("check_against_reference(): `causes` must be a function of the arguments returning "
                            f"(value, explanation) pairs, got {describe(causes)}.")
        if not all(hasattr(p, "check") for p in properties):
            raise TypeError("check_against_reference(): `properties` must be property objects such as same_values().")
        check = _Check(fn, ref, name, exercise, tuple(properties), causes, budget)
        for case in examples:
            err = check.run(case)
            if err is not None:
                args, kwargs = (case.args, case.kwargs) if isinstance(case, Args) else (tuple(case), {})
                raise check.message(err, args, kwargs, generated=False) from None
        _search(check, inputs, max_examples)
        if check.failed is not None:
            err, args, kwargs = check.failed
            raise check.message(err, args, kwargs, generated=True) from None


@contextlib.contextmanager
def _without_local_constants():
    """Inputs that depend on the strategy alone. Hypothesis otherwise draws, now and then, constants read
    from the source of every module it takes for the user's own (utils/, the judge's package, a student's
    helper.py): the judge, plain nbgrader and a student's Validate would draw different inputs, and an
    edit of any such file would change them. (hypothesis is pinned; its private names are stable.)"""
    from hypothesis.internal.conjecture import providers
    saved, empty = providers._get_local_constants, providers.Constants()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = saved
        providers.CONSTANTS_CACHE.cache.clear()


def _search(check: _Check, inputs, max_examples: int) -> None:
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis.errors import HypothesisException
    from hypothesis.strategies import SearchStrategy

    if not isinstance(inputs, SearchStrategy):
        raise TypeError(f"check_against_reference(): `inputs` must be a Hypothesis strategy, got {describe(inputs)}.")

    @settings(max_examples=max_examples, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink),
              report_multiple_bugs=False, verbosity=Verbosity.quiet, print_blob=False)
    @given(inputs)
    def search(case):
        if check.calls > check.budget and check.failed is not None:
            return                                    # enough shrinking: keep the smallest failure so far
        err = check.run(case)
        if err is not None:
            args, kwargs = (case.args, case.kwargs) if isinstance(case, Args) else (tuple(case), {})
            check.failed = (err, args, kwargs)
            raise _Falsified()

    from hypothesis import configuration
    home = getattr(configuration, "__hypothesis_home_directory", None)
    if home is None and not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        # Hypothesis caches what it reads of the source files in ./.hypothesis: not in a notebook's folder (a
        # solution's, a submission's, the judge's read-only one), in the temporary folder instead
        configuration.set_hypothesis_home_dir(os.path.join(tempfile.gettempdir(), "coursekit-hypothesis"))
    try:
        with _without_local_constants():
            search()
    except (_Falsified, HypothesisException):
        if check.failed is None:                      # pragma: no cover - Hypothesis itself failed
            raise
    except BaseException as err:
        if is_failure(err) or check.failed is None:
            raise
    finally:
        configuration.set_hypothesis_home_dir(home)
