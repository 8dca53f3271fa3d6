"""check_batch_norm_backward: right backwards pass, and each classic mistake is named.

Each wrong backward below is one mistake a reader makes deriving BN; the test asserts which
properties the checker puts in `failed` (those that must fail, and those that must not, so
the diagnosis points at the right term). The search itself is the checker's (hypothesis,
seed 0); max_examples is kept small where it suffices, to keep the suite fast.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad.exercises import BATCH_NORM_PROPERTIES, check_batch_norm_backward
from minigrad.nn import functional as F
from tests.exercises.solutions import batch_norm_backward_compact, batch_norm_backward_staged

FEW = 30  # examples per search where a mistake shows on almost any case


def statistics(x, eps, ddof=0):
    mean = x.mean(axis=0)
    std = np.sqrt(x.var(axis=0, ddof=ddof) + eps)
    return x - mean, std, (x - mean) / std


def library(implementation):
    """minigrad's own F.batch_norm (composed, staged or fused), wrapped to the contract."""
    def backward(dy, x, gamma, eps):
        x, gamma = mg.tensor(x, requires_grad=True), mg.tensor(gamma, requires_grad=True)
        beta = mg.zeros(*gamma.shape, dtype=np.float64, requires_grad=True)
        y = F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps,
                         implementation=implementation)
        y.backward(dy)
        return x.grad.data, gamma.grad.data, beta.grad.data
    backward.__qualname__ = f"F.batch_norm(implementation={implementation!r})"
    return backward


# --------------------------------------------------------------------------- the mistakes


def mean_term_dropped(dy, x, gamma, eps):
    """dx without −mean(dx̂)/s: the path through μ is forgotten."""
    _, std, x_hat = statistics(x, eps)
    dx_hat = dy * gamma
    return (dx_hat - x_hat * (dx_hat * x_hat).mean(0)) / std, (dy * x_hat).sum(0), dy.sum(0)


def variance_term_dropped(dy, x, gamma, eps):
    """dx without −x̂·mean(dx̂·x̂)/s: the path through σ² is forgotten."""
    _, std, x_hat = statistics(x, eps)
    dx_hat = dy * gamma
    return (dx_hat - dx_hat.mean(0)) / std, (dy * x_hat).sum(0), dy.sum(0)


def eps_outside_the_root(dy, x, gamma, eps):
    """s = √σ² + ε in place of √(σ² + ε)."""
    centred = x - x.mean(0)
    std = np.sqrt((centred ** 2).mean(0)) + eps
    x_hat, dx_hat = centred / std, dy * gamma
    dx = (dx_hat - dx_hat.mean(0) - x_hat * (dx_hat * x_hat).mean(0)) / std
    return dx, (dy * x_hat).sum(0), dy.sum(0)


def unbiased_variance(dy, x, gamma, eps):
    """σ² divided by m − 1 (np.var's ddof=1, torch.var's default) where BN uses m."""
    _, std, x_hat = statistics(x, eps, ddof=1)
    dx_hat = dy * gamma
    dx = (dx_hat - dx_hat.mean(0) - x_hat * (dx_hat * x_hat).mean(0)) / std
    return dx, (dy * x_hat).sum(0), dy.sum(0)


def dgamma_dbeta_swapped(dy, x, gamma, eps):
    dx, dgamma, dbeta = batch_norm_backward_compact(dy, x, gamma, eps)
    return dx, dbeta, dgamma


def gamma_forgotten_in_dx(dy, x, gamma, eps):
    """dx̂ = dy in place of γ·dy."""
    _, std, x_hat = statistics(x, eps)
    dx = (dy - dy.mean(0) - x_hat * (dy * x_hat).mean(0)) / std
    return dx, (dy * x_hat).sum(0), dy.sum(0)


def wrong_power_in_dvar(dy, x, gamma, eps):
    """The staged chain with dσ² = −½·Σ dx̂·(x − μ)·(σ² + ε)^(−1/2): the power −3/2 lost."""
    m = len(x)
    centred, std, x_hat = statistics(x, eps)
    dx_hat = dy * gamma
    dvar = -0.5 * (dx_hat * centred).sum(0) * (std ** 2) ** -0.5
    dmean = -dx_hat.sum(0) / std
    return dx_hat / std + dvar * 2 * centred / m + dmean / m, (dy * x_hat).sum(0), dy.sum(0)


def x_where_centred_belongs(dy, x, gamma, eps):
    """The staged chain with Σ dx̂·x in dσ², where Σ dx̂·(x − μ) belongs."""
    m = len(x)
    centred, std, x_hat = statistics(x, eps)
    dx_hat = dy * gamma
    dvar = -0.5 * (dx_hat * x).sum(0) * std ** -3
    dmean = -dx_hat.sum(0) / std
    return dx_hat / std + dvar * 2 * centred / m + dmean / m, (dy * x_hat).sum(0), dy.sum(0)


def keepdims_parameter_gradients(dy, x, gamma, eps):
    dx, dgamma, dbeta = batch_norm_backward_compact(dy, x, gamma, eps)
    return dx, dgamma[None], dbeta[None]


