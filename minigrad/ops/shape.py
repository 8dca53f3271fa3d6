"""Shape ops: they move elements around without changing them.

So every backward moves the gradient back the same way: reshape it back, transpose it by
the inverse permutation, scatter it into the slots it was gathered from.
"""
import numpy as np

from ..autograd import Function, Tensor
from .elementwise import unbroadcast


def _sizes(shape):
    """Accept both reshape(2, 3) and reshape((2, 3)), like PyTorch."""
    return tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape


def _axis(op, dim, ndim):
    """`dim` (negative counts from the end) as an index into ndim axes; an error naming it."""
    if not -ndim <= dim < ndim:
        raise ValueError(f"{op}: dim {dim} is out of range for {ndim} dimensions")
    return dim % ndim


class Reshape(Function):
    """Same elements, new shape  ->  reshape the gradient back."""

    def forward(ctx, x, shape=()):
        ctx.shape = x.shape
        return x.reshape(shape)

    def backward(ctx, grad):
        return grad.reshape(ctx.shape)


class Permute(Function):
    """z = x with axes reordered  ->  undo the order: transpose by the inverse permutation."""

    def forward(ctx, x, axes=()):
        ctx.inverse = tuple(np.argsort(axes))
        return x.transpose(axes)

    def backward(ctx, grad):
        return grad.transpose(ctx.inverse)


class BroadcastTo(Function):
    """Repeat x along stretched axes  ->  sum the gradient over them (`unbroadcast`)."""

    def forward(ctx, x, shape=()):
        ctx.shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape)


class GetItem(Function):
    """z = x[index]  ->  scatter the gradient into a zero array at `index`.

    Ints, slices, None, Ellipsis and boolean masks select each element at most once, so
    plain assignment scatters. Integer arrays may pick an element twice (x[[0, 0]]); its
    gradients must then add up: index an array of positions the same way to learn where
    each output element came from, and `np.add.at` there (it adds repeats, `+=` would not).
    """

    def forward(ctx, x, index=()):
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return x[index]

    def backward(ctx, grad):
        full = np.zeros(ctx.shape, ctx.dtype)
        if _selects_once(ctx.index):
            full[ctx.index] = grad
        else:
            origin = np.arange(full.size).reshape(ctx.shape)[ctx.index]
            np.add.at(full.reshape(-1), origin.reshape(-1), grad.reshape(-1))
        return full


def _selects_once(index):
    """True unless the index holds an integer array (which may repeat positions)."""
    parts = index if isinstance(index, tuple) else (index,)
    return not any(isinstance(p, (list, np.ndarray)) and np.asarray(p).dtype != bool for p in parts)


class Concatenate(Function):
    """z = [x1, x2, ...] along an axis  ->  each input gets its own slice of the gradient."""

    def forward(ctx, *xs, axis=0):
        ctx.axis = axis
        ctx.bounds = np.cumsum([x.shape[axis] for x in xs])[:-1]
        return np.concatenate(xs, axis=axis)

    def backward(ctx, grad):
        return tuple(np.split(grad, ctx.bounds, axis=ctx.axis))


class Pad(Function):
    """z = x surrounded by constants  ->  the gradient of x is the middle of z's gradient."""

    def forward(ctx, x, widths=(), value=0.0):
        ctx.middle = tuple(slice(before, before + n) for (before, _), n in zip(widths, x.shape))
        return np.pad(x, widths, constant_values=value)

    def backward(ctx, grad):
        return grad[ctx.middle]


# --------------------------------------------------------------------------- functions


