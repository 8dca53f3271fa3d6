"""`LpBatchNorm1d/2d`: BatchNorm with an ℓ1, ℓ2 or ℓ∞ norm in place of the standard deviation.

Santurkar et al. 2018 (§3.2) use these to show that BN's benefit does not come from making
activations Gaussian with fixed moments. The maths and the hand-derived backward are in
minigrad/ops/lp_norm.py; this file keeps the state: γ, β and the running mean and norm used
in evaluation mode (the analogue of BN's running variance).
"""
import math

import numpy as np

from ..autograd import Tensor
from ..ops.lp_norm import NORMS, lp_batch_norm
from .module import Module, Parameter


class _LpBatchNorm(Module):
    expected_dims = ()

    def __init__(self, num_features, p=2, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True):
        super().__init__()
        if p not in NORMS:
            raise ValueError(f"{type(self).__name__}: p must be 1, 2 or math.inf, got {p!r}")
        self.num_features, self.p, self.eps, self.momentum = num_features, p, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, np.float32))
            self.bias = Parameter(np.zeros(num_features, np.float32))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, np.float32)))
            self.register_buffer("running_norm", Tensor(np.ones(num_features, np.float32)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_norm", None)

    def forward(self, input):
        if input.ndim not in self.expected_dims or input.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected input of "
                             f"{' or '.join(map(str, self.expected_dims))} dims with "
                             f"{self.num_features} features on axis 1, got {input.shape}")
        use_batch = self.training or not self.track_running_stats
        return lp_batch_norm(input, self.running_mean, self.running_norm, self.weight, self.bias,
                             training=use_batch, momentum=self.momentum, eps=self.eps, p=self.p)

    def extra_repr(self):
        p = "inf" if self.p == math.inf else self.p
        return f"{self.num_features}, p={p}, eps={self.eps}, momentum={self.momentum}"


class LpBatchNorm1d(_LpBatchNorm):
    """ℓp BatchNorm over (N, C) or (N, C, L) inputs, statistics per feature C."""

    expected_dims = (2, 3)


class LpBatchNorm2d(_LpBatchNorm):
    """ℓp BatchNorm over (N, C, H, W) images, statistics per channel over N·H·W."""

    expected_dims = (4,)
