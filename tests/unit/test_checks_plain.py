"""utils.checks takes a student's values as plain data only (issue 19): a subclass of a tensor, an array,
a number or a container, which can say anything about itself, is refused with a message that names it,
in the student's kernel as the judge refuses it (there it never arrives as data); the kit's own
instrument tensors and nn.Parameter keep working."""
import numpy as np
import pytest
import torch
from torch import nn

from utils.checks import (call, check_close, check_dtype, check_equal, check_param_count, check_requires_grad,
                          check_shape, check_true, check_type, defined)
from utils.checks.instruments import NotMovedYet, StandInGpuTensor, on_gpu


class Anything:
    """Equal to everything."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


class LyingTensor(torch.Tensor):
    """The issue's attack: returned empty, its shape and dtype compare equal to anything."""

    @property
    def shape(self):
        return Anything()

    @property
    def dtype(self):
        return Anything()

    def __eq__(self, other):
        return True

    def size(self, *args):
        return Anything()

    def numpy(self, *args, **kwargs):
        return np.zeros(3)


class LyingArray(np.ndarray):
    @property
    def shape(self):
        return Anything()

    @property
    def dtype(self):
        return Anything()

    def __eq__(self, other):
        return np.True_


class AlwaysEqualFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class MyList(list):
    pass


def lying_tensor():
    return torch.empty(0).as_subclass(LyingTensor)


def lying_array():
    return np.zeros(0).view(LyingArray)


