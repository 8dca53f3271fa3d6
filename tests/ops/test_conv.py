"""Convolution, pooling, fused linear and layer norm (minigrad/ops/conv.py, linalg.py,
layer_norm.py): forward vs plain NumPy references, backward vs finite differences."""
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, strategies as st
from numpy.lib.stride_tricks import sliding_window_view

import minigrad as mg
from minigrad.nn import functional as F
from minigrad.ops import conv as conv_ops
from minigrad.ops.conv import is_channels_last, max_pool2d_windows
from tests.strategies import check_op, distinct_values, examples, values

# --------------------------------------------------------------------------- references


def conv2d_reference(x, w, b, stride, padding):
    """Direct definition: y = b + Σ over kernel offsets (i, j) of W[:, :, i, j] applied to
    the input slice that offset sees (no im2col, no channels-last)."""
    (sh, sw), (ph, pw) = stride, padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    kh, kw = w.shape[2:]
    Ho, Wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    y = np.zeros((x.shape[0], w.shape[0], Ho, Wo)) + b[None, :, None, None]
    for i in range(kh):
        for j in range(kw):
            patch = x[:, :, i:i + sh * Ho:sh, j:j + sw * Wo:sw]
            y += np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    return y


def pool_reference(x, kernel, stride, padding, reduce, fill):
    (ph, pw) = padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    windows = sliding_window_view(x, kernel, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
    return reduce(windows, axis=(4, 5))


def channels_last(a):
    """The same values with (N, H, W, C) memory, as conv2d's outputs have."""
    return np.ascontiguousarray(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


# --------------------------------------------------------------------------- geometries


@st.composite
def window_geometry(draw, max_side=6):
    """kernel, stride, padding (pairs) and an input side pair the window fits in."""
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    size = tuple(draw(st.integers(max(1, k - 2 * p), max_side)) for k, p in zip(kernel, padding))
    return kernel, stride, padding, size


@examples(50)
@given(geometry=window_geometry(), n=st.integers(1, 2), c=st.integers(1, 3), f=st.integers(1, 3),
       bias=st.booleans(), data=st.data())
def test_conv2d(geometry, n, c, f, bias, data):
    kernel, stride, padding, (h, w) = geometry
    x = data.draw(values((n, c, h, w)))
    weight = data.draw(values((f, c) + kernel))
    b = data.draw(values((f,)))
    if bias:
        check_op(lambda x, w, b: F.conv2d(x, w, b, stride, padding),
                 lambda x, w, b: conv2d_reference(x, w, b, stride, padding), x, weight, b)
    else:
        check_op(lambda x, w: F.conv2d(x, w, None, stride, padding),
                 lambda x, w: conv2d_reference(x, w, np.zeros(f), stride, padding), x, weight)


@examples(50)
@given(geometry=window_geometry(), data=st.data())
def test_max_pool2d(geometry, data):
    kernel, stride, padding, (h, w) = geometry
    x = data.draw(distinct_values((2, 2, h, w)))  # no ties: finite differences need a unique max
    def reference(a):
        return pool_reference(a, kernel, stride, padding, np.max, -np.inf)
    check_op(lambda t: F.max_pool2d(t, kernel, stride, padding), reference, x)
    # the fast offset-view pooling and the plain window version agree
    np.testing.assert_array_equal(max_pool2d_windows(x, kernel, stride, padding), reference(x))


@examples(50)
@given(geometry=window_geometry(), data=st.data())
def test_avg_pool2d(geometry, data):
    kernel, stride, padding, (h, w) = geometry
    x = data.draw(values((2, 2, h, w)))
    check_op(lambda t: F.avg_pool2d(t, kernel, stride, padding),
             lambda a: pool_reference(a, kernel, stride, padding, np.mean, 0.0), x)


@examples(50)
@given(data=st.data())
def test_adaptive_avg_pool2d(data):
    x = data.draw(values((2, 3, 4, 6)))
    check_op(lambda t: F.adaptive_avg_pool2d(t, 1), lambda a: a.mean(axis=(2, 3), keepdims=True), x)
    check_op(lambda t: F.adaptive_avg_pool2d(t, (2, 3)),
             lambda a: a.reshape(2, 3, 2, 2, 3, 2).mean(axis=(3, 5)), x)


def test_max_pool_sends_a_tied_window_gradient_to_its_first_maximum():
    x = mg.tensor(np.zeros((1, 1, 2, 4), np.float32), requires_grad=True)
    y = F.max_pool2d(x, 2)
    y.backward(np.array([[[[1.0, 2.0]]]], np.float32))
    np.testing.assert_array_equal(x.grad.data, [[[[1, 0, 2, 0], [0, 0, 0, 0]]]])


def test_max_pool_propagates_nan_like_pytorch():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    y = F.max_pool2d(mg.tensor(x), 2).data
    assert np.isnan(y[0, 0, 0, 0]) and not np.isnan(y[0, 0, 1, 1])


@pytest.mark.parametrize("op", [
    lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1),
    lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=0),
    lambda x, w, b: F.max_pool2d(F.conv2d(x, w, b, padding=1), 2),
    lambda x, w, b: F.max_pool2d(F.conv2d(x, w, b, padding=1), 3, stride=2, padding=1),
    lambda x, w, b: F.avg_pool2d(F.conv2d(x, w, b, padding=1), 2, stride=1),
])
def test_memory_layout_changes_speed_only_never_values(op):
    """conv2d returns channels-last memory; every op must give the same values and
    gradients whatever the layouts of its input and of the gradient reaching it."""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    upstream = None
    results = []
    for x_layout in (np.ascontiguousarray, channels_last):
        for grad_layout in (np.ascontiguousarray, channels_last):
            tensors = [mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True),
                       mg.tensor(b, requires_grad=True)]
            tensors[0].data = x_layout(tensors[0].data)
            out = op(*tensors)
            upstream = rng.standard_normal(out.shape) if upstream is None else upstream
            out.backward(grad_layout(upstream))
            results.append([out.data] + [t.grad.data for t in tensors])
    for other in results[1:]:
        for first, second in zip(results[0], other):
            np.testing.assert_allclose(first, second, rtol=1e-12, atol=1e-12)