def reshape(x, *shape):
    shape = tuple(int(n) for n in _sizes(shape))
    known = int(np.prod([n for n in shape if n != -1]))
    free = shape.count(-1)
    fits = (known == x.numel() if free == 0 else
            free == 1 and known > 0 and x.numel() % known == 0)
    if not fits or any(n < -1 for n in shape):
        raise ValueError(f"reshape: cannot reshape {x.shape} ({x.numel()} elements) into {shape}")
    if free:
        shape = tuple(x.numel() // known if n == -1 else n for n in shape)
    return Reshape.apply(x, shape=shape)


def view(x, *shape):
    """PyTorch's `view`; here the same as `reshape` (NumPy copies when it must)."""
    return reshape(x, *shape)


def permute(x, *axes):
    axes = _sizes(axes)
    in_range = all(-x.ndim <= a < x.ndim for a in axes)
    if not in_range or sorted(a % x.ndim for a in axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {tuple(axes)} is not a permutation of the {x.ndim} axes "
                         f"of a tensor of shape {x.shape}")
    return Permute.apply(x, axes=tuple(a % x.ndim for a in axes))


def transpose(x, dim0=None, dim1=None):
    """Swap two axes (PyTorch); without arguments reverse all axes (NumPy's `.T`)."""
    if dim0 is None:
        return permute(x, tuple(reversed(range(x.ndim))))
    dim0, dim1 = _axis("transpose", dim0, x.ndim), _axis("transpose", dim1, x.ndim)
    axes = list(range(x.ndim))
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return permute(x, axes)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes start_dim..end_dim into one."""
    ndim = max(x.ndim, 1)
    start, end = _axis("flatten", start_dim, ndim), _axis("flatten", end_dim, ndim)
    merged = int(np.prod(x.shape[start:end + 1]))
    return reshape(x, x.shape[:start] + (merged,) + x.shape[end + 1:])


def squeeze(x, dim=None):
    """Drop size-1 axes (all of them, or `dim` if it has size 1, like PyTorch)."""
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dim = _axis("squeeze", dim, max(x.ndim, 1))
    if x.ndim == 0 or x.shape[dim] != 1:
        return x
    return reshape(x, x.shape[:dim] + x.shape[dim + 1:])


def unsqueeze(x, dim):
    """Insert a size-1 axis at `dim` (negative counts from the end of the result)."""
    dim = _axis("unsqueeze", dim, x.ndim + 1)
    return reshape(x, x.shape[:dim] + (1,) + x.shape[dim:])


def broadcast_to(x, *shape):
    shape = _sizes(shape)
    try:
        target = np.broadcast_shapes(x.shape, shape)
    except ValueError:
        target = None
    if target != tuple(shape):
        raise ValueError(f"broadcast_to: cannot broadcast {x.shape} to {tuple(shape)}")
    return BroadcastTo.apply(x, shape=tuple(shape))


def expand(x, *shape):
    """PyTorch's `expand`: like broadcast_to, with -1 meaning 'keep this size'."""
    shape = list(_sizes(shape))
    offset = len(shape) - x.ndim
    for i in range(len(shape)):
        if shape[i] == -1:
            if i < offset:
                raise ValueError(f"expand: -1 is not allowed for the new leading axis {i} "
                                 f"when expanding {x.shape} to {tuple(shape)}")
            shape[i] = x.shape[i - offset]
    return broadcast_to(x, tuple(shape))


def getitem(x, index):
    """x[index] with ints, slices, None, Ellipsis, boolean masks and integer arrays."""
    parts = index if isinstance(index, tuple) else (index,)
    parts = tuple(p.data if isinstance(p, Tensor) else p for p in parts)
    for p in parts:
        if isinstance(p, (list, np.ndarray)) and np.asarray(p).dtype.kind not in "biu":
            raise TypeError(f"index arrays must be integers or booleans, got {np.asarray(p).dtype}")
    index = parts if isinstance(index, tuple) else parts[0]
    try:
        np.broadcast_to(np.empty((), bool), x.shape)[index]  # validate without copying x
    except IndexError as error:
        raise IndexError(f"index {index!r} is invalid for a tensor of shape {x.shape}: {error}") from None
    return GetItem.apply(x, index=index)


def concatenate(tensors, axis=0, *, dim=None):
    """Join tensors along an existing axis (`torch.cat`)."""
    axis = axis if dim is None else dim
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    first = tensors[0].shape
    if not first:
        raise ValueError("concatenate: 0-d tensors cannot be concatenated; use stack")
    axis = _axis("concatenate", axis, len(first))
    for t in tensors[1:]:
        if t.ndim != len(first) or any(a != b for i, (a, b) in enumerate(zip(t.shape, first))
                                       if i != axis):
            raise ValueError(f"concatenate: shapes {first} and {t.shape} differ outside axis {axis}")
    return Concatenate.apply(*tensors, axis=axis)


cat = concatenate


def stack(tensors, axis=0, *, dim=None):
    """Join tensors along a new axis: unsqueeze each, then concatenate."""
    axis = axis if dim is None else dim
    tensors = list(tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    axis = _axis("stack", axis, tensors[0].ndim + 1) if tensors else axis
    return concatenate([unsqueeze(t, axis) for t in tensors], axis=axis)


def pad(x, pad_widths, value=0.0):
    """Constant padding. `pad_widths` is NumPy's ((before, after), ...) per axis, or PyTorch's
    flat (left, right, top, bottom, ...) that pads the *last* axes first."""
    if all(isinstance(p, (int, np.integer)) for p in pad_widths):
        if len(pad_widths) % 2 or len(pad_widths) // 2 > x.ndim:
            raise ValueError(f"pad: {tuple(pad_widths)} does not fit a tensor of shape {x.shape}")
        pairs = [tuple(pad_widths[i:i + 2]) for i in range(0, len(pad_widths), 2)]
        widths = [(0, 0)] * (x.ndim - len(pairs)) + pairs[::-1]
    else:
        widths = [tuple(p) for p in pad_widths]
    if len(widths) != x.ndim or any(w < 0 for pair in widths for w in pair):
        raise ValueError(f"pad: widths {widths} do not fit a tensor of shape {x.shape}")
    return Pad.apply(x, widths=tuple(widths), value=value)
