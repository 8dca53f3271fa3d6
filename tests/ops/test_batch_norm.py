"""Properties of `F.batch_norm` (minigrad/ops/batch_norm.md: [IS15] §3, [S18] Theorem 4.1),
checked on all three implementations.

Hypothesis draws (N, C), (N, C, L) and (N, C, H, W) inputs with N ≥ 2, random γ, β and ε, and a
random upstream gradient (never ones: BN's outputs sum to a constant, so a ones upstream hides
a missing variance path). Everything runs in float64 except the dtype checks.
"""
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad.gradcheck import gradcheck
from minigrad.nn import functional as F
from minigrad.ops import norm
from tests.strategies import away_from_kinks, distinct_values, examples, values

IMPLEMENTATIONS = ["composed", "staged", "fused"]
EPSILONS = [0.0, 1e-5, 1e-3, 0.1, 1.0]


@dataclass
class Case:
    x: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float
    upstream: np.ndarray

    @property
    def axes(self):
        return (0,) + tuple(range(2, self.x.ndim))

    def per_channel(self, a):
        return a.reshape((1, -1) + (1,) * (self.x.ndim - 2))


@st.composite
def cases(draw, eps=st.sampled_from(EPSILONS)):
    """A BN input without ties (so no channel is constant and ε = 0 is safe), γ kept away
    from 0, and an upstream gradient drawn from a seeded generator."""
    ndim = draw(st.sampled_from([2, 3, 4]))
    shape = (draw(st.integers(2, 4)), draw(st.integers(1, 3)),
             *draw(st.lists(st.integers(1, 3), min_size=ndim - 2, max_size=ndim - 2)))
    channels = shape[1]
    x = draw(distinct_values(shape))
    gamma = draw(away_from_kinks((channels,), margin=0.2))
    beta = draw(values((channels,)))
    upstream = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal(shape)
    return Case(x, gamma, beta, draw(eps), upstream)


def run(case, implementation, x=None, affine=True):
    """Training-mode forward and backward (no running stats): output, dx, dγ, dβ."""
    x = mg.tensor(case.x if x is None else x, requires_grad=True)
    weight = mg.tensor(case.gamma, requires_grad=True) if affine else None
    bias = mg.tensor(case.beta, requires_grad=True) if affine else None
    y = F.batch_norm(x, None, None, weight, bias, training=True, eps=case.eps,
                     implementation=implementation)
    y.backward(case.upstream)
    grads = (weight.grad.data, bias.grad.data) if affine else (None, None)
    return (y.data, x.grad.data) + grads


def moments(case):
    """Biased per-channel mean and variance, kept as (1, C, 1, ...)."""
    return (case.x.mean(axis=case.axes, keepdims=True),
            case.x.var(axis=case.axes, keepdims=True))


