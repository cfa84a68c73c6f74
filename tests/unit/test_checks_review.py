"""Causes found in the message review (issue 20): what a failed property names on its own evidence.

Each test is a wrong answer whose message named no cause, or a false one, before the fix it covers.
"""
from __future__ import annotations

import random

import pytest
import torch
from hypothesis import strategies as st

from utils.checks import check_against_reference, check_close, same_kind, same_values, tensors

LOGITS = st.tuples(tensors((st.integers(1, 6), 2), scale=(1.0, 1e3, 30.0)))
VECTORS = st.tuples(tensors((st.integers(1, 4),)))


def _message(fn, ref, inputs, **options) -> str:
    with pytest.raises(AssertionError) as info:
        check_against_reference(fn, ref, inputs, name="f(X)", max_examples=8, **options)
    return str(info.value)


def _linear(X):
    return X @ torch.tensor([[0.3], [-0.2]]) + 0.1


def test_a_clamp_seen_on_a_larger_case_is_named_on_the_shrunk_one_value_case():
    """07 ex3: logits clamped to [-10, 10]; Hypothesis shrinks to one sample, whose one value alone is no
    evidence of a clamp; the larger failing case before it was."""
    text = _message(lambda X: _linear(X).clamp(-10, 10), _linear, LOGITS)
    assert "X = a tensor of shape (1, 2)" in text, text          # shrunk to one value
    assert "hint: the values were clamped to [-10, 10]" in text, text


def test_a_constant_result_is_not_called_a_clamp():
    """Every value the same (a constant) is not a clamp to [c, c]."""
    X = torch.tensor([[30.0, 0.0], [-30.0, 0.0], [1.0, 1.0], [60.0, 5.0]])
    text = _message(lambda X: torch.ones(len(X), 1), _linear, st.nothing(), examples=[(X,)])
    assert "expected: [9.1, -8.9, 0.2, 17.1]" in text, text
    assert "clamp" not in text and "cut off" not in text, text


def test_results_that_add_up_between_calls_are_named():
    total = [torch.zeros(())]

    def running_sum(X):
        total[0] = total[0] + X.sum()
        return total[0]
    running_sum(torch.ones(3))                              # a visible test ran it before
    text = _message(running_sum, lambda X: X.sum(), VECTORS, properties=(same_kind(), same_values()))
    assert "hint: the results add up from call to call" in text, text


def test_results_that_change_between_calls_are_named_with_both_explanations():
    rng = random.Random(0)
    text = _message(lambda X: X.sum() + rng.random(), lambda X: X.sum(), VECTORS)
    assert "a second call with the same input gave another result" in text and "random" in text, text
    assert "add up" not in text


def test_a_stateless_wrong_answer_gets_one_extra_call_and_its_usual_hint():
    calls = []

    def doubled(X):
        calls.append(1)
        return 2 * X.sum()
    reference = [0]

    def ref(X):
        reference[0] += 1
        return X.sum()
    text = _message(doubled, ref, VECTORS, properties=(same_values(),))
    assert "second call" not in text and "add up" not in text, text
    assert len(calls) == reference[0] + 1, (len(calls), reference[0])   # the probe ran once, not per shrunk case


def test_lists_of_floats_are_compared_within_the_tolerance():
    def ref(X):
        return [float(v) for v in X.double().cumsum(0)], len(X)

    def summed_another_way(X):
        return [float(X[: i + 1].double().sum()) * (1 + 1e-12) for i in range(len(X))], len(X)
    check_against_reference(summed_another_way, ref, VECTORS, name="f(X)")
    text = _message(lambda X: ([1.01 * v for v in ref(X)[0]], len(X)), ref, VECTORS)
    assert "f(X)[0]: values are not close to the expected ones" in text, text
    text = _message(lambda X: (ref(X)[0], len(X) + 1), ref, VECTORS)
    assert "f(X)[1]: not equal to the expected value" in text, text       # ints stay exact


def test_nan_from_an_overflowed_exp_is_named():
    z = torch.tensor([-100.0, 100.0])
    with pytest.raises(AssertionError, match=r"(?s)got:.*nan.*inf/inf.*exp of a large number that overflowed"):
        check_close(torch.exp(z) / (1 + torch.exp(z)), torch.sigmoid(z), "predict_proba(z)")


def test_a_known_mistake_of_a_whole_list_result_is_still_named():
    """Compared part by part, the exercise's causes (whole results) still name the mistake."""
    def ref(X):
        return str(X.dtype), [float(v) for v in X]

    def widened(X):
        return str(X.double().dtype), [float(v) for v in X]
    text = _message(widened, ref, VECTORS, causes=lambda X: [(widened(X), "converted to float64: keep the input's dtype.")])
    assert "f(X): not equal to the expected value" in text and "hint: converted to float64" in text, text


def test_a_module_list_where_a_sequential_belongs_is_explained():
    from torch import nn

    from utils.checks import check_type
    for layers in (nn.ModuleList([nn.Linear(2, 3), nn.ReLU()]), [nn.Linear(2, 3), nn.ReLU()]):
        with pytest.raises(AssertionError, match=r"(?s)expected: nn.Sequential.*hint: .*no forward\(\).*"
                                                 r"nn.Sequential\(\*layers\)"):
            check_type(layers, nn.Sequential, "build_mlp([2, 3])")
