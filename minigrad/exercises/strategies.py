"""Hypothesis strategies: the one copy that minigrad's tests and the exercise checkers share.

They draw shapes, broadcastable shape pairs, axes and float64 values (kept away from kinks and
ties where an op's gradient is a convention there), and the inputs of the exercises: a batch
for BatchNorm, logits with class targets, a batch for LayerNorm.
"""
import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import strategies as st


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


# --------------------------------------------------------------------------- exercise inputs
# Built from small integers rather than floats: hypothesis shrinks an integer in a few steps
# and a float in dozens, and the exercise checkers shrink every failure they find.


def small_integers(shape, low=-3, high=3):
    """float64 arrays of `shape` holding integers in [low, high] (shrinking towards 0)."""
    return hnp.arrays(np.int64, shape, elements=st.integers(low, high)).map(
        lambda a: a.astype(np.float64))


@st.composite
def distinct_grid_values(draw, shape, low=-3.0, high=3.0):
    """Values without ties, cheap to shrink: an evenly spaced grid in a random order, each
    value moved by a multiple of an eighth of the spacing (at most a quarter of it)."""
    count = int(np.prod(shape))
    spacing = (high - low) / max(count - 1, 1)
    order = draw(st.permutations(range(count)))
    jitter = draw(small_integers((count,), -2, 2)) * spacing / 8
    return (np.linspace(low, high, count) + jitter)[list(order)].reshape(shape)


GAINS = (0.5, 2.0, -1.5, 1.25, -0.75, 3.0)  # γ values: away from 0 (which hides dx) and 1


@st.composite
def normalization_inputs(draw, min_batch=1, max_batch=6, min_features=1, max_features=4):
    """(x, γ, β) for a normalisation layer: x of shape (N, D) without ties (so no row or
    column is constant and ε = 0 is safe), γ of shape (D,) from GAINS, β of shape (D,) small
    integers. Shrinks towards N and D at their minimum."""
    n = draw(st.integers(min_batch, max_batch))
    d = draw(st.integers(min_features, max_features))
    x = draw(distinct_grid_values((n, d)))
    gamma = np.array(draw(st.lists(st.sampled_from(GAINS), min_size=d, max_size=d)))
    beta = draw(small_integers((d,)))
    return x, gamma, beta


@st.composite
def logits_and_targets(draw, max_batch=5, max_classes=5):
    """(logits, targets): float64 scores of shape (N, C), C ≥ 2, without ties (so the largest
    logit is unique), and int64 class indices of shape (N,)."""
    n, c = draw(st.integers(1, max_batch)), draw(st.integers(2, max_classes))
    logits = draw(distinct_grid_values((n, c)))
    targets = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)),
                       dtype=np.int64)
    return logits, targets