def running_stats(case, seed):
    """Made-up running mean and variance for eval mode."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(case.gamma.shape), rng.uniform(0.5, 2, case.gamma.shape)


def std(case):
    """s = √(σ² + ε) per channel."""
    return np.sqrt(moments(case)[1] + case.eps)


def normalized(case):
    return (case.x - moments(case)[0]) / std(case)


def dx_hat(case):
    """∂ℓ/∂x̂ = γ·(upstream gradient)."""
    return case.upstream * case.per_channel(case.gamma)


# --------------------------------------------------------------------------- 1. finite differences


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@examples(100)
@given(case=cases(), affine=st.booleans())
def test_backward_matches_finite_differences(implementation, case, affine):
    inputs = [mg.tensor(case.x, requires_grad=True)]
    if affine:
        inputs += [mg.tensor(a, requires_grad=True) for a in (case.gamma, case.beta)]

    def bn(x, weight=None, bias=None):
        return F.batch_norm(x, None, None, weight, bias, training=True, eps=case.eps,
                            implementation=implementation)

    assert gradcheck(bn, inputs)


@examples(100)
@given(case=cases())
def test_eval_backward_matches_finite_differences(case):
    running_mean, running_var = running_stats(case, seed=0)
    inputs = [mg.tensor(a, requires_grad=True) for a in (case.x, case.gamma, case.beta)]

    def bn(x, weight, bias):
        return F.batch_norm(x, running_mean, running_var, weight, bias, training=False,
                            eps=case.eps)

    assert gradcheck(bn, inputs)


# --------------------------------------------------------------------------- 2. agreement


@examples(100)
@given(case=cases(), affine=st.booleans())
def test_implementations_agree_forward_and_backward(case, affine):
    composed, staged, fused = (run(case, name, affine=affine) for name in IMPLEMENTATIONS)
    for name, other in (("staged", staged), ("fused", fused)):
        for what, a, b in zip(("output", "dx", "dgamma", "dbeta"), composed, other):
            if a is not None:
                scale = max(1.0, np.abs(a).max())
                np.testing.assert_allclose(b, a, rtol=0, atol=1e-10 * scale,
                                           err_msg=f"{name} vs composed: {what}")


def channels_last(a):
    """The same (N, C, ...) array, stored with the channel axis innermost (as after Conv2d)."""
    to_last = (0, *range(2, a.ndim), 1)
    return np.ascontiguousarray(a.transpose(to_last)).transpose(np.argsort(to_last))


def strides(a):
    """The strides of the axes longer than 1 (a length-1 axis has no meaningful stride)."""
    return [stride for stride, length in zip(a.strides, a.shape) if length > 1]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@examples(100)
@given(case=cases())
def test_memory_layout_changes_neither_result_nor_layout(implementation, case):
    """Channels-last input gives the same numbers as contiguous input, and fused BN keeps
    the layout in y and dx (the next op then reads memory in order)."""
    stored_last = Case(channels_last(case.x), case.gamma, case.beta, case.eps,
                       channels_last(case.upstream))
    expected, got = run(case, implementation), run(stored_last, implementation)
    for what, a, b in zip(("output", "dx", "dgamma", "dbeta"), expected, got):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12 * max(1.0, np.abs(a).max()),
                                   err_msg=what)
    if implementation == "fused":
        for what, a in zip(("output", "dx"), got):
            assert strides(a) == strides(stored_last.x), (what, a.strides, stored_last.x.strides)


# --------------------------------------------------------------------------- 3. projection


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@examples(100)
@given(case=cases())
def test_input_gradient_sums_to_zero_per_channel(implementation, case):
    """Σ dx = 0 per channel, for every ε: shifting a channel does not change BN's output."""
    _, dx, _, _ = run(case, implementation)
    scale = (np.abs(dx_hat(case)) / std(case)).sum(axis=case.axes)  # the size of dx's terms
    assert np.all(np.abs(dx.sum(axis=case.axes)) <= 1e-10 * scale)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@examples(100)
@given(case=cases())
def test_input_gradient_loses_its_x_hat_component(implementation, case):
    """Σ dx·x̂ = 0 per channel at ε = 0 (dx ⊥ x̂); for ε > 0 exactly the fraction
    ε/(σ² + ε) of Σ dx̂·x̂/s survives, since then ‖x̂‖² = m·σ²/(σ² + ε) < m."""
    _, dx, _, _ = run(case, implementation)
    x_hat, (_, var) = normalized(case), moments(case)
    along_x_hat = (dx_hat(case) * x_hat / std(case)).sum(axis=case.axes)
    survivor = (case.eps / (var + case.eps)).reshape(-1) * along_x_hat
    scale = (np.abs(dx_hat(case) * x_hat) / std(case)).sum(axis=case.axes)
    assert np.all(np.abs((dx * x_hat).sum(axis=case.axes) - survivor) <= 1e-10 * scale)


