"""`LayerNorm`: normalise each sample over its last axes (see ops/layer_norm.py)."""
import numpy as np

from ..autograd import ones, zeros
from ..ops.layer_norm import layer_norm
from .module import Module, Parameter


class LayerNorm(Module):
    """normalized_shape: the trailing shape to normalise over (an int for the last axis).

    γ (weight) starts at 1 and β (bias) at 0, one per normalised element, as in PyTorch.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True):
        super().__init__()
        if isinstance(normalized_shape, (int, np.integer)):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        self.weight = Parameter(ones(self.normalized_shape)) if elementwise_affine else None
        self.bias = Parameter(zeros(self.normalized_shape)) if elementwise_affine else None

    def forward(self, x):
        shape = self.normalized_shape
        if x.ndim < len(shape) or tuple(x.shape[-len(shape):]) != shape:
            raise ValueError(f"{self!r}: expected input of shape (*, {', '.join(map(str, shape))}), "
                             f"got {tuple(x.shape)}")
        return layer_norm(x, shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
