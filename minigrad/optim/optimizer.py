"""`Optimizer`: the bookkeeping every update rule shares (floor 3).

An optimizer holds `param_groups`, a list of dicts: each has its own `"params"` and its own
hyperparameters (`"lr"`, `"momentum"`, ...), so e.g. biases can get no weight decay. Per-parameter
memory (a momentum buffer, Adam's moving averages) lives in `state[param]`. A subclass writes only
`_update(param, grad, state, group)`; this base class walks the groups and calls it for each
parameter that has a gradient.

Updates are applied in place on `param.data`, so a model and its optimizer share one set of
arrays and no graph is ever recorded. Hyperparameters are read as Python floats: NumPy treats
those as "weak" scalars, so a float32 parameter is never promoted to float64 by an lr.
"""
import numpy as np

from ..autograd import Tensor


class Optimizer:
    """Base class. `params` is an iterable of Tensors, or of dicts `{"params": [...], "lr": ...}`.

    `defaults` names every hyperparameter the subclass accepts, with its default value; a group
    that omits one inherits the default, a group that names an unknown one is an error (a typo
    such as "momentun" would otherwise be ignored in silence).
    """

    def __init__(self, params, defaults):
        if isinstance(params, (Tensor, dict)):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or of "
                            f"dicts, got a single {type(params).__name__}; wrap it in a list")
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # param -> dict of arrays; Tensors hash by identity
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list "
                             "(did you pass model.parameters() of a model without parameters?)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add `{"params": [...], **hyperparameters}`; missing hyperparameters take the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{type(self).__name__}: a param group must be a dict with a 'params' "
                            f"key, got {group!r}")
        unknown = sorted(set(group) - set(self.defaults) - {"params", "initial_lr"})
        if unknown:
            raise ValueError(f"{type(self).__name__}: unknown option(s) {unknown} in a param "
                             f"group; valid options are {sorted(self.defaults)}")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: a param group has an empty 'params' list")
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{type(self).__name__} can only optimize Tensors, "
                                f"got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__} can't optimize a non-leaf Tensor "
                                 "(one made by an op); optimize the leaves it came from")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) < len(params) or seen & {id(p) for p in params}:
            raise ValueError(f"{type(self).__name__}: a parameter appears more than once "
                             "(within a group or in two groups)")
        full = {**self.defaults, **group, "params": params}
        self._check_hyperparameters(full)
        self.param_groups.append(full)

    def _check_hyperparameters(self, group):
        """Reject values that make no sense (a subclass adds its own checks)."""
        if group["lr"] < 0:
            raise ValueError(f"{type(self).__name__}: invalid learning rate {group['lr']} "
                             "(must be >= 0)")
        if group.get("weight_decay", 0) < 0:
            raise ValueError(f"{type(self).__name__}: invalid weight_decay "
                             f"{group['weight_decay']} (must be >= 0)")

    # -- the training-loop interface -------------------------------------------------------------

    def zero_grad(self, set_to_none=True):
        """Forget the gradients; None (the default) also frees their memory until next backward."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad.data[...] = 0

    def step(self):
        """Update every parameter that has a gradient, in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._update(p.data, p.grad.data, self.state.setdefault(p, {}), group)

    def _update(self, param, grad, state, group):
        """Change the ndarray `param` in place, given its gradient and its state dict."""
        raise NotImplementedError

    # -- checkpoints ------------------------------------------------------------------------

    def state_dict(self):
        """PyTorch's layout: {"state": {i: {...}}, "param_groups": [{..., "params": [i, ...]}]}.

        Parameters are numbered in group order; saving indices instead of arrays lets the state be
        loaded into a fresh optimizer over a fresh model. Arrays are copies, so a state dict kept
        in memory does not change as training goes on.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index[p] = len(index)
            groups.append({**group, "params": [index[p] for p in group["params"]]})
        state = {index[p]: {k: _copy(v) for k, v in s.items()}
                 for p, s in self.state.items() if p in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and per-parameter state saved by `state_dict()`."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"load_state_dict: the checkpoint has {len(saved_groups)} param "
                             f"group(s), this optimizer has {len(self.param_groups)}")
        params = {}
        for i, (saved, own) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(f"load_state_dict: param group {i} has {len(saved['params'])} "
                                 f"parameters in the checkpoint, {len(own['params'])} here")
            params.update(zip(saved["params"], own["params"]))
        for saved, own in zip(saved_groups, self.param_groups):
            own.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for key, saved in state_dict["state"].items():
            p = params[int(key)]
            self.state[p] = {k: _restore(v, p.data) for k, v in saved.items()}


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _restore(value, like):
    """A saved state array, copied and cast to its parameter's dtype if it is floating point."""
    if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
        return value.astype(like.dtype)
    return _copy(value)
