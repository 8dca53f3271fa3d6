"""Shape ops (minigrad/ops/shape.py): reshape, permute, expand, indexing, concatenate, pad."""
import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from tests.strategies import check_op, examples, shapes, values


@st.composite
def shape_and_target(draw):
    """A shape and another shape with as many elements (maybe with one -1)."""
    shape = draw(shapes(max_dims=4))
    size = int(np.prod(shape))
    candidates = [(size,), (-1,), shape[::-1], (1, size), (size, 1, 1), (-1, 1)]
    if len(shape) >= 2:
        candidates += [(shape[0], -1), (-1, shape[-1]), (shape[0] * shape[1],) + shape[2:]]
    return shape, draw(st.sampled_from(candidates))


@examples(50)
@given(shape_target=shape_and_target(), data=st.data())
def test_reshape(shape_target, data):
    shape, target = shape_target
    x = data.draw(values(shape))
    check_op(lambda t: mg.reshape(t, target), lambda a: a.reshape(target), x)
    check_op(lambda t: t.reshape(*target), lambda a: a.reshape(target), x)  # varargs
    check_op(lambda t: t.view(target), lambda a: a.reshape(target), x)


@examples(50)
@given(data=st.data())
def test_permute_and_transpose(data):
    shape = data.draw(shapes(min_dims=1, max_dims=4))
    axes = tuple(data.draw(st.permutations(range(len(shape)))))
    x = data.draw(values(shape))
    check_op(lambda t: t.permute(*axes), lambda a: a.transpose(axes), x)
    check_op(lambda t: mg.permute(t, axes), lambda a: a.transpose(axes), x)
    dim0, dim1 = (data.draw(st.integers(-len(shape), len(shape) - 1)) for _ in range(2))
    check_op(lambda t: t.transpose(dim0, dim1), lambda a: np.swapaxes(a, dim0, dim1), x)
    check_op(lambda t: t.T, lambda a: a.T, x)


@examples(50)
@given(data=st.data())
def test_flatten(data):
    shape = data.draw(shapes(min_dims=1, max_dims=4))
    start = data.draw(st.integers(0, len(shape) - 1))
    end = data.draw(st.integers(start, len(shape) - 1))
    merged = shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:]
    x = data.draw(values(shape))
    check_op(lambda t: t.flatten(start, end), lambda a: a.reshape(merged), x)
    check_op(lambda t: mg.flatten(t), lambda a: a.reshape(-1), x)


@examples(50)
@given(data=st.data())
def test_squeeze_unsqueeze(data):
    shape = data.draw(shapes(min_dims=1, max_dims=4, max_side=2))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    new_dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    x = data.draw(values(shape))
    squeezed = np.squeeze(x, dim) if shape[dim] == 1 else x  # PyTorch: no-op on a size > 1
    check_op(lambda t: t.squeeze(), lambda a: np.squeeze(a), x)
    check_op(lambda t: t.squeeze(dim), lambda a: squeezed, x)
    check_op(lambda t: t.unsqueeze(new_dim), lambda a: np.expand_dims(a, new_dim), x)


@st.composite
def shape_and_broadcast_target(draw):
    """A target shape and a smaller shape that broadcasts to it (1s and missing leading axes)."""
    target = draw(shapes(max_dims=4))
    dropped = draw(st.integers(0, len(target)))
    shape = tuple(1 if draw(st.booleans()) else n for n in target[dropped:])
    return shape, target


@examples(50)
@given(shape_target=shape_and_broadcast_target(), data=st.data())
def test_broadcast_to_and_expand(shape_target, data):
    shape, target = shape_target
    x = data.draw(values(shape))
    check_op(lambda t: mg.broadcast_to(t, target), lambda a: np.broadcast_to(a, target), x)
    keep = tuple(-1 if i >= len(target) - len(shape) and n == shape[i - len(target) + len(shape)]
                 else n for i, n in enumerate(target))
    check_op(lambda t: t.expand(*keep), lambda a: np.broadcast_to(a, target), x)


# --------------------------------------------------------------------------- indexing


