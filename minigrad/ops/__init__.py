"""Differentiable ops, one family a file; this file also gives `Tensor` its methods.

Each method is the module-level op under another spelling: `x.exp()` is `ops.exp(x)`,
`x + y` is `ops.add(x, y)`, so there is exactly one implementation of each op.
"""
from ..autograd import Tensor
from .elementwise import (
    abs,
    add,
    clip,
    div,
    exp,
    leaky_relu,
    log,
    maximum,
    minimum,
    mul,
    neg,
    operand,
    pow,
    relu,
    sigmoid,
    sqrt,
    sub,
    tanh,
    to,
    type_,
    where,
)
from .linalg import matmul
from .loss import binary_cross_entropy_with_logits, cross_entropy, log_softmax, mse_loss, nll_loss, softmax
from .reduce import argmax, argmin, max, mean, min, std, sum, var
from .shape import (
    broadcast_to,
    cat,
    concatenate,
    expand,
    flatten,
    getitem,
    pad,
    permute,
    reshape,
    squeeze,
    stack,
    transpose,
    unsqueeze,
    view,
)

# the ops as functions (`ops.exp(x)`); minigrad re-exports them all as `mg.exp` etc.
__all__ = ["abs", "add", "argmax", "argmin", "binary_cross_entropy_with_logits", "broadcast_to", "cat",
           "clip", "concatenate", "cross_entropy", "div", "exp", "expand", "flatten", "leaky_relu", "log",
           "log_softmax", "matmul", "max", "maximum", "mean", "min", "minimum", "mse_loss", "mul", "neg",
           "nll_loss", "pad", "permute", "pow", "relu", "reshape", "sigmoid", "softmax", "sqrt", "squeeze",
           "stack", "std", "sub", "sum", "tanh", "transpose", "unsqueeze", "var", "where"]


def _reflected(op):
    """`2 - x` calls x.__rsub__(2): swap the operands back."""
    return lambda self, other: op(operand(other, self), self)


def _compare(ufunc):
    """Comparisons give boolean tensors outside the graph."""
    return lambda self, other: Tensor(ufunc(self.data, other.data if isinstance(other, Tensor) else other))


def _bind_tensor_methods():
    import numpy as np

    methods = dict(
        __add__=add, __radd__=_reflected(add), __sub__=sub, __rsub__=_reflected(sub),
        __mul__=mul, __rmul__=_reflected(mul), __truediv__=div, __rtruediv__=_reflected(div),
        __pow__=pow, __rpow__=_reflected(pow), __matmul__=lambda x, y: matmul(x, operand(y, x)),
        __rmatmul__=_reflected(matmul), __neg__=neg, __abs__=abs, __getitem__=getitem,
        add=add, sub=sub, mul=mul, div=div, pow=pow, neg=neg,
        __lt__=_compare(np.less), __le__=_compare(np.less_equal), __gt__=_compare(np.greater),
        __ge__=_compare(np.greater_equal), __eq__=_compare(np.equal), __ne__=_compare(np.not_equal),
        exp=exp, log=log, sqrt=sqrt, abs=abs, tanh=tanh, sigmoid=sigmoid, relu=relu,
        clip=clip, clamp=clip, maximum=maximum, minimum=minimum, matmul=matmul,
        sum=sum, mean=mean, max=max, min=min, amax=max, amin=min, var=var, std=std,
        argmax=argmax, argmin=argmin, softmax=softmax, log_softmax=log_softmax,
        reshape=reshape, view=view, permute=permute, transpose=transpose, flatten=flatten,
        squeeze=squeeze, unsqueeze=unsqueeze, expand=expand, broadcast_to=broadcast_to,
        to=to, type=type_, float=lambda x: to(x, np.float32),
        double=lambda x: to(x, np.float64),
        T=property(lambda x: transpose(x)),
    )
    for name, method in methods.items():
        setattr(Tensor, name, method)


_bind_tensor_methods()
