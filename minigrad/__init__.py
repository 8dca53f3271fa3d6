"""minigrad: a small deep-learning framework in pure NumPy, for learning how training and
BatchNorm work. Names and semantics follow PyTorch; see README.md for a tour."""
import numpy as _np

from . import analysis, autograd, data, nn, optim, viz
from .autograd import (
    Function,
    Tensor,
    arange,
    default_generator,
    empty,
    enable_grad,
    is_grad_enabled,
    manual_seed,
    no_grad,
    ones,
    ones_like,
    rand,
    randn,
    tensor,
    zeros,
    zeros_like,
)
from .gradcheck import gradcheck
from .ops import (
    abs,
    add,
    argmax,
    argmin,
    binary_cross_entropy_with_logits,
    broadcast_to,
    cat,
    clip,
    concatenate,
    cross_entropy,
    div,
    exp,
    expand,
    flatten,
    leaky_relu,
    log,
    log_softmax,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mse_loss,
    mul,
    neg,
    nll_loss,
    pad,
    permute,
    pow,
    relu,
    reshape,
    sigmoid,
    softmax,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .parallel import get_num_threads, set_num_threads
from .serialization import load, save

clamp = clip
float32, float64, int64, bool = _np.float32, _np.float64, _np.int64, _np.bool_

# the public API: what `from minigrad import *` binds
__all__ = ["Function", "Tensor", "abs", "add", "analysis", "arange", "argmax", "argmin", "autograd",
           "binary_cross_entropy_with_logits", "bool", "broadcast_to", "cat", "clamp", "clip", "concatenate",
           "cross_entropy", "data", "default_generator", "div", "empty", "enable_grad", "exp", "expand",
           "flatten", "float32", "float64", "get_num_threads", "gradcheck", "int64", "is_grad_enabled",
           "leaky_relu", "load", "log", "log_softmax", "manual_seed", "matmul", "max", "maximum", "mean",
           "min", "minimum", "mse_loss", "mul", "neg", "nll_loss", "nn", "no_grad", "ones", "ones_like",
           "optim", "pad", "permute", "pow", "rand", "randn", "relu", "reshape", "save", "set_num_threads",
           "sigmoid", "softmax", "sqrt", "squeeze", "stack", "std", "sub", "sum", "tanh", "tensor",
           "transpose", "unsqueeze", "var", "viz", "where", "zeros", "zeros_like"]
