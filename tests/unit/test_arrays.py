"""utils._arrays (conversion and validation shared by the library) and utils._course_notes (the
course notes' keyword names in one adapter)."""
import numpy as np
import pytest
import torch
from torch import nn

from utils._arrays import as_class_labels, as_labels, as_vector, as_xy, to_numpy
from utils._course_notes import aliases, check_output_width, normalise_transform, range_pair


def test_to_numpy_takes_what_students_pass():
    t = torch.arange(3.0, requires_grad=True) * 2
    np.testing.assert_array_equal(to_numpy(t), [0.0, 2.0, 4.0])
    for dtype in (torch.bfloat16, torch.float16, torch.float8_e4m3fn):
        assert to_numpy(torch.ones(2, dtype=dtype)).dtype == np.float32
    assert to_numpy(torch.ones(2, dtype=torch.uint16)).dtype == np.uint16
    np.testing.assert_array_equal(to_numpy([torch.tensor(1.5), torch.tensor(2.5)]), [1.5, 2.5])  # .item() forgotten
    assert to_numpy(3).shape == () and to_numpy([[1, 2], [3, 4]]).shape == (2, 2)
    assert to_numpy(torch.tensor([1 + 2j]), complex_ok=True).dtype.kind == "c"


@pytest.mark.parametrize("value, message", [
    (None, "X is None"),
    ("abc", "X is a str"),
    ({"a": 1}, "X is a dict"),
    ([[1, 2], [3]], "could not be turned into an array"),
    (torch.empty(2, device="meta"), "'meta' device"),
    (torch.tensor([1j]), "complex"),
    (np.array(["a", "b"]), "numeric array"),
])
def test_to_numpy_explains_what_it_cannot_take(value, message):
    with pytest.raises(ValueError, match=message):
        to_numpy(value, "X")


def test_vectors_labels_and_pairs():
    np.testing.assert_array_equal(as_vector(torch.ones(3, 1)), [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"one value per data point.*\(4, 2\)"):
        as_vector(np.zeros((4, 2)), "y")
    np.testing.assert_array_equal(as_labels([0.0, 1.0, 2.0]), [0, 1, 2])
    with pytest.raises(ValueError, match="not probabilities"):
        as_labels([0.2, 0.8])
    np.testing.assert_array_equal(as_class_labels(torch.tensor([[0.1, 0.9], [2.0, -1.0]]), "pred"), [1, 0])
    with pytest.raises(ValueError, match="There are 3 images but 2 labels; pass one per image"):
        as_class_labels([0, 1], "labels", 3, per="image")
    x, y = as_xy(torch.linspace(0, 1, 5)[:, None], torch.zeros(5))
    assert x.shape == y.shape == (5,)
    with pytest.raises(ValueError, match="one entry per data point"):
        as_xy([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match=r"ONE input feature"):
        as_xy(np.zeros((3, 2)), [1, 2, 3])


def test_aliases_map_the_notes_names_once():
    @aliases(validation_loss="val_loss", alpha="lr")
    def f(train, val_loss=None, *, lr=0.1):
        return train, val_loss, lr

    assert f(1, validation_loss=2, alpha=0.5) == (1, 2, 0.5)
    assert f(1, 2) == (1, 2, 0.1)
    with pytest.raises(ValueError, match="Pass val_loss once: val_loss or validation_loss"):
        f(1, 2, validation_loss=3)
    with pytest.raises(ValueError, match="Pass lr once"):
        f(1, lr=0.2, alpha=0.3)
    assert "``alpha`` for ``lr``" in f.__doc__


def test_transform_and_ranges():
    assert normalise_transform("softmax") == "Softmax" and normalise_transform(nn.Sigmoid()) == "Sigmoid"
    with pytest.raises(ValueError, match="transform should be"):
        normalise_transform("relu")
    check_output_width(1, "Sigmoid")
    with pytest.raises(ValueError, match="softmax over a single output is always 1"):
        check_output_width(1, "Softmax")
    assert range_pair([-25, 25], "y_range") == (-25.0, 25.0) and range_pair(None, "y_range") is None
    with pytest.raises(ValueError, match="low < high"):
        range_pair((3, 1), "x_range")


def test_utils_imports_no_tooling_and_no_private_names_of_each_other():
    """utils is the student library: nothing from coursekit, and no module reaches into another's
    private names (the shared helpers are public names of utils._arrays / utils._course_notes)."""
    import ast
    from pathlib import Path

    import utils

    for path in Path(utils.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("coursekit"), f"{path.name} imports {node.module}"
                if node.module.startswith("utils"):
                    private = [a.name for a in node.names if a.name.startswith("_")]
                    assert not private, f"{path.name} imports private names {private} from {node.module}"
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("coursekit") for a in node.names), path.name
