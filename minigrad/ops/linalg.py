"""Matrix multiplication, the op where nearly all of a network's time goes.

For Z = X @ Y (X: n×k, Y: k×m), each Z[i, j] = Σ_k X[i, k] Y[k, j], so
dL/dX = dL/dZ @ Yᵀ and dL/dY = Xᵀ @ dL/dZ. Batched (stacked) matrices broadcast like
NumPy's matmul, so their gradients are summed back over broadcast batch axes. A 1-D operand
is treated as a row (left) or column (right) vector and the added axis removed again.
"""
import numpy as np

from ..autograd import Function
from ..parallel import blas_threads_for
from .elementwise import unbroadcast


class MatMul(Function):
    """Z = X @ Y  ->  dX = dZ @ Yᵀ, dY = Xᵀ @ dZ."""

    def forward(ctx, x, y):
        ctx.save(x, y)
        with blas_threads_for(product_size(x, y)):
            return x @ y

    def backward(ctx, grad):
        x, y = ctx.saved
        # Treat a 1-D operand as a matrix (a row on the left, a column on the right) and put
        # the axis matmul dropped back into grad, so one rule covers every case.
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        if y.ndim == 1:
            grad = grad[..., None]
        if x.ndim == 1:
            grad = grad[..., None, :]
        dx = dy = None
        with blas_threads_for(product_size(x, y)):
            if ctx.needs_input_grad[0]:
                dx = unbroadcast(grad @ np.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape)
            if ctx.needs_input_grad[1]:
                dy = unbroadcast(np.swapaxes(x2, -1, -2) @ grad, y2.shape).reshape(y.shape)
        return dx, dy


def product_size(x, y):
    """About how many multiply-adds x @ y takes (broadcast batches of y aside)."""
    return x.size * (y.shape[-1] if y.ndim > 1 else 1)


def matmul(x, y):
    """x @ y with NumPy's rules; a shape mismatch names both shapes."""
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, got {x.shape} @ {y.shape}")
    inner_x, inner_y = x.shape[-1], y.shape[0] if y.ndim == 1 else y.shape[-2]
    if inner_x != inner_y:
        raise ValueError(f"matmul: {x.shape} @ {y.shape}: inner dimensions {inner_x} and "
                         f"{inner_y} differ")
    try:
        np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    except ValueError:
        raise ValueError(f"matmul: {x.shape} @ {y.shape}: batch dimensions "
                         f"{x.shape[:-2]} and {y.shape[:-2]} cannot be broadcast") from None
    return MatMul.apply(x, y)


class Linear(Function):
    """y = x Wᵀ + b (x: (*, in), W: (out, in))  ->  dx = dy W, dW = dyᵀ x, db = Σ_rows dy.

    One Function rather than matmul + add: one node, one pass for the bias, and the GEMMs
    read W and x as they are (W.T is a view; BLAS takes transposed operands directly).
    Leading axes of x are flattened into rows for the weight gradient.
    """

    def forward(ctx, x, weight, bias=None):
        with blas_threads_for(x.size * weight.shape[0]):  # (rows·in)·out multiply-adds
            y = x @ weight.T
        if bias is not None:
            y += bias
        ctx.save(x, weight)
        return y

    def backward(ctx, grad):
        x, weight = ctx.saved
        rows = grad.reshape(-1, grad.shape[-1])
        with blas_threads_for(x.size * weight.shape[0]):
            dx = grad @ weight if ctx.needs_input_grad[0] else None
            dw = rows.T @ x.reshape(-1, x.shape[-1]) if ctx.needs_input_grad[1] else None
        db = rows.sum(axis=0) if ctx.needs_input_grad[2] else None
        return dx, dw, db


def linear(input, weight, bias=None):
    """PyTorch's `F.linear`: input (*, in_features), weight (out, in), bias (out,) or None."""
    w_shape = tuple(weight.shape)
    if len(w_shape) != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got {w_shape}")
    if input.ndim == 0 or input.shape[-1] != w_shape[1]:
        raise ValueError(f"linear: expected input of shape (*, {w_shape[1]}) for weight {w_shape}, "
                         f"got {tuple(input.shape)}")
    if bias is not None and tuple(bias.shape) != (w_shape[0],):
        raise ValueError(f"linear: bias must have shape ({w_shape[0]},), got {tuple(bias.shape)}")
    return Linear.apply(input, weight, bias)
