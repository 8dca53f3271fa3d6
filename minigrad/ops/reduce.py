"""Reductions: sum, mean, max/min, var/std over an axis (int, tuple or None).

A reduction's backward puts the gradient back where it came from: each input element
gets the output gradient of the slot it was reduced into, times its local derivative.
`keepdims=True` shapes make that a plain broadcast.
Both NumPy's `axis`/`keepdims` and PyTorch's `dim`/`keepdim` spellings are accepted.
"""
import builtins

import numpy as np

from ..autograd import Function, Tensor
from .elementwise import sqrt


def normalize_axis(axis, ndim, op="reduce"):
    """A tuple of non-negative axes (all of them for None); a clear error when out of range."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
    return tuple(sorted({a % ndim for a in axes}))


def kept_shape(shape, axes):
    """The shape of the reduction with keepdims=True: reduced axes become 1."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def pick_axis(axis, dim, keepdims, keepdim):
    """Merge NumPy's and PyTorch's spellings of the same two arguments."""
    return (dim if axis is None else axis), bool(keepdims or keepdim)


class Sum(Function):
    """z = Σ x over axes  ->  dz/dx = 1: every input element gets its slot's gradient."""

    def forward(ctx, x, axes=(), keepdims=False):
        ctx.shape, ctx.kept = x.shape, kept_shape(x.shape, axes)
        return np.sum(x, axis=axes, keepdims=keepdims)

    def backward(ctx, grad):
        return np.broadcast_to(grad.reshape(ctx.kept), ctx.shape)


class Mean(Function):
    """z = (1/n) Σ x over axes  ->  dz/dx = 1/n."""

    def forward(ctx, x, axes=(), keepdims=False):
        ctx.shape, ctx.kept = x.shape, kept_shape(x.shape, axes)
        ctx.count = int(np.prod([x.shape[a] for a in axes]))
        return np.mean(x, axis=axes, keepdims=keepdims)

    def backward(ctx, grad):
        scaled = grad.reshape(ctx.kept) / grad.dtype.type(builtins.max(ctx.count, 1))
        return np.broadcast_to(scaled, ctx.shape)


class Max(Function):
    """z = max x over axes  ->  dz/dx = 1 at the maximum, 0 elsewhere; k tied maxima get 1/k each.

    This is `torch.amax`. `torch.max(x, dim)` also returns indices and sends the whole
    gradient to one of the tied elements; minigrad's `max` returns values only.
    """

    def forward(ctx, x, axes=(), keepdims=False, smallest=False):
        reduce = np.min if smallest else np.max
        z = reduce(x, axis=axes, keepdims=True)
        winners = x == z
        ctx.save(winners / winners.sum(axis=axes, keepdims=True, dtype=x.dtype))
        ctx.kept = z.shape
        return z if keepdims else z.reshape([n for i, n in enumerate(x.shape) if i not in axes])

    def backward(ctx, grad):
        (share,) = ctx.saved
        return grad.reshape(ctx.kept) * share


class Var(Function):
    """z = Σ (x - μ)² / (n - correction)  ->  dz/dx = 2(x - μ)/(n - correction).

    (The path through μ vanishes: Σ (x - μ) = 0.)
    """

    def forward(ctx, x, axes=(), keepdims=False, correction=1):
        n = int(np.prod([x.shape[a] for a in axes]))
        mu = x.mean(axis=axes, keepdims=True)
        centred = x - mu
        ctx.save(centred)
        ctx.kept, ctx.divisor = kept_shape(x.shape, axes), x.dtype.type(builtins.max(n - correction, 0))
        return np.sum(centred * centred, axis=axes, keepdims=keepdims) / ctx.divisor

    def backward(ctx, grad):
        (centred,) = ctx.saved
        return grad.reshape(ctx.kept) * (2 * centred / ctx.divisor)


def _reduce(function, name, x, axis, dim, keepdims, keepdim, **options):
    axis, keepdims = pick_axis(axis, dim, keepdims, keepdim)
    return function.apply(x, axes=normalize_axis(axis, x.ndim, name), keepdims=keepdims, **options)


def sum(x, axis=None, keepdims=False, *, dim=None, keepdim=False):
    return _reduce(Sum, "sum", x, axis, dim, keepdims, keepdim)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=False):
    return _reduce(Mean, "mean", x, axis, dim, keepdims, keepdim)


def max(x, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Largest values over `axis` (values only, like `torch.amax`; see `Max`)."""
    return _reduce(Max, "max", x, axis, dim, keepdims, keepdim)


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Smallest values over `axis` (values only, like `torch.amin`)."""
    return _reduce(Max, "min", x, axis, dim, keepdims, keepdim, smallest=True)


def var(x, axis=None, keepdims=False, *, dim=None, keepdim=False, correction=1):
    """Variance; `correction=1` (PyTorch's default) divides by n - 1, `correction=0` by n."""
    return _reduce(Var, "var", x, axis, dim, keepdims, keepdim, correction=correction)


def std(x, axis=None, keepdims=False, *, dim=None, keepdim=False, correction=1):
    """Standard deviation: the square root of `var` (autograd chains the two)."""
    return sqrt(var(x, axis, keepdims, dim=dim, keepdim=keepdim, correction=correction))


def argmax(x, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Index of the largest value (no gradient: an index is not differentiable)."""
    axis, keepdims = pick_axis(axis, dim, keepdims, keepdim)
    return Tensor(np.argmax(x.data, axis=axis, keepdims=keepdims))


def argmin(x, axis=None, keepdims=False, *, dim=None, keepdim=False):
    """Index of the smallest value (no gradient)."""
    axis, keepdims = pick_axis(axis, dim, keepdims, keepdim)
    return Tensor(np.argmin(x.data, axis=axis, keepdims=keepdims))