def zero_over_zero(dy, x, gamma, eps):
    """dx scaled by Σ dy / Σ dy: NaN (0/0) whenever the upstream sums to 0."""
    dx, dgamma, dbeta = batch_norm_backward_compact(dy, x, gamma, eps)
    return dx * (dy.sum() / dy.sum()), dgamma, dbeta


def raises_an_error(dy, x, gamma, eps):
    return dy @ x, gamma, gamma


def stub(dy, x, gamma, eps):
    raise NotImplementedError


MISTAKES = [
    # (backward, properties that must be in failed, properties that must not)
    (mean_term_dropped, {"finite_differences", "sum_dx_zero"}, {"sum_dx_xhat_zero", "dgamma"}),
    (variance_term_dropped, {"finite_differences", "sum_dx_xhat_zero"}, {"sum_dx_zero"}),
    (eps_outside_the_root, {"eps"}, {"finite_differences", "sum_dx_zero", "theorem_4_1"}),
    (unbiased_variance, {"dgamma", "finite_differences"}, {"sum_dx_zero", "dbeta"}),
    (dgamma_dbeta_swapped, {"dgamma", "dbeta"}, {"sum_dx_zero", "sum_dx_xhat_zero",
                                                 "theorem_4_1"}),
    (gamma_forgotten_in_dx, {"theorem_4_1", "finite_differences"},
     {"sum_dx_zero", "sum_dx_xhat_zero", "dgamma", "dbeta"}),
    (wrong_power_in_dvar, {"scale_invariance", "sum_dx_xhat_zero"}, {"sum_dx_zero"}),
    (x_where_centred_belongs, {"shift_invariance"}, {"sum_dx_zero"}),
]


@pytest.mark.parametrize("backward", [library("composed"), library("staged"), library("fused"),
                                      batch_norm_backward_staged, batch_norm_backward_compact],
                         ids=["composed", "staged", "fused", "solution-staged",
                              "solution-compact"])
def test_right_backwards_pass_every_property(backward):
    result = check_batch_norm_backward(backward, max_examples=FEW, verbose=False)
    assert result.passed, result.report()
    assert result.failed == [] and not result.not_written
    assert [o.prop.name for o in result.outcomes] == list(BATCH_NORM_PROPERTIES)


@pytest.mark.parametrize("backward, must_fail, must_pass", MISTAKES,
                         ids=[m[0].__name__ for m in MISTAKES])
def test_each_mistake_is_named(backward, must_fail, must_pass):
    result = check_batch_norm_backward(backward, max_examples=FEW, verbose=False)
    assert not result.passed
    assert must_fail <= set(result.failed), result.report()
    assert not must_pass & set(result.failed), result.report()
    assert set(result.failed) <= set(BATCH_NORM_PROPERTIES)


@pytest.mark.parametrize("backward, words", [
    (unbiased_variance, "unbiased variance"),
    (dgamma_dbeta_swapped, "dγ and dβ are swapped"),
    (gamma_forgotten_in_dx, "γ is forgotten in dx"),
    (eps_outside_the_root, "where ε enters"),
])
def test_the_hint_names_the_mistake(backward, words):
    assert words in check_batch_norm_backward(backward, max_examples=FEW, verbose=False).report()


def test_a_default_check_passes_a_right_backward():
    assert check_batch_norm_backward(batch_norm_backward_compact, verbose=False).passed


def test_the_report_shrinks_to_two_rows_and_one_feature(capsys):
    result = check_batch_norm_backward(mean_term_dropped)
    printed = capsys.readouterr().out
    assert printed.strip() == result.report()
    assert result.failed == ["finite_differences", "sum_dx_zero", "theorem_4_1"]
    detail = printed[printed.index("FAIL sum_dx_zero:"):]
    assert "smallest failing case: N = 2, D = 1" in detail
    assert "worst element Σ_n dx[n, 0]: expected 0, got" in detail
    assert "hint: the mean path: dμ" in detail
    for line in ("  ok          sum_dx_xhat_zero", "  FAIL        sum_dx_zero"):
        assert line in printed


def test_a_broken_function_is_reported_not_raised():
    for backward, name, words in [(keepdims_parameter_gradients, "shapes",
                                   "dgamma has shape (1, 1), expected (1,)"),
                                  (zero_over_zero, "finite", "is nan"),
                                  (raises_an_error, "runs", "raised ValueError: matmul")]:
        result = check_batch_norm_backward(backward, max_examples=FEW, verbose=False)
        assert result.failed == [name], result.report()
        assert words in result.report()
        assert "not checked" in result.report()


def test_a_stub_is_not_written_yet(capsys):
    result = check_batch_norm_backward(stub)
    assert result.not_written and not result.passed and result.failed == ["runs"]
    assert capsys.readouterr().out.startswith("stub: not written yet")


def test_wrong_return_values_are_reported():
    for returned, words in [(None, "returned NoneType"), ((1.0, 2.0), "of length 2"),
                            (("a", "b", "c"), "not a numeric array")]:
        def backward(dy, x, gamma, eps, returned=returned):
            return returned
        result = check_batch_norm_backward(backward, max_examples=5, verbose=False)
        assert result.failed == ["shapes"], result.report()
        assert words in result.report()
