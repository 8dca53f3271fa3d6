"""BatchNorm layers: `BatchNorm1d` for (N, C) or (N, C, L) input, `BatchNorm2d` for (N, C, H, W).

A layer holds what BN learns (γ = weight, β = bias) and what it remembers (the running mean
and variance, and how many batches fed them); the maths is `F.batch_norm` in
minigrad/ops/norm.py. Semantics are PyTorch's: training normalises with the batch's
statistics and updates the running ones; eval normalises with the running ones. One
difference: eps = 0 is allowed (PyTorch refuses it in training); with affine=False it makes the
layer exactly blind to the scale of its input, BN(cx) = BN(x) for c > 0, which lesson 09 tests
to rounding.
"""
import numpy as np

from ..autograd import Tensor
from . import functional as F
from .module import Module, Parameter


class _BatchNorm(Module):
    """What both layers share; a subclass names its accepted input layouts in `layouts`."""

    layouts = {}  # ndim -> how to write that input's shape in an error message

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, dtype=np.float32):
        super().__init__()
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1] (or None for a cumulative average), "
                             f"got {momentum}")
        if eps < 0:
            raise ValueError(f"eps must be >= 0 (it keeps 1/sqrt(var + eps) finite), got {eps}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype))
            self.bias = Parameter(np.zeros(num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self):
        """Forget every batch seen: mean 0, variance 1, count 0."""
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def forward(self, input):
        self._check_input(input)
        updating = self.training and self.track_running_stats
        momentum = self.momentum
        if updating and momentum is None:  # cumulative average: batch k gets weight 1/k
            momentum = 1 / (int(self.num_batches_tracked.item()) + 1)
        output = F.batch_norm(input, self.running_mean, self.running_var, self.weight, self.bias,
                              training=self.training or not self.track_running_stats,
                              momentum=momentum, eps=self.eps)
        if updating:
            self.num_batches_tracked.data += 1
        return output

    def _check_input(self, input):
        name, c = type(self).__name__, self.num_features
        if input.ndim not in self.layouts:
            expected = " or ".join(f"{n}D {layout}" for n, layout in self.layouts.items())
            raise ValueError(f"{name}: expected {expected} input with C = {c}, "
                             f"got shape {input.shape}")
        if input.shape[1] != c:
            raise ValueError(f"{name}: expected C = {c} channels on axis 1 "
                             f"{self.layouts[input.ndim]}, got shape {input.shape}")

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """BN over (N, C) features, or (N, C, L) sequences with statistics over N·L per channel."""

    layouts = {2: "(N, C)", 3: "(N, C, L)"}


class BatchNorm2d(_BatchNorm):
    """BN over (N, C, H, W) images, statistics per channel over N·H·W."""

    layouts = {4: "(N, C, H, W)"}