# --------------------------------------------------------------------------- 4. invariance


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@examples(100)
@given(case=cases(eps=st.just(0.0)), data=st.data())
def test_invariant_to_per_channel_scale_and_shift(implementation, case, data):
    """BN(a·x + b) = BN(x) for a > 0 per channel (ε = 0), and dx scales by 1/a."""
    channels = case.gamma.shape
    a = case.per_channel(data.draw(values(channels, 0.25, 4.0)))
    b = case.per_channel(data.draw(values(channels, -5.0, 5.0)))
    y, dx, dgamma, dbeta = run(case, implementation)
    y_moved, dx_moved, dgamma_moved, dbeta_moved = run(case, implementation, x=a * case.x + b)
    np.testing.assert_allclose(y_moved, y, rtol=1e-9, atol=1e-9)
    term_size = np.abs(dx_hat(case) / (a * std(case))).max()  # dx itself can be ~0 (m = 2)
    np.testing.assert_allclose(dx_moved, dx / a, rtol=1e-8, atol=1e-10 * term_size)
    np.testing.assert_allclose(dgamma_moved, dgamma, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(dbeta_moved, dbeta, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- 5. Theorem 4.1


def theorem_4_1_bound(case):
    """(γ²/σ²)(‖g‖² − ⟨1, g⟩²/m − ⟨g, ŷ⟩²/m) per channel, with σ² + ε in place of σ²."""
    g, x_hat, (_, var) = case.upstream, normalized(case), moments(case)
    m = case.x.size // case.x.shape[1]
    squared = ((g * g).sum(axis=case.axes) - g.sum(axis=case.axes) ** 2 / m
               - (g * x_hat).sum(axis=case.axes) ** 2 / m)
    return case.gamma ** 2 / (var.reshape(-1) + case.eps) * squared


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@examples(100)
@given(case=cases(eps=st.just(0.0)))
def test_theorem_4_1_holds_with_equality_at_zero_eps(implementation, case):
    _, dx, _, _ = run(case, implementation)
    g_squared = (case.upstream ** 2).sum(axis=case.axes)
    term_size = case.gamma ** 2 / moments(case)[1].reshape(-1) * g_squared  # both sides ~0 at m = 2
    np.testing.assert_allclose((dx * dx).sum(axis=case.axes), theorem_4_1_bound(case), rtol=1e-8,
                               atol=1e-10 * term_size.max())


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@examples(100)
@given(case=cases(eps=st.sampled_from(EPSILONS[1:])))
def test_theorem_4_1_is_strict_for_positive_eps(implementation, case):
    _, dx, _, _ = run(case, implementation)
    assert np.all((dx * dx).sum(axis=case.axes) < theorem_4_1_bound(case))


# --------------------------------------------------------------------------- 6. Observation 4.3


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@examples(100)
@given(case=cases())
def test_observation_4_3_gamma_std_beta_mean_returns_the_input(implementation, case):
    mean, var = moments(case)
    case.gamma, case.beta = np.sqrt(var + case.eps).reshape(-1), mean.reshape(-1)
    y, _, _, _ = run(case, implementation)
    np.testing.assert_allclose(y, case.x, rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- 7. statistics


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@examples(100)
@given(case=cases())
def test_training_output_has_zero_mean_and_shrunk_unit_variance(implementation, case):
    """Without γ, β: per channel mean 0 and biased variance σ²/(σ² + ε)."""
    y, _, _, _ = run(case, implementation, affine=False)
    _, var = moments(case)
    np.testing.assert_allclose(y.mean(axis=case.axes), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=case.axes), (var / (var + case.eps)).reshape(-1),
                               rtol=1e-10)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("shape", [(256, 3), (16, 3, 4, 4)], ids=["1d", "2d"])
def test_running_stats_converge_to_the_stream_statistics(implementation, shape):
    """On a stationary stream the running averages settle on the population mean and variance
    (momentum 0.1 averages about 19 batches, so the margins are several standard errors)."""
    mean, std = np.array([-2.0, 0.0, 5.0]), np.array([0.5, 1.0, 3.0])
    for seed in range(3):
        rng = np.random.default_rng(seed)
        running_mean, running_var = np.zeros(3), np.ones(3)
        for _ in range(150):
            x = mg.tensor(rng.standard_normal(shape) * std.reshape(-1, *[1] * (len(shape) - 2))
                          + mean.reshape(-1, *[1] * (len(shape) - 2)))
            F.batch_norm(x, running_mean, running_var, training=True, implementation=implementation)
        assert np.all(np.abs(running_mean - mean) < 0.05 * std), (seed, running_mean)
        assert np.all(np.abs(running_var / std**2 - 1) < 0.1), (seed, running_var)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_running_variance_is_updated_with_the_unbiased_batch_variance(implementation):
    x = np.random.default_rng(0).standard_normal((5, 2, 3))
    running_mean, running_var = np.full(2, 0.5), np.full(2, 2.0)
    F.batch_norm(mg.tensor(x), running_mean, running_var, training=True, momentum=0.25,
                 implementation=implementation)
    np.testing.assert_allclose(running_mean, 0.75 * 0.5 + 0.25 * x.mean(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(running_var, 0.75 * 2.0 + 0.25 * x.var(axis=(0, 2), ddof=1),
                               rtol=1e-12)


# --------------------------------------------------------------------------- 8. eval mode


@examples(100)
@given(case=cases())
def test_eval_is_deterministic_and_each_sample_stands_alone(case):
    running_mean, running_var = running_stats(case, seed=1)
    before = running_mean.copy(), running_var.copy()

    def bn(x):
        return F.batch_norm(mg.tensor(x), running_mean, running_var, mg.tensor(case.gamma),
                            mg.tensor(case.beta), training=False, eps=case.eps).data

    whole = bn(case.x)
    np.testing.assert_array_equal(bn(case.x), whole)
    for i in range(len(case.x)):
        np.testing.assert_allclose(bn(case.x[i:i + 1]), whole[i:i + 1], rtol=1e-12, atol=1e-12)
    x_hat = ((case.x - case.per_channel(running_mean))
             / np.sqrt(case.per_channel(running_var) + case.eps))
    expected = x_hat * case.per_channel(case.gamma) + case.per_channel(case.beta)
    np.testing.assert_allclose(whole, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(running_mean, before[0])
    np.testing.assert_array_equal(running_var, before[1])


# --------------------------------------------------------------------------- dtypes, edge cases


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("training", [True, False])
def test_dtype_is_kept_through_forward_backward_and_running_stats(dtype, implementation, training):
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((4, 3, 5, 5)), dtype=dtype, requires_grad=True)
    weight = mg.ones(3, dtype=dtype, requires_grad=True)
    bias = mg.zeros(3, dtype=dtype, requires_grad=True)
    running_mean, running_var = np.zeros(3, np.float32), np.ones(3, np.float32)
    y = F.batch_norm(x, running_mean, running_var, weight, bias, training=training,
                     implementation=implementation)
    y.backward(rng.standard_normal(y.shape).astype(dtype))
    assert y.dtype == dtype
    assert x.grad.dtype == weight.grad.dtype == bias.grad.dtype == dtype
    assert running_mean.dtype == running_var.dtype == np.float32


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_constant_channel_gives_finite_output_and_gradient(implementation):
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    x[:, 1] = 4.0
    case = Case(x, np.array([1.5, 2.0]), np.array([0.1, -0.3]), 1e-5,
                np.random.default_rng(1).standard_normal(x.shape))
    y, dx, dgamma, dbeta = run(case, implementation)
    assert all(np.isfinite(a).all() for a in (y, dx, dgamma, dbeta))
    np.testing.assert_allclose(y[:, 1], -0.3)  # x̂ = 0, so y = β


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("shape", [(1, 2, 3), (1, 2, 2, 3)])
def test_a_batch_of_one_sample_normalises_over_its_positions(implementation, shape):
    """N = 1 is a valid training batch when each channel still has m = L or H·W > 1 values."""
    x = np.random.default_rng(0).standard_normal(shape)
    case = Case(x, np.array([1.5, -0.5]), np.array([0.1, 0.2]), 1e-5,
                np.random.default_rng(1).standard_normal(shape))
    y, dx, dgamma, dbeta = run(case, implementation)
    np.testing.assert_allclose(y, normalized(case) * case.per_channel(case.gamma)
                               + case.per_channel(case.beta), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx.sum(axis=case.axes), 0, atol=1e-10)


def test_defaults_are_pytorchs_eval_mode_and_eps():
    """F.batch_norm(x, running_mean, running_var) normalises with the running statistics and
    ε = 1e-5, as torch.nn.functional.batch_norm; so do the implementations called directly."""
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    running_mean, running_var = np.array([0.5, -1.0]), np.array([0.01, 0.02])
    y = F.batch_norm(mg.tensor(x), running_mean, running_var).data
    expected = ((x - running_mean.reshape(1, 2, 1)) / np.sqrt(running_var.reshape(1, 2, 1) + 1e-5))
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    x = x / 100  # a small variance, so that ε matters
    reference = F.batch_norm(mg.tensor(x), None, None, training=True, eps=1e-5).data
    for name, implementation in norm.IMPLEMENTATIONS.items():
        np.testing.assert_allclose(implementation(mg.tensor(x), None, None).data, reference,
                                   rtol=1e-10, err_msg=name)


@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1), (1, 3, 1, 1)])
def test_training_with_one_value_per_channel_is_an_error(shape):
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, "
                                         rf"got input size \({shape[0]}, 3"):
        F.batch_norm(mg.zeros(*shape), None, None, training=True)


