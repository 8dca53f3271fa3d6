"""`minigrad.nn.functional`: the stateless forms of layers and losses (PyTorch's `F`).

Each name is re-exported from the op family that implements it in `minigrad.ops`.
"""
from ..ops.conv import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d
from ..ops.dropout import dropout
from ..ops.elementwise import leaky_relu, relu, sigmoid, tanh
from ..ops.layer_norm import layer_norm
from ..ops.linalg import linear
from ..ops.loss import (
    binary_cross_entropy_with_logits,
    cross_entropy,
    log_softmax,
    mse_loss,
    nll_loss,
    softmax,
)
from ..ops.lp_norm import lp_batch_norm
from ..ops.norm import batch_norm

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "batch_norm", "binary_cross_entropy_with_logits", "conv2d",
           "cross_entropy", "dropout", "layer_norm", "leaky_relu", "linear", "log_softmax", "lp_batch_norm",
           "max_pool2d", "mse_loss", "nll_loss", "relu", "sigmoid", "softmax", "tanh"]
