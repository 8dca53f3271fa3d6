"""Anomaly mode: find the op whose gradient first turned into nan or inf (PyTorch's names).

    with mg.autograd.detect_anomaly():      # or @mg.autograd.detect_anomaly() on a function,
        loss = model(x).log().mean()        # or mg.autograd.set_detect_anomaly(True)
        loss.backward()

While it is on, every node remembers the line of *your* code that created it (the first frame
outside minigrad), and the backward sweep checks each gradient a node returns: the first that
holds nan or inf raises a RuntimeError naming the op, the input, its shape and that line. With
`check_forward=True`, a forward output that is nan/inf although its inputs were finite is
reported the same way. Off, it costs one flag test per op and per node of the sweep.
"""
import functools
import linecache
import sys
from pathlib import Path

import numpy as np

PACKAGE = str(Path(__file__).resolve().parent)


class _AnomalyMode:
    enabled = False
    check_forward = False


def is_anomaly_enabled():
    return _AnomalyMode.enabled


def set_detect_anomaly(mode, check_forward=False):
    """Switch anomaly mode on or off for the rest of the program."""
    _AnomalyMode.enabled, _AnomalyMode.check_forward = bool(mode), bool(check_forward)


class detect_anomaly:
    """Anomaly mode inside `with detect_anomaly():` or a function decorated `@detect_anomaly()`."""

    def __init__(self, check_forward=False):
        self.check_forward = check_forward

    def __enter__(self):
        self.previous = _AnomalyMode.enabled, _AnomalyMode.check_forward
        set_detect_anomaly(True, self.check_forward)

    def __exit__(self, *exc):
        _AnomalyMode.enabled, _AnomalyMode.check_forward = self.previous

    def __call__(self, function):
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            with detect_anomaly(self.check_forward):
                return function(*args, **kwargs)

        return wrapped


def user_line():
    """'file:line, in function: source' of the innermost caller outside the minigrad package."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(PACKAGE):
        frame = frame.f_back
    if frame is None:
        return "an unknown line"
    code = frame.f_code
    source = linecache.getline(code.co_filename, frame.f_lineno).strip()
    return f"{code.co_filename}:{frame.f_lineno}, in {code.co_name}: {source}"


def _not_finite(array):
    return isinstance(array, np.ndarray) and array.dtype.kind in "fc" and not np.isfinite(array).all()


def _what(array):
    return "nan" if np.isnan(array).any() else "inf"


def record_forward(node, arrays, out):
    """At node creation: remember the user's line; with check_forward, test the output."""
    node.created_at = user_line()
    if _AnomalyMode.check_forward and _not_finite(out) and not any(map(_not_finite, arrays)):
        raise RuntimeError(f"{type(node).__name__} returned {_what(out)} in its output "
                           f"(shape {out.shape}) from finite inputs; the op was called at "
                           f"{node.created_at}")


def check_backward(node, grads):
    """In the sweep: raise at the first gradient this node returns that holds nan or inf."""
    created_at = getattr(node, "created_at", "a line run before anomaly mode was switched on")
    for i, (parent, grad) in enumerate(zip(node.inputs, grads)):
        if grad is not None and _not_finite(grad):
            # an input made by an op is linked as that op's node, a leaf as the tensor itself
            shape = parent.output_shape if hasattr(parent, "output_shape") else parent.data.shape
            raise RuntimeError(f"{type(node).__name__} returned {_what(grad)} in its gradient "
                               f"for input {i} (shape {shape}); the op was created "
                               f"at {created_at}")
