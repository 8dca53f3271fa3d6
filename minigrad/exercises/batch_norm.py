"""`check_batch_norm_backward`: properties that say which term of a BatchNorm backward is wrong.

The reader's function `fn(dy, x, gamma, eps) -> (dx, dgamma, dbeta)` is training-mode
BatchNorm1d's backward: x and dy of shape (N, D), statistics over the batch (axis 0, m = N
values each), biased variance, for the forward

    μ = mean(x),  σ² = mean((x − μ)²),  s = √(σ² + ε),  x̂ = (x − μ)/s,  y = γ·x̂ + β.

The right answer, with dx̂ = γ·dy, is

    dx = (1/s)·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)),   dγ = Σ_n dy·x̂,   dβ = Σ_n dy.

The properties, why each holds, and what its failure usually means (the hint it prints):

runs, shapes, finite   the function returns, (N, D), (D,), (D,) arrays, without NaN or inf.
finite_differences     dx, dγ, dβ equal the central differences of ℓ = Σ dy·y (ε = 0): the
                       definition of the gradient. Fails for any wrong term; the others say which.
sum_dx_zero            Σ_n dx = 0 per feature, for any ε: adding a constant to a column of x
                       leaves y unchanged, so the gradient has no component along 1.
                       Failure: the mean path dμ, the term −mean(dx̂)/s, is missing or wrong.
sum_dx_xhat_zero       Σ_n dx·x̂ = 0 per feature at ε = 0: stretching a column about its mean
                       leaves y unchanged, so the gradient has no component along x̂. Failure:
                       the variance path dσ², the term −x̂·mean(dx̂·x̂)/s, is missing or wrong.
dgamma, dbeta          dγ = Σ dy·x̂ and dβ = Σ dy (y is linear in γ and β). Failure: the two
                       swapped, x̂ built with the unbiased variance (off by √((m−1)/m)) or
                       with ε outside the root, a mean in place of a sum, γ·dy in place of dy.
theorem_4_1            ‖dx‖² = (γ²/σ²)(‖dy‖² − ⟨1, dy⟩²/m − ⟨dy, x̂⟩²/m) per feature at ε = 0
                       (Santurkar et al. 2018, Theorem 4.1): dx is γ/σ times dy projected off
                       span{1, x̂}, and Pythagoras. Failure with both sums at 0: the overall
                       factor γ/s of dx is off (γ forgotten in dx; the unbiased variance).
shift_invariance       dx, dγ, dβ unchanged when a constant is added to a column of x (any ε):
                       x̂ does not see the shift. Failure: x where x − μ belongs.
scale_invariance       x → a·x per column (a > 0, ε = 0) divides dx by a and leaves dγ, dβ:
                       x̂ does not see the scale, and 1/s scales by 1/a. Failure: a power of σ.
eps                    finite differences hold for ε > 0 too (0.001 to 1), searched only when
                       they hold at ε = 0. Failure: where ε enters (s = √(σ² + ε) everywhere).
"""
import re
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
from .strategies import normalization_inputs, small_integers

PROPERTIES = ("runs", "shapes", "finite", "finite_differences", "sum_dx_zero",
              "sum_dx_xhat_zero", "dgamma", "dbeta", "theorem_4_1", "shift_invariance",
              "scale_invariance", "eps")
EPSILONS = (0.0, 1e-5, 1e-3, 0.1, 1.0)
POSITIVE_EPSILONS = (0.1, 1e-2, 1e-3, 0.1, 1.0)  # in place of EPSILONS, for `eps`
RTOL = 1e-6  # against the size of dx's terms; float64 rounding is ~1e-15, a wrong term O(1)


@dataclass
class Case:
    """One input to the reader's backward: x and dy (N, D), γ (D,), ε."""
    x: np.ndarray
    gamma: np.ndarray
    eps: float
    dy: np.ndarray

    @property
    def m(self):
        return len(self.x)

    def statistics(self):
        """μ, σ² (biased), s = √(σ² + ε) and x̂, per feature."""
        mean = self.x.mean(axis=0)
        var = ((self.x - mean) ** 2).mean(axis=0)
        std = np.sqrt(var + self.eps)
        return mean, var, std, (self.x - mean) / std

    def expected(self):
        """The right (dx, dγ, dβ), from the closed form."""
        _, _, std, x_hat = self.statistics()
        dx_hat = self.dy * self.gamma
        dx = (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0)) / std
        return dx, (self.dy * x_hat).sum(axis=0), self.dy.sum(axis=0)

    def term_size(self):
        """The size of dx's terms, |γ|·max|dy|/s: what 'close to 0' is measured against."""
        _, _, std, _ = self.statistics()
        return float((np.abs(self.gamma) / std).max() * np.abs(self.dy).max()) + 1e-12

    def describe(self):
        n, d = self.x.shape
        return [f"N = {n}, D = {d}, eps = {self.eps}",
                format_array("x    ", self.x), format_array("gamma", self.gamma),
                format_array("dy   ", self.dy)]


