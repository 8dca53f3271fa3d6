"""`WeightNormRecorder`: how fast each layer's weights *turn*, not only how big they are.

A weight followed by BatchNorm is scale-invariant (the loss depends on W/‖W‖ only), so the
norm of such a weight says nothing about the function; what matters is its direction, and
how far one step turns it. For such a weight SGD's step η·g changes the direction by about
η‖g‖/‖W‖, and since ‖g‖ itself scales as 1/‖W‖, the step size the direction feels is the
*effective learning rate* η/‖W‖² (van Laarhoven 2017; Zhang et al. 2019).

The recorder is a callback: call it after every optimizer step (`models.train(...,
on_step=recorder)` in the lessons, or by hand). Per watched weight it records

    norm[t]           ‖W_t‖                    t = 0 (when the recorder is made), 1, 2, ...
    effective_lr[t]   η_t / ‖W_t‖²             η_t: the lr the optimizer will use next
    angle[t - 1]      ∠(W_{t-1}, W_t)          radians, the angular update of step t
"""
import numpy as np

from ..nn import Conv2d, Linear


def layer_weights(model):
    """{name: weight} of every Linear and Conv2d in `model`, in module order."""
    return {f"{name}.weight" if name else "weight": module.weight
            for name, module in model.named_modules() if isinstance(module, (Linear, Conv2d))}


def angle_between(a, b):
    """The angle between two arrays as vectors, in radians: 2·atan2(‖â − b̂‖, ‖â + b̂‖).

    Unlike arccos(cos), this stays accurate for the tiny angles of one training step.
    """
    a, b = (np.ravel(x).astype(np.float64) for x in (a, b))
    a_hat, b_hat = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return float(2 * np.arctan2(np.linalg.norm(a_hat - b_hat), np.linalg.norm(a_hat + b_hat)))


class WeightNormRecorder:
    """Records ‖W‖, η/‖W‖² and the angular update of each watched weight, step by step.

    `weights`: an nn.Module (every Linear/Conv2d weight is watched) or a {name: Parameter}
    dict. `optimizer` (optional): the learning rate is read from the param group holding
    each weight at every call, so a changing lr (a schedule) is recorded as it was used;
    without it, `lr` is a constant. The recorder ignores the arguments it is called with,
    so `on_step(step, model)` callbacks can be the recorder itself.
    """

    def __init__(self, weights, optimizer=None, lr=None):
        is_model = hasattr(weights, "named_modules")
        self.weights = layer_weights(weights) if is_model else dict(weights)
        if not self.weights:
            raise ValueError("WeightNormRecorder: no weights to watch (a model without Linear or "
                             "Conv2d layers, or an empty dict)")
        if (optimizer is None) == (lr is None):
            raise ValueError("WeightNormRecorder: give either an optimizer (lr read from its "
                             "param groups) or a constant lr, not both or neither")
        self.optimizer, self.lr = optimizer, lr
        self._previous = [w.data.astype(np.float64) for w in self.weights.values()]
        self._norms, self._angles, self._effective_lr = [], [], []
        self._record_norms()

    def __call__(self, *_ignored):
        """Record the weights as they are now (call after each optimizer step)."""
        current = [w.data.astype(np.float64) for w in self.weights.values()]
        self._angles.append([angle_between(a, b) for a, b in zip(self._previous, current)])
        self._previous = current
        self._record_norms()

    def _record_norms(self):
        norms = [float(np.linalg.norm(w)) for w in self._previous]
        self._norms.append(norms)
        self._effective_lr.append([self._lr_of(w) / n ** 2
                                   for w, n in zip(self.weights.values(), norms)])

    def _lr_of(self, weight):
        if self.optimizer is None:
            return float(self.lr)
        for group in self.optimizer.param_groups:
            if any(p is weight for p in group["params"]):
                return float(group["lr"])
        raise ValueError("WeightNormRecorder: a watched weight is in none of the optimizer's "
                         "param groups")

    @property
    def names(self):
        return list(self.weights)

    @property
    def norm(self):
        """(calls + 1, layers): ‖W_t‖ per watched weight, row 0 at construction."""
        return np.array(self._norms)

    @property
    def effective_lr(self):
        """(calls + 1, layers): η_t/‖W_t‖²."""
        return np.array(self._effective_lr)

    @property
    def angle(self):
        """(calls, layers): the angle each step turned each weight, in radians."""
        return np.array(self._angles).reshape(-1, len(self.weights))
