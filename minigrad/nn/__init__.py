"""`minigrad.nn`: Module, Parameter, layers and their functional forms."""
from . import functional
from .module import Module, Parameter
from .batchnorm import BatchNorm1d, BatchNorm2d
from .lp_batchnorm import LpBatchNorm1d, LpBatchNorm2d