@st.composite
def cases(draw):
    x, gamma, _ = draw(normalization_inputs(min_batch=2, max_batch=5, max_features=3))
    return Case(x, gamma, draw(st.sampled_from(EPSILONS)), draw(small_integers(x.shape)))


# --------------------------------------------------------------------------- calling fn


SHAPE_HINT = ("dx has the shape of x, (N, D); dgamma and dbeta the shape of gamma, (D,): "
              "sum over axis 0 without keepdims")
FINITE_HINT = ("NaN or inf: a division by zero, or the square root of a negative number "
               "(σ² computed as mean(x²) − μ² can dip below 0; (σ² + ε)^(−3/2) needs σ² + ε > 0)")


def outputs(fn, case):
    """fn's (dx, dγ, dβ) on `case`, or Broken when it raises, misshapes or returns NaN."""
    result = call_safely(fn, case.dy, case.x, case.gamma, case.eps)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        raise Broken("shapes", Finding(f"returned {type(result).__name__} "
                                       f"{_length(result)}, expected (dx, dgamma, dbeta)",
                                       "return the three gradients as a tuple"))
    names, shapes = ("dx", "dgamma", "dbeta"), (case.x.shape, case.gamma.shape, case.gamma.shape)
    arrays = [as_float_array(a, name) for a, name in zip(result, names)]
    for a, name, shape in zip(arrays, names, shapes):
        expect_shape(a, shape, name, SHAPE_HINT)
    for a, name in zip(arrays, names):
        expect_finite(a, name, FINITE_HINT)
    return arrays


def _length(result):
    return f"of length {len(result)}" if isinstance(result, (tuple, list)) else ""


# --------------------------------------------------------------------------- the properties


def finite_differences(x, gamma, eps, dy):
    """(dx, dγ, dβ) by central differences of ℓ = Σ dy·y (float64, step 1e-6)."""
    x, gamma, beta = x.copy(), gamma.copy(), np.zeros_like(gamma)

    def loss():
        mean = x.mean(axis=0)
        x_hat = (x - mean) / np.sqrt(((x - mean) ** 2).mean(axis=0) + eps)
        return float(np.sum(dy * (gamma * x_hat + beta)))

    return tuple(numerical_gradient(loss, a) for a in (x, gamma, beta))


def worst_of(names, expected, got, tolerance):
    """The worst mismatch over several arrays, in the order given (the first that is off)."""
    for name, e, g in zip(names, expected, got):
        message = worst_mismatch(name, e, g, tolerance)
        if message:
            return message
    return None


def dx_factor_hint(case, dx):
    """What a proportional dx says: γ forgotten, the unbiased variance, a sign."""
    dx_right, _, _ = case.expected()
    m, gamma = case.m, case.gamma
    return factor_hint(dx, dx_right, [
        (1 / gamma, "γ is forgotten in dx (dx̂ = γ·dy: every term of dx carries γ)"),
        (gamma, "γ is applied twice in dx"),
        (np.sqrt(m / (m - 1)), "s uses the unbiased variance (÷ (m − 1)); BN's forward uses "
                               "the biased one (÷ m)"),
        (-1, "a sign: dx has the right size but the wrong sign")])


def finite_difference_mismatch(fn, case):
    """The worst of dx, dγ, dβ against finite differences, or None."""
    got = outputs(fn, case)
    numeric = finite_differences(case.x, case.gamma, case.eps, case.dy)
    message = worst_of(("dx", "dgamma", "dbeta"), numeric, got, RTOL * case.term_size())
    return message and message.replace("expected", "expected (finite differences)")


def check_finite_differences(fn):
    def check(case):
        message = finite_difference_mismatch(fn, case)
        return message and Finding(message, dx_factor_hint(case, outputs(fn, case)[0]) or (
            "dx, dγ or dβ is not the gradient of ℓ = Σ dy·y; the failing properties below "
            "point at the term"))
    return check


def check_eps(fn):
    def check(case):
        message = finite_difference_mismatch(fn, case)
        return message and Finding(message, (
            "right at ε = 0, wrong for ε > 0: where ε enters. It belongs in s = √(σ² + ε) "
            "and nowhere else: in x̂ = (x − μ)/s and in every 1/s of dx (not 1/(√σ² + ε), "
            "not 1/√σ², not √(σ² + ε) in one term and σ in another)"))
    return check


