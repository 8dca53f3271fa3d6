"""BatchNorm [Ioffe & Szegedy 2015], written three ways that must agree.

Per channel c (axis 1; statistics over the batch and any spatial axes, m values each):

    μ = mean(x),  σ² = mean((x − μ)²) (biased),  s = √(σ² + ε),  x̂ = (x − μ)/s,  y = γx̂ + β

1. `composed_batch_norm`: built from mean, var, sqrt and div; autograd derives the backward.
2. `StagedBatchNorm`: the backward follows Ioffe & Szegedy's chain rule one step a line.
3. `FusedBatchNorm`: the closed form of that chain, few passes over memory; what
   `nn.BatchNorm1d/2d` use.

The derivation that takes (2) to (3), and its reading as a projection (Theorem 4.1 of
Santurkar et al. 2018), is in batch_norm.md beside this file.

Running statistics never enter a graph: `RunningStats.update` changes them in place, in plain
NumPy, from the batch statistics each implementation computes anyway.
"""
import math

import numpy as np

from ..autograd import Function, Tensor
from ..parallel import over_batch_blocks, sum_over_batch_blocks

# --------------------------------------------------------------------------- shapes


def channel_axes(ndim):
    """The axes a channel's statistics run over: all but axis 1 ((0,), (0, 2) or (0, 2, 3))."""
    return (0,) + tuple(range(2, ndim))


def per_channel(values, ndim):
    """A (C,) array viewed as (1, C, 1, ...) so it broadcasts against (N, C, ...) data."""
    return values.reshape((1, -1) + (1,) * (ndim - 2))


def spread_over_sample(values, like):
    """Per-channel values ((1, C, 1, ...) or a scalar) written out over one sample of `like`,
    in the memory order of like's samples, to broadcast against the whole batch.

    Why not broadcast the (1, C, 1, 1) array itself: then NumPy's inner loop runs over one
    channel of one sample at a time (H·W values, N·C short loops per pass). Against a
    (C, H, W) pattern laid out like a sample of x, each sample is one contiguous run: the same
    numbers, ~1.7× faster per elementwise pass on (128, 64, 16, 16) float32 (0.9 vs 1.6 ms).
    """
    pattern = np.empty_like(like[0])  # order "K": strides ordered as in like's samples
    pattern[...] = values
    return pattern


def values_per_channel(shape):
    """m: how many numbers each channel's statistics average (N, N·L or N·H·W)."""
    return math.prod(shape) // shape[1]


class RunningStats:
    """The running mean and variance BN keeps for eval, updated in place outside any graph.

    PyTorch's rule: running ← (1 − momentum)·running + momentum·batch, where the batch variance
    is the unbiased one (× m/(m − 1)) although the normalisation itself uses the biased one.
    """

    def __init__(self, mean, var, momentum):
        self.mean, self.var, self.momentum = mean, var, momentum

    def update(self, batch_mean, batch_var, count):
        keep = 1 - self.momentum
        self.mean *= keep
        self.mean += self.momentum * batch_mean.reshape(-1)
        self.var *= keep
        self.var += (self.momentum * count / (count - 1)) * batch_var.reshape(-1)


# --------------------------------------------------------------------------- 1. composed


