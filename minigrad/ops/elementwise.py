"""Elementwise ops: each output element depends on the matching input elements only.

So every backward is `grad * (local derivative)`, elementwise. When NumPy broadcast an
input (a bias of shape (C,) added to (N, C)), one input element fed many outputs, and its
gradient is the sum of theirs: `unbroadcast` does that sum.
"""
import numpy as np

from ..autograd import Function, Tensor, dtype_of
from ..parallel import over_batch_blocks


def unbroadcast(grad, shape):
    """Sum `grad` over the axes that broadcasting added or stretched, back to `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    stretched = tuple(i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1)
    grad = grad.sum(axis=tuple(range(extra)) + stretched, keepdims=True)
    return grad.reshape(shape)


def check_broadcast(op, a, b):
    """Raise a ValueError naming the op and both shapes when they cannot broadcast."""
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ValueError(f"{op}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def operand(value, like):
    """Wrap a number or ndarray met in `tensor + value` as a constant Tensor.

    A number (Python's or NumPy's) next to a float tensor takes that tensor's dtype, so
    `x * 2.0` stays float32, as in PyTorch (NumPy would make 2.0 a float64 and upcast the
    whole graph). Arrays keep their dtype: float32 + float64 array gives float64, as in PyTorch.
    """
    if isinstance(value, Tensor):
        return value
    if (isinstance(value, (int, float, np.number)) and isinstance(like, Tensor)
            and like.data.dtype.kind == "f"):
        return Tensor._from_op(np.asarray(value, dtype=like.data.dtype), None)
    if isinstance(value, (int, float, bool, np.ndarray, np.generic, list, tuple)):
        return Tensor(value)
    raise TypeError(f"unsupported operand type {type(value).__name__} for a Tensor op")


def promote_integers(a, b, name):
    """PyTorch's dtype rule where NumPy's differs: an integer (or bool) tensor meeting a float
    one takes the float's dtype (NumPy gives int64 + float32 -> float64), and dividing two
    integer tensors gives float32 (NumPy: float64). Integer tensors never need gradients."""
    a_float, b_float = a.data.dtype.kind == "f", b.data.dtype.kind == "f"
    if a_float and not b_float:
        b = Tensor._from_op(b.data.astype(a.data.dtype), None)
    elif b_float and not a_float:
        a = Tensor._from_op(a.data.astype(b.data.dtype), None)
    elif not a_float and name == "div":
        a, b = (Tensor._from_op(t.data.astype(np.float32), None) for t in (a, b))
    return a, b


def binary(function, name):
    """The public function of a two-input op: wrap constants, promote, check shapes, apply."""
    def op(a, b):
        if not isinstance(a, Tensor):
            a = operand(a, b)
        if not isinstance(b, Tensor):
            b = operand(b, a)
        if a.data.dtype != b.data.dtype or (name == "div" and a.data.dtype.kind != "f"):
            a, b = promote_integers(a, b, name)
        if a.data.shape != b.data.shape:
            check_broadcast(name, a, b)
        return function.apply(a, b)

    op.__name__, op.__qualname__, op.__doc__ = name, name, function.__doc__
    return op


# --------------------------------------------------------------------------- arithmetic


class Add(Function):
    """z = x + y  ->  dz/dx = 1, dz/dy = 1."""

    def forward(ctx, x, y):
        ctx.shapes = x.shape, y.shape
        return x + y

    def backward(ctx, grad):
        x_shape, y_shape = ctx.shapes
        return unbroadcast(grad, x_shape), unbroadcast(grad, y_shape)


class Sub(Function):
    """z = x - y  ->  dz/dx = 1, dz/dy = -1."""

    def forward(ctx, x, y):
        ctx.shapes = x.shape, y.shape
        return x - y

    def backward(ctx, grad):
        x_shape, y_shape = ctx.shapes
        return unbroadcast(grad, x_shape), unbroadcast(-grad, y_shape)


class Mul(Function):
    """z = x * y  ->  dz/dx = y, dz/dy = x."""

    def forward(ctx, x, y):
        ctx.save(x, y)
        return x * y

    def backward(ctx, grad):
        x, y = ctx.saved
        dx = unbroadcast(grad * y, x.shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(grad * x, y.shape) if ctx.needs_input_grad[1] else None
        return dx, dy


class Div(Function):
    """z = x / y  ->  dz/dx = 1/y, dz/dy = -x/y² = -z/y."""

    def forward(ctx, x, y):
        z = x / y
        ctx.save(x, y, z)
        return z

    def backward(ctx, grad):
        x, y, z = ctx.saved
        grad_over_y = grad / y
        dx = unbroadcast(grad_over_y, x.shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(-grad_over_y * z, y.shape) if ctx.needs_input_grad[1] else None
        return dx, dy


class Pow(Function):
    """z = x ** y  ->  dz/dx = y·x^(y-1), dz/dy = z·ln x (defined for x > 0)."""

    def forward(ctx, x, y):
        z = x ** y
        ctx.save(x, y, z)
        return z

    def backward(ctx, grad):
        x, y, z = ctx.saved
        dx = unbroadcast(grad * y * x ** (y - 1), x.shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(grad * z * np.log(x), y.shape) if ctx.needs_input_grad[1] else None
        return dx, dy


def tie_aware_share(wins, ties, dtype):
    """x's share of the gradient: 1 where x wins, 1/2 on a tie, 0 where it loses."""
    return wins.astype(dtype) + ties.astype(dtype) * dtype.type(0.5)


