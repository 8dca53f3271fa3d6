"""`fit` and `evaluate`: a convenience training loop for lessons and examples.

The plain loop stays the way to learn (and what `fit` does, step for step):

    for epoch in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        scheduler.step()

`fit` adds bookkeeping around it: a history of losses and accuracies, and tqdm progress bars.
The examples train with it; the lessons count optimizer steps instead of epochs and use the
same loop in that form (`lessons/models.py:train`, whose docstring says why). Accuracy is
reported when labels are integers and outputs are (N, C) class scores (argmax = prediction);
otherwise it is None.
"""
import math
import sys
import warnings

import numpy as np

from .autograd import no_grad


def fit(model, train_loader, loss_fn, optimizer, epochs, val_loader=None, scheduler=None,
        progress=None):
    """Train `model` for `epochs` passes over `train_loader`; return the history (a dict).

    history["step_loss"]: the loss of every optimizer step; "train_loss", "train_accuracy": per
    epoch, averaged over that epoch's batches as the model was being trained (not re-evaluated
    at the end of the epoch); "val_loss", "val_accuracy": per epoch, from `evaluate` on
    `val_loader` (empty lists without one); "lr": the first param group's lr in each epoch.
    `scheduler.step()` runs once after every epoch. Progress bars show when `progress` is True,
    or by default when stderr is a terminal. A loss that stops being finite ends training
    with a warning (lessons that push the learning rate up expect it); the history keeps it.
    """
    if epochs < 0:
        raise ValueError(f"fit: epochs must be >= 0, got {epochs}")
    show = sys.stderr.isatty() if progress is None else bool(progress)
    history = {key: [] for key in ("step_loss", "train_loss", "train_accuracy", "val_loss",
                                   "val_accuracy", "lr")}
    for epoch in range(epochs):
        history["lr"].append(optimizer.param_groups[0]["lr"])
        model.train()
        tally = _Tally()
        bar = _progress_bar(len(train_loader), f"epoch {epoch + 1}/{epochs}", show)
        for x, y in train_loader:
            output = model(x)
            loss = loss_fn(output, y)
            value = loss.item()
            history["step_loss"].append(value)
            if not math.isfinite(value):  # stop before the update, so the weights stay finite
                warnings.warn(f"fit: the loss became {value} at step {len(history['step_loss'])} "
                              f"(epoch {epoch + 1}); stopping", RuntimeWarning, stacklevel=2)
                bar.close()
                return history
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            tally.add(value, output, y)
            bar.set_postfix(loss=f"{value:.4f}", refresh=False)
            bar.update()
        train_loss, train_accuracy = tally.result()
        history["train_loss"].append(train_loss)
        history["train_accuracy"].append(train_accuracy)
        summary = {"loss": f"{train_loss:.4f}"} | _percent("acc", train_accuracy)
        if val_loader is not None:
            val_loss, val_accuracy = evaluate(model, val_loader, loss_fn)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_accuracy)
            summary |= {"val_loss": f"{val_loss:.4f}"} | _percent("val_acc", val_accuracy)
        bar.set_postfix(summary)
        bar.close()
        if scheduler is not None:
            scheduler.step()
    return history


def evaluate(model, loader, loss_fn):
    """(mean loss, accuracy or None) of `model` over `loader`, in eval mode and without a graph.

    The model's mode (train or eval) is restored afterwards.
    """
    was_training = model.training
    model.eval()
    tally = _Tally()
    with no_grad():
        for x, y in loader:
            output = model(x)
            tally.add(loss_fn(output, y).item(), output, y)
    model.train(was_training)
    return tally.result()


class _Tally:
    """Sums over batches, weighted by batch size, so a short last batch counts for what it is."""

    def __init__(self):
        self.loss, self.correct, self.count, self.classifying = 0.0, 0, 0, True

    def add(self, loss, output, labels):
        n = len(labels)
        self.loss += loss * n
        self.count += n
        self.classifying &= output.ndim == 2 and np.issubdtype(labels.dtype, np.integer)
        if self.classifying:
            self.correct += int((output.data.argmax(axis=1) == labels.data).sum())

    def result(self):
        if self.count == 0:
            raise ValueError("fit/evaluate: the loader yielded no batches")
        return self.loss / self.count, self.correct / self.count if self.classifying else None


def _percent(name, accuracy):
    return {} if accuracy is None else {name: f"{accuracy:.1%}"}


class _NoBar:
    """Stands in for a tqdm bar when progress is off (so tqdm is not even imported)."""

    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


def _progress_bar(total, description, show):
    """A tqdm bar that `fit` advances by hand, so it can still show the epoch's summary."""
    if not show:
        return _NoBar()
    from tqdm import tqdm
    return tqdm(total=total, desc=description, leave=True, dynamic_ncols=True)
