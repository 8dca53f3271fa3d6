"""The top eigenvalue of the loss Hessian, without a second backward pass.

Power iteration: v ← Hv/‖Hv‖ converges to the eigenvector of the eigenvalue largest in
magnitude, and vᵀHv (v a unit vector) to that eigenvalue. H itself is never built; only
its product with v is needed, and that is a directional derivative of the gradient:
    Hv ≈ (∇L(w + hv) − ∇L(w − hv)) / 2h      (central difference, error O(h²)).
minigrad has no double backward, so this is how it measures curvature. The differences run
in float64, as in gradcheck: float32 rounding would swamp a difference of nearby gradients.
h is tiny (1e-8, fine in float64) because a ReLU net's gradient jumps wherever a unit switches
on or off: a step that crosses a switch measures the jump divided by 2h, not the curvature.
The chance of crossing one shrinks with h. Pilot on a depth-6 MLP: with h = 1e-3 the estimate
was about twice too large and did not converge; with h = 1e-5 about one estimate in five
was a spike in the hundreds or thousands; with h = 1e-8 none in 80.
For plain gradient descent λ_max decides stability: steps with lr > 2/λ_max diverge along
the top eigenvector (lesson 2).

Along a training trajectory the weights, and so the top eigenvector, move little between two
measurements: `hessian_top_eigenpair(..., start=v)` starts from the previous eigenvector and
stops once the eigenvalue has settled (`tol`), so a measurement costs a few products instead
of tens (tests/analysis/test_hessian.py checks it against the full Hessian of a small net).
"""
import numpy as np

from ..autograd import default_generator
from .weights import dot, loss_and_gradient, norm, scratch_weights, trainable


def hessian_vector_product(model, loss_fn, batch, v, h=1e-8, random_state=None):
    """Hv at the model's current weights by a central difference of gradients (float64 model)."""
    params = trainable(model)
    w = [p.data for p in params]
    scale = h / norm(v)  # step a distance h whatever v's length
    gradients = []
    for sign in (1, -1):
        for p, wi, vi in zip(params, w, v):
            p.data = wi + sign * scale * vi
        gradients.append(loss_and_gradient(model, loss_fn, batch, random_state)[1])
    for p, wi in zip(params, w):
        p.data = wi
    return [(a - b) / (2 * scale) for a, b in zip(*gradients)]


def hessian_top_eigenpair(model, loss_fn, batch, iters=20, h=1e-8, seed=0, start=None, tol=None):
    """(λ, v): the Hessian eigenvalue of largest magnitude and its unit eigenvector.

    At most `iters` power-iteration steps (each costs two gradients in float64), from `start`
    (one array per trainable parameter, e.g. the v of the previous measurement) or else from a
    random vector drawn with `seed`. With `tol`, it stops early once two successive
    Rayleigh quotients vᵀHv differ by less than tol·|λ|. λ is a float with its sign; v is a
    list of float64 arrays shaped like the parameters. The model is left exactly as it was.
    """
    params = trainable(model)
    if start is not None and [np.shape(s) for s in start] != [p.shape for p in params]:
        raise ValueError(f"hessian_top_eigenpair: start has shapes {[np.shape(s) for s in start]},"
                         f" the trainable parameters {[p.shape for p in params]}")
    with scratch_weights(model, dtype=np.float64):
        random_state = default_generator().bit_generator.state
        if start is None:
            rng = np.random.default_rng(seed)
            start = [rng.standard_normal(p.shape) for p in params]
        v = [np.asarray(s, dtype=np.float64) for s in start]
        eigenvalue = None
        for _ in range(iters):
            length = norm(v)
            v = [vi / length for vi in v]
            hv = hessian_vector_product(model, loss_fn, batch, v, h, random_state)
            previous, eigenvalue = eigenvalue, dot(v, hv)
            if norm(hv) == 0:
                break
            if tol is not None and previous is not None and \
                    abs(eigenvalue - previous) <= tol * abs(eigenvalue):
                break
            v = hv
    length = norm(v)
    return (0.0 if eigenvalue is None else eigenvalue), [vi / length for vi in v]


def hessian_top_eigenvalue(model, loss_fn, batch, iters=20, h=1e-8, seed=0):
    """The Hessian eigenvalue of largest magnitude at the model's current weights, on one batch.

    `iters` power-iteration steps from a random start (`seed`); each costs two gradients.
    Returns the Rayleigh quotient vᵀHv of the last iterate (a float, with its sign). The
    model is left exactly as it was.
    """
    return hessian_top_eigenpair(model, loss_fn, batch, iters, h, seed)[0]
