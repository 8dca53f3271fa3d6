"""Hypothesis strategies and the one helper that checks any op (MyGrad's idea).

`check_op(op, reference, *arrays)` checks an op three ways: its forward against the NumPy
expression `reference`, its backward against central finite differences (float64, random
upstream gradient), and that a float32 input stays float32 all the way through backward.
"""
import numpy as np
import hypothesis.extra.numpy as hnp
from hypothesis import settings, strategies as st

import minigrad as mg


def shapes(min_dims=0, max_dims=3, min_side=1, max_side=4):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4):
    """Tuples of shapes that broadcast together (including stretched 1s and missing axes)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, max_side=max_side).map(
        lambda result: result.input_shapes)


def values(shape, low=-3.0, high=3.0):
    """float64 arrays of `shape` with elements in [low, high]."""
    return hnp.arrays(np.float64, shape, elements=st.floats(low, high, allow_nan=False,
                                                              allow_subnormal=False))


def positive_values(shape, low=0.2, high=3.0):
    """Values kept away from 0, for log, sqrt, division and pow."""
    return values(shape, low, high)


def away_from_kinks(shape, kinks=(0.0,), margin=0.05, low=-3.0, high=3.0):
    """Values at least `margin` from each kink (relu at 0, clip at its bounds): finite
    differences straddling a kink measure the average slope, not either one-sided slope."""
    def push(a):
        for k in kinks:
            near = np.abs(a - k) < margin
            a = np.where(near, k + np.where(a >= k, margin, -margin) * 2, a)
        return a
    return values(shape, low, high).map(push)


@st.composite
def distinct_values(draw, shape, low=-3.0, high=3.0):
    """Values without ties (for max/min/maximum, whose gradient at a tie is a convention):
    an evenly spaced grid, jittered by under a third of its spacing, in a random order."""
    count = int(np.prod(shape))
    spacing = (high - low) / max(count - 1, 1)
    grid = np.linspace(low, high, count)
    jitter = draw(values((count,), -0.3 * spacing, 0.3 * spacing))
    order = draw(st.permutations(range(count)))
    return (grid + jitter)[list(order)].reshape(shape)


@st.composite
def distinct_arrays(draw, *shapes_, low=-3.0, high=3.0):
    """Arrays of the given shapes with no value shared anywhere between or within them."""
    sizes = [int(np.prod(s)) for s in shapes_]
    flat = draw(distinct_values((sum(sizes),), low, high))
    bounds = np.cumsum(sizes)[:-1]
    return tuple(part.reshape(s) for part, s in zip(np.split(flat, bounds), shapes_))


@st.composite
def shape_and_axis(draw, min_dims=1, max_dims=3, min_side=1):
    """A shape and an axis argument for it: None, an int (maybe negative) or a tuple."""
    shape = draw(shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side))
    ndim = len(shape)
    axis = draw(st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).map(tuple)))
    return shape, axis


def check_op(op, reference, *arrays, grad=True, atol=1e-6, rtol=1e-6):
    """Forward vs NumPy, backward vs finite differences, dtype kept in float32."""
    tensors = [mg.tensor(a, dtype=np.float64, requires_grad=grad) for a in arrays]
    out = op(*tensors)
    expected = reference(*arrays)
    assert out.shape == np.shape(expected), f"output shape {out.shape}, NumPy's {np.shape(expected)}"
    np.testing.assert_allclose(out.data, expected, atol=atol, rtol=rtol)
    if grad:
        mg.gradcheck(op, [mg.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays])
    check_dtype_kept(op, *arrays, grad=grad)


def check_dtype_kept(op, *arrays, grad=True):
    """A float32 forward and backward must stay float32 (no silent float64 anywhere)."""
    tensors = [mg.tensor(a, dtype=np.float32, requires_grad=grad) for a in arrays]
    out = op(*tensors)
    assert out.dtype == np.float32, f"output dtype {out.dtype} from float32 inputs"
    if grad:
        out.backward(np.ones(out.shape, np.float32))
        for i, t in enumerate(tensors):
            assert t.grad is not None, f"input {i} got no gradient"
            assert t.grad.dtype == np.float32, f"input {i} got a {t.grad.dtype} gradient"


def examples(at_least):
    """Hypothesis settings with at least `at_least` examples, or the profile's count if larger.

    The CI profile's 15 examples suit most properties; the ones the reading group runs
    (BatchNorm's) get 100, the core ops' forward/backward checks 50: where bugs would hide.
    """
    return settings(max_examples=max(at_least, settings.default.max_examples))
