"""The notebook output comparator (coursekit/nbcompare.py): tolerant where a cell says so, and still able to fail."""
from __future__ import annotations

import nbformat
import pytest

from coursekit.nbcompare import Tolerance, align, compare_text, provenance, split_numbers, tolerance_of

TOL = Tolerance(rtol=0.1, atol=0.01)


def test_numbers_and_the_text_around_them_are_split():
    parts, numbers = split_numbers("loss 0.693, accuracy 0.51 after 1e-3 s; w = -45.50")
    assert numbers == [0.693, 0.51, 1e-3, -45.5]
    assert parts == ["loss", ", accuracy", "after", "s; w =", ""]


def test_identifiers_with_digits_are_not_numbers():
    assert split_numbers("conv1d layer_2 x2 torch.float32")[1] == []


@pytest.mark.parametrize("stored, new", [
    ("train / validation MSE: (1.092, 1.193)", "train / validation MSE: (1.09, 1.2)"),   # within 10 %
    ("tensor([ 15.9500, -18.7500])", "tensor([ 15.2000, -17.9000])"),
    ("epoch  5: loss 0.248", "epoch  5: loss 0.25"),
    ("ReLU beats sigmoid: True", "ReLU beats sigmoid: True"),
])
def test_training_noise_within_the_band_passes(stored, new):
    assert compare_text(stored, new, TOL) is None


def test_tensor_padding_that_changes_with_the_numbers_is_ignored():
    assert compare_text("tensor([ 15.95, -18.75])", "tensor([15.94, -18.74])", TOL) is None


@pytest.mark.parametrize("stored, new, words", [
    ("train / validation MSE: (1.092, 1.193)", "train / validation MSE: (1.092, 2.5)", "number 2"),
    ("ReLU beats sigmoid: True", "ReLU beats sigmoid: False", "text around the numbers"),
    ("validation MSE 1.2", "training MSE 1.2", "text around the numbers"),
    ("losses: [0.5, 0.4]", "losses: [0.5, 0.4, 0.3]", "3 number(s) where 2"),
    ("loss 0.0", "loss nan", "number 1"),
])
def test_real_changes_fail_and_say_what_changed(stored, new, words):
    why = compare_text(stored, new, TOL)
    assert why is not None and words in why


def test_atol_covers_numbers_near_zero_and_rtol_large_ones():
    tol = Tolerance(rtol=0.05, atol=0.01)
    assert compare_text("0.004", "0.013", tol) is None
    assert compare_text("0.004", "0.02", tol) is not None
    assert compare_text("2000", "2090", tol) is None
    assert compare_text("2000", "2200", tol) is not None


def test_tolerance_is_read_from_cell_metadata_and_typos_are_reported():
    cell = nbformat.v4.new_code_cell("x = 1")
    assert tolerance_of(cell) is None
    cell.metadata["coursekit"] = {"tolerance": {"rtol": 0.2, "atol": 0.05}}
    assert tolerance_of(cell) == Tolerance(0.2, 0.05)
    cell.metadata["coursekit"] = {"tolerance": {"rtl": 0.2}}
    with pytest.raises(ValueError, match="rtl"):
        tolerance_of(cell)


def _stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def test_align_replaces_matching_text_and_reports_the_rest():
    stored = [_stream("loss 0.50\n"), nbformat.v4.new_output("execute_result", data={"text/plain": "0.25"})]
    new = [_stream("loss 0.52\n"), nbformat.v4.new_output("execute_result", data={"text/plain": "0.9"})]
    problems = align(stored, new, TOL)
    assert new[0]["text"] == "loss 0.50\n"          # within the band: made equal for nbval
    assert new[1]["data"]["text/plain"] == "0.9"    # outside: left for nbval to report
    assert len(problems) == 1 and "0.9" in problems[0]


def test_provenance_names_the_machine_or_says_it_is_missing():
    nb = nbformat.v4.new_notebook()
    assert "no provenance" in provenance(nb)
    nb.metadata["coursekit"] = {"executed_on": {"cpu": "Some CPU", "machine": "x86_64", "torch": "2.14.1",
                                                "torch_threads": 1, "torch_cpu_capability": "AVX512",
                                                "env": {"OMP_NUM_THREADS": "1"}, "date": "2026-12-01"}}
    text = provenance(nb)
    for word in ("Some CPU", "2.14.1", "1 torch thread", "AVX512", "OMP_NUM_THREADS=1", "2026-12-01"):
        assert word in text
