"""`minigrad.nn.functional`: the stateless forms of layers and losses (PyTorch's `F`).

Each name is re-exported from the op family that implements it in `minigrad.ops`.
"""
from ..ops.elementwise import leaky_relu, relu, sigmoid, tanh
from ..ops.conv import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d
from ..ops.dropout import dropout
from ..ops.layer_norm import layer_norm
from ..ops.linalg import linear
from ..ops.norm import batch_norm
from ..ops.lp_norm import lp_batch_norm
from ..ops.loss import (binary_cross_entropy_with_logits, cross_entropy, log_softmax, mse_loss,
                        nll_loss, softmax)
