"""`minigrad.nn`: Module, Parameter, layers and their functional forms."""
from . import functional, init, utils
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .batchnorm import BatchNorm1d, BatchNorm2d
from .container import Identity, ModuleList, Sequential
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d
from .dropout import Dropout
from .flatten import Flatten
from .layer_norm import LayerNorm
from .linear import Linear
from .lp_batchnorm import LpBatchNorm1d, LpBatchNorm2d
from .module import Module, Parameter

__all__ = ["AdaptiveAvgPool2d", "AvgPool2d", "BatchNorm1d", "BatchNorm2d", "Conv2d", "Dropout", "Flatten",
           "Identity", "LayerNorm", "LeakyReLU", "Linear", "LpBatchNorm1d", "LpBatchNorm2d", "MaxPool2d",
           "Module", "ModuleList", "Parameter", "ReLU", "Sequential", "Sigmoid", "Tanh", "functional",
           "init", "utils"]