def check_sum_dx_zero(fn):
    def check(case):
        dx = outputs(fn, case)[0]
        message = worst_mismatch("Σ_n dx[n, {}]", np.zeros(dx.shape[1]), dx.sum(axis=0),
                                 RTOL * case.m * case.term_size())
        return message and Finding(message, (
            "the mean path: dμ, the term −mean(dx̂)/s of dx, is missing or wrong. Adding a "
            "constant to a column of x leaves y unchanged, so dx must sum to 0 over the batch"))
    return check


def check_sum_dx_xhat_zero(fn):
    def check(case):
        dx = outputs(fn, case)[0]
        x_hat = case.statistics()[3]
        message = worst_mismatch("Σ_n dx[n, {0}]·x̂[n, {0}]", np.zeros(dx.shape[1]),
                                 (dx * x_hat).sum(axis=0), RTOL * case.m * case.term_size())
        return message and Finding(message, (
            "the variance path: dσ², the term −x̂·mean(dx̂·x̂)/s of dx, is missing or wrong "
            "(a wrong factor in dσ² = −½·Σ dx̂·(x − μ)·(σ² + ε)^(−3/2), or its term "
            "dσ²·2(x − μ)/m dropped). Stretching a column of x about its mean leaves y "
            "unchanged (ε = 0), so dx has no component along x̂"))
    return check


def check_dgamma(fn):
    def check(case):
        dgamma = outputs(fn, case)[1]
        _, right, dbeta = case.expected()
        message = worst_mismatch("dgamma", right, dgamma, RTOL * case.term_size() * case.m)
        if message is None:
            return None
        mean, m = case.statistics()[0], case.m
        hint = factor_hint(dgamma, right, [
            (np.sqrt((m - 1) / m), "x̂ uses the unbiased variance (÷ (m − 1)); BN's forward "
                                   "uses the biased one (÷ m)"),
            (1 / m, "a mean over the batch where dγ needs a sum"),
            (case.gamma, "dγ takes dy·x̂, not dx̂·x̂ = γ·dy·x̂")])
        if proportional(dgamma, dbeta, 1):
            hint = "dγ and dβ are swapped: dγ = Σ dy·x̂, dβ = Σ dy"
        elif proportional(dgamma, (case.dy * (case.x - mean)).sum(axis=0), 1):
            hint = "dγ = Σ dy·x̂ with x̂ = (x − μ)/s, not Σ dy·(x − μ)"
        elif case.eps > 0 and check(at_zero_eps(case)) is None:
            hint = ("right at ε = 0, wrong for ε > 0: where ε enters x̂ = (x − μ)/√(σ² + ε) "
                    "(inside the square root)")
        return Finding(message, hint or "dγ = Σ_n dy·x̂, x̂ = (x − μ)/√(σ² + ε) as in the forward")
    return check


def check_dbeta(fn):
    def check(case):
        dbeta = outputs(fn, case)[2]
        _, dgamma, right = case.expected()
        message = worst_mismatch("dbeta", right, dbeta, RTOL * case.term_size() * case.m)
        if message is None:
            return None
        hint = factor_hint(dbeta, right, [
            (1 / case.m, "a mean over the batch where dβ needs a sum"),
            (case.gamma, "dβ takes dy, not dx̂ = γ·dy")])
        if proportional(dbeta, dgamma, 1):
            hint = "dγ and dβ are swapped: dγ = Σ dy·x̂, dβ = Σ dy"
        return Finding(message, hint or "dβ = Σ_n dy: y = γx̂ + β is linear in β")
    return check


def theorem_4_1_bound(case):
    """(γ²/σ²)(‖dy‖² − ⟨1, dy⟩²/m − ⟨dy, x̂⟩²/m) per feature (ε = 0)."""
    _, var, _, x_hat = case.statistics()
    dy, m = case.dy, case.m
    off_span = (dy ** 2).sum(0) - dy.sum(0) ** 2 / m - (dy * x_hat).sum(0) ** 2 / m
    return case.gamma ** 2 / var * off_span


def check_theorem_4_1(fn):
    def check(case):
        dx = outputs(fn, case)[0]
        bound, squared = theorem_4_1_bound(case), (dx ** 2).sum(axis=0)
        scale = case.term_size() ** 2 * case.m
        message = worst_mismatch("‖dx[:, {}]‖²", bound, squared, RTOL * scale)
        if message is None:
            return None
        m = case.m
        hint = factor_hint(squared, bound, [
            (1 / case.gamma ** 2, "γ is forgotten in dx (dx̂ = γ·dy: every term of dx carries γ)"),
            (case.gamma ** 2, "γ is applied twice in dx"),
            (m / (m - 1), "s uses the unbiased variance (÷ (m − 1)) in place of the biased one")])
        return Finding(message, hint or (
            "dx is γ/s times dy projected off span{1, x̂} (Santurkar et al. 2018, Theorem 4.1); "
            "if sum_dx_zero and sum_dx_xhat_zero hold, the overall factor γ/s of dx is wrong, "
            "else see those two"))
    return check


