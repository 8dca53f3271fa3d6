"""The helper that checks any op (MyGrad's idea), and the hypothesis strategies, which live in
minigrad/exercises/strategies.py so that the tests and the exercise checkers share one copy.

`check_op(op, reference, *arrays)` checks an op three ways: its forward against the NumPy
expression `reference`, its backward against central finite differences (float64, random
upstream gradient), and that a float32 input stays float32 all the way through backward.
"""
import os

import numpy as np
from hypothesis import settings

import minigrad as mg
from minigrad.exercises.strategies import (
    away_from_kinks,
    broadcastable_shapes,
    distinct_arrays,
    distinct_values,
    positive_values,
    shape_and_axis,
    shapes,
    values,
)

# the strategies are re-exported: tests import everything from here
__all__ = ["check_op", "check_dtype_kept", "examples", "away_from_kinks", "broadcastable_shapes",
           "distinct_arrays", "distinct_values", "positive_values", "shape_and_axis", "shapes", "values"]


def check_op(op, reference, *arrays, grad=True, atol=1e-6, rtol=1e-6):
    """Forward vs NumPy, backward vs finite differences, dtype kept in float32."""
    tensors = [mg.tensor(a, dtype=np.float64, requires_grad=grad) for a in arrays]
    out = op(*tensors)
    expected = reference(*arrays)
    assert out.shape == np.shape(expected), f"output shape {out.shape}, NumPy's {np.shape(expected)}"
    np.testing.assert_allclose(out.data, expected, atol=atol, rtol=rtol)
    if grad:
        mg.gradcheck(op, [mg.tensor(a, dtype=np.float64, requires_grad=True) for a in arrays])
    check_dtype_kept(op, *arrays, grad=grad)


def check_dtype_kept(op, *arrays, grad=True):
    """A float32 forward and backward must stay float32 (no silent float64 anywhere)."""
    tensors = [mg.tensor(a, dtype=np.float32, requires_grad=grad) for a in arrays]
    out = op(*tensors)
    assert out.dtype == np.float32, f"output dtype {out.dtype} from float32 inputs"
    if grad:
        out.backward(np.ones(out.shape, np.float32))
        for i, t in enumerate(tensors):
            assert t.grad is not None, f"input {i} got no gradient"
            assert t.grad.dtype == np.float32, f"input {i} got a {t.grad.dtype} gradient"


def examples(at_least):
    """Hypothesis settings with at least `at_least` examples, or the profile's count if larger.

    The CI profile's 15 examples suit most properties; the ones the reading group runs
    (BatchNorm's) get 100, the core ops' forward/backward checks 50: where bugs would hide.
    A mutation run (HYPOTHESIS_PROFILE=mutation, docs/testing.md) runs every test once per
    mutant, so there every property keeps that profile's few examples.
    """
    if os.environ.get("HYPOTHESIS_PROFILE") == "mutation":
        return settings()
    return settings(max_examples=max(at_least, settings.default.max_examples))
