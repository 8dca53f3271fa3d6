"""Elementwise ops (minigrad/ops/elementwise.py): every op through `check_op`, then the edges."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from tests.strategies import (
    away_from_kinks,
    broadcastable_shapes,
    check_op,
    distinct_arrays,
    examples,
    positive_values,
    shapes,
    values,
)

# --------------------------------------------------------------------------- two inputs, broadcasting

BINARY = {
    "add": (mg.add, np.add, values, values),
    "sub": (mg.sub, np.subtract, values, values),
    "mul": (mg.mul, np.multiply, values, values),
    "div": (mg.div, np.divide, values, positive_values),
    "pow": (mg.pow, np.power, positive_values, values),
    "operator +": (lambda x, y: x + y, np.add, values, values),
    "operator -": (lambda x, y: x - y, np.subtract, values, values),
    "operator *": (lambda x, y: x * y, np.multiply, values, values),
    "operator /": (lambda x, y: x / y, np.divide, values, positive_values),
    "operator **": (lambda x, y: x ** y, np.power, positive_values, values),
}


@pytest.mark.parametrize("name", BINARY)
@examples(50)
@given(data=st.data())
def test_binary_ops(name, data):
    op, reference, x_values, y_values = BINARY[name]
    x_shape, y_shape = data.draw(broadcastable_shapes())
    check_op(op, reference, data.draw(x_values(x_shape)), data.draw(y_values(y_shape)))


@pytest.mark.parametrize("op, reference", [(mg.maximum, np.maximum), (mg.minimum, np.minimum)])
@examples(50)
@given(data=st.data())
def test_maximum_minimum_without_ties(op, reference, data):
    x, y = data.draw(broadcastable_shapes().flatmap(lambda s: distinct_arrays(*s)))
    check_op(op, reference, x, y)


@pytest.mark.parametrize("expression, reference", [
    (lambda x: 2.0 + x, lambda x: 2.0 + x), (lambda x: 2.0 - x, lambda x: 2.0 - x),
    (lambda x: 2.0 * x, lambda x: 2.0 * x), (lambda x: 2.0 / x, lambda x: 2.0 / x),
    (lambda x: 2.0 ** x, lambda x: 2.0 ** x), (lambda x: x ** 3, lambda x: x ** 3),
    (lambda x: -x, lambda x: -x), (lambda x: x - 0.5, lambda x: x - 0.5),
])
@examples(50)
@given(data=st.data())
def test_operators_with_python_scalars(expression, reference, data):
    check_op(expression, reference, data.draw(positive_values(data.draw(shapes()))))


@examples(50)
@given(data=st.data())
def test_reflected_operators_with_ndarrays(data):
    x_shape, c_shape = data.draw(broadcastable_shapes())
    c = data.draw(positive_values(c_shape)).astype(np.float32)  # float64 would promote, as in PyTorch
    check_op(lambda x: c - c * x + c / x, lambda x: c - c * x + c / x,
             data.draw(positive_values(x_shape)))


# --------------------------------------------------------------------------- one input

UNARY = {
    "neg": (mg.neg, np.negative, values),
    "exp": (mg.exp, np.exp, values),
    "log": (mg.log, np.log, positive_values),
    "sqrt": (mg.sqrt, np.sqrt, positive_values),
    "abs": (mg.abs, np.abs, away_from_kinks),
    "tanh": (mg.tanh, np.tanh, values),
    "sigmoid": (mg.sigmoid, lambda x: 1 / (1 + np.exp(-x)), values),
    "relu": (mg.relu, lambda x: np.maximum(x, 0), away_from_kinks),
    "method exp": (lambda x: x.exp(), np.exp, values),
    "method log": (lambda x: x.log(), np.log, positive_values),
    "method sqrt": (lambda x: x.sqrt(), np.sqrt, positive_values),
    "method abs": (lambda x: abs(x), np.abs, away_from_kinks),
    "method tanh": (lambda x: x.tanh(), np.tanh, values),
    "method sigmoid": (lambda x: x.sigmoid(), lambda x: 1 / (1 + np.exp(-x)), values),
    "method relu": (lambda x: x.relu(), lambda x: np.maximum(x, 0), away_from_kinks),
    "F.relu": (F.relu, lambda x: np.maximum(x, 0), away_from_kinks),
    "F.tanh": (F.tanh, np.tanh, values),
    "F.sigmoid": (F.sigmoid, lambda x: 1 / (1 + np.exp(-x)), values),
}


@pytest.mark.parametrize("name", UNARY)
@examples(50)
@given(data=st.data())
def test_unary_ops(name, data):
    op, reference, strategy = UNARY[name]
    check_op(op, reference, data.draw(strategy(data.draw(shapes()))))


@examples(50)
@given(data=st.data(), slope=st.floats(0.0, 0.5))
def test_leaky_relu(data, slope):
    x = data.draw(away_from_kinks(data.draw(shapes())))
    check_op(lambda t: mg.leaky_relu(t, slope), lambda a: np.where(a > 0, a, slope * a), x)
    check_op(lambda t: F.leaky_relu(t, negative_slope=slope), lambda a: np.where(a > 0, a, slope * a), x)


@examples(50)
@given(data=st.data(), low=st.floats(-2.0, 0.0), width=st.floats(0.5, 3.0),
       bounds=st.sampled_from(["both", "min", "max"]))
def test_clip(data, low, width, bounds):
    high = low + width
    low_, high_ = (low if bounds != "max" else None), (high if bounds != "min" else None)
    x = data.draw(away_from_kinks(data.draw(shapes()), kinks=(low, high)))
    check_op(lambda t: mg.clip(t, low_, high_), lambda a: np.clip(a, low_, high_), x)
    check_op(lambda t: t.clamp(min=low_, max=high_), lambda a: np.clip(a, low_, high_), x)


@examples(50)
@given(data=st.data())
def test_where(data):
    condition_shape, x_shape, y_shape = data.draw(broadcastable_shapes(num_shapes=3))
    condition = data.draw(st.lists(st.booleans(), min_size=int(np.prod(condition_shape)),
                                   max_size=int(np.prod(condition_shape))))
    condition = np.array(condition, bool).reshape(condition_shape)
    check_op(lambda x, y: mg.where(condition, x, y), lambda x, y: np.where(condition, x, y),
             data.draw(values(x_shape)), data.draw(values(y_shape)))


def test_where_accepts_a_boolean_tensor_and_a_scalar():
    x = mg.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    y = mg.where(x > 0, x, 0.0)
    np.testing.assert_array_equal(y.data, [0.0, 2.0, 3.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 1.0])


# --------------------------------------------------------------------------- kinks and ties


def test_gradients_at_kinks_follow_pytorch():
    x = mg.tensor([0.0, 0.0, 0.0, 0.0, 1.0, 2.0], requires_grad=True)
    parts = [mg.relu(x[0:1]), mg.abs(x[1:2]), mg.leaky_relu(x[2:3], 0.1),
             mg.clip(x[3:6], 0.0, 1.0)]
    mg.concatenate(parts).sum().backward()
    # relu'(0) = 0, |x|'(0) = 0, leaky'(0) = slope, clamp' = 1 on a bound, 0 outside
    np.testing.assert_allclose(x.grad.data, [0.0, 0.0, 0.1, 1.0, 1.0, 0.0])


def test_maximum_and_minimum_split_a_tie_in_half():
    for op in (mg.maximum, mg.minimum):
        x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = mg.tensor([1.0, 0.0, 5.0], requires_grad=True)
        op(x, y).sum().backward()
        big = op is mg.maximum
        np.testing.assert_array_equal(x.grad.data, [0.5, 1.0 if big else 0.0, 0.0 if big else 1.0])
        np.testing.assert_array_equal(y.grad.data, [0.5, 0.0 if big else 1.0, 1.0 if big else 0.0])


def test_relu_of_a_negative_is_a_plain_zero():
    assert not np.signbit(mg.relu(mg.tensor([-2.0])).data).any()


def test_log_and_sqrt_of_negatives_follow_numpy():
    with pytest.warns(RuntimeWarning):
        assert np.isnan(mg.log(mg.tensor([-1.0])).data).all()
    with pytest.warns(RuntimeWarning):
        assert np.isnan(mg.sqrt(mg.tensor([-1.0])).data).all()


def test_sigmoid_does_not_overflow():
    with np.errstate(all="raise"):
        out = mg.sigmoid(mg.tensor([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(out.data, [0.0, 0.5, 1.0])


# --------------------------------------------------------------------------- casts and errors


def test_casts_are_differentiable_and_cast_the_gradient_back():
    x = mg.tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32 and x.double() is x
    (y * 3.0).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.data, [3.0, 3.0])
    assert x.to(np.float32).dtype == np.float32


@pytest.mark.parametrize("name, op", [("add", mg.add), ("sub", mg.sub), ("mul", mg.mul),
                                      ("div", mg.div), ("pow", mg.pow), ("maximum", mg.maximum),
                                      ("minimum", mg.minimum)])
def test_shape_mismatch_names_the_op_and_both_shapes(name, op):
    with pytest.raises(ValueError, match=rf"{name}: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        op(mg.ones(2, 3), mg.ones(4))


def test_operator_shape_mismatch_names_the_op():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(2,\)"):
        mg.ones(2, 3) + mg.ones(2)


def test_where_shape_mismatch_names_all_shapes():
    with pytest.raises(ValueError, match=r"where: condition \(3,\), x \(2,\) and y \(2,\)"):
        mg.where(np.ones(3, bool), mg.ones(2), mg.ones(2))


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="clip"):
        mg.clip(mg.ones(2))


def test_leaky_relu_pytorch_reference():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal(7)
    t = torch.tensor(x, requires_grad=True)
    torch.nn.functional.leaky_relu(t, 0.2).sum().backward()
    ours = mg.tensor(x, requires_grad=True)
    F.leaky_relu(ours, 0.2).sum().backward()
    np.testing.assert_allclose(ours.grad.data, t.grad.numpy())
