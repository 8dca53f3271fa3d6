"""A model whose loss is a known quadratic, so the landscape instruments have exact answers."""
import numpy as np

import minigrad as mg
from minigrad import nn


class Quadratic(nn.Module):
    """forward returns the weights themselves; `quadratic_loss` turns them into ½wᵀHw − bᵀw."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(np.asarray(w))

    def forward(self, inputs):
        return self.w


def quadratic_loss(w, target):
    H, b = target
    return 0.5 * (w * (H @ w)).sum() - (b * w).sum()


def with_eigenvalues(eigenvalues, seed=0, dtype=np.float32):
    """A random rotation of diag(eigenvalues), a linear term, a start point: (model, batch)."""
    rng = np.random.default_rng(seed)
    d = len(eigenvalues)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    H = (Q * np.asarray(eigenvalues)) @ Q.T
    b = rng.standard_normal(d)
    model = Quadratic(rng.standard_normal(d).astype(dtype))
    batch = (np.zeros(1, dtype), (mg.tensor(H, dtype=dtype), mg.tensor(b, dtype=dtype)))
    return model, batch, H, b
