"""The engine: `Tensor`, `Function` and the backward sweep (floor 1: knows only NumPy).

A `Tensor` wraps an ndarray. When an operation runs on tensors that require grad, it
records the `Function` instance that made its output (`tensor.grad_fn`); that instance
keeps the arrays its backward needs and links to its inputs: to the node that made an input,
or to the input tensor itself when it is a leaf. `backward()` visits
these nodes once each, in reverse topological order, and hands every node the gradient
of the final scalar with respect to its output; the node returns one gradient per input
(the chain rule, one step). Leaves (tensors made by the user) accumulate into `.grad`.

Differences from PyTorch, kept on purpose for readability:
- `Function` instances are the graph nodes *and* the `ctx`: `forward(ctx, ...)` and
  `backward(ctx, grad)` are ordinary methods that see plain ndarrays, never Tensors.
- There is no double backward: gradients are arrays, not differentiable tensors.
"""
import functools

import numpy as np

from . import anomaly
from .anomaly import _AnomalyMode, check_backward, record_forward

# PyTorch's names: `mg.autograd.detect_anomaly()` as `torch.autograd.detect_anomaly()`
detect_anomaly = anomaly.detect_anomaly
set_detect_anomaly = anomaly.set_detect_anomaly
is_anomaly_enabled = anomaly.is_anomaly_enabled

# --------------------------------------------------------------------------- grad mode


class _GradMode:
    enabled = True


def is_grad_enabled():
    """True when operations record a graph (the default)."""
    return _GradMode.enabled


class _SetGradEnabled:
    """Context manager and decorator that switches graph recording on or off."""

    mode = True

    def __enter__(self):
        self.previous = _GradMode.enabled
        _GradMode.enabled = self.mode

    def __exit__(self, *exc):
        _GradMode.enabled = self.previous

    def __call__(self, function):
        @functools.wraps(function)
        def wrapped(*args, **kwargs):
            with self.__class__():  # a fresh instance per call, so nested calls are safe
                return function(*args, **kwargs)

        return wrapped


class no_grad(_SetGradEnabled):
    """Build no graph inside `with no_grad():` (or a function decorated `@no_grad()`)."""

    mode = False


class enable_grad(_SetGradEnabled):
    """Record a graph again, e.g. inside a `no_grad` block."""

    mode = True


# --------------------------------------------------------------------------- random numbers

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed the one generator behind every random draw in minigrad (init, dropout, shuffling)."""
    global _generator
    _generator = np.random.default_rng(seed)


def default_generator():
    """The module-level `np.random.Generator` that `manual_seed` seeds."""
    return _generator


# --------------------------------------------------------------------------- dtypes


def as_array(data, dtype=None):
    """Turn `data` into an ndarray with PyTorch's dtype rules.

    An ndarray keeps its dtype (float64 stays float64); Python floats and lists of them become
    float32, Python ints int64, bools bool. An explicit `dtype` wins.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        array = data
    elif isinstance(data, (bool, int, float, list, tuple, np.generic)):
        try:
            array = np.asarray(data)
        except ValueError:  # NumPy's "inhomogeneous shape" for [[1, 2], [3]]
            raise ValueError(f"cannot make a Tensor from a ragged nested list (its rows have "
                             f"different lengths): {_short(data)}") from None
        if array.dtype == np.float64 and not isinstance(data, np.generic):
            array = array.astype(np.float32)
    else:
        raise TypeError(f"cannot make a Tensor from {type(data).__name__}; "
                        "expected an ndarray, a number, a (nested) list or a Tensor")
    if array.dtype == object:
        raise TypeError("cannot make a Tensor from ragged or non-numeric data")
    if dtype is not None and array.dtype != np.dtype(dtype):
        array = array.astype(dtype)
    return array