@examples(50)
@given(data=st.data())
def test_basic_indexing(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    index = data.draw(hnp.basic_indices(shape, allow_newaxis=True, allow_ellipsis=True))
    check_op(lambda t: t[index], lambda a: a[index], data.draw(values(shape)))


@examples(50)
@given(data=st.data())
def test_integer_array_indexing_accumulates_repeats(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    index = data.draw(hnp.integer_array_indices(shape, result_shape=shapes(max_dims=2, max_side=5)))
    check_op(lambda t: t[index], lambda a: a[index], data.draw(values(shape)))


@examples(50)
@given(data=st.data())
def test_boolean_mask_indexing(data):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    mask_dims = data.draw(st.integers(1, len(shape)))
    mask = data.draw(hnp.arrays(bool, shape[:mask_dims]))
    x = data.draw(values(shape))
    check_op(lambda t: t[mask], lambda a: a[mask], x)
    check_op(lambda t: t[mg.tensor(mask)], lambda a: a[mask], x)  # a boolean Tensor works too


def test_mixed_indexing_and_repeated_rows():
    x = mg.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    y = x[[0, 0, 2], 1:3]
    y.backward(np.ones((3, 2)))
    expected = np.zeros((3, 4))
    expected[0, 1:3], expected[2, 1:3] = 2, 1
    np.testing.assert_array_equal(x.grad.data, expected)
    np.testing.assert_array_equal(x[..., None, 1].data, x.data[..., None, 1])


def test_indexing_errors_name_the_shape():
    x = mg.ones(2, 3)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        x[5]
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        x[np.ones(3, bool)]
    with pytest.raises(TypeError, match="float64"):
        x[np.array([0.5])]


# --------------------------------------------------------------------------- joining, padding


@st.composite
def tensors_to_join(draw, same_shape=False):
    """Shapes that agree except along `axis` (or entirely, for stack), and the axis."""
    base = draw(shapes(min_dims=1, max_dims=3))
    count = draw(st.integers(1, 3))
    axis = draw(st.integers(-len(base), len(base) - 1))
    sides = [base[axis] if same_shape else draw(st.integers(1, 3)) for _ in range(count)]
    joined = [base[:axis % len(base)] + (n,) + base[axis % len(base) + 1:] for n in sides]
    return [draw(values(s)) for s in joined], axis


@examples(50)
@given(arrays_axis=tensors_to_join())
def test_concatenate(arrays_axis):
    arrays, axis = arrays_axis
    check_op(lambda *ts: mg.concatenate(ts, axis=axis), lambda *a: np.concatenate(a, axis=axis),
             *arrays)
    check_op(lambda *ts: mg.cat(ts, dim=axis), lambda *a: np.concatenate(a, axis=axis), *arrays)


@examples(50)
@given(arrays_axis=tensors_to_join(same_shape=True), data=st.data())
def test_stack(arrays_axis, data):
    arrays, _ = arrays_axis
    axis = data.draw(st.integers(-arrays[0].ndim - 1, arrays[0].ndim))
    check_op(lambda *ts: mg.stack(ts, axis), lambda *a: np.stack(a, axis=axis), *arrays)


def test_concatenate_the_same_tensor_twice():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    mg.concatenate([x, x * 3.0, x]).backward(np.arange(6.0))
    np.testing.assert_array_equal(x.grad.data, [0 + 3 * 2 + 4, 1 + 3 * 3 + 5])


@examples(50)
@given(data=st.data(), value=st.floats(-2, 2))
def test_pad(data, value):
    shape = data.draw(shapes(min_dims=1, max_dims=3))
    widths = [tuple(data.draw(st.integers(0, 2)) for _ in range(2)) for _ in shape]
    x = data.draw(values(shape))
    check_op(lambda t: mg.pad(t, widths, value), lambda a: np.pad(a, widths, constant_values=value), x)
    flat = [w for pair in widths[::-1] for w in pair]  # PyTorch's spelling: last axis first
    check_op(lambda t: mg.pad(t, flat, value), lambda a: np.pad(a, widths, constant_values=value), x)


# --------------------------------------------------------------------------- errors


def test_shape_errors_name_the_op_and_the_shapes():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape \(2, 3\) \(6 elements\) into \(4,\)"):
        mg.ones(2, 3).reshape(4)
    with pytest.raises(ValueError, match=r"reshape: .* into \(-1, -1\)"):
        mg.ones(2, 3).reshape(-1, -1)
    with pytest.raises(ValueError, match=r"concatenate: shapes \(2, 3\) and \(2, 4\) differ outside axis 0"):
        mg.concatenate([mg.ones(2, 3), mg.ones(2, 4)])
    with pytest.raises(ValueError, match=r"stack: .*\(2, 3\).*\(3, 2\)"):
        mg.stack([mg.ones(2, 3), mg.ones(3, 2)])
    with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast \(2, 3\) to \(3, 3\)"):
        mg.ones(2, 3).broadcast_to(3, 3)
    with pytest.raises(ValueError, match=r"permute: \(0, 0\) is not a permutation.*\(2, 3\)"):
        mg.ones(2, 3).permute(0, 0)
    with pytest.raises(ValueError, match=r"pad: .*\(2, 3\)"):
        mg.pad(mg.ones(2, 3), (1, 1, 1))


@pytest.mark.parametrize("call, message", [
    (lambda x: x.permute(0, 5), r"permute: \(0, 5\) is not a permutation"),
    (lambda x: x.transpose(0, 5), "transpose: dim 5 is out of range for 2 dimensions"),
    (lambda x: x.squeeze(-3), "squeeze: dim -3 is out of range for 2 dimensions"),
    (lambda x: x.unsqueeze(3), "unsqueeze: dim 3 is out of range for 3 dimensions"),
    (lambda x: x.flatten(0, 2), "flatten: dim 2 is out of range"),
    (lambda x: mg.concatenate([x, x], axis=2), "concatenate: dim 2 is out of range"),
    (lambda x: mg.stack([x, x], axis=-4), "stack: dim -4 is out of range for 3 dimensions"),
    (lambda x: x.expand(-1, 2, 3), r"expand: -1 is not allowed for the new leading axis 0"),
    (lambda x: mg.concatenate([x.sum(), x.sum()]), "0-d tensors cannot be concatenated"),
    (lambda x: x.softmax(2), "softmax: axis 2 is out of range for a tensor with 2 dimensions"),
])
def test_dims_out_of_range_are_named_not_wrapped(call, message):
    with pytest.raises(ValueError, match=message):
        call(mg.ones(2, 3))


def test_shape_ops_match_pytorch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    upstream = np.random.default_rng(1).standard_normal((4, 2, 1, 3))

    def chain(t):
        return t.permute(2, 0, 1).unsqueeze(2)[:, :, :, [0, 2, 2]] * 2.0

    ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    chain(ours).backward(upstream)
    chain(theirs).backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy())
