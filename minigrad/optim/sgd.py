"""Stochastic gradient descent with momentum, PyTorch's exact rule.

    g = grad + weight_decay * p                      (L2 penalty folded into the gradient)
    b = g on the first step, else momentum * b + (1 - dampening) * g
    g = g + momentum * b   if nesterov   else   b     (only when momentum > 0)
    p = p - lr * g

Note PyTorch's convention: lr multiplies the *buffer*, not the gradient inside it, so changing
lr mid-training changes the step size at once (Sutskever et al. put lr inside the buffer).
"""
import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    """`SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)`."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        if group["momentum"] < 0:
            raise ValueError(f"SGD: invalid momentum {group['momentum']} (must be >= 0)")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")

    def _update(self, param, grad, state, group):
        lr, momentum, dampening, weight_decay = (
            float(group[k]) for k in ("lr", "momentum", "dampening", "weight_decay"))
        if weight_decay != 0:
            grad = grad + weight_decay * param  # a new array: p.grad itself stays untouched
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(grad, dtype=param.dtype)
            else:
                np.multiply(buffer, momentum, out=buffer)
                buffer += grad if dampening == 0 else (1 - dampening) * grad  # 1·grad: a copy
            grad = grad + momentum * buffer if group["nesterov"] else buffer
        param -= lr * grad