def test_conv_output_and_pooling_keep_channels_last_memory():
    x = mg.randn(2, 3, 8, 8)
    y = F.conv2d(x, mg.randn(4, 3, 3, 3), None, padding=1)
    assert is_channels_last(y.data)
    assert is_channels_last(F.max_pool2d(y, 2).data)
    assert is_channels_last(F.avg_pool2d(y, 2).data)


def test_conv_gradients_only_where_asked():
    x, w = mg.randn(1, 2, 4, 4), mg.randn(3, 2, 3, 3, requires_grad=True)
    F.conv2d(x, w).sum().backward()
    assert x.grad is None and w.grad.shape == (3, 2, 3, 3)


# --------------------------------------------------------------------------- linear


@examples(50)
@given(lead=st.sampled_from([(), (3,), (2, 3)]), n_in=st.integers(1, 4), n_out=st.integers(1, 4),
       bias=st.booleans(), data=st.data())
def test_linear(lead, n_in, n_out, bias, data):
    x = data.draw(values(lead + (n_in,)))
    w = data.draw(values((n_out, n_in)))
    b = data.draw(values((n_out,)))
    if bias:
        check_op(F.linear, lambda x, w, b: x @ w.T + b, x, w, b)
    else:
        check_op(lambda x, w: F.linear(x, w), lambda x, w: x @ w.T, x, w)


# --------------------------------------------------------------------------- layer norm


