"""`minigrad.nn`: Module, Parameter, layers and their functional forms."""
from . import functional
from .module import Module, Parameter
from . import init, utils
from .activation import LeakyReLU, ReLU, Sigmoid, Tanh
from .container import Identity, ModuleList, Sequential
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d
from .dropout import Dropout
from .flatten import Flatten
from .layer_norm import LayerNorm
from .linear import Linear
from .batchnorm import BatchNorm1d, BatchNorm2d
from .lp_batchnorm import LpBatchNorm1d, LpBatchNorm2d
