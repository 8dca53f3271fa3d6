"""`check_function`: the same search for any op the reader writes as an `mg.Function`.

The reader's class has `forward(ctx, *inputs, **options)`, returning an ndarray, and
`backward(ctx, grad)`, returning one gradient per positional input (None for an input that
needs none, such as integer class targets). The reader also passes `reference`, the op's
forward as a NumPy expression, and optionally a hypothesis strategy for the inputs.

The properties, why each holds, and what its failure usually means:

runs, shapes, finite   forward and backward return without raising; the output has the
                       reference's shape and each gradient its input's; no NaN or inf where the
                       reference is finite.
forward                forward(*inputs) equals reference(*inputs). Failure: the forward itself
                       (a mean where a sum belongs, a sign, an axis).
finite_differences     the gradient of each float input equals central differences of
                       ℓ = Σ grad·reference(*inputs), for a random upstream `grad` (float64):
                       the definition of the gradient. An upstream of ones would hide terms
                       that cancel in a sum. Failure: the hint names a factor when the error is
                       one (a sign, N, 2), or a backward that ignores its `grad` argument.
large_inputs           (only with `large=`) forward and backward stay right with the float
                       inputs scaled by `large` (1e3: large logits), wherever the reference
                       stays finite; searched once forward and finite_differences hold.
                       Failure: an overflow, usually exp of a large number (e^710 = inf).
"""
import inspect
from dataclasses import dataclass, replace

import numpy as np
from hypothesis import strategies as st

from ..gradcheck import numerical_gradient
from .checker import (
    Broken,
    Finding,
    Property,
    as_float_array,
    call_safely,
    expect_finite,
    expect_shape,
    factor_hint,
    format_array,
    gate,
    name_of,
    proportional,
    run_checks,
    worst_mismatch,
)
from .strategies import shapes, small_integers, values

PROPERTIES = ("runs", "shapes", "finite", "forward", "finite_differences", "large_inputs")


def differentiable(a):
    return isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)


@dataclass
class Case:
    """The forward's positional inputs, the upstream gradient, and the reference output."""
    inputs: tuple
    upstream: np.ndarray
    expected: np.ndarray
    names: tuple

    def describe(self):
        shapes_ = ", ".join(f"{n} {np.shape(a)}" for n, a in zip(self.names, self.inputs))
        return [shapes_] + [format_array(n, a) for n, a in zip(self.names, self.inputs)] + [
            format_array("grad", self.upstream) + "   (the upstream gradient backward gets)"]


class ReferenceFailed(Exception):
    """The reader's reference raised on inputs the strategy drew: a problem with the check."""


def evaluate(reference, inputs, options):
    try:
        return np.asarray(reference(*inputs, **options), dtype=np.float64)
    except Exception as error:
        raise ReferenceFailed(f"the reference raised {type(error).__name__}: {error} on inputs "
                              f"of shapes {[np.shape(a) for a in inputs]}") from None


@st.composite
def cases(draw, inputs, reference, options, names):
    drawn = draw(inputs)
    drawn = drawn if isinstance(drawn, tuple) else (drawn,)
    drawn = tuple(np.asarray(a) if isinstance(a, np.generic) else a for a in drawn)  # 0-d
    expected = evaluate(reference, drawn, options)
    return Case(drawn, draw(small_integers(expected.shape)), expected, names[:len(drawn)])


def input_names(function_class, count=8):
    """The names of forward's positional inputs, after ctx ('input 0', ... if none)."""
    try:
        parameters = list(inspect.signature(function_class.forward).parameters.values())[1:]
        names = [p.name for p in parameters if p.kind == p.POSITIONAL_OR_KEYWORD]
    except (TypeError, ValueError):
        names = []
    return tuple(names) + tuple(f"input {i}" for i in range(len(names), count))


def run(function_class, case, options):
    """The reader's forward output and gradients on `case`, as the engine would call them."""
    ctx = function_class()
    ctx.needs_input_grad = tuple(differentiable(a) for a in case.inputs)
    forward = call_safely(lambda *a: ctx.forward(*a, **options), *case.inputs,
                          name=f"{function_class.__name__}.forward")
    output = as_float_array(forward, "forward's output")
    expect_shape(output, case.expected.shape, "forward's output",
                 "the output must have the shape of the reference's")
    grads = call_safely(ctx.backward, case.upstream, name=f"{function_class.__name__}.backward")
    grads = grads if type(grads) is tuple else (grads,)  # as the engine reads them
    if len(grads) != len(case.inputs):
        raise Broken("shapes", Finding(
            f"backward returned {len(grads)} gradient(s) for {len(case.inputs)} inputs",
            "return a tuple with one gradient per positional input of forward (None for "
            "an input that needs none, such as integer targets)"))
    checked = {}
    for i, (a, g, name) in enumerate(zip(case.inputs, grads, case.names)):
        if differentiable(a):
            checked[i] = as_float_array(g, f"the gradient of {name}")
            expect_shape(checked[i], a.shape, f"the gradient of {name}",
                         f"a gradient has the shape of its input: {name} is {a.shape}")
    finite_hint = ("NaN or inf where the reference is finite: an overflow (exp of a large "
                   "number), a division by zero or log(0)")
    expect_finite(np.where(np.isfinite(case.expected), output, 0), "forward's output",
                  finite_hint)
    for i, g in checked.items():
        expect_finite(g, f"the gradient of {case.names[i]}", finite_hint)
    return output, checked


def numeric_gradients(case, reference, options, upstream):
    """Central differences of Σ upstream·reference(...) for every float input, by index."""
    inputs = [a.copy() if isinstance(a, np.ndarray) else a for a in case.inputs]

    def loss():
        return float(np.sum(upstream * np.asarray(reference(*inputs, **options))))

    return {i: numerical_gradient(loss, a) for i, a in enumerate(inputs) if differentiable(a)}


