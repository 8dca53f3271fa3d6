"""Loss surfaces around trained weights: Li, Xu, Taylor, Studer, Goldstein 2018.

Plot f(α, β) = L(θ + αδ + βη) for two random directions δ, η in weight space. A raw Gaussian
direction misleads: in a BN or ReLU net, multiplying one filter's weights by c > 0 changes
nothing the net computes, yet a step of fixed size is huge for a small filter and tiny for a
large one, so two equivalent nets would get different-looking surfaces. Filter normalisation
measures every step in units of the filter it moves:
    d_f ← d_f / ‖d_f‖ · ‖θ_f‖      for each filter f,
where a filter is one output unit's weights (a conv output channel, a Linear row). Biases and
BN's γ, β get a zero direction.
"""
import numpy as np

from ..autograd import default_generator
from .weights import mean_loss, scratch_weights


def filter_normalized_direction(model, seed=None, normalize="filter"):
    """A random direction: {parameter name: array}, in `named_parameters()` order.

    Weights (parameters with 2 or more axes; axis 0 indexes the filters) get a Gaussian
    direction d, scaled by `normalize`:
      "filter": per filter, ‖d_f‖ = ‖θ_f‖ (Li et al.);
      "global": one factor for all weights, ‖d‖ = ‖θ‖ (the same overall size, but a small
                filter gets as large a step as a big one);
      None:     raw N(0, 1) entries.
    1-axis parameters (biases, BN γ/β) get zeros. `seed` None draws from minigrad's generator.
    """
    if normalize not in ("filter", "global", None):
        raise ValueError(f"filter_normalized_direction: normalize must be 'filter', 'global' or "
                         f"None, got {normalize!r}")
    rng = default_generator() if seed is None else np.random.default_rng(seed)
    direction = {}
    for name, p in model.named_parameters():
        direction[name] = np.zeros_like(p.data)
        if p.ndim >= 2:
            direction[name] = rng.standard_normal(p.shape).astype(p.dtype)
            if normalize == "filter":
                axes = tuple(range(1, p.ndim))
                d_norm = np.sqrt(np.sum(np.square(direction[name]), axis=axes, keepdims=True))
                theta_norm = np.sqrt(np.sum(np.square(p.data), axis=axes, keepdims=True))
                direction[name] *= theta_norm / d_norm
    if normalize == "global":
        weights = [name for name, p in model.named_parameters() if p.ndim >= 2]
        params = dict(model.named_parameters())
        theta_norm = np.sqrt(sum(np.sum(np.square(params[n].data)) for n in weights))
        d_norm = np.sqrt(sum(np.sum(np.square(direction[n])) for n in weights))
        for n in weights:
            direction[n] *= theta_norm / d_norm
    return direction


def loss_surface(model, loss_fn, data, directions, grid, batch_size=1000):
    """L(θ + Σ_k a_k d_k) over the grid, in eval mode, on all of data = (X, y).

    directions: one direction (a 1-D curve, shape (len(grid),)) or a pair (a 2-D surface,
    shape (len(grid), len(grid)); row i is the first direction's grid[i]). Directions are
    dicts from `filter_normalized_direction`. The model is left exactly as it was.
    """
    if isinstance(directions, dict):
        directions = [directions]
    if len(directions) not in (1, 2):
        raise ValueError(f"loss_surface: give one or two directions, got {len(directions)}")
    grid = [float(a) for a in grid]
    with scratch_weights(model):
        model.eval()
        named = dict(model.named_parameters())
        theta = {name: p.data for name, p in named.items()}
        for direction in directions:
            if set(direction) != set(named):
                raise ValueError("loss_surface: a direction's names do not match the model's "
                                 f"parameters: {sorted(set(direction) ^ set(named))}")

        def loss_at(coefficients):
            for name, p in named.items():
                p.data = theta[name] + sum(a * d[name] for a, d in zip(coefficients, directions))
            return mean_loss(model, loss_fn, data, batch_size)

        if len(directions) == 1:
            return np.array([loss_at([a]) for a in grid])
        return np.array([[loss_at([a, b]) for b in grid] for a in grid])