class Maximum(Function):
    """z = max(x, y)  ->  the gradient goes to the larger input; a tie splits it in half."""

    def forward(ctx, x, y):
        ctx.save(x, y)
        return np.maximum(x, y)

    def backward(ctx, grad):
        x, y = ctx.saved
        share_x = tie_aware_share(x > y, x == y, grad.dtype)
        return unbroadcast(grad * share_x, x.shape), unbroadcast(grad * (1 - share_x), y.shape)


class Minimum(Function):
    """z = min(x, y)  ->  the gradient goes to the smaller input; a tie splits it in half."""

    def forward(ctx, x, y):
        ctx.save(x, y)
        return np.minimum(x, y)

    def backward(ctx, grad):
        x, y = ctx.saved
        share_x = tie_aware_share(x < y, x == y, grad.dtype)
        return unbroadcast(grad * share_x, x.shape), unbroadcast(grad * (1 - share_x), y.shape)


add = binary(Add, "add")
sub = binary(Sub, "sub")
mul = binary(Mul, "mul")
div = binary(Div, "div")
pow = binary(Pow, "pow")
maximum = binary(Maximum, "maximum")
minimum = binary(Minimum, "minimum")


# --------------------------------------------------------------------------- one input


class Neg(Function):
    """z = -x  ->  dz/dx = -1."""

    def forward(ctx, x):
        return -x

    def backward(ctx, grad):
        return -grad


class Exp(Function):
    """z = e^x  ->  dz/dx = e^x = z (save the output, not the input)."""

    def forward(ctx, x):
        z = np.exp(x)
        ctx.save(z)
        return z

    def backward(ctx, grad):
        (z,) = ctx.saved
        return grad * z