def gradient_hint(case, reference, options, i, got, numeric):
    """What a wrong gradient of input i most likely is."""
    ones = numeric_gradients(case, reference, options, np.ones_like(case.upstream))[i]
    if not proportional(ones, numeric, 1) and proportional(got, ones, 1):
        return ("backward ignores its `grad` argument: the chain rule multiplies the local "
                "derivative by the upstream gradient")
    rows = len(case.inputs[i]) if np.ndim(case.inputs[i]) else 1
    return factor_hint(got, numeric, [
        (-1, "a sign: the right size, the wrong sign"),
        (rows, f"a factor N = {rows}: a mean over the rows in the forward makes each row's "
               f"gradient carry 1/N"),
        (1 / rows, f"a factor 1/N = 1/{rows}: divided by N once too often"),
        (2, "a factor 2"), (0.5, "a factor 1/2")]) or (
        "compare each term of your backward with the derivation, on the case above")


def check_forward(function_class, options):
    def check(case):
        output, _ = run(function_class, case, options)
        tolerance = 1e-8 * (1 + np.abs(case.expected))
        message = worst_mismatch("forward", case.expected, output, tolerance)
        if message is None:
            return None
        rows = len(case.inputs[0]) if np.ndim(case.inputs[0]) else 1
        return Finding(message, factor_hint(output, case.expected, [
            (-1, "a sign"), (rows, f"a sum over N = {rows} rows where the reference takes a mean"),
            (1 / rows, f"a mean over N = {rows} rows where the reference takes a sum")])
            or "the forward differs from the reference: start with the case above")
    return check


def check_large_inputs(function_class, reference, options, large):
    """check_gradients on the case with its float inputs scaled by `large`."""
    scaled_up = check_gradients(function_class, reference, options, hint=(
        f"right on ordinary inputs, wrong with inputs of size ~{large:g}: an overflow. "
        f"Exponentiate only differences x − max(x) (the log-sum-exp trick): e^710 is "
        f"already inf in float64"))

    def check(case):
        finding = scaled_up(scaled(case, large, reference, options))
        return finding and replace(finding, message=f"with the float inputs above × {large:g}: "
                                                    f"{finding.message}")
    return check


def check_gradients(function_class, reference, options, hint=None):
    """Forward's finite output and the gradients against finite differences; with `hint`,
    the forward's value too, and every failure gets that hint."""
    def check(case):
        if not np.isfinite(case.expected).all():
            return None  # the op itself overflows here: nothing to compare
        try:
            output, grads = run(function_class, case, options)
        except Broken as broken:
            if hint is None:
                raise
            return Finding(broken.finding.message, hint)
        if hint is not None:
            message = worst_mismatch("forward", case.expected, output,
                                     1e-8 * (1 + np.abs(case.expected)))
            if message:
                return Finding(message, hint)
        numeric = numeric_gradients(case, reference, options, case.upstream)
        size = 1e-12 + max(np.abs(n).max(initial=0) for n in numeric.values())
        weighted = float(np.sum(case.upstream * case.expected))
        tolerance = 1e-5 * size + 1e-9 * (1 + abs(weighted))  # rounding of ℓ over the step 1e-6
        for i, n in numeric.items():
            message = worst_mismatch(f"d{case.names[i]}", n, grads[i], tolerance)
            if message:
                return Finding(message.replace("expected", "expected (finite differences)"),
                               hint or gradient_hint(case, reference, options, i, grads[i], n))
        return None
    return check


def check_function(function_class, reference, inputs=None, *, options=None, large=None,
                   max_examples=100, seed=0, verbose=True):
    """Check the reader's `mg.Function` subclass against a NumPy `reference` of its forward.

    `inputs` is a hypothesis strategy drawing the forward's positional inputs (a tuple, or
    one array); by default one float64 array of any shape up to 3 axes. `options` are keyword
    arguments for forward and reference alike. `large` (e.g. 1e3) adds the `large_inputs`
    property: the same checks with the float inputs scaled by `large`. Prints the report
    (`verbose=False`: don't) and returns a CheckResult (`.passed`, `.failed` from PROPERTIES,
    `.not_written`); never raises for a mistake in the reader's class.
    """
    options = dict(options or {})
    inputs = inputs if inputs is not None else shapes().flatmap(values)
    drawn = cases(inputs, reference, options, input_names(function_class))

    def call(case):
        run(function_class, case, options)

    found = [
        gate("runs", "forward and backward return without raising", call),
        gate("shapes", "the output has the reference's shape, each gradient its input's", call),
        gate("finite", "no NaN or inf where the reference is finite", call),
        Property("forward", "forward equals the reference", check_forward(function_class, options)),
        Property("finite_differences", "each gradient matches central differences of "
                 "Σ grad·reference (random grad)",
                 check_gradients(function_class, reference, options), costly=True),
    ]
    if large is not None:
        found.append(Property(
            "large_inputs", f"still right with the float inputs × {large:g} (searched once "
            f"forward and finite_differences hold)",
            check_large_inputs(function_class, reference, options, large),
            only_if=("forward", "finite_differences"), costly=True))
    return run_checks(name_of(function_class), drawn, found, Case.describe, max_examples, seed,
                      verbose)


def scaled(case, factor, reference, options):
    """The case with its float inputs multiplied by `factor` (and the reference recomputed)."""
    inputs = tuple(np.asarray(a * factor) if differentiable(a) else a for a in case.inputs)
    return replace(case, inputs=inputs, expected=evaluate(reference, inputs, options))