def dtype_of(dtype_or_device):
    """The dtype that `.to(...)` asks for, or None for `.to("cpu")`.

    minigrad's arrays live in the computer's main memory: "cpu" is accepted (and changes
    nothing) so PyTorch code runs unchanged; any other device is an error.
    """
    if isinstance(dtype_or_device, str) and dtype_or_device.split(":")[0] in ("cpu", "cuda",
                                                                               "mps", "xpu", "meta"):
        if dtype_or_device.split(":")[0] != "cpu":
            raise ValueError(f"minigrad runs on the CPU only; got device {dtype_or_device!r}")
        return None
    try:
        return np.dtype(dtype_or_device)
    except TypeError:
        raise TypeError(f".to() takes a dtype or the device 'cpu', got {dtype_or_device!r}")


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# --------------------------------------------------------------------------- Tensor


class Tensor:
    """An ndarray that can remember how it was made, so gradients can flow back through it."""

    __slots__ = ("data", "grad", "_requires_grad", "grad_fn", "__weakref__")
    # `ndarray + tensor` and `np.float32(2) * tensor` hand over to Tensor.__radd__/__rmul__, and
    # a ufunc on a Tensor (np.exp(t)) is a TypeError rather than an ndarray cut from the graph.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None):
        self.data = as_array(data, dtype)
        self.grad = None
        self.grad_fn = None
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _from_op(cls, data, grad_fn):
        """An op's output: no dtype conversion, no checks (this is the hot path)."""
        out = object.__new__(Tensor)
        out.data, out.grad, out.grad_fn, out._requires_grad = data, None, grad_fn, grad_fn is not None
        return out

    # -- requires_grad, leaves ------------------------------------------------------------

    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        if flag and not np.issubdtype(self.data.dtype, np.floating):
            raise RuntimeError(f"only floating point tensors can require gradients, "
                               f"got dtype {self.data.dtype}")
        if not flag and self.grad_fn is not None:
            raise RuntimeError("requires_grad can only be switched off on a leaf; use .detach()")
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag=True):
        self.requires_grad = flag
        return self

    @property
    def is_leaf(self):
        """Made by the user rather than by an op on tensors that require grad."""
        return self.grad_fn is None

    def retain_grad(self):
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self.grad_fn is not None:
            self.grad_fn.retained_output = self

    def detach(self):
        """The same data, cut from the graph (shares memory, like PyTorch)."""
        return Tensor._from_op(self.data, None)

    # -- ndarray-like properties ----------------------------------------------------------

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    def size(self, dim=None):
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self):
        """Rows along the first axis, each a tensor in the graph (like PyTorch)."""
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def numpy(self):
        """The underlying ndarray (shared, like `tensor.numpy()` in PyTorch)."""
        if self._requires_grad:
            raise RuntimeError("call .detach().numpy() on a tensor that requires grad")
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.item()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __format__(self, spec):
        """f"{loss:.3f}" formats a one-element tensor as its number."""
        return format(self.item(), spec) if spec and self.data.size == 1 else repr(self)

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}Backward>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    __hash__ = object.__hash__  # comparisons return tensors, so keep identity hashing

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(f"the truth value of a tensor with {self.data.size} elements "
                               "is ambiguous; use .any() or .all()")
        return bool(self.data)

    # -- backward --------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's `.grad` (times `gradient`).

        Without `gradient` the tensor must hold one element (a loss). Saved arrays are freed
        afterwards unless `retain_graph=True`.
        """
        if not self._requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad "
                               "(did you build it under no_grad(), or forget requires_grad=True?)")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward() without a gradient needs a one-element tensor "
                                   f"(a loss), got shape {self.shape}; pass gradient=")
            seed = np.ones_like(self.data)
        else:
            # In this tensor's dtype, but not copied: the sweep only reads gradients, and a
            # leaf copies what it keeps (see _accumulate_grad), so the caller's array is safe.
            seed = np.asarray(gradient.data if isinstance(gradient, Tensor) else gradient,
                              dtype=self.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"backward: gradient of shape {seed.shape} for a tensor of "
                                 f"shape {self.shape}")
        if self.grad_fn is None:
            _accumulate_grad(self, seed)
        else:
            run_backward(self.grad_fn, seed, retain_graph)


def _accumulate_grad(tensor, grad, owned=False):
    """tensor.grad += grad. `.grad` must own its memory before a later `+=` or an optimizer
    changes it in place, so a first gradient is copied unless `owned` (no one else holds it).
    As in PyTorch, `.grad` has the tensor's dtype (float64 data meeting a float32 weight gives
    a float64 gradient on the way, cast back here)."""
    if tensor.grad is None:
        if grad.dtype != tensor.data.dtype:
            grad, owned = grad.astype(tensor.data.dtype), True
        tensor.grad = Tensor._from_op(grad if owned else np.array(grad), None)
    else:
        tensor.grad.data += grad


_RELEASED = ("trying to backward through the graph a second time (or to use tensors whose graph "
             "was already back-propagated): its saved arrays were freed; pass retain_graph=True "
             "to the first backward() if you need a second one")


def _topological_order(root):
    """The nodes that lead to `root`, each after every node it depends on.

    Depth-first with an explicit stack (a 10,000-op chain would overflow Python's recursion):
    a node is pushed once to visit its inputs and once more to be emitted after them.
    """
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if node in visited:
            continue
        if node.released:
            raise RuntimeError(_RELEASED)
        visited.add(node)
        stack.append((node, True))
        for parent, needed in zip(node.inputs, node.needs_input_grad):
            if needed and isinstance(parent, Function) and parent not in visited:
                stack.append((parent, False))
    return order


def run_backward(root, seed, retain_graph):
    """The backward sweep: hand each node the sum of the gradients flowing into its output.

    Visiting nodes in reverse topological order means every consumer of a node's output has
    already added its share to `pending[node]` by the time the node runs.
    """
    pending = {root: seed}
    for node in reversed(_topological_order(root)):
        grad_out = pending.pop(node, None)  # None: every consumer returned None for it
        if grad_out is not None:
            if node.retained_output is not None:
                _accumulate_grad(node.retained_output, grad_out)
            grads = node.backward(grad_out)
            if type(grads) is not tuple:
                grads = (grads,)
            if len(grads) != len(node.inputs):
                raise RuntimeError(f"{type(node).__name__}.backward returned {len(grads)} "
                                   f"gradients for {len(node.inputs)} inputs")
            if _AnomalyMode.enabled:
                check_backward(node, grads)
            for parent, needed, grad in zip(node.inputs, node.needs_input_grad, grads):
                if not needed or grad is None:
                    continue
                is_node = isinstance(parent, Function)  # else a leaf tensor
                shape = parent.output_shape if is_node else parent.data.shape
                if grad.shape != shape:
                    raise RuntimeError(f"{type(node).__name__}.backward returned a gradient of "
                                       f"shape {grad.shape} for an input of shape {shape}")
                if not is_node:
                    # A fresh array handed to this input alone is kept without a copy (like
                    # PyTorch); Add hands both inputs the upstream array, reshape a view of it.
                    owned = (type(grad) is np.ndarray and grad.base is None
                             and grad is not grad_out and sum(g is grad for g in grads) == 1)
                    _accumulate_grad(parent, grad, owned)
                elif parent in pending:
                    pending[parent] = pending[parent] + grad  # never in place: shared
                else:
                    pending[parent] = grad
        if not retain_graph:
            node.release()


# --------------------------------------------------------------------------- Function


class Function:
    """One differentiable operation, and (once applied) one node of the graph.

    Subclasses write `forward(ctx, *arrays, **options)` returning an ndarray and
    `backward(ctx, grad)` returning one gradient per positional input (None where an input
    needs none). `ctx` is the node itself: `ctx.save(...)` keeps arrays for backward,
    `ctx.needs_input_grad[i]` says whether input i wants a gradient (skip the work if not).
    Tensors go in positionally; options (axis, shape, ...) go in as keywords. A recorded node's
    `inputs` holds, per input, the node that made it, or the tensor itself if it is a leaf
    (or any other value passed); `output_shape`/`output_dtype` describe what it made.
    """

    __slots__ = ("inputs", "saved", "needs_input_grad", "retained_output", "released",
                 "output_shape", "output_dtype",
                 "__dict__")  # __dict__: room for whatever else an op keeps for backward

    def save(self, *arrays):
        self.saved = arrays

    def release(self):
        """Free what backward needed, and the links to the inputs (so their memory goes too)."""
        self.saved, self.inputs, self.retained_output, self.released = None, (), None, True
        self.__dict__.clear()  # whatever else forward kept for backward

    @classmethod
    def apply(cls, *inputs, **options):
        """Run forward on the inputs' arrays; record a node if any input requires grad."""
        ctx = cls()
        arrays, needs, links = [], [], []
        for x in inputs:
            is_tensor = isinstance(x, Tensor)
            arrays.append(x.data if is_tensor else x)
            needs.append(is_tensor and x._requires_grad)
            # The graph links to the node that made an input, not to the input tensor (unless
            # it is a leaf): so an intermediate result is freed once nothing else holds it,
            # as in PyTorch. An op keeps what its backward needs itself (ctx.save).
            links.append(x.grad_fn if is_tensor and x.grad_fn is not None else x)
        record = _GradMode.enabled and True in needs
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(needs)
        out = ctx.forward(*arrays, **options)
        if type(out) is not np.ndarray:  # NumPy returns scalars from full reductions
            out = np.asarray(out)
        result = object.__new__(Tensor)  # Tensor._from_op, inlined: this is the hot path
        result.data, result.grad = out, None
        if record:
            ctx.inputs, ctx.retained_output, ctx.released = tuple(links), None, False
            ctx.output_shape, ctx.output_dtype = out.shape, out.dtype
            result.grad_fn, result._requires_grad = ctx, True
            if _AnomalyMode.enabled:
                record_forward(ctx, arrays, out)
        else:
            result.grad_fn, result._requires_grad = None, False
        return result

    def forward(ctx, *arrays, **options):
        raise NotImplementedError

    def backward(ctx, grad):
        raise NotImplementedError


# --------------------------------------------------------------------------- factories


def tensor(data, requires_grad=False, dtype=None):
    """A new leaf tensor holding a copy of `data` (PyTorch's `torch.tensor`)."""
    return Tensor(np.array(as_array(data, dtype)), requires_grad=requires_grad)


def _shape(size):
    return tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list)) else size


def zeros(*size, dtype=np.float32, requires_grad=False):
    return Tensor(np.zeros(_shape(size), dtype), requires_grad)


def ones(*size, dtype=np.float32, requires_grad=False):
    return Tensor(np.ones(_shape(size), dtype), requires_grad)


def empty(*size, dtype=np.float32, requires_grad=False):
    return Tensor(np.empty(_shape(size), dtype), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False):
    return Tensor(np.zeros_like(as_array(t), dtype=dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False):
    return Tensor(np.ones_like(as_array(t), dtype=dtype), requires_grad)


def randn(*size, dtype=np.float32, requires_grad=False):
    """Standard normal draws from the seeded generator (see `manual_seed`)."""
    return Tensor(_generator.standard_normal(_shape(size), dtype=dtype), requires_grad)


def rand(*size, dtype=np.float32, requires_grad=False):
    """Uniform [0, 1) draws from the seeded generator (see `manual_seed`)."""
    return Tensor(_generator.random(_shape(size), dtype=dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None):
    """Like `torch.arange`: int64 for integer arguments, float32 otherwise."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = np.int64 if all(isinstance(v, int) for v in (start, end, step)) else np.float32
    return Tensor(np.arange(start, end, step, dtype=dtype))
