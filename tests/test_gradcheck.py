"""gradcheck must pass a correct backward and catch (and locate) a wrong one."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.gradcheck import GradcheckError


def inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [mg.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes]


class WrongSecondInput(mg.Function):
    """z = x * y with dz/dy off by a factor 2 at one element only."""

    def forward(ctx, x, y):
        ctx.save(x, y)
        return x * y

    def backward(ctx, grad):
        x, y = ctx.saved
        dy = grad * x
        dy[1, 2] *= 2
        return grad * y, dy


class StandardizeForgettingTheVariance(mg.Function):
    """z = (x - μ)/σ with a backward that forgets the path through σ: (g - mean g)/σ.

    Σ z = 0 whatever x is, so with an upstream of ones the true gradient is 0, and so is
    this wrong one: a ones-upstream check passes. DESIGN.md's BatchNorm blind spot.
    """

    def forward(ctx, x):
        ctx.sigma = x.std()
        return (x - x.mean()) / ctx.sigma

    def backward(ctx, grad):
        return (grad - grad.mean()) / ctx.sigma


def test_a_correct_backward_passes():
    x, y = inputs((3, 4), (4,))
    assert mg.gradcheck(lambda a, b: (a * b).tanh() @ b, [x, y])


def test_a_wrong_backward_is_caught_and_located():
    x, y = inputs((2, 3), (2, 3))
    message = r"input 1 \(shape \(2, 3\)\) at index \(1, 2\): analytic .* vs numeric"
    with pytest.raises(GradcheckError, match=message):
        mg.gradcheck(WrongSecondInput.apply, [x, y])


def test_the_error_reports_both_values():
    x, y = inputs((2, 3), (2, 3))
    with pytest.raises(GradcheckError) as error:
        mg.gradcheck(WrongSecondInput.apply, [x, y])
    analytic, numeric = (float(v) for v in
                         str(error.value).split("analytic ")[1].split(" vs numeric "))
    assert analytic == pytest.approx(2 * numeric, rel=1e-5)


def test_a_random_upstream_catches_what_a_ones_upstream_misses():
    (x,) = inputs((5,))
    StandardizeForgettingTheVariance.apply(x).backward(np.ones(5))
    np.testing.assert_allclose(x.grad.data, 0, atol=1e-12)  # = d(Σ z)/dx: looks right
    with pytest.raises(GradcheckError, match="input 0"):
        mg.gradcheck(StandardizeForgettingTheVariance.apply, [x])


def test_inputs_without_grad_are_skipped_and_untouched():
    x, w = inputs((2, 3), (3, 2))
    w.requires_grad = False
    before = w.data.copy()
    assert mg.gradcheck(lambda a, b: a @ b, [x, w])
    np.testing.assert_array_equal(w.data, before)


def test_inputs_are_restored_after_nudging():
    x, y = inputs((2, 3), (2, 3))
    before = x.data.copy(), y.data.copy()
    mg.gradcheck(lambda a, b: a * b, [x, y])
    np.testing.assert_array_equal(x.data, before[0])
    np.testing.assert_array_equal(y.data, before[1])


def test_an_output_that_ignores_an_input_has_zero_gradient():
    x, y = inputs((3,), (3,))
    assert mg.gradcheck(lambda a, b: a * 2.0, [x, y])
    with mg.no_grad():
        constant = mg.tensor(np.ones(3))
    assert mg.gradcheck(lambda a: constant, [x])


def test_scalar_and_non_contiguous_inputs():
    (x,) = inputs(())
    assert mg.gradcheck(lambda a: a.exp(), [x])
    y = mg.tensor(np.random.default_rng(1).standard_normal((3, 4)).T, requires_grad=True)
    assert mg.gradcheck(lambda a: a.sigmoid(), [y])


def test_float32_inputs_are_refused():
    x = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="input 0 has dtype float32; use float64"):
        mg.gradcheck(lambda a: a * 2.0, [x])
