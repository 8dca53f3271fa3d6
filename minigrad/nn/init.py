"""Weight initialisation with PyTorch's names; every function fills a tensor in place.

The scale matters: with fan_in inputs of variance 1, a unit's pre-activation has variance
fan_in·Var(w), so Var(w) = gain²/fan_in keeps signals from growing or shrinking layer after
layer (He et al. 2015; gain √2 compensates ReLU zeroing half the inputs). Glorot & Bengio
(2010) average fan_in and fan_out to balance the forward and the backward pass.

Draws come from minigrad's seeded generator (`manual_seed`) and keep the tensor's dtype.
"""
import math

import numpy as np

from ..autograd import default_generator


def calculate_gain(nonlinearity, param=None):
    """The factor by which a nonlinearity shrinks a unit-variance signal's scale, inverted."""
    if nonlinearity in ("linear", "conv2d", "sigmoid", "identity"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")


def fan_in_and_fan_out(tensor):
    """(inputs, outputs) of one unit: Linear (out, in) -> (in, out); Conv2d (F, C, kh, kw)
    -> (C·kh·kw, F·kh·kw)."""
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dimensions, "
                         f"got shape {tensor.shape}")
    receptive_field = int(np.prod(tensor.shape[2:]))
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor, mode):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, values):
    tensor.data[...] = values
    return tensor


def uniform_(tensor, a=0.0, b=1.0):
    return _fill(tensor, default_generator().uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    return _fill(tensor, default_generator().normal(mean, std, tensor.shape))


def constant_(tensor, val):
    return _fill(tensor, val)


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def xavier_uniform_(tensor, gain=1.0):
    """U(−a, a) with a = gain·√(6/(fan_in + fan_out)): variance gain²·2/(fan_in + fan_out)."""
    if tensor.data.size == 0:
        return tensor  # an empty layer such as Linear(0, 3): nothing to draw (as PyTorch)
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """N(0, std²) with std = gain·√(2/(fan_in + fan_out))."""
    if tensor.data.size == 0:
        return tensor  # an empty layer such as Linear(0, 3): nothing to draw (as PyTorch)
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """U(−bound, bound) with bound = gain·√(3/fan): variance gain²/fan (He et al.).

    PyTorch's default Linear/Conv2d init is this with a = √5, i.e. gain² = 2/(1 + 5) = 1/3
    and bound = 1/√fan_in: much smaller than He init's √(6/fan_in).
    """
    if tensor.data.size == 0:
        return tensor  # an empty layer such as Linear(0, 3): nothing to draw (as PyTorch)
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """N(0, std²) with std = gain/√fan (He et al.)."""
    if tensor.data.size == 0:
        return tensor  # an empty layer such as Linear(0, 3): nothing to draw (as PyTorch)
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(_fan(tensor, mode)))