class Log(Function):
    """z = ln x  ->  dz/dx = 1/x. Negative x gives nan with NumPy's warning, as in NumPy."""

    def forward(ctx, x):
        ctx.save(x)
        return np.log(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad / x


class Sqrt(Function):
    """z = √x  ->  dz/dx = 1/(2√x) = 1/(2z). Negative x gives nan with NumPy's warning."""

    def forward(ctx, x):
        z = np.sqrt(x)
        ctx.save(z)
        return z

    def backward(ctx, grad):
        (z,) = ctx.saved
        return grad / (2 * z)


class Abs(Function):
    """z = |x|  ->  dz/dx = sign(x) (0 at x = 0, like PyTorch)."""

    def forward(ctx, x):
        ctx.save(x)
        return np.abs(x)

    def backward(ctx, grad):
        (x,) = ctx.saved
        return grad * np.sign(x)


class Tanh(Function):
    """z = tanh x  ->  dz/dx = 1 - z²."""

    def forward(ctx, x):
        z = np.tanh(x)
        ctx.save(z)
        return z

    def backward(ctx, grad):
        (z,) = ctx.saved
        return grad * (1 - z * z)


class Sigmoid(Function):
    """z = 1/(1 + e^-x)  ->  dz/dx = z(1 - z). Written as (1 + tanh(x/2))/2: no overflow."""

    def forward(ctx, x):
        z = 0.5 * (1 + np.tanh(0.5 * x))
        ctx.save(z)
        return z

    def backward(ctx, grad):
        (z,) = ctx.saved
        return grad * z * (1 - z)


class ReLU(Function):
    """z = max(x, 0)  ->  dz/dx = 1 where x > 0, else 0 (save the mask, not x)."""

    def forward(ctx, x):
        y, positive = np.empty_like(x), np.empty_like(x, dtype=bool)  # in x's memory layout

        def relu_block(x, y, positive):
            np.greater(x, 0, out=positive)
            np.maximum(x, 0, out=y)  # not x * mask: that gives -0.0 for negative x

        over_batch_blocks(relu_block, x, y, positive)  # large batches: a block per core
        ctx.save(positive)
        return y

    def backward(ctx, grad):
        (positive,) = ctx.saved
        dx = np.empty_like(grad)
        over_batch_blocks(lambda grad, positive, dx: np.multiply(grad, positive, out=dx),
                          grad, positive, dx)
        return dx


class LeakyReLU(Function):
    """z = x if x > 0 else slope·x  ->  dz/dx = 1 or slope."""

    def forward(ctx, x, negative_slope=0.01):
        ctx.slope = np.where(x > 0, 1, negative_slope).astype(x.dtype)
        return x * ctx.slope

    def backward(ctx, grad):
        return grad * ctx.slope


class Clip(Function):
    """z = min(max(x, low), high)  ->  dz/dx = 1 inside [low, high], 0 outside.

    On a bound itself the gradient is 1, as in PyTorch's clamp.
    """

    def forward(ctx, x, low=None, high=None):
        inside = np.ones(x.shape, bool)
        if low is not None:
            inside &= x >= low
        if high is not None:
            inside &= x <= high
        ctx.save(inside)
        return np.clip(x, low, high)

    def backward(ctx, grad):
        (inside,) = ctx.saved
        return grad * inside


class Where(Function):
    """z = x where condition else y  ->  the gradient flows to whichever was picked."""

    def forward(ctx, x, y, condition=None):
        ctx.condition, ctx.shapes = condition, (x.shape, y.shape)
        return np.where(condition, x, y)

    def backward(ctx, grad):
        x_shape, y_shape = ctx.shapes
        picked_x = np.where(ctx.condition, grad, 0)
        return unbroadcast(picked_x, x_shape), unbroadcast(grad - picked_x, y_shape)


class Cast(Function):
    """z = x in another dtype  ->  the gradient cast back to x's dtype."""

    def forward(ctx, x, dtype=None):
        ctx.dtype = x.dtype
        return x.astype(dtype)

    def backward(ctx, grad):
        return grad.astype(ctx.dtype)


def to(x, dtype):
    """`x.to(dtype)`, `x.float()`, `x.double()`, `x.type(dtype)`: a differentiable cast.

    `x.to("cpu")` returns x itself (see `dtype_of`)."""
    dtype = dtype_of(dtype)
    return x if dtype is None or x.dtype == dtype else Cast.apply(x, dtype=dtype)


def type_(x, dtype=None):
    """`x.type(dtype)` casts like `x.to(dtype)`; `x.type()` names the dtype ("float32", where
    PyTorch says "torch.FloatTensor")."""
    return str(x.dtype) if dtype is None else to(x, dtype)


def neg(x):
    return Neg.apply(x)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def sqrt(x):
    return Sqrt.apply(x)


def abs(x):
    return Abs.apply(x)


def tanh(x):
    return Tanh.apply(x)


def sigmoid(x):
    return Sigmoid.apply(x)


def relu(x):
    return ReLU.apply(x)


def leaky_relu(x, negative_slope=0.01):
    return LeakyReLU.apply(x, negative_slope=negative_slope)


def clip(x, min=None, max=None):
    """Clamp into [min, max] (PyTorch's `clamp`); either bound may be None."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    return Clip.apply(x, low=min, high=max)


def where(condition, x, y):
    """Pick from x where `condition` is true, else from y (broadcasting all three)."""
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if not isinstance(x, Tensor):
        x = operand(x, y)
    y = operand(y, x)
    try:
        np.broadcast_shapes(condition.shape, x.shape, y.shape)
    except ValueError:
        raise ValueError(f"where: condition {condition.shape}, x {x.shape} and y {y.shape} "
                         "cannot be broadcast together") from None
    return Where.apply(x, y, condition=condition.astype(bool))
