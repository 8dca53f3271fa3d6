"""Check a backward pass against central finite differences (cs231n's numerical gradient).

For each input element x_i: numeric_i = (f(x + h e_i) - f(x - h e_i)) / 2h, where f is the
dot product of the output with a fixed random upstream gradient u, so the check covers the
whole Jacobian-vector product uᵀJ rather than just the sum of the outputs (a sum hides bugs:
BatchNorm's outputs sum to a constant, so a ones-upstream check passes even when the
variance path of its backward is missing). Run it in float64: float32's 1e-7 resolution
swamps a finite difference.
"""
import numpy as np

from .autograd import Tensor, no_grad


class GradcheckError(AssertionError):
    """The analytic and numeric gradients disagree; the message says where and by how much."""


def _as_tensor(output):
    return output if isinstance(output, Tensor) else Tensor(output)


def numerical_gradient(f, x, eps=1e-6):
    """Central differences (f(x + h e_j) − f(x − h e_j)) / 2h of the scalar function f() for
    each element of the C-contiguous array x, which f reads and this nudges in place."""
    numeric = np.empty_like(x)
    flat = x.reshape(-1)  # a view: nudging it nudges x
    for j in range(flat.size):
        original = flat[j]
        flat[j] = original + eps
        plus = f()
        flat[j] = original - eps
        minus = f()
        flat[j] = original
        numeric.reshape(-1)[j] = (plus - minus) / (2 * eps)
    return numeric


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0):
    """Compare `fn`'s backward with finite differences for every input that requires grad.

    `fn(*inputs)` returns a Tensor. Returns True, or raises GradcheckError naming the input,
    the worst element's index, and the analytic and numeric values there.
    """
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if isinstance(x, Tensor) and x.requires_grad:
            if x.dtype != np.float64:
                raise TypeError(f"gradcheck: input {i} has dtype {x.dtype}; use float64 "
                                "(float32 is too coarse for finite differences)")
            if not x.data.flags.c_contiguous:
                x.data = x.data.copy()  # C order, so reshape(-1) below is a view
    for x in inputs:
        if isinstance(x, Tensor):
            x.grad = None
    output = _as_tensor(fn(*inputs))
    upstream = np.random.default_rng(seed).standard_normal(output.shape)
    if output.requires_grad:  # else no input reaches the output: every analytic gradient is 0
        output.backward(upstream)

    def weighted_output():
        with no_grad():
            return float(np.sum(_as_tensor(fn(*inputs)).data * upstream))

    for i, x in enumerate(inputs):
        if not (isinstance(x, Tensor) and x.requires_grad):
            continue
        analytic = np.zeros_like(x.data) if x.grad is None else x.grad.data
        numeric = numerical_gradient(weighted_output, x.data, eps)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and error.max() > 0:
            worst = np.unravel_index(np.argmax(error), x.shape)
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}) at index {tuple(map(int, worst))}: "
                f"analytic {analytic[worst]:.8g} vs numeric {numeric[worst]:.8g}")
    return True