def refused(func, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        func(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("check, args", [
    (check_type, (torch.Tensor,)),
    (check_shape, ((3,),)),
    (check_dtype, (torch.float32,)),
    (check_close, (torch.zeros(3),)),
    (check_equal, (torch.zeros(3),)),
])
def test_a_lying_tensor_subclass_is_refused_by_every_check(check, args):
    message = refused(check, lying_tensor(), *args, "y")
    assert message.startswith("y: a subclass of torch.Tensor (LyingTensor) is not accepted; return a plain tensor."), \
        message
    assert "plain data" in message and "\n  hint: " in message


def test_a_lying_tensor_is_refused_where_gradients_and_histories_are_checked():
    assert "LyingTensor" in refused(check_requires_grad, lying_tensor(), True, "w")
    assert "LyingTensor" in refused(check_decreasing_of, lying_tensor())
    assert "LyingTensor" in refused(check_true, lying_tensor(), "the answer is right.")


def check_decreasing_of(values):
    from utils.checks import check_decreasing
    check_decreasing(values, "losses")


@pytest.mark.parametrize("check, args", [
    (check_type, (np.ndarray,)),
    (check_shape, ((3,),)),
    (check_dtype, (np.float64,)),
    (check_close, (np.zeros(3),)),
    (check_equal, (np.zeros(3),)),
])
def test_a_lying_ndarray_subclass_is_refused(check, args):
    message = refused(check, lying_array(), *args, "a")
    assert message.startswith("a: a subclass of numpy.ndarray (LyingArray) is not accepted; return a plain NumPy "
                              "array."), message


def test_a_float_whose_eq_is_always_true_is_refused():
    x = AlwaysEqualFloat(0.0)
    assert x == 3.0                       # what it would make a check believe
    for check, args in ((check_equal, (3.0,)), (check_close, (3.0,)), (check_type, (float,))):
        assert refused(check, x, *args, "loss").startswith(
            "loss: a subclass of float (AlwaysEqualFloat) is not accepted; return a plain float.")


def test_a_list_subclass_is_refused_and_so_is_a_lying_item_inside_a_plain_list():
    assert refused(check_close, MyList([1.0, 2.0]), [1.0, 2.0], "values").startswith(
        "values: a subclass of list (MyList) is not accepted; return a plain list.")
    assert refused(check_equal, MyList([1, 2]), [1, 2], "values").startswith("values: a subclass of list (MyList)")
    message = refused(check_close, [torch.zeros(2), lying_tensor()], [[0.0, 0.0], [0.0, 0.0]], "rows")
    assert message.startswith("rows[1]: a subclass of torch.Tensor (LyingTensor)"), message
    assert refused(check_equal, {"loss": AlwaysEqualFloat(1.0)}, {"loss": 2.0}, "history").startswith(
        "history['loss']: a subclass of float")


def test_an_object_that_claims_to_be_a_tensor_is_refused():
    class Impostor:
        __class__ = torch.Tensor         # isinstance(x, torch.Tensor) is True; type(x) tells the truth
        shape = (3,)
        dtype = torch.float32
    assert isinstance(Impostor(), torch.Tensor)
    assert "(Impostor) is not accepted" in refused(check_shape, Impostor(), (3,), "y")
    assert "(Impostor) is not accepted" in refused(check_type, Impostor(), torch.Tensor, "y")


def test_a_plain_tensor_whose_own_attributes_replace_its_methods_is_refused():
    t = torch.ones(3)
    t.numpy = lambda *a, **k: np.zeros(3)
    t.detach = lambda: torch.zeros(3)
    message = refused(check_close, t, [0.0, 0.0, 0.0], "y")
    assert message.startswith("y: a tensor whose own attributes replace the tensor's (detach, numpy)"), message


def test_a_class_named_like_an_instrument_is_not_one():
    class StandInGpuTensor(torch.Tensor):          # the instrument's name and module, another class
        pass
    StandInGpuTensor.__module__ = "utils.checks.instruments"
    fake = torch.zeros(2).as_subclass(StandInGpuTensor)
    assert "is not accepted" in refused(check_shape, fake, (2,), "y")


def test_instrument_tensors_parameters_and_numpy_scalars_still_pass():
    check_type(on_gpu(torch.zeros(2)), torch.Tensor, "y")
    check_shape(torch.zeros(2, 3).as_subclass(StandInGpuTensor), (2, 3), "y")
    check_dtype(torch.zeros(2).as_subclass(NotMovedYet), torch.float32, "y")
    check_close(on_gpu(torch.ones(2)), [1.0, 1.0], "y")
    p = nn.Parameter(torch.ones(2))
    check_requires_grad(p, True, "p")
    check_close(p, [1.0, 1.0], "p")
    check_equal(np.float32(2.0), 2.0, "x")
    check_equal(torch.Size([2, 3]), (2, 3), "shape")
    check_close({"a": [np.int64(1), 2.0]}["a"], [1, 2], "a")
    check_true(np.bool_(True), "fine")


def test_call_refuses_a_lying_result_but_passes_what_torch_returns():
    message = refused(call, lambda x: x.as_subclass(LyingTensor), torch.zeros(3), what="f(x)")
    assert message.startswith("f(x): a subclass of torch.Tensor (LyingTensor) is not accepted"), message
    values, indices = call(lambda x: x.max(dim=0), torch.tensor([1.0, 3.0]), what="g(x)")   # torch.return_types.max
    check_equal(indices, 1, "indices")
    assert "torch.return_types.max" in refused(check_equal, torch.tensor([1.0]).max(dim=0), (1.0, 0), "m")


def test_defined_refuses_a_lying_notebook_value():
    globals()["answer_of_test"] = MyList([1, 2])      # defined() reads the caller's globals
    try:
        assert refused(defined, "answer_of_test").startswith("answer_of_test: a subclass of list (MyList)")
    finally:
        del globals()["answer_of_test"]


def test_a_model_cannot_report_other_parameters_than_it_has():
    class Liar(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = nn.Linear(3, 2)

        def parameters(self, recurse=True):         # claims 13 parameters
            return iter([nn.Parameter(torch.zeros(13))])
    message = refused(check_param_count, Liar(), 13)
    assert "expected: 13" in message and "got:      8" in message, message

    class LyingParameter(nn.Parameter):
        def numel(self):
            return 13
    model = nn.Linear(3, 2)
    model.weight = LyingParameter(torch.zeros(2, 3))
    assert refused(check_param_count, model, 13).startswith(
        "model's parameter weight: a subclass of nn.Parameter (LyingParameter) is not accepted")


def test_a_handle_to_an_object_left_in_the_students_kernel_is_refused_by_data_checks():
    """In the judge a student's subclass arrives as a handle (coursekit.judge's Remote); the checks say why."""
    class Remote:                      # the judge's handle, as the checks see it
        __coursekit_remote__ = True

        def __init__(self, info):
            object.__setattr__(self, "_info", info)
    handle = Remote(["__main__.LyingTensor", "object", ""])
    message = refused(check_shape, handle, (3,), "y")
    assert message.startswith("y: an object of class LyingTensor is not plain data, so it is not accepted; "
                              "return a plain tensor or NumPy array."), message
    assert "LyingTensor" in refused(check_close, handle, [0.0], "y")
    assert "LyingTensor" in refused(check_type, handle, torch.Tensor, "y")
    function = Remote(["__main__.f", "callable", "f"])
    assert "is not plain data" not in refused(check_type, function, torch.Tensor, "y")