def test_bad_arguments_name_the_shapes():
    x = mg.zeros(4, 3, 2)
    with pytest.raises(ValueError, match=r"running_mean of shape \(3,\).*\(4, 3, 2\).*\(5,\)"):
        F.batch_norm(x, np.zeros(5), np.ones(5), training=True)
    with pytest.raises(ValueError, match=r"weight of shape \(3,\)"):
        F.batch_norm(x, None, None, mg.ones(2), training=True)
    with pytest.raises(ValueError, match=r"running_var of shape \(3,\).*\(2,\)"):
        F.batch_norm(x, np.zeros(3), np.ones(2), training=True)
    with pytest.raises(ValueError, match=r"bias of shape \(3,\).*\(4,\)"):
        F.batch_norm(x, None, None, mg.ones(3), mg.zeros(4), training=True)
    with pytest.raises(ValueError, match="give both running_mean and running_var, or neither"):
        F.batch_norm(x, np.zeros(3), None, training=True)
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(4,\)"):
        F.batch_norm(mg.zeros(4), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match="implementation"):
        F.batch_norm(x, None, None, training=True, implementation="magic")
    with pytest.raises(TypeError, match="floating-point input, got int64"):
        F.batch_norm(mg.tensor(np.arange(24).reshape(4, 3, 2)), None, None, training=True)
