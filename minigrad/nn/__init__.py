"""`minigrad.nn`: Module, Parameter, layers and their functional forms."""
from . import functional
from .module import Module, Parameter
