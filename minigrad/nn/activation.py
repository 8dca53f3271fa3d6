"""Activation layers: the elementwise nonlinearities of `minigrad.ops` as modules."""
from ..ops.elementwise import leaky_relu, relu, sigmoid, tanh
from .module import Module


class ReLU(Module):
    """y = max(x, 0)."""

    def forward(self, x):
        return relu(x)


class LeakyReLU(Module):
    """y = x for x > 0, negative_slope·x otherwise."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """y = 1/(1 + e^−x)."""

    def forward(self, x):
        return sigmoid(x)


class Tanh(Module):
    """y = tanh x."""

    def forward(self, x):
        return tanh(x)
