"""Evaluate a model at weights other than its own, and leave it exactly as it was.

The landscape instruments move a trained model's weights (w − ηg, θ + αδ + βη, w ± hv),
evaluate the loss and its gradient there, and must then hand the model back untouched: the
same parameter arrays, gradients, BN running statistics, train/eval mode and random state.
`scratch_weights` does the bookkeeping once, so each instrument only says where to go.
"""
from contextlib import contextmanager

import numpy as np

from ..autograd import Tensor, default_generator, no_grad


def trainable(model):
    """The parameters an optimizer would move: those that require grad."""
    return [p for p in model.parameters() if p.requires_grad]


@contextmanager
def scratch_weights(model, dtype=None):
    """Inside the block, parameters and buffers hold private copies (floating ones cast to
    `dtype` if given; counters such as BN's num_batches_tracked keep their integer type).

    On exit the original arrays (the very same objects, never written to) are put back, with
    the gradients, the train/eval mode of every module and minigrad's random generator.
    """
    params, buffers = list(model.parameters()), list(model.buffers())
    originals = [t.data for t in params + buffers]
    grads = [p.grad for p in params]
    modes = [(m, m.training) for m in model.modules()]
    random_state = default_generator().bit_generator.state
    for t in params + buffers:
        floating = np.issubdtype(t.data.dtype, np.floating)
        t.data = t.data.astype(dtype if dtype and floating else t.data.dtype)  # astype copies
    try:
        yield
    finally:
        for t, original in zip(params + buffers, originals):
            t.data = original
        for p, grad in zip(params, grads):
            p.grad = grad
        for module, training in modes:
            object.__setattr__(module, "training", training)
        default_generator().bit_generator.state = random_state


def as_input(inputs, dtype=None):
    """A batch's inputs as a Tensor (float inputs cast to `dtype` if given)."""
    array = inputs.data if isinstance(inputs, Tensor) else np.asarray(inputs)
    if dtype is not None and np.issubdtype(array.dtype, np.floating):
        array = array.astype(dtype)
    return Tensor(array)


def loss_and_gradient(model, loss_fn, batch, random_state=None):
    """L and ∇L (one array per trainable parameter) at the model's current weights.

    `random_state` replays the same random draws (dropout, injected noise) on every call, so
    two evaluations differ only because the weights do. A parameter the loss does not reach
    gets a zero gradient.
    """
    if random_state is not None:
        default_generator().bit_generator.state = random_state
    params = trainable(model)
    inputs, targets = batch
    for p in params:
        p.grad = None
    loss = loss_fn(model(as_input(inputs, model_dtype(model))), targets)
    loss.backward()
    grads = [np.zeros_like(p.data) if p.grad is None else p.grad.data for p in params]
    return loss.item(), grads


def mean_loss(model, loss_fn, data, batch_size=1000):
    """The loss averaged over every sample of data = (X, y), in chunks, without a graph."""
    X, y = data
    total = 0.0
    with no_grad():
        for start in range(0, len(X), batch_size):
            chunk = slice(start, start + batch_size)
            inputs = as_input(X[chunk], model_dtype(model))
            total += loss_fn(model(inputs), y[chunk]).item() * len(y[chunk])
    return total / len(X)


def model_dtype(model):
    """The floating dtype of the model's first parameter (the inputs are cast to it)."""
    return next(iter(model.parameters())).data.dtype


def norm(arrays):
    """‖v‖₂ of a vector stored as one array per parameter."""
    return float(np.sqrt(sum(np.sum(np.square(a, dtype=np.float64)) for a in arrays)))


def dot(a, b):
    """⟨a, b⟩ of two vectors stored as one array per parameter."""
    return float(sum(np.sum(x.astype(np.float64) * y) for x, y in zip(a, b)))
