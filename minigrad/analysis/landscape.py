"""Smoothness along the gradient: Santurkar et al. 2018, Figure 4.

At the current weights w take g = ∇L(w) on one batch and walk along it: for each step size η
on a grid, evaluate L(w − ηg) and ∇L(w − ηg). Three numbers say how well the gradient at w
predicts the landscape it points into (small = smooth = a large step is safe):
- loss variation: max − min of L(w − ηg) over the grid;
- gradient predictiveness: max over η of ‖∇L(w) − ∇L(w − ηg)‖;
- effective β-smoothness: max over η of ‖∇L(w) − ∇L(w − ηg)‖ / ‖ηg‖, a Lipschitz constant
  of the gradient measured along the step actually taken.
"""
import numpy as np

from ..autograd import default_generator
from .weights import loss_and_gradient, norm, scratch_weights, trainable


def landscape_along_gradient(model, loss_fn, batch, etas):
    """The three Figure-4 metrics at the model's current weights, on one batch.

    model: any nn.Module (left in its current train/eval mode: S18 measure during training,
    so BN uses the batch's statistics). loss_fn(output, target) -> scalar Tensor.
    batch: (inputs, targets). etas: step sizes, typically lr × [0.5 .. 4].
    Returns a dict with per-η arrays `losses` and `grad_distances`, the scalar `loss`,
    `grad_norm` at w, and the three metrics. The model is left exactly as it was.
    """
    etas = [float(eta) for eta in etas]  # a NumPy float64 scalar would upcast float32 weights
    if not etas or min(etas) <= 0:
        raise ValueError(f"landscape_along_gradient: etas must be positive step sizes, got {etas}")
    with scratch_weights(model):
        params = trainable(model)
        w = [p.data for p in params]
        random_state = default_generator().bit_generator.state  # same noise at every η
        loss, g = loss_and_gradient(model, loss_fn, batch, random_state)
        g = [gi.copy() for gi in g]
        losses, distances = [], []
        for eta in etas:
            for p, wi, gi in zip(params, w, g):
                p.data = wi - eta * gi
            loss_eta, g_eta = loss_and_gradient(model, loss_fn, batch, random_state)
            losses.append(loss_eta)
            distances.append(norm([a - b for a, b in zip(g, g_eta)]))
    losses, distances, g_norm = np.array(losses), np.array(distances), norm(g)
    beta = float(np.max(distances / (np.array(etas) * g_norm))) if g_norm > 0 else 0.0
    return {
        "etas": np.array(etas), "losses": losses, "grad_distances": distances,
        "loss": loss, "grad_norm": g_norm,
        "loss_variation": float(losses.max() - losses.min()),
        "gradient_predictiveness": float(distances.max()),
        "beta_smoothness": beta,
    }