def layer_norm_reference(x, w, b, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


@examples(50)
@given(shape=st.sampled_from([(3, 4), (2, 3, 4), (5, 1)]), last=st.integers(1, 2),
       data=st.data())
def test_layer_norm(shape, last, data):
    normalized = shape[-last:]
    axes = tuple(range(-last, 0))
    x = data.draw(values(shape))
    w, b = data.draw(values(normalized)), data.draw(values(normalized))
    check_op(lambda x, w, b: F.layer_norm(x, normalized, w, b),
             lambda x, w, b: layer_norm_reference(x, w, b, axes), x, w, b, atol=1e-5)
    check_op(lambda x: F.layer_norm(x, normalized),
             lambda x: layer_norm_reference(x, 1, 0, axes), x, atol=1e-5)


def test_layer_norm_hand_derived_backward_matches_the_composed_one():
    """The closed-form backward equals what autograd derives from mean, var and sqrt."""
    rng = np.random.default_rng(1)
    x_np, w_np, b_np = rng.standard_normal((4, 6)), rng.standard_normal(6), rng.standard_normal(6)
    upstream = rng.standard_normal((4, 6))
    grads = []
    for fused in (True, False):
        x, w, b = (mg.tensor(a, requires_grad=True) for a in (x_np, w_np, b_np))
        if fused:
            y = F.layer_norm(x, 6, w, b)
        else:
            mean = x.mean(axis=-1, keepdims=True)
            var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
            y = (x - mean) / (var + 1e-5).sqrt() * w + b
        y.backward(upstream)
        grads.append([y.data, x.grad.data, w.grad.data, b.grad.data])
    for fused, composed in zip(*grads):
        np.testing.assert_allclose(fused, composed, rtol=1e-10, atol=1e-12)


def test_layer_norm_samples_are_independent():
    """Unlike BN, a sample's output does not depend on the rest of the batch."""
    x = mg.randn(5, 8)
    together = F.layer_norm(x, 8).data
    alone = F.layer_norm(x[2:3], 8).data
    np.testing.assert_allclose(together[2:3], alone, rtol=1e-6)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, words", [
    (lambda: F.conv2d(mg.randn(2, 8, 8, 3), mg.randn(4, 3, 3, 3)),
     ["conv2d", "(N, 3, H, W)", "(2, 8, 8, 3)"]),
    (lambda: F.conv2d(mg.randn(2, 3, 8), mg.randn(4, 3, 3, 3)), ["conv2d", "(2, 3, 8)"]),
    (lambda: F.conv2d(mg.randn(1, 3, 2, 2), mg.randn(4, 3, 5, 5)), ["larger than the padded input"]),
    (lambda: F.conv2d(mg.randn(1, 3, 8, 8), mg.randn(4, 3, 3, 3), stride=0), ["stride"]),
    (lambda: F.conv2d(mg.randn(1, 3, 8, 8), mg.randn(4, 3, 3, 3), mg.randn(3)), ["bias", "(4,)"]),
    (lambda: F.max_pool2d(mg.randn(8, 8), 2), ["max_pool2d", "(8, 8)"]),
    (lambda: F.max_pool2d(mg.randn(1, 1, 8, 8), 2, padding=2), ["padding", "half"]),
    (lambda: F.avg_pool2d(mg.randn(1, 1, 2, 2), 3), ["avg_pool2d", "larger"]),
    (lambda: F.adaptive_avg_pool2d(mg.randn(1, 1, 5, 5), 2), ["divide", "(5, 5)"]),
    (lambda: F.linear(mg.randn(4, 3), mg.randn(2, 5)), ["linear", "(*, 5)", "(4, 3)"]),
    (lambda: F.layer_norm(mg.randn(4, 3), 5), ["layer_norm", "(*, 5)", "(4, 3)"]),
    (lambda: F.dropout(mg.randn(3), 1.5), ["dropout", "1.5"]),
])
def test_bad_input_names_the_op_and_the_shapes(call, words):
    with pytest.raises(ValueError) as error:
        call()
    for word in words:
        assert word in str(error.value)


def test_kernel_size_must_be_an_int_or_a_pair():
    with pytest.raises(TypeError, match="kernel_size"):
        F.max_pool2d(mg.randn(1, 1, 4, 4), (2, 2, 2))


@contextmanager
def blocks_of(block_bytes):
    """conv2d with another block size: 1 is a sample per block (the blocked path at its
    finest; the tests' small inputs otherwise fit in one block, i.e. the plain im2col)."""
    saved, conv_ops.BLOCK_BYTES = conv_ops.BLOCK_BYTES, block_bytes
    try:
        yield
    finally:
        conv_ops.BLOCK_BYTES = saved


@examples(20)
@given(geometry=window_geometry(), n=st.integers(2, 3), c=st.integers(1, 3), f=st.integers(1, 3),
       data=st.data())
def test_conv2d_in_blocks_of_one_sample(geometry, n, c, f, data):
    kernel, stride, padding, (h, w) = geometry
    x, weight, b = (data.draw(values(shape)) for shape in [(n, c, h, w), (f, c) + kernel, (f,)])
    with blocks_of(1):
        check_op(lambda x, w, b: F.conv2d(x, w, b, stride, padding),
                 lambda x, w, b: conv2d_reference(x, w, b, stride, padding), x, weight, b)


def test_blocks_change_the_speed_only():
    """One block (the plain im2col of the whole batch) and one sample per block agree."""
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((5, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    upstream = rng.standard_normal((5, 4, 4, 4))
    results = []
    for block_bytes in (1 << 40, 1):
        with blocks_of(block_bytes):
            assert len(conv_ops.sample_blocks(5, 100)) == (1 if block_bytes > 1 else 5)
            tensors = [mg.tensor(a, requires_grad=True) for a in (x, w, b)]
            y = F.conv2d(*tensors, stride=2, padding=1)
            y.backward(upstream)
        results.append([y.data] + [t.grad.data for t in tensors])
    for one_block, per_sample in zip(*results):
        np.testing.assert_allclose(one_block, per_sample, rtol=1e-12, atol=1e-12)
