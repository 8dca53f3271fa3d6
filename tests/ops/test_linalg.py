"""Matrix multiplication (minigrad/ops/linalg.py): 2-D, 1-D and batched, with broadcasting."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from tests.strategies import broadcastable_shapes, check_op, examples, values

sides = st.integers(1, 4)


@st.composite
def matmul_shapes(draw):
    """Shapes x, y with x @ y defined: 1-D or matrices, with broadcast batch axes."""
    n, k, m = draw(sides), draw(sides), draw(sides)
    x_batch, y_batch = draw(broadcastable_shapes(max_dims=2, max_side=3))
    x_kind, y_kind = draw(st.sampled_from(["vector", "matrix"])), draw(st.sampled_from(["vector", "matrix"]))
    x_shape = (k,) if x_kind == "vector" else x_batch + (n, k)
    y_shape = (k,) if y_kind == "vector" else y_batch + (k, m)
    return x_shape, y_shape


@examples(50)
@given(shapes=matmul_shapes(), data=st.data())
def test_matmul(shapes, data):
    x, y = (data.draw(values(s)) for s in shapes)
    check_op(mg.matmul, np.matmul, x, y)
    check_op(lambda a, b: a @ b, np.matmul, x, y)
    check_op(lambda a, b: a.matmul(b), np.matmul, x, y)


@examples(50)
@given(data=st.data())
def test_matmul_with_a_constant_ndarray_on_either_side(data):
    k = data.draw(sides)
    left = data.draw(values((3, k))).astype(np.float32)
    right = data.draw(values((k, 2))).astype(np.float32)
    check_op(lambda x: left @ x, lambda a: left @ a, data.draw(values((k, k))))
    check_op(lambda x: x @ right, lambda a: a @ right, data.draw(values((k, k))))


def test_only_the_inputs_that_need_a_gradient_get_one():
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    w = mg.tensor(np.ones((3, 4)))
    (x @ w).sum().backward()
    assert w.grad is None
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 4.0))


@pytest.mark.parametrize("x_shape, y_shape, message", [
    ((2, 3), (4, 5), r"matmul: \(2, 3\) @ \(4, 5\): inner dimensions 3 and 4 differ"),
    ((3,), (4,), r"matmul: \(3,\) @ \(4,\): inner dimensions 3 and 4 differ"),
    ((2, 2, 3), (3, 3, 4), r"matmul: \(2, 2, 3\) @ \(3, 3, 4\): batch dimensions \(2,\) and \(3,\)"),
    ((), (3,), r"matmul: both operands need at least one dimension, got \(\) @ \(3,\)"),
])
def test_matmul_errors_name_both_shapes(x_shape, y_shape, message):
    with pytest.raises(ValueError, match=message):
        mg.ones(*x_shape) @ mg.ones(*y_shape)


def test_matmul_matches_pytorch_on_batched_broadcast_shapes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    upstream = rng.standard_normal((2, 5, 3, 2))
    ours = [mg.tensor(a, requires_grad=True) for a in (x, y)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, y)]
    (ours[0] @ ours[1]).backward(upstream)
    (theirs[0] @ theirs[1]).backward(torch.tensor(upstream))
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, t.grad.numpy(), rtol=1e-12)
