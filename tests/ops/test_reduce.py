"""Reductions (minigrad/ops/reduce.py): sum mean max min var std argmax argmin."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from tests.strategies import check_op, distinct_values, examples, shape_and_axis, values


def numpy_axis(axis):
    return tuple(axis) if isinstance(axis, (tuple, list)) else axis


@pytest.mark.parametrize("name", ["sum", "mean"])
@examples(50)
@given(shape_axis=shape_and_axis(), keepdims=st.booleans(), data=st.data())
def test_sum_mean(name, shape_axis, keepdims, data):
    shape, axis = shape_axis
    x = data.draw(values(shape))
    reference = getattr(np, name)
    check_op(lambda t: getattr(mg, name)(t, axis=axis, keepdims=keepdims),
             lambda a: reference(a, axis=numpy_axis(axis), keepdims=keepdims), x)
    check_op(lambda t: getattr(t, name)(dim=axis, keepdim=keepdims),  # PyTorch's spelling
             lambda a: reference(a, axis=numpy_axis(axis), keepdims=keepdims), x)


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
@examples(50)
@given(shape_axis=shape_and_axis(), keepdims=st.booleans(), data=st.data())
def test_max_min_without_ties(name, shape_axis, keepdims, data):
    shape, axis = shape_axis
    x = data.draw(distinct_values(shape))
    reference = np.max if name.endswith("max") else np.min
    check_op(lambda t: getattr(t, name)(axis, keepdims),
             lambda a: reference(a, axis=numpy_axis(axis), keepdims=keepdims), x)


@pytest.mark.parametrize("name", ["var", "std"])
@examples(50)
@given(shape_axis=shape_and_axis(min_side=2), keepdims=st.booleans(),
       correction=st.sampled_from([0, 1]), data=st.data())
def test_var_std(name, shape_axis, keepdims, correction, data):
    shape, axis = shape_axis
    x = data.draw(distinct_values(shape))  # spread out: std's gradient 1/σ stays moderate
    reference = getattr(np, name)
    check_op(lambda t: getattr(mg, name)(t, axis, keepdims, correction=correction),
             lambda a: reference(a, axis=numpy_axis(axis), keepdims=keepdims, ddof=correction), x)


def test_var_and_std_default_to_the_unbiased_estimate_like_pytorch():
    x = mg.tensor([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(x.var().item(), np.var(x.data, ddof=1))
    np.testing.assert_allclose(x.std().item(), np.std(x.data, ddof=1))


@examples(50)
@given(data=st.data(), shape_axis=shape_and_axis(max_dims=3))
def test_argmax_argmin_match_numpy_and_have_no_grad(data, shape_axis):
    shape, axis = shape_axis
    if isinstance(axis, tuple):  # NumPy's argmax takes one axis or None
        axis = axis[0]
    x = mg.tensor(data.draw(distinct_values(shape)), requires_grad=True)
    for name in ("argmax", "argmin"):
        result = getattr(x, name)(axis)
        np.testing.assert_array_equal(result.data, getattr(np, name)(x.data, axis=axis))
        assert result.dtype == np.int64 and not result.requires_grad
    assert x.argmax(dim=axis, keepdim=True).ndim == x.ndim


def test_max_ties_share_the_gradient_equally_like_amax():
    x = mg.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True)
    x.max(axis=1).backward(np.array([1.0, 6.0]))
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.5, 0.5], [2.0, 2.0, 2.0]])
    y = mg.tensor([4.0, -1.0, 4.0], requires_grad=True)
    y.min().backward()
    np.testing.assert_allclose(y.grad.data, [0.0, 1.0, 0.0])
    y.grad = None
    y.max().backward()
    np.testing.assert_allclose(y.grad.data, [0.5, 0.0, 0.5])


def test_max_ties_match_pytorch_amax():
    torch = pytest.importorskip("torch")
    x = np.array([[1.0, 3.0, 3.0, 0.0], [5.0, 5.0, 5.0, 5.0], [2.0, 1.0, 2.0, 1.0]])
    upstream = np.array([1.0, 2.0, 3.0])
    ours = mg.tensor(x, requires_grad=True)
    ours.amax(dim=1).backward(upstream)
    theirs = torch.tensor(x, requires_grad=True)
    theirs.amax(dim=1).backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy())


def test_full_reductions_give_0d_arrays():
    x = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    for result in (x.sum(), x.mean(), x.max(), x.var(), x.sum(axis=(0, 1))):
        assert isinstance(result.data, np.ndarray) and result.shape == ()


def test_reductions_keep_float32():
    x = mg.tensor(np.ones((3, 4), np.float32), requires_grad=True)
    for name in ("sum", "mean", "max", "min", "var", "std"):
        out = getattr(x, name)(axis=1)
        assert out.dtype == np.float32, name


def test_axis_out_of_range_is_named():
    with pytest.raises(ValueError, match="sum: axis 2 is out of range for a tensor with 2 dimensions"):
        mg.ones(2, 3).sum(axis=2)
    with pytest.raises(ValueError, match="var: axis -3"):
        mg.ones(2, 3).var(dim=-3)
