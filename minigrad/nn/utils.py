"""Training utilities: `clip_grad_norm_`."""
import numpy as np

from ..autograd import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0):
    """Scale all gradients together so their joint norm is at most `max_norm`.

    The norm is taken over every gradient element of every parameter as one vector
    (norm_type 2 by default, inf for the largest magnitude). Returns the norm before
    clipping, as PyTorch does. Gradients are scaled in place; directions are unchanged.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad.data for p in parameters if p.grad is not None]
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be ≥ 0, got {max_norm}")
    if not grads:
        return Tensor(np.float32(0.0))
    if norm_type == np.inf:
        total = max(float(np.abs(g).max()) if g.size else 0.0 for g in grads)
    else:
        total = sum(float(np.sum(np.abs(g, dtype=np.float64) ** norm_type)) for g in grads) ** (1 / norm_type)
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g *= g.dtype.type(scale)
    return Tensor(np.asarray(total, dtype=grads[0].dtype))
