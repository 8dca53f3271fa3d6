"""Convolution and pooling over images of shape (N, C, H, W).

A convolution is a matrix product in disguise. Copy every k×k×C window of the (padded)
input into one row of a matrix `cols` (im2col: N·Ho·Wo rows, k·k·C columns); the output is
then `cols @ w_cols` (w_cols: the filters as k·k·C × F) plus the bias, one big GEMM, and
the backward is two more GEMMs with the same matrices:

    y[n, f, h, w] = b[f] + Σ_{c,i,j} W[f, c, i, j] · x̃[n, c, h·s + i, w·s + j]   (x̃ padded)
    Y = cols @ w_cols   ->   dw_cols = colsᵀ @ dY,   dcols = dY @ w_colsᵀ,   db = Σ_rows dY

dcols holds one gradient per (window, offset) copy of an input pixel; a pixel copied into
several windows gets the sum of its copies' gradients (col2im). We work offset by offset:
the columns of dcols for kernel offset (i, j) are dY @ W[:, :, i, j], and all windows'
offset-(i, j) elements form one strided slice of x̃, so col2im is k² small GEMMs each
followed by one vectorised slice-add, never a loop over pixels. (One big GEMM for all of
dcols costs the same FLOPs, but then each slice-add gathers C-long runs strided by k²·C,
which measured slower than the k² GEMMs.)

A block of samples at a time. For a whole batch, cols is k²× the input (37 MiB for the
second layer of examples/benchmark.py's CNN), so each GEMM and each slice-add streams its
operands through memory, and col2im reads dY k² times. Every row of cols belongs to one
sample, so the same products can go a few samples at a time (`sample_blocks`: about 2 MiB
of rows), each block's rows used while still in cache and rebuilt in backward rather than
kept from forward; dW and db add up the blocks' shares. The blocks are independent, so
they also share out over the cores (`over_blocks`), one BLAS thread each. Measured on an
idle 2-core AVX2 machine, together with pooling, ReLU and BatchNorm's sums split over the
cores too (minigrad/parallel.py): examples/benchmark.py's CNN training step went from 1.64×
PyTorch's time to 1.12-1.19×, on a 2-core AVX-512 machine from 1.72-1.84× to 1.19-1.27×,
and its peak memory from 245 to 155 MiB (PyTorch's: about 200). What is left is mostly the
matrix products themselves (examples/benchmark_cnn_layers.py shows it op by op). With one
block the code is the whole-batch im2col above; the tests check a sample per block against
that and against the direct definition.

Memory layout. The windows are cut from a channels-last copy of x̃ (N, H, W, C): then a
window's k·C values along a row are contiguous, im2col is one fast copy, and the GEMM's
result (N·Ho·Wo, F) *is* the output in channels-last order. We return it as a transposed
view: shape (N, F, Ho, Wo) like PyTorch, memory (N, Ho, Wo, F) like PyTorch's
`channels_last`. NumPy ops work on any layout (and elementwise ops keep it), so the next
ReLU, BatchNorm and pooling run over contiguous channels, and the gradient comes back in
the layout the backward GEMMs want, with no transpose copy anywhere.

Pooling uses the same offset view: the k² strided slices x̃[:, :, i::s, j::s] each hold
one element of every window, so max pooling is a running maximum over them (remembering
which offset won) and its backward routes each output's gradient back to that offset.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..autograd import Function, Tensor
from ..parallel import over_batch_blocks, over_blocks


def pair(value, name="argument"):
    """PyTorch's int-or-pair arguments: 3 -> (3, 3), (3, 1) -> (3, 1)."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(
            isinstance(v, (int, np.integer)) for v in value):
        return int(value[0]), int(value[1])
    raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")


def output_size(size, kernel, stride, padding):
    """How many windows of `kernel` fit along a side of `size` padded on both ends."""
    return (size + 2 * padding - kernel) // stride + 1


def offset_slice(offset, stride, count):
    """The positions offset, offset + stride, ... (count of them): one kernel offset's
    element of each of `count` windows along a side."""
    return slice(offset, offset + stride * count, stride)