def check_shift_invariance(fn):
    def check(case):
        shift = np.linspace(-2.0, 3.0, case.x.shape[1])
        before = outputs(fn, case)
        after = outputs(fn, Case(case.x + shift, case.gamma, case.eps, case.dy))
        message = worst_of(("dx", "dgamma", "dbeta"), before, after,
                           RTOL * case.m * case.term_size())
        return message and Finding(
            message.replace("worst element", "with x + c per column, worst element")
                   .replace("expected", "expected (as without c)"),
            "adding a constant c to a column of x changes your gradients, though x̂ does not "
            "see it: somewhere x appears where x − μ belongs")
    return check


def check_scale_invariance(fn):
    def check(case):
        scale = np.linspace(0.5, 4.0, case.x.shape[1])
        dx, dgamma, dbeta = outputs(fn, case)
        after = outputs(fn, Case(case.x * scale, case.gamma, case.eps, case.dy))
        message = worst_of(("dx", "dgamma", "dbeta"), (dx / scale, dgamma, dbeta), after,
                           RTOL * case.m * case.term_size())
        return message and Finding(
            message.replace("worst element", "with a·x per column, worst element")
                   .replace("expected", "expected (as without a, dx divided by a)"),
            "stretching a column of x by a must divide dx by a and leave dγ, dβ (ε = 0), since "
            "x̂ does not see a and 1/s scales by 1/a: a power of σ is off, e.g. "
            "(σ² + ε)^(−1/2) where dσ² needs (σ² + ε)^(−3/2)")
    return check


def at_zero_eps(case):
    return replace(case, eps=0.0)


def at_positive_eps(case):
    """The same case with an ε > 0 large enough for a misplaced ε to show."""
    return replace(case, eps=POSITIVE_EPSILONS[EPSILONS.index(case.eps)])


def properties(fn):
    def call(case):
        outputs(fn, case)

    return [
        gate("runs", "the function returns without raising", call),
        gate("shapes", "it returns (dx, dgamma, dbeta) shaped (N, D), (D,), (D,)", call),
        gate("finite", "no NaN or inf in dx, dgamma, dbeta", call),
        Property("finite_differences", "dx, dγ, dβ match central differences of Σ dy·y (ε = 0)",
                 check_finite_differences(fn), at_zero_eps, costly=True),
        Property("sum_dx_zero", "Σ_n dx = 0 per feature (any ε)", check_sum_dx_zero(fn)),
        Property("sum_dx_xhat_zero", "Σ_n dx·x̂ = 0 per feature (ε = 0)",
                 check_sum_dx_xhat_zero(fn), at_zero_eps),
        Property("dgamma", "dγ = Σ_n dy·x̂ (any ε)", check_dgamma(fn)),
        Property("dbeta", "dβ = Σ_n dy (any ε)", check_dbeta(fn)),
        Property("theorem_4_1", "‖dx‖² = (γ²/σ²)(‖dy‖² − ⟨1,dy⟩²/m − ⟨dy,x̂⟩²/m) (ε = 0)",
                 check_theorem_4_1(fn), at_zero_eps),
        Property("shift_invariance", "dx, dγ, dβ unchanged by x + c per column (any ε)",
                 check_shift_invariance(fn)),
        Property("scale_invariance", "x → a·x per column: dx/a, same dγ, dβ (ε = 0)",
                 check_scale_invariance(fn), at_zero_eps),
        Property("eps", "finite differences hold for ε > 0 too (searched once they hold at 0)",
                 check_eps(fn), at_positive_eps, only_if=("finite_differences",), costly=True),
    ]


def check_batch_norm_backward(fn, *, max_examples=100, seed=0, verbose=True):
    """Check the reader's BatchNorm backward `fn(dy, x, gamma, eps) -> (dx, dgamma, dbeta)`.

    Tests each property in the module docstring on `max_examples` random float64 cases (x of
    shape (N, D) with 2 ≤ N ≤ 5 and 1 ≤ D ≤ 3, without ties; dy of small integers; γ away
    from 0; ε from EPSILONS), shrinks each failure to its smallest case, prints the report
    (`verbose=False`: don't) and returns a CheckResult: `.passed`, `.failed` (names from
    PROPERTIES), `.not_written`, `.report()`. The check itself never raises: an error in `fn`
    is a failure it reports.
    """
    title = re.sub(r"^<lambda>$", "the lambda", name_of(fn))
    return run_checks(title, cases(), properties(fn), Case.describe, max_examples, seed,
                      verbose)
