"""`Linear`: y = x Wᵀ + b, the fully connected layer."""
import math

from ..autograd import empty
from ..ops.linalg import linear
from . import init
from .module import Module, Parameter


class Linear(Module):
    """in_features -> out_features; weight (out, in) and bias (out,) as in PyTorch.

    Default init is PyTorch's: weight kaiming_uniform_(a=√5), i.e. U(±1/√in_features), and
    bias U(±1/√in_features).
    """

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features))
        self.bias = Parameter(empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected input of shape (*, {self.in_features}), "
                             f"got {tuple(x.shape)}")
        return linear(x, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
