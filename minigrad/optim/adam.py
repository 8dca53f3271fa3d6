"""Adam and AdamW, PyTorch's exact rules.

With t the step count and g the gradient:
    m = beta1 * m + (1 - beta1) * g              first moment (a moving average of g)
    v = beta2 * v + (1 - beta2) * g**2           second moment (a moving average of g**2)
    v_max = max(v_max, v)   and use v_max for v  only with amsgrad
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
The (1 - beta**t) factors undo the bias of averages that start at zero. Note that eps is added
after the bias correction of sqrt(v), as PyTorch does.

Weight decay: Adam adds weight_decay * p to g (an L2 penalty, which the moments then rescale);
AdamW ("decoupled", Loshchilov & Hutter) shrinks p by lr * weight_decay directly instead.
"""
import math

import numpy as np

from .optimizer import Optimizer


class Adam(Optimizer):
    """`Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)`."""

    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    def _check_hyperparameters(self, group):
        super()._check_hyperparameters(group)
        name = type(self).__name__
        if len(group["betas"]) != 2 or not all(0 <= b < 1 for b in group["betas"]):
            raise ValueError(f"{name}: betas must be two numbers in [0, 1), got {group['betas']}")
        if group["eps"] < 0:
            raise ValueError(f"{name}: invalid eps {group['eps']} (must be >= 0)")

    def _update(self, param, grad, state, group):
        lr, eps, weight_decay = (float(group[k]) for k in ("lr", "eps", "weight_decay"))
        beta1, beta2 = (float(b) for b in group["betas"])
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(param), exp_avg_sq=np.zeros_like(param))
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        t = state["step"]
        if weight_decay != 0:
            if self.decoupled_weight_decay:
                np.multiply(param, 1 - lr * weight_decay, out=param)
            else:
                grad = grad + weight_decay * param

        m, v = state["exp_avg"], state["exp_avg_sq"]
        np.multiply(m, beta1, out=m)
        m += (1 - beta1) * grad
        np.multiply(v, beta2, out=v)
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])

        denominator = np.sqrt(v)
        denominator /= math.sqrt(1 - beta2 ** t)
        denominator += eps
        param -= (lr / (1 - beta1 ** t)) * m / denominator


class AdamW(Adam):
    """`AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)`."""

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
