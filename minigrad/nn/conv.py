"""Convolution and pooling layers over (N, C, H, W) images (see ops/conv.py for the maths)."""
import math

from ..autograd import empty
from ..ops.conv import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d, pair
from . import init
from .module import Module, Parameter


class Conv2d(Module):
    """in_channels -> out_channels with kernel_size×kernel_size filters (ints or pairs).

    weight (out, in, kh, kw), bias (out,). Default init is PyTorch's: weight
    kaiming_uniform_(a=√5), i.e. U(±1/√fan_in) with fan_in = in·kh·kw, bias U(±1/√fan_in).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = pair(kernel_size, "Conv2d kernel_size")
        self.stride, self.padding = pair(stride, "Conv2d stride"), pair(padding, "Conv2d padding")
        self.weight = Parameter(empty(out_channels, in_channels, *self.kernel_size))
        self.bias = Parameter(empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            hint = ""
            if x.ndim == 4 and x.shape[3] == self.in_channels:
                hint = " (channels last? minigrad, like PyTorch, wants (N, C, H, W))"
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_channels}, H, W), "
                             f"got {tuple(x.shape)}{hint}")
        return conv2d(x, self.weight, self.bias, self.stride, self.padding)

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        return text + ("" if self.bias is not None else ", bias=False")


class _Pool2d(Module):
    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.padding = kernel_size, padding
        self.stride = kernel_size if stride is None else stride

    def check_input(self, x):
        if x.ndim != 4:
            raise ValueError(f"{self!r}: expected input of shape (N, C, H, W), got {tuple(x.shape)}")

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """The maximum of each kernel_size window, windows `stride` apart (default: kernel_size)."""

    def forward(self, x):
        self.check_input(x)
        return max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """The mean of each kernel_size window, windows `stride` apart (default: kernel_size)."""

    def forward(self, x):
        self.check_input(x)
        return avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output_size grid; AdaptiveAvgPool2d(1) is the global average."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x):
        return adaptive_avg_pool2d(x, self.output_size)

    def extra_repr(self):
        return f"output_size={self.output_size}"
