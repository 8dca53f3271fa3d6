"""The networks and the training loop the paper lessons share.

Kept in one place so every lesson trains "the same MLP" the same way, and a reader can
check what was compared. The init is always stated: a pilot (docs/experiments.md §4) showed
that the no-BN results depend on it (PyTorch's default Linear init is much smaller than He init).
"""
from contextlib import contextmanager

import numpy as np

import minigrad as mg
from minigrad import nn


def init_weights(model, init="he", gain_c=None):
    """Re-initialise every Linear/Conv2d weight; biases to zero.

    init: "he" (Kaiming normal, fan_in, gain √2), "torch" (keep PyTorch's default), or
    "scaled" with `gain_c`: weights N(0, c/fan_in) (the init-scale sweep of lesson 8).
    """
    if init == "torch":
        return model
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            fan_in = int(np.prod(module.weight.shape[1:]))
            c = 2.0 if init == "he" else gain_c
            std = np.sqrt(c / fan_in)
            module.weight.data[...] = mg.default_generator().standard_normal(module.weight.shape) * std
            if module.bias is not None:
                module.bias.data[...] = 0
    return model


def mlp(in_features, num_classes, width=64, depth=6, norm=None, activation=nn.ReLU, init="he",
        gain_c=None, dropout=0.0):
    """`depth` hidden layers of [Linear -> norm -> activation (-> dropout)], then a Linear classifier.

    `norm` is a layer factory called with the width (e.g. nn.BatchNorm1d) or None.
    """
    layers, features = [], in_features
    for _ in range(depth):
        layers.append(nn.Linear(features, width))
        if norm is not None:
            layers.append(norm(width))
        layers.append(activation())
        if dropout:
            layers.append(nn.Dropout(dropout))
        features = width
    layers.append(nn.Linear(features, num_classes))
    return init_weights(nn.Sequential(*layers), init, gain_c)


class ResidualBlock(nn.Module):
    """x + activation(norm(Linear(x))): a branch added to an identity path (He et al. 2016).

    The identity path carries the signal forward and the gradient backward past the branch,
    so a deep stack of these is never the product of many branch Jacobians alone. With a
    norm the Linear has no bias (the norm's β takes its place, as in the plain BN nets).
    """

    def __init__(self, width, norm=None, activation=nn.ReLU):
        super().__init__()
        self.linear = nn.Linear(width, width, bias=norm is None)
        self.norm = norm(width) if norm is not None else nn.Identity()
        self.activation = activation()

    def forward(self, x):
        return x + self.activation(self.norm(self.linear(x)))


def residual_mlp(in_features, num_classes, width=64, depth=6, norm=None, activation=nn.ReLU,
                 init="he", gain_c=None):
    """Like `mlp`, with hidden layers 2..depth as `ResidualBlock`s: the first hidden layer maps
    the input to `width` features, and every block adds its branch to them."""
    stem = [nn.Linear(in_features, width)] + ([norm(width)] if norm is not None else [])
    blocks = [ResidualBlock(width, norm, activation) for _ in range(depth - 1)]
    layers = stem + [activation()] + blocks + [nn.Linear(width, num_classes)]
    return init_weights(nn.Sequential(*layers), init, gain_c)


def vgg_like(num_classes=10, channels=(16, 32, 64), bn=False, in_channels=3, init="he"):
    """A small VGG: per stage Conv3×3 -> [BN] -> ReLU -> MaxPool2d(2); then a Linear head."""
    layers, c_in = [], in_channels
    for c_out in channels:
        layers.append(nn.Conv2d(c_in, c_out, 3, padding=1))
        if bn:
            layers.append(nn.BatchNorm2d(c_out))
        layers += [nn.ReLU(), nn.MaxPool2d(2)]
        c_in = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, num_classes)]
    return init_weights(nn.Sequential(*layers), init)


EVAL_SUBSET = 1000  # training accuracy during training is measured on the first 1000 samples


def batches(n, batch_size, steps, rng):
    """`steps` index arrays of size batch_size, reshuffling each epoch."""
    order = np.empty(0, dtype=np.int64)
    for _ in range(steps):
        if len(order) < batch_size:
            order = np.concatenate([order, rng.permutation(n)])
        yield order[:batch_size]
        order = order[batch_size:]


def accuracy(model, X, y, batch_size=1000):
    """Fraction of X classified correctly, in eval mode, without a graph."""
    was_training = model.training
    model.eval()
    correct = 0
    with mg.no_grad():
        for start in range(0, len(X), batch_size):
            logits = model(mg.Tensor(X[start:start + batch_size]))
            correct += int((logits.data.argmax(1) == y[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / len(X)


@contextmanager
def buffers_kept(model):
    """Forwards inside leave the buffers (BN's running statistics) as they were: for looking at
    a net in train mode without changing what it will do next."""
    buffers = list(model.buffers())
    saved = [b.data.copy() for b in buffers]
    try:
        yield model
    finally:
        for buffer, value in zip(buffers, saved):
            buffer.data[...] = value


def train(model, X, y, steps, lr, batch_size=128, seed=0, momentum=0.0, X_test=None, y_test=None,
          eval_every=None, on_step=None):
    """Plain SGD with cross-entropy; returns per-step training loss and periodic accuracies.

    The lessons' one loop, the plain loop of `minigrad/training.py`'s docstring counted in
    optimizer steps rather than epochs: the papers' figures are drawn against steps, a run past
    its stable step size must stop at the first nan and keep its history, and the instruments
    look at the net after every step (`on_step`). `minigrad.training.fit` is the same loop for
    the examples, which train for epochs over a DataLoader.

    `on_step(step, model)` is called after every update (instruments hook in here). A loss
    that becomes nan/inf stops training early; the remaining losses are recorded as nan.
    """
    rng = np.random.default_rng(seed)
    optimizer = mg.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    losses = np.full(steps, np.nan)
    evals = []
    model.train()
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is detected below
        for step, index in enumerate(batches(len(X), batch_size, steps, rng)):
            if not _sgd_step(model, optimizer, X[index], y[index], losses, step):
                break
            if on_step is not None:
                on_step(step, model)
            if eval_every and (step + 1) % eval_every == 0:
                test = accuracy(model, X_test, y_test) if X_test is not None else np.nan
                train_acc = accuracy(model, X[:EVAL_SUBSET], y[:EVAL_SUBSET])
                evals.append((step + 1, train_acc, test))
    return {"loss": losses, "evals": np.array(evals).reshape(-1, 3)}


def pad(values, length):
    """`values` as a float array of `length`, nan after the point where a diverged run stopped."""
    values = np.asarray(values, dtype=float)
    return np.concatenate([values, np.full(length - len(values), np.nan)])


def _sgd_step(model, optimizer, X, y, losses, step):
    """One update; records the loss and returns False if it was nan or inf."""
    loss = nn.functional.cross_entropy(model(mg.Tensor(X)), y)
    if not np.isfinite(loss.item()):
        return False
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    losses[step] = loss.item()
    return True
