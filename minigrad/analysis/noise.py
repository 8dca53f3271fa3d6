"""`NonStationaryNoise`: [S18]'s deliberate covariate shift, placed right after a BN layer.

To test whether BN helps *because* it stabilises layer input distributions, [S18] (§2,
Fig. 2) undoes that stability on purpose: after each BN layer, at every training step t,
the activations are rescaled and shifted by random amounts that change from step to step,

    μᵗ ~ U(-0.5, 0.5),  σᵗ ~ U(1, 1.25)                 (one pair per layer and step)
    mᵢⱼ ~ U(μᵗ - 0.1, μᵗ + 0.1),  sᵢⱼ ~ N(σᵗ, 0.1)      (one pair per activation)
    a ← s·a + m

so the next layer sees a distribution whose mean and scale drift all through training.
Gradients flow through s·a + m as through any affine map (s, m are constants).
The noise is drawn from minigrad's default generator, so `manual_seed` makes it repeatable.
In eval mode the layer applies the noise's expectation, E[s]·a + E[m] = 1.125·a (E[σᵗ] is the
middle of its range, E[m] = E[μᵗ] = 0), as dropout's eval mode applies its expectation: with the
identity instead, every noisy layer's output would shrink by 1/1.125 at evaluation, and the
evaluated net would not be the one that was trained.

Use it as a layer: `nn.Sequential(nn.BatchNorm1d(64), NonStationaryNoise())`.
"""
from ..autograd import Tensor, default_generator
from ..nn.module import Module


class NonStationaryNoise(Module):
    """a ← s·a + m with [S18]'s per-step random scale and shift (training mode only).

    An activation is one (sample, feature) entry: for (N, C, H, W) inputs every entry gets its
    own s and m, as after BatchNorm1d every (sample, unit) does.
    """

    def __init__(self, mean_range=0.5, scale_range=(1.0, 1.25), mean_jitter=0.1, scale_jitter=0.1):
        super().__init__()
        self.mean_range, self.scale_range = mean_range, tuple(scale_range)
        self.mean_jitter, self.scale_jitter = mean_jitter, scale_jitter

    def draw(self, shape, dtype):
        """One step's noise: scale s and shift m, each of `shape`."""
        rng = default_generator()
        mu_t = rng.uniform(-self.mean_range, self.mean_range)
        sigma_t = rng.uniform(*self.scale_range)
        shift = rng.uniform(mu_t - self.mean_jitter, mu_t + self.mean_jitter, size=shape)
        scale = rng.normal(sigma_t, self.scale_jitter, size=shape)
        return scale.astype(dtype), shift.astype(dtype)

    @property
    def mean_scale(self):
        """E[s] = E[σᵗ], the middle of `scale_range` (the shift's mean E[m] is 0)."""
        return (self.scale_range[0] + self.scale_range[1]) / 2

    def forward(self, x):
        if not self.training:
            return x * self.mean_scale
        scale, shift = self.draw(x.shape, x.dtype)
        return x * Tensor(scale) + Tensor(shift)

    def extra_repr(self):
        return (f"mean_range={self.mean_range}, scale_range={self.scale_range}, "
                f"mean_jitter={self.mean_jitter}, scale_jitter={self.scale_jitter}")
