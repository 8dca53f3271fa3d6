"""Dropout (Srivastava et al. 2014), inverted: zero each element with probability p and
scale the survivors by 1/(1 − p), so E[y] = x and evaluation needs no rescaling.

y = x·m with m = keep/(1 − p), a fixed random mask  ->  dx = dy·m (the same mask).
The mask is drawn from minigrad's one seeded generator, so `manual_seed` makes it repeat.
"""
import numpy as np

from ..autograd import Function, default_generator


class Dropout(Function):
    """y = x·m, m ∈ {0, 1/(1 − p)}  ->  dx = dy·m."""

    def forward(ctx, x, p=0.5):
        keep = default_generator().random(x.shape, dtype=np.float32) >= p
        mask = keep * x.dtype.type(1 / (1 - p)) if p < 1 else np.zeros(x.shape, x.dtype)
        ctx.save(mask)
        return x * mask

    def backward(ctx, grad):
        (mask,) = ctx.saved
        return grad * mask


def dropout(input, p=0.5, training=True):
    """PyTorch's `F.dropout`: active only when `training`; p = 0 or eval returns input itself."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    return Dropout.apply(input, p=p)
