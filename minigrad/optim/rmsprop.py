"""RMSprop, PyTorch's exact rule.

    g = grad + weight_decay * p
    v = alpha * v + (1 - alpha) * g**2          a moving average of g**2
    centered: mean = alpha * mean + (1 - alpha) * g,  and use v - mean**2 (a variance) for v
    d = g / (sqrt(v) + eps)
    momentum > 0:  b = momentum * b + d,  p = p - lr * b
    otherwise:     p = p - lr * d
Unlike Adam there is no bias correction: v starts at zero, so the first steps are large.
"""
import numpy as np

from .optimizer import Optimizer


class RMSprop(Optimizer):
    """`RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False)`."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered))

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        for key in ("alpha", "eps", "momentum"):
            if group[key] < 0:
                raise ValueError(f"RMSprop: invalid {key} {group[key]} (must be >= 0)")

    def _update(self, param, grad, state, group):
        lr, alpha, eps, weight_decay, momentum = (
            float(group[k]) for k in ("lr", "alpha", "eps", "weight_decay", "momentum"))
        if not state:
            state.update(step=0, square_avg=np.zeros_like(param))
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(param)
        state["step"] += 1
        if weight_decay != 0:
            grad = grad + weight_decay * param

        v = state["square_avg"]
        np.multiply(v, alpha, out=v)
        v += (1 - alpha) * grad * grad
        if group["centered"]:
            mean = state["grad_avg"]
            np.multiply(mean, alpha, out=mean)
            mean += (1 - alpha) * grad
            denominator = np.sqrt(v - mean * mean)
        else:
            denominator = np.sqrt(v)
        denominator += eps

        if momentum > 0:
            buffer = state["momentum_buffer"]
            np.multiply(buffer, momentum, out=buffer)
            buffer += grad / denominator
            param -= lr * buffer
        else:
            param -= lr * (grad / denominator)