def channels_last_padded(x, padding):
    """x (N, C, H, W) -> a new (N, H + 2p, W + 2p, C) array, zero-padded."""
    (N, C, H, W), (ph, pw) = x.shape, padding
    padded = np.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=x.dtype)
    padded[:, ph:ph + H, pw:pw + W, :] = x.transpose(0, 2, 3, 1)
    return padded


# --------------------------------------------------------------------------- convolution


BLOCK_BYTES = 1 << 21  # im2col rows per block: 2 MiB, which stays in a current CPU's caches


def sample_blocks(samples, bytes_per_sample):
    """Slices of consecutive samples whose im2col rows take about BLOCK_BYTES (at least one)."""
    size = max(1, min(samples, BLOCK_BYTES // max(1, bytes_per_sample)))
    return [slice(start, start + size) for start in range(0, samples, size)]


def im2col(x_padded, kernel, stride, out_size):
    """One row per window of x̃ (N, H', W', C): (N·Ho·Wo, kh·kw·C), in (i, j, c) order."""
    windows = sliding_window_view(x_padded, kernel, axis=(1, 2))  # (N, H', W', C, kh, kw)
    windows = windows[:, offset_slice(0, stride[0], out_size[0]),
                      offset_slice(0, stride[1], out_size[1])].transpose(0, 1, 2, 4, 5, 3)
    return windows.reshape(-1, kernel[0] * kernel[1] * x_padded.shape[3])  # the copy


def col2im_add(dy, w_offsets, dx_padded, stride, out_size):
    """dx̃ += Σ over kernel offsets (i, j) of dY @ W[:, :, i, j], added into the slice of x̃
    that offset saw: one GEMM and one slice-add per offset (k² of each)."""
    (N, C), (Ho, Wo) = (dx_padded.shape[0], dx_padded.shape[3]), out_size
    dcols = np.empty((N * Ho * Wo, C), dtype=dy.dtype)  # reused by every offset
    for i in range(w_offsets.shape[0]):
        for j in range(w_offsets.shape[1]):
            np.matmul(dy, w_offsets[i, j], out=dcols)
            rows, columns = offset_slice(i, stride[0], Ho), offset_slice(j, stride[1], Wo)
            dx_padded[:, rows, columns, :] += dcols.reshape(N, Ho, Wo, C)


class Conv2d(Function):
    """y = im2col(x̃) @ w_cols + b  ->  dW = colsᵀ dY, db = Σ dY, dx = col2im(dY w_colsᵀ).

    Both passes go a block of samples at a time (`sample_blocks`): each block's im2col rows
    are used while they are still in cache, and rebuilt in backward rather than kept, so
    neither pass streams a matrix 9× the input's size through memory (see top).
    """

    def forward(ctx, x, weight, bias=None, stride=(1, 1), padding=(0, 0)):
        (N, C, H, W), (F, _, kh, kw) = x.shape, weight.shape
        Ho, Wo = (output_size(n, k, s, p) for n, k, s, p in zip((H, W), (kh, kw), stride, padding))
        x_padded = channels_last_padded(x, padding)
        w_cols = weight.transpose(2, 3, 1, 0).reshape(kh * kw * C, F)
        y = np.empty((N, Ho, Wo, F), dtype=np.result_type(x, weight))

        def forward_block(block):
            y_rows = y[block].reshape(-1, F)  # a view: the block is a run of whole samples
            np.matmul(im2col(x_padded[block], (kh, kw), stride, (Ho, Wo)), w_cols, out=y_rows)
            if bias is not None:
                y_rows += bias

        over_blocks(forward_block, sample_blocks(N, Ho * Wo * kh * kw * C * x.itemsize))
        ctx.save(x_padded, weight)
        ctx.geometry = x.shape, (Ho, Wo), stride, padding
        return y.transpose(0, 3, 1, 2)  # channels-last memory, see top

    def backward(ctx, grad):
        x_padded, weight = ctx.saved
        (N, C, H, W), (Ho, Wo), stride, (ph, pw) = ctx.geometry
        F, _, kh, kw = weight.shape
        dy = np.ascontiguousarray(grad.transpose(0, 2, 3, 1))  # no copy if grad is channels-last
        need_dx, need_dw, need_db = ctx.needs_input_grad
        dx_padded = np.zeros_like(x_padded, dtype=dy.dtype) if need_dx else None
        w_offsets = np.ascontiguousarray(weight.transpose(2, 3, 0, 1))  # (kh, kw, F, C)

        def backward_block(block):  # dx̃ of its samples, written in place; its shares of dW, db
            dy_rows = dy[block].reshape(-1, F)
            if need_dx:
                col2im_add(dy_rows, w_offsets, dx_padded[block], stride, (Ho, Wo))
            dw_share = (im2col(x_padded[block], (kh, kw), stride, (Ho, Wo)).T @ dy_rows
                        if need_dw else 0)
            # Σ over rows as a matrix-vector product: BLAS reads dY once, where
            # dy.sum(axis=0) adds it row by row (2-3× slower at the first layer's size)
            db_share = np.ones(len(dy_rows), dy.dtype) @ dy_rows if need_db else 0
            return dw_share, db_share

        shares = over_blocks(backward_block,
                             sample_blocks(N, Ho * Wo * kh * kw * C * x_padded.itemsize))
        dw_shares, db_shares = zip(*shares)  # added in block order, however many threads ran
        dx = dx_padded[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2) if need_dx else None
        dw = sum(dw_shares).reshape(kh, kw, C, F).transpose(3, 2, 0, 1).copy() if need_dw else None
        db = sum(db_shares) if need_db else None
        return dx, dw, db


# --------------------------------------------------------------------------- pooling


def offsets(kernel):
    """The (i, j) positions inside a kernel, row by row (the order PyTorch scans them)."""
    return [(i, j) for i in range(kernel[0]) for j in range(kernel[1])]


def offset_view(x_padded, offset, stride, out_size):
    """The element at `offset` of every window: x̃[:, :, i::s, j::s] cut to the output size."""
    return x_padded[:, :, offset_slice(offset[0], stride[0], out_size[0]),
                    offset_slice(offset[1], stride[1], out_size[1])]


def is_channels_last(x):
    """True when x (N, C, H, W) lies in memory as (N, H, W, C), as conv2d's outputs do."""
    return x.transpose(0, 2, 3, 1).flags.c_contiguous


def new_image(shape, value, dtype, channels_last):
    """A (N, C, H, W) array filled with `value` (left empty for None), laid out
    channels-last if asked."""
    N, C, H, W = shape
    memory_shape = (N, H, W, C) if channels_last else shape
    image = np.empty(memory_shape, dtype) if value is None else np.full(memory_shape, value, dtype)
    return image.transpose(0, 3, 1, 2) if channels_last else image


def channels_last_copy(x):
    """The same (N, C, H, W) values laid out as (N, H, W, C)."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def padded_like(x, padding, value):
    """x surrounded by `value` on H and W, in x's layout (x itself when there is no padding)."""
    (ph, pw), (N, C, H, W) = padding, x.shape
    if ph == pw == 0:
        return x
    x_padded = new_image((N, C, H + 2 * ph, W + 2 * pw), value, x.dtype, is_channels_last(x))
    x_padded[:, :, ph:ph + H, pw:pw + W] = x
    return x_padded


def scatter_to_offsets(write_share, grad, geometry, *saved):
    """dx̃ = Σ over kernel offsets of that offset's share of the gradient, added into the
    offset's strided slice (k² slice-adds); then the padding is cut off.

    `write_share(index, grad, *saved, out)` writes offset `index`'s share of `grad` into `out`
    (`saved`: per-output arrays the share needs, as max pooling's winners). When the windows
    tile the input exactly (kernel = stride, no padding, no remainder) each input element
    gets one share, written straight into dx: no zero-fill, no adds. Blocks of samples run
    on all cores (minigrad/parallel.py).
    """
    (N, C, H, W), channels_last, kernel, stride, (ph, pw) = geometry
    if channels_last and not is_channels_last(grad):  # e.g. from Flatten: one copy here
        grad = channels_last_copy(grad)                 # beats mixing layouts below
    out_size = grad.shape[2:]
    tiled = (kernel == stride and ph == pw == 0
             and (H, W) == (out_size[0] * kernel[0], out_size[1] * kernel[1]))
    dx_padded = new_image((N, C, H + 2 * ph, W + 2 * pw), None if tiled else 0, grad.dtype,
                          channels_last)

    def scatter_block(grad, dx_padded, *saved):
        share = None if tiled else np.empty_like(grad)
        for index, offset in enumerate(offsets(kernel)):
            target = offset_view(dx_padded, offset, stride, out_size)
            if tiled:
                write_share(index, grad, *saved, out=target)
            else:
                write_share(index, grad, *saved, out=share)
                target += share

    over_batch_blocks(scatter_block, grad, dx_padded, *saved)
    return dx_padded[:, :, ph:ph + H, pw:pw + W]


def pool_geometry(x, kernel, stride, padding):
    """What a pooling backward needs to rebuild dx: x's shape and layout, the window."""
    return x.shape, is_channels_last(x), kernel, stride, padding


class MaxPool2d(Function):
    """y = max of each window  ->  dx = dy at the window's (first) maximum, 0 elsewhere.

    Forward keeps a running maximum over the k² offset views and, per output, the index of
    the offset that won (int8); a later offset must be strictly larger to win, so ties go
    to the first, as in PyTorch. np.maximum lets a NaN through, as PyTorch does.
    """

    def forward(ctx, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0)):
        out_size = [output_size(n, k, s, p) for n, k, s, p in zip(x.shape[2:], kernel, stride, padding)]
        x_padded = padded_like(x, padding, -np.inf)
        y = new_image((*x.shape[:2], *out_size), None, x.dtype, is_channels_last(x))
        winner = np.empty_like(y, dtype=np.int8)  # both laid out like x

        def pool_block(x_padded, y, winner):
            views = [offset_view(x_padded, offset, stride, out_size) for offset in offsets(kernel)]
            y[...], winner[...] = views[0], 0
            for index, view in enumerate(views[1:], start=1):
                # winner = index where view > y. Indices only grow, so that is a maximum:
                # branch-free, unlike a masked copy, which is slow on a random mask.
                np.maximum(winner, (view > y) * np.int8(index), out=winner)
                np.maximum(y, view, out=y)

        over_batch_blocks(pool_block, x_padded, y, winner)  # a block of samples per core
        ctx.winner = winner
        ctx.geometry = pool_geometry(x, kernel, stride, padding)
        return y

    def backward(ctx, grad):
        def route(index, grad, winner, out):  # this offset's share: dy where it won, else 0
            np.multiply(grad, winner == index, out=out)
        return scatter_to_offsets(route, grad, ctx.geometry, ctx.winner)


def max_pool2d_windows(x, kernel, stride, padding):
    """The plain max pooling (forward only): cut every window out, take its maximum.

    Same values as `MaxPool2d`, which tests check; kept as the readable reference. It is
    slower: a window's elements are scattered in memory, while each offset view in
    `MaxPool2d` is one regular stride pattern over whole rows of channels.
    """
    x_padded = padded_like(x, padding, -np.inf)
    windows = sliding_window_view(x_padded, kernel, axis=(2, 3))[:, :, ::stride[0], ::stride[1]]
    return windows.max(axis=(4, 5))


class AvgPool2d(Function):
    """y = (1/k²)·Σ window (padding counts as zeros)  ->  every input in a window gets dy/k²."""

    def forward(ctx, x, kernel=(2, 2), stride=(2, 2), padding=(0, 0)):
        out_size = [output_size(n, k, s, p) for n, k, s, p in zip(x.shape[2:], kernel, stride, padding)]
        x_padded = padded_like(x, padding, 0.0)
        views = [offset_view(x_padded, offset, stride, out_size) for offset in offsets(kernel)]
        y = views[0].copy(order="K")
        for view in views[1:]:
            y += view
        y *= x.dtype.type(1 / len(views))
        ctx.geometry = pool_geometry(x, kernel, stride, padding)
        return y

    def backward(ctx, grad):
        kernel = ctx.geometry[2]
        def spread(index, grad, out):  # every offset's share: dy/k²
            np.multiply(grad, grad.dtype.type(1 / (kernel[0] * kernel[1])), out=out)
        return scatter_to_offsets(spread, grad, ctx.geometry)


# --------------------------------------------------------------------------- public functions


def _data(t):
    return t.data if isinstance(t, Tensor) else t


def conv2d(input, weight, bias=None, stride=1, padding=0):
    """PyTorch's `F.conv2d` (no dilation or groups): input (N, C, H, W), weight (F, C, kh, kw),
    bias (F,) or None -> (N, F, Ho, Wo) with Ho = (H + 2·padding − kh) // stride + 1."""
    stride, padding = pair(stride, "conv2d stride"), pair(padding, "conv2d padding")
    x, w = _data(input), _data(weight)
    if w.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels, kh, kw), "
                         f"got shape {w.shape}")
    if x.ndim != 4 or x.shape[1] != w.shape[1]:
        raise ValueError(f"conv2d: expected input of shape (N, {w.shape[1]}, H, W) for weight "
                         f"{w.shape}, got {x.shape}")
    if bias is not None and _data(bias).shape != (w.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({w.shape[0]},), got {_data(bias).shape}")
    _check_window("conv2d", x.shape, w.shape[2:], stride, padding)
    return Conv2d.apply(input, weight, bias, stride=stride, padding=padding)


def _pool_arguments(op, input, kernel_size, stride, padding):
    kernel = pair(kernel_size, f"{op} kernel_size")
    stride = kernel if stride is None else pair(stride, f"{op} stride")
    padding = pair(padding, f"{op} padding")
    x = _data(input)
    if x.ndim != 4:
        raise ValueError(f"{op}: expected input of shape (N, C, H, W), got {x.shape}")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{op}: padding {padding} must be at most half the kernel {kernel}")
    _check_window(op, x.shape, kernel, stride, padding)
    return kernel, stride, padding


def _check_window(op, x_shape, kernel, stride, padding):
    if min(stride) < 1 or min(padding) < 0 or min(kernel) < 1:
        raise ValueError(f"{op}: need kernel ≥ 1, stride ≥ 1 and padding ≥ 0, got kernel "
                         f"{tuple(kernel)}, stride {stride}, padding {padding}")
    padded = tuple(n + 2 * p for n, p in zip(x_shape[2:], padding))
    if any(k > n for k, n in zip(kernel, padded)):
        raise ValueError(f"{op}: kernel {tuple(kernel)} is larger than the padded input "
                         f"{padded} (input shape {x_shape}, padding {padding})")


def max_pool2d(input, kernel_size, stride=None, padding=0):
    """PyTorch's `F.max_pool2d`; stride defaults to kernel_size, padding counts as −∞."""
    kernel, stride, padding = _pool_arguments("max_pool2d", input, kernel_size, stride, padding)
    return MaxPool2d.apply(input, kernel=kernel, stride=stride, padding=padding)


def avg_pool2d(input, kernel_size, stride=None, padding=0):
    """PyTorch's `F.avg_pool2d` (count_include_pad=True: padding counts as zeros)."""
    kernel, stride, padding = _pool_arguments("avg_pool2d", input, kernel_size, stride, padding)
    return AvgPool2d.apply(input, kernel=kernel, stride=stride, padding=padding)


def adaptive_avg_pool2d(input, output_size):
    """Average over equal tiles giving an `output_size` grid; 1 is the global average.

    Only sizes that divide H and W are supported (the tiles are then plain avg_pool2d windows).
    """
    out_h, out_w = pair(output_size, "adaptive_avg_pool2d output_size")
    x = _data(input)
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: expected input of shape (N, C, H, W), got {x.shape}")
    H, W = x.shape[2:]
    if out_h < 1 or out_w < 1 or H % out_h or W % out_w:
        raise ValueError(f"adaptive_avg_pool2d: output size {(out_h, out_w)} must divide the "
                         f"input's spatial size {(H, W)} (only that case is supported)")
    if (out_h, out_w) == (1, 1):
        return input.mean(axis=(2, 3), keepdims=True)
    return avg_pool2d(input, (H // out_h, W // out_w))