def composed_batch_norm(x, weight, bias, eps=1e-5, running=None):
    """BN from primitive ops: the graph records every step and autograd differentiates it."""
    axes = channel_axes(x.ndim)
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True, correction=0)
    if running is not None:
        running.update(mean.data, var.data, values_per_channel(x.shape))
    y = (x - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * per_channel(weight, x.ndim)
    if bias is not None:
        y = y + per_channel(bias, x.ndim)
    return y


# --------------------------------------------------------------------------- shared forward


def channel_sum(a):
    """Σ over each channel's m values, kept as (1, C, 1, ...).

    einsum reads `a` once and vectorises the whole reduction: on NCHW float32 data 1.2× to 9×
    faster than np.add.reduce over axes (0, 2, 3), depending on the size (batch_norm.md §6),
    and as accurate. A large `a` is summed in blocks on all cores (minigrad/parallel.py).
    """
    return per_channel(sum_over_batch_blocks(sums_per_channel, a), a.ndim)


def channel_dot(a, b):
    """Σ a·b over each channel's m values, kept as (1, C, 1, ...), without building a·b."""
    return per_channel(sum_over_batch_blocks(dots_per_channel, a, b), a.ndim)


def sums_per_channel(a):
    """Σ a per channel, as a (C,) array."""
    letters = "abcd"[:a.ndim]
    return np.einsum(f"{letters}->b", a)


def dots_per_channel(a, b):
    """Σ a·b per channel, as a (C,) array."""
    letters = "abcd"[:a.ndim]
    return np.einsum(f"{letters},{letters}->b", a, b)


def batch_statistics(x, eps):
    """x − μ, μ, σ² and 1/s = 1/√(σ² + ε) per channel, in two passes over x.

    The first sums x; the second writes x − μ a block at a time and sums the block's squares
    while it is still in cache (the same sums as channel_dot(centred, centred), to the bit).
    The per-channel results keep their reduced axes ((1, C, 1, 1)), so they broadcast against
    x without transposes. x̂ is (x − μ)·(1/s); callers fold 1/s into their own factors.
    """
    count = values_per_channel(x.shape)
    mean = channel_sum(x) / count
    mean_over_sample, centred = spread_over_sample(mean, x), np.empty_like(x)

    def centre(x, centred):  # one block: centred = x − μ, and its Σ (x − μ)²
        np.subtract(x, mean_over_sample, out=centred)
        return dots_per_channel(centred, centred)

    var = per_channel(sum_over_batch_blocks(centre, x, centred), x.ndim) / count
    return centred, mean, var, 1 / np.sqrt(var + eps)


def scale_and_shift(a, scale, bias):
    """y = a·scale + β per channel (β may be None), as a fresh array laid out like a."""
    scale = spread_over_sample(scale, a)
    shift = None if bias is None else spread_over_sample(per_channel(bias, a.ndim), a)

    def scale_and_shift_block(block, y):
        np.multiply(block, scale, out=y)
        if shift is not None:
            y += shift

    y = np.empty_like(a)
    over_batch_blocks(scale_and_shift_block, a, y)
    return y


# --------------------------------------------------------------------------- 2. staged


class StagedBatchNorm(Function):
    """BN whose backward is Ioffe & Szegedy's chain rule, one line per step (for reading)."""

    def forward(ctx, x, weight, bias, eps=1e-5, running=None):
        centred, mean, var, inv_std = batch_statistics(x, eps)
        if running is not None:
            running.update(mean, var, values_per_channel(x.shape))
        x_hat = centred * inv_std
        gamma = 1 if weight is None else per_channel(weight, x.ndim)
        ctx.save(x, x_hat, mean, var, gamma)
        ctx.eps = eps
        return scale_and_shift(x_hat, gamma, bias)

    def backward(ctx, dy):
        x, x_hat, mean, var, gamma = ctx.saved
        m, centred, std = values_per_channel(x.shape), x - mean, np.sqrt(var + ctx.eps)
        # dx̂ = dy·γ
        dx_hat = dy * gamma
        # dσ² = Σ dx̂·(x − μ)·(−½)(σ² + ε)^(−3/2)
        dvar = channel_sum(dx_hat * centred) * -0.5 * (var + ctx.eps) ** -1.5
        # dμ = −Σ dx̂/√(σ² + ε) + dσ²·Σ −2(x − μ)/m        (that last sum is 0 up to rounding)
        dmean = -channel_sum(dx_hat) / std + dvar * channel_sum(-2 * centred) / m
        # dx = dx̂/√(σ² + ε) + dσ²·2(x − μ)/m + dμ/m        (x reaches ℓ via x̂, σ² and μ)
        dx = dx_hat / std + dvar * 2 * centred / m + dmean / m
        # dγ = Σ dy·x̂
        dgamma = channel_sum(dy * x_hat)
        # dβ = Σ dy
        dbeta = channel_sum(dy)
        return dx, dgamma.reshape(-1), dbeta.reshape(-1)


# --------------------------------------------------------------------------- 3. fused


class FusedBatchNorm(Function):
    """BN with the compact backward  dx = (1/s)(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),  s = √(σ² + ε).

    From the staged chain, substituting x − μ = s·x̂ and using Σ(x − μ) = 0:
        dσ² = −(1/2s²)·Σ dx̂·x̂,    dμ = −(1/s)·Σ dx̂,
        dx = dx̂/s + dσ²·2s·x̂/m + dμ/m = (1/s)(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),
    exact for any ε. It is dx̂ with its components along 1 and along x̂ removed, over s: the
    projection of dx̂ off span{1, x̂} (exactly so at ε = 0, where ‖x̂‖² = ‖1‖² = m). Hence
    Σ dx = 0 and (at ε = 0) Σ dx·x̂ = 0 per channel, and Pythagoras gives Theorem 4.1 of
    Santurkar et al. 2018, with equality at ε = 0:
        ‖dx‖² = (γ²/σ²)(‖dy‖² − ⟨1, dy⟩²/m − ⟨dy, x̂⟩²/m).

    Since dx̂ = γ·dy, mean(dx̂) = γ·dβ/m and mean(dx̂·x̂) = γ·dγ/m: backward computes the
    two parameter gradients first and builds dx from them.
    """

    def forward(ctx, x, weight, bias, eps=1e-5, running=None):
        centred, mean, var, inv_std = batch_statistics(x, eps)
        if running is not None:
            running.update(mean, var, values_per_channel(x.shape))
        gamma = 1 if weight is None else per_channel(weight, x.ndim)
        ctx.save(centred, inv_std, gamma)  # x̂ = centred·inv_std, never materialised
        return scale_and_shift(centred, gamma * inv_std, bias)

    def backward(ctx, dy):
        centred, inv_std, gamma = ctx.saved
        m = values_per_channel(centred.shape)

        def sums(dy, centred):  # a block's Σ dy and Σ dy·(x − μ), read once for both
            return np.stack([sums_per_channel(dy), dots_per_channel(dy, centred)])

        sum_dy, sum_dy_centred = sum_over_batch_blocks(sums, dy, centred)
        dbeta = per_channel(sum_dy, dy.ndim)                     # dβ = Σ dy   = m·mean(dx̂)/γ
        dgamma = per_channel(sum_dy_centred, dy.ndim) * inv_std  # dγ = Σ dy·x̂ = m·mean(dx̂·x̂)/γ
        dx = None
        if ctx.needs_input_grad[0]:
            # dx = (γ/s)·(dy − dβ/m − x̂·dγ/m): four passes over memory, run on blocks of
            # samples in parallel (minigrad/parallel.py)
            along_x_hat, along_one, gain = (spread_over_sample(v, centred) for v in
                                            (inv_std * dgamma / m, dbeta / m, gamma * inv_std))

            def input_gradient(dy, centred, dx):
                np.multiply(centred, along_x_hat, out=dx)  # x̂·dγ/m    (x̂ = centred/s)
                dx += along_one                             # + dβ/m
                np.subtract(dy, dx, out=dx)                 # dy − ...
                dx *= gain                                  # · γ/s

            dx = np.empty_like(centred)
            over_batch_blocks(input_gradient, dy, centred, dx)
        return dx, dgamma.reshape(-1), dbeta.reshape(-1)


# --------------------------------------------------------------------------- eval


def normalize_with_running_stats(x, running_mean, running_var, weight, bias, eps):
    """Eval mode: a fixed affine map per channel, y = x·a + b with a = γ/√(σ²_run + ε) and
    b = β − μ_run·a.

    The statistics are constants here, so the map is composed from primitive ops and autograd
    derives dx = dy·a, dγ, dβ. Each sample's output depends on that sample alone.
    """
    inv_std = 1 / np.sqrt(running_var.astype(x.dtype) + eps)
    scale = Tensor(inv_std) if weight is None else weight * Tensor(inv_std)
    shift = -Tensor(running_mean.astype(x.dtype)) * scale
    if bias is not None:
        shift = shift + bias
    return x * per_channel(scale, x.ndim) + per_channel(shift, x.ndim)


# --------------------------------------------------------------------------- the public op

IMPLEMENTATIONS = {"composed": composed_batch_norm,
                   "staged": StagedBatchNorm.apply,
                   "fused": FusedBatchNorm.apply}


def _data(t):
    return t.data if isinstance(t, Tensor) else t


def _check_batch_norm(x, running_mean, running_var, weight, bias, training, implementation):
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(f"batch_norm: implementation must be one of {sorted(IMPLEMENTATIONS)}, "
                         f"got {implementation!r}")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...) with at least 2 "
                         f"dimensions, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"batch_norm: expected a floating-point input, got {x.dtype} "
                        f"(convert it first, e.g. x.float())")
    if (running_mean is None) != (running_var is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    if not training and running_mean is None:
        raise ValueError("batch_norm: training=False normalises with running_mean and "
                         "running_var, so both are needed")
    channels = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and _data(t).shape != (channels,):
            raise ValueError(f"batch_norm: expected {name} of shape ({channels},) for input of "
                             f"shape {x.shape} (C = {channels}), got {_data(t).shape}")
    if training and values_per_channel(x.shape) <= 1:
        raise ValueError(f"Expected more than 1 value per channel when training, "
                         f"got input size {x.shape}")


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5, implementation="fused"):
    """Batch normalisation over axis 1 of an (N, C), (N, C, L) or (N, C, H, W) tensor.

    training=True normalises with the batch's statistics and, when running_mean/running_var
    are given, updates them in place with `momentum` (running stays outside the graph;
    pass None for a pure function of the inputs, as gradient checks do). training=False
    normalises with the running statistics. `implementation` picks "composed", "staged" or
    "fused" (the default, and the fastest); all three compute the same thing.
    """
    _check_batch_norm(input, running_mean, running_var, weight, bias, training, implementation)
    weight = None if weight is None else weight.to(input.dtype)
    bias = None if bias is None else bias.to(input.dtype)
    if not training:
        return normalize_with_running_stats(input, _data(running_mean), _data(running_var),
                                            weight, bias, eps)
    running = None
    if running_mean is not None:
        running = RunningStats(_data(running_mean), _data(running_var), momentum)
    return IMPLEMENTATIONS[implementation](input, weight, bias, eps=eps, running=running)
