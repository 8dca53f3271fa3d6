"""minigrad: a small deep-learning framework in pure NumPy, for learning how training and
BatchNorm work. Names and semantics follow PyTorch; see README.md for a tour."""
from .autograd import (Function, Tensor, arange, default_generator, empty, enable_grad,
                       is_grad_enabled, manual_seed, no_grad, ones, ones_like, rand, randn, tensor,
                       zeros, zeros_like)
from .ops import (abs, add, argmax, argmin, binary_cross_entropy_with_logits, broadcast_to, cat,
                  clip, concatenate, cross_entropy, div, exp, expand, flatten, leaky_relu, log,
                  log_softmax, matmul, max, maximum, mean, min, minimum, mse_loss, mul, neg,
                  nll_loss, pad, permute, pow, relu, reshape, sigmoid, softmax, sqrt, squeeze,
                  stack, std, sub, sum, tanh, transpose, unsqueeze, var, where)
from .gradcheck import gradcheck
from .parallel import get_num_threads, set_num_threads
from .serialization import load, save
from . import nn
from . import analysis
from . import data
from . import optim
from . import viz

import numpy as _np

clamp = clip
float32, float64, int64, bool = _np.float32, _np.float64, _np.int64, _np.bool_
