"""`minigrad.analysis`: the papers' instruments. Each works on any `nn.Module`.

One instrument a file: activation recorders, injected noise, internal covariate shift, ...
"""
from .hessian import hessian_top_eigenpair, hessian_top_eigenvalue, hessian_vector_product
from .ics import internal_covariate_shift
from .landscape import landscape_along_gradient
from .noise import NonStationaryNoise
from .recorder import ActivationRecorder, drift
from .surface import filter_normalized_direction, loss_surface
from .weight_norms import WeightNormRecorder, angle_between, layer_weights

__all__ = ["ActivationRecorder", "NonStationaryNoise", "WeightNormRecorder", "angle_between", "drift",
           "filter_normalized_direction", "hessian_top_eigenpair", "hessian_top_eigenvalue",
           "hessian_vector_product", "internal_covariate_shift", "landscape_along_gradient", "layer_weights",
           "loss_surface"]
