"""Internal covariate shift measured the way [S18] (§2.2, Fig. 3) defines it.

ICS was introduced [IS15] as "the change in a layer's input distribution caused by the
layers below it updating". [S18] turns that into a number that matters for optimisation:
how much does layer i's *gradient* change when the layers below it take their step?

    G  = ∇_{W_i} L(W_1ᵗ,   ..., W_{i-1}ᵗ,   W_iᵗ, ..., W_kᵗ; batch t)
    G' = ∇_{W_i} L(W_1ᵗ⁺¹, ..., W_{i-1}ᵗ⁺¹, W_iᵗ, ..., W_kᵗ; the same batch)

‖G − G'‖₂ = 0 and cos(G, G') = 1 would mean layer i does not feel the shift at all.
The step below is plain SGD, Wᵗ⁺¹ = Wᵗ − lr·∇L(Wᵗ), with the gradients of the same batch.
"""
import numpy as np

from ..autograd import Tensor, default_generator


def internal_covariate_shift(model, loss_fn, batch, lr, layers):
    """‖G − G'‖₂, cos(G, G') and ‖G‖ for each module in `layers`, on one batch.

    model: any nn.Module. loss_fn(output, target) -> scalar Tensor. batch: (inputs, targets).
    lr: the SGD step the layers below take. layers: modules of `model` whose gradient G is
    measured (G concatenates all of a module's parameters).
    "Below layer i" means every parameter of `model` that comes before layer i's first
    parameter in `model.parameters()` (registration order, which is forward order for
    nn.Sequential and for models that define their layers in the order they use them).

    The call has no side effects: parameters, their .grad, buffers (BN running statistics)
    and minigrad's random generator are restored exactly. Every gradient is evaluated with
    the same buffers and the same random draws (e.g. the same injected noise), so with
    lr = 0 G' equals G bit for bit. The model runs in its current mode (train mode: BN uses
    the batch's statistics). Cost: 1 + len(layers) forward and backward passes.
    Returns {"distance", "cosine", "grad_norm"}: arrays with one entry per layer (cosine is
    nan where G or G' is zero).
    """
    params = list(model.parameters())
    position = {id(p): k for k, p in enumerate(params)}
    groups = [_layer_positions(layer, position) for layer in layers]
    inputs, targets = batch
    inputs = inputs if isinstance(inputs, Tensor) else Tensor(inputs)

    saved = [p.data.copy() for p in params]
    saved_grads = [None if p.grad is None else p.grad.data.copy() for p in params]
    buffers = [b for b in model.buffers()]
    saved_buffers = [b.data.copy() for b in buffers]
    random_state = default_generator().bit_generator.state

    def gradients():
        """Every parameter's gradient on the batch, from the same buffers and random draws."""
        for buffer, value in zip(buffers, saved_buffers):
            buffer.data[...] = value
        default_generator().bit_generator.state = random_state
        model.zero_grad()
        loss_fn(model(inputs), targets).backward()
        return [np.zeros_like(p.data) if p.grad is None else p.grad.data.copy() for p in params]

    try:
        grads = gradients()
        distance, cosine, grad_norm = [], [], []
        for group in groups:
            below = group[0]
            for k, p in enumerate(params):
                p.data[...] = saved[k] - lr * grads[k] if k < below else saved[k]
            shifted = gradients()
            g = np.concatenate([grads[k].ravel() for k in group]).astype(np.float64)
            g_shifted = np.concatenate([shifted[k].ravel() for k in group]).astype(np.float64)
            distance.append(np.linalg.norm(g - g_shifted))
            grad_norm.append(np.linalg.norm(g))
            norms = grad_norm[-1] * np.linalg.norm(g_shifted)
            cosine.append(g @ g_shifted / norms if norms > 0 else np.nan)
    finally:
        for p, value, grad in zip(params, saved, saved_grads):
            p.data[...] = value
            p.grad = None if grad is None else Tensor(grad)
        for buffer, value in zip(buffers, saved_buffers):
            buffer.data[...] = value
        default_generator().bit_generator.state = random_state
    return {"distance": np.array(distance), "cosine": np.array(cosine),
            "grad_norm": np.array(grad_norm)}


def _layer_positions(layer, position):
    """Indices (into model.parameters()) of a layer's parameters, ascending."""
    own = list(layer.parameters())
    if not own:
        raise ValueError(f"internal_covariate_shift: a {type(layer).__name__} layer has no "
                         "parameters to measure")
    missing = [p for p in own if id(p) not in position]
    if missing:
        raise ValueError(f"internal_covariate_shift: a {type(layer).__name__} layer passed in "
                         "`layers` is not part of the model")
    return sorted(position[id(p)] for p in own)
