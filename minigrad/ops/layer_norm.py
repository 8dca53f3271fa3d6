"""Layer normalisation (Ba et al. 2016): BatchNorm's per-sample cousin.

BN normalises each channel over the batch; LN normalises each sample over its own last
axes (`normalized_shape`, e.g. the features of a Linear layer), with the same maths:

    μ = mean(x),  s = √(var(x) + ε),  x̂ = (x − μ)/s,  y = γ·x̂ + β     (per sample)

So the backward is BN's closed form with the roles of the axes swapped: the means run over
the normalised axes of one sample instead of over the batch,

    dx = (1/s)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),   dx̂ = γ·dy,

and γ, β (one per normalised element) collect Σ dy·x̂ and Σ dy over the samples. A sample's
output never depends on the other samples: train and eval behave the same, batch size 1
works, and there are no running statistics.
"""
import numpy as np

from ..autograd import Function


class LayerNorm(Function):
    """y = γ·(x − μ)/s + β per sample  ->  dx = (1/s)(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))."""

    def forward(ctx, x, weight=None, bias=None, axes=(-1,), eps=1e-5):
        mean = x.mean(axis=axes, keepdims=True)
        x_hat = x - mean
        var = np.mean(np.square(x_hat), axis=axes, keepdims=True)
        inv_std = 1 / np.sqrt(var + x.dtype.type(eps))
        x_hat *= inv_std
        y = x_hat * weight if weight is not None else x_hat.copy()
        if bias is not None:
            y += bias
        ctx.save(x_hat, inv_std, weight)
        ctx.axes = axes
        return y

    def backward(ctx, dy):
        x_hat, inv_std, weight = ctx.saved
        batch_axes = tuple(range(dy.ndim - len(ctx.axes)))  # γ, β are shared by these
        dweight = (dy * x_hat).sum(axis=batch_axes) if ctx.needs_input_grad[1] else None
        dbias = dy.sum(axis=batch_axes) if ctx.needs_input_grad[2] else None
        dx = None
        if ctx.needs_input_grad[0]:
            dx_hat = dy * weight if weight is not None else dy
            mean_dx_hat = dx_hat.mean(axis=ctx.axes, keepdims=True)
            mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=ctx.axes, keepdims=True)
            dx = inv_std * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)
        return dx, dweight, dbias


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """PyTorch's `F.layer_norm`: normalise over the last len(normalized_shape) axes."""
    is_one_axis = isinstance(normalized_shape, (int, np.integer))
    shape = (normalized_shape,) if is_one_axis else tuple(normalized_shape)
    if len(shape) == 0 or input.ndim < len(shape) or tuple(input.shape[-len(shape):]) != shape:
        raise ValueError(f"layer_norm: expected input of shape (*, {', '.join(map(str, shape))}) "
                         f"for normalized_shape {shape}, got {input.shape}")
    for name, param in (("weight", weight), ("bias", bias)):
        if param is not None and tuple(param.shape) != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {param.shape}")
    if eps < 0:
        raise ValueError(f"layer_norm: eps must be ≥ 0, got {eps}")
    axes = tuple(range(-len(shape), 0))
    return LayerNorm.apply(input, weight, bias, axes=axes, eps=eps)
