"""Training utilities: `clip_grad_norm_`."""
import numpy as np

from ..autograd import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their joint norm is at most `max_norm`.

    The norm is taken over every gradient element of every parameter as one vector
    (norm_type 2 by default, inf for the largest magnitude). Returns the norm before
    clipping, as PyTorch does. Gradients are scaled in place; directions are unchanged.
    A nan or inf norm raises with `error_if_nonfinite=True`; otherwise, as in PyTorch, the
    scaling spreads it into every gradient.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be ≥ 0, got {max_norm}")
    grads = [p.grad.data for p in parameters if p.grad is not None]
    if not grads:
        return Tensor(np.float32(0.0))
    if norm_type == np.inf:
        total = max(float(np.abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads) ** (1 / norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of the gradients is {total}, "
                           "so they cannot be clipped (a nan or inf reached a gradient)")
    scale = max_norm / (total + 1e-6)
    if not scale >= 1:  # also true for a nan scale
        for g in grads:
            g *= g.dtype.type(scale)
    return Tensor(np.asarray(total, dtype=grads[0].dtype))
