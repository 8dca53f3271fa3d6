"""ℓp batch normalisation (Santurkar et al. 2018, §3.2): BatchNorm with another norm.

S18 ask whether BN works because it makes each layer's inputs Gaussian-like with stable
moments. They swap the standard deviation for an ℓp norm, per feature over the batch (per
channel for images: statistics over every axis but 1), m values each:
    μ = mean z,   s = n_p(z),   ẑ = (z − μ) / s,   y = γẑ + β,
    n_1 = mean|z|,   n_2 = √(mean z²),   n_∞ = max|z|,
norms taken of z itself, before subtracting μ. ε keeps s > 0: s = n + ε for ℓ1 and ℓ∞,
s = √(mean z² + ε) for ℓ2 (under the root, as in BN). The outputs have no fixed variance
and, for ℓ∞, a scale set by one outlier, yet S18 find the nets train about as well as with
BN (lesson 07 reproduces that for ℓ1 and ℓ2; ℓ∞ trains clearly less well there).

Backward, derived by hand (dẑ = γ·dy). ẑ_j depends on z_i through μ and through s:
    ∂ẑ_j/∂z_i = (δ_ij − 1/m)/s − ẑ_j·(∂s/∂z_i)/s,  so
    dz = (1/s)·(dẑ − mean(dẑ) − Σ(dẑ·ẑ)·∂s/∂z),
    ∂s/∂z = sign(z)/m (ℓ1),  z/(m·s) (ℓ2),  sign(z) at the largest |z|, split between ties (ℓ∞).
    dγ = Σ dy·ẑ,  dβ = Σ dy.
(BN is the same formula with ∂s/∂z = ẑ/m, which gives the projection of batch_norm.md §3.)
"""
import math

import numpy as np

from ..autograd import Function, Tensor
from .norm import channel_axes, per_channel

NORMS = (1, 2, math.inf)


def lp_norm(z, p, axes):
    """n_p(z) per feature over `axes`, kept as a broadcastable array."""
    if p == 1:
        return np.mean(np.abs(z), axis=axes, keepdims=True)
    if p == 2:
        return np.sqrt(np.mean(z * z, axis=axes, keepdims=True))
    return np.max(np.abs(z), axis=axes, keepdims=True)


def divisor(norm, p, eps):
    """s from n_p: √(n² + ε) for ℓ2 (ε under the root, like BN's variance), n + ε otherwise."""
    return np.sqrt(norm * norm + eps) if p == 2 else norm + eps


class LpBatchNorm(Function):
    """y = γ·(z − mean z)/s + β with s an ℓp norm of z per feature (see the module docstring)."""

    def forward(ctx, x, weight, bias, p=2, eps=1e-5):
        axes = channel_axes(x.ndim)
        s = divisor(lp_norm(x, p, axes), p, x.dtype.type(eps))
        x_hat = (x - x.mean(axis=axes, keepdims=True)) / s
        ctx.save(x, x_hat, s, weight)
        ctx.p, ctx.axes = p, axes
        y = x_hat if weight is None else x_hat * per_channel(weight, x.ndim)
        return y if bias is None else y + per_channel(bias, x.ndim)

    def backward(ctx, grad):
        x, x_hat, s, weight = ctx.saved
        axes, m = ctx.axes, x.size // s.size
        dx_hat = grad if weight is None else grad * per_channel(weight, x.ndim)
        if ctx.p == 1:
            ds_dx = np.sign(x) / x.dtype.type(m)
        elif ctx.p == 2:
            ds_dx = x / (m * s)
        else:
            largest = np.abs(x) == np.max(np.abs(x), axis=axes, keepdims=True)
            ds_dx = np.sign(x) * largest / largest.sum(axis=axes, keepdims=True, dtype=x.dtype)
        dx = (dx_hat - dx_hat.mean(axis=axes, keepdims=True)
              - np.sum(dx_hat * x_hat, axis=axes, keepdims=True) * ds_dx) / s
        dweight = np.sum(grad * x_hat, axis=axes) if ctx.needs_input_grad[1] else None
        dbias = np.sum(grad, axis=axes) if ctx.needs_input_grad[2] else None
        return dx, dweight, dbias


def _check(input, p, running_mean, running_norm, weight, bias, training):
    if p not in NORMS:
        raise ValueError(f"lp_batch_norm: p must be 1, 2 or inf, got {p!r}")
    if input.ndim < 2:
        raise ValueError(f"lp_batch_norm: expected input of shape (N, C, ...), got {input.shape}")
    features = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_norm", running_norm),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (features,):
            raise ValueError(f"lp_batch_norm: {name} has shape {t.shape}, expected ({features},) "
                             f"for input of shape {input.shape}")
    if not training and (running_mean is None or running_norm is None):
        raise ValueError("lp_batch_norm: evaluation mode needs running_mean and running_norm")
    m = input.numel() // features
    if training and m < 2:
        raise ValueError(f"lp_batch_norm: need more than 1 value per feature in training, "
                         f"got input of shape {input.shape}")


def lp_batch_norm(input, running_mean, running_norm, weight=None, bias=None, training=False,
                  momentum=0.1, eps=1e-5, p=2):
    """ℓp BatchNorm, functional form (like `F.batch_norm`, with a running norm for the variance).

    Training: batch statistics, and (if given) running_mean/running_norm are updated in
    place, outside the graph: running = (1 − momentum)·running + momentum·batch.
    Evaluation: the running statistics, as a composition of differentiable ops.
    """
    _check(input, p, running_mean, running_norm, weight, bias, training)
    if training:
        if running_mean is not None and running_norm is not None:
            axes = channel_axes(input.ndim)
            batch_mean, batch_norm = input.data.mean(axis=axes), lp_norm(input.data, p, axes)
            for running, batch in ((running_mean, batch_mean), (running_norm, batch_norm)):
                running.data[...] = (1 - momentum) * running.data + momentum * batch.reshape(-1)
        return LpBatchNorm.apply(input, weight, bias, p=p, eps=eps)
    ndim, dtype = input.ndim, input.dtype
    mean = Tensor(per_channel(running_mean.data, ndim).astype(dtype))
    s = Tensor(per_channel(divisor(running_norm.data, p, eps), ndim).astype(dtype))
    y = (input - mean) / s
    if weight is not None:
        y = y * weight.reshape(per_channel(weight.data, ndim).shape)
    if bias is not None:
        y = y + bias.reshape(per_channel(bias.data, ndim).shape)
    return y
