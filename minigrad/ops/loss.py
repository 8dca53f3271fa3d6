"""Softmax, log-softmax and the losses built on them.

The stable way to compute log softmax(x)_i = x_i - log Σ_j e^{x_j} is to subtract max(x)
first: e^{x - max} never overflows, so logits of 1e3 give finite, exact losses.
Cross-entropy fuses log-softmax with picking the target's entry because its gradient is
then one line: softmax(x) - onehot(target).
"""
import numpy as np

from ..autograd import Function, Tensor
from .reduce import mean, normalize_axis, sum


def _log_softmax(x, axis):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


class LogSoftmax(Function):
    """z = x - logsumexp(x)  ->  dx = g - softmax(x)·Σ g  (Σ over the softmax axis)."""

    def forward(ctx, x, axis=-1):
        z = _log_softmax(x, axis)
        ctx.save(z)
        ctx.axis = axis
        return z

    def backward(ctx, grad):
        (z,) = ctx.saved
        return grad - np.exp(z) * grad.sum(axis=ctx.axis, keepdims=True)


class Softmax(Function):
    """s = e^x / Σ e^x  ->  dx = s·(g - Σ g·s)."""

    def forward(ctx, x, axis=-1):
        s = np.exp(_log_softmax(x, axis))
        ctx.save(s)
        ctx.axis = axis
        return s

    def backward(ctx, grad):
        (s,) = ctx.saved
        return s * (grad - (grad * s).sum(axis=ctx.axis, keepdims=True))


class CrossEntropy(Function):
    """loss_n = -log softmax(x_n)[t_n]  ->  dloss_n/dx_n = softmax(x_n) - onehot(t_n).

    The one-hot is never built: subtracting 1 at the target index does the same, in the
    logits' dtype (a float64 one-hot would silently upcast a float32 backward).
    """

    def forward(ctx, logits, target=None, reduction="mean"):
        log_probs = _log_softmax(logits, 1)
        rows = np.arange(len(target))
        losses = -log_probs[rows, target]
        ctx.save(log_probs, target)
        ctx.reduction = reduction
        if reduction == "mean":
            return losses.mean()
        return losses.sum() if reduction == "sum" else losses

    def backward(ctx, grad):
        log_probs, target = ctx.saved
        dlogits = np.exp(log_probs)
        dlogits[np.arange(len(target)), target] -= 1
        if ctx.reduction == "none":
            return dlogits * grad[:, None]
        scale = grad / len(target) if ctx.reduction == "mean" else grad
        return dlogits * scale


class BCEWithLogits(Function):
    """loss = max(x, 0) - x·y + log(1 + e^{-|x|})  (stable)  ->  dloss/dx = sigmoid(x) - y."""

    def forward(ctx, x, y, reduction="mean"):
        losses = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        ctx.save(x, y)
        ctx.reduction = reduction
        if reduction == "mean":
            return losses.mean()
        return losses.sum() if reduction == "sum" else losses

    def backward(ctx, grad):
        x, y = ctx.saved
        sigmoid = 0.5 * (1 + np.tanh(0.5 * x))
        scale = grad / x.size if ctx.reduction == "mean" else grad
        dx = (sigmoid - y) * scale
        dy = -x * scale if ctx.needs_input_grad[1] else None
        return dx, dy


def softmax(x, dim=-1):
    return Softmax.apply(x, axis=normalize_axis(dim, x.ndim, "softmax")[0])


def log_softmax(x, dim=-1):
    return LogSoftmax.apply(x, axis=normalize_axis(dim, x.ndim, "log_softmax")[0])


def _check_reduction(reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _class_targets(op, scores, target):
    """Integer targets of shape (N,), each in [0, C); a clear error otherwise."""
    target = target.data if isinstance(target, Tensor) else np.asarray(target)
    if scores.ndim != 2:
        raise ValueError(f"{op}: expected scores of shape (N, C), got {scores.shape}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: targets must be integer class indices, got dtype {target.dtype}")
    if target.shape != scores.shape[:1]:
        raise ValueError(f"{op}: {scores.shape[0]} rows of scores {scores.shape} but targets "
                         f"of shape {target.shape}")
    bad = (target < 0) | (target >= scores.shape[1])
    if bad.any():
        raise ValueError(f"{op}: target {target[bad][0]} is out of range for "
                         f"{scores.shape[1]} classes (valid: 0..{scores.shape[1] - 1})")
    return target


def cross_entropy(input, target, reduction="mean"):
    """Mean (or sum, or per-sample) -log softmax(input)[target] for logits (N, C)."""
    _check_reduction(reduction)
    target = _class_targets("cross_entropy", input, target)
    return CrossEntropy.apply(input, target=target, reduction=reduction)


def nll_loss(input, target, reduction="mean"):
    """-input[n, target_n] for log-probabilities (N, C), e.g. from log_softmax."""
    _check_reduction(reduction)
    target = _class_targets("nll_loss", input, target)
    picked = -input[np.arange(len(target)), target]
    if reduction == "none":
        return picked
    return mean(picked) if reduction == "mean" else sum(picked)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error, composed from primitive ops."""
    _check_reduction(reduction)
    if input.shape != target.shape:
        raise ValueError(f"mse_loss: input {input.shape} and target {target.shape} differ in shape")
    squared = (input - target) ** 2
    if reduction == "none":
        return squared
    return mean(squared) if reduction == "mean" else sum(squared)


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """Sigmoid + binary cross-entropy in one stable step; targets are probabilities in [0, 1]."""
    _check_reduction(reduction)
    if not isinstance(target, Tensor):
        target = Tensor(np.asarray(target, dtype=input.dtype))
    if input.shape != target.shape:
        raise ValueError(f"binary_cross_entropy_with_logits: input {input.shape} and target "
                         f"{target.shape} differ in shape")
    return BCEWithLogits.apply(input, target, reduction=reduction)
