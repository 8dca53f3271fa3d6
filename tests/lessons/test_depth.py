"""Lesson 10's directions, asserted at small size over a few seeds.

Margins were validated over seeds 0-9 under two OpenBLAS kernels (Haswell, and
OPENBLAS_CORETYPE=Sandybridge); each docstring gives the range measured there.
"""
import numpy as np
import pytest

from lessons import depth as lesson

SEEDS = (0, 1, 2)
DEPTH, WIDTH = 40, 128  # at init: cheap, and deep enough for a 24-layer fit window


def rates(activation, arch, batch_size=64, seeds=SEEDS):
    return np.array([lesson.fitted_rate(lesson.init_gradients(activation, arch, DEPTH, WIDTH,
                                                              batch_size, s)) for s in seeds])


def test_theorem_8_limits_and_known_values():
    np.testing.assert_allclose(lesson.relu_bn_rate(1e9) ** 2, np.pi / (np.pi - 1), rtol=1e-6)
    np.testing.assert_allclose(lesson.linear_bn_rate(8) ** 2, 6 / 5)
    rate = lesson.relu_bn_rate(np.array([4, 8, 64, 512]))
    assert np.all(np.diff(rate) < 0)  # Theorem 8: decreasing in B
    assert np.isnan(lesson.theory_rate("tanh", 64))
    with pytest.raises(ValueError, match="B > 3"):
        lesson.relu_bn_rate(3)


def test_fitted_rate_recovers_a_geometric_profile_and_skips_underflow():
    profile = 1.3 ** -np.arange(50.0)
    assert lesson.fitted_rate(profile) == pytest.approx(1.3)
    profile[25:] = 0
    assert lesson.fitted_rate(profile) == pytest.approx(1.3)


@pytest.mark.training
def test_relu_bn_gradient_grows_at_theorem_8s_rate():
    """Depth 40, width 128, B 64: 1.210-1.229 over seeds 0-9 under both kernels (theory 1.222,
    largest gap 0.012)."""
    assert np.all(np.abs(rates("relu", "bn") - lesson.relu_bn_rate(64)) < 0.04)


@pytest.mark.training
def test_small_batches_explode_faster_as_theorem_8_says():
    """B = 8: ReLU 1.303-1.383 (theory 1.337, largest gap 0.046), linear 1.063-1.100 (theory
    1.095, largest gap 0.033), seeds 0-9, both kernels."""
    assert np.all(np.abs(rates("relu", "bn", 8) - lesson.relu_bn_rate(8)) < 0.07)
    assert np.all(np.abs(rates("linear", "bn", 8) - lesson.linear_bn_rate(8)) < 0.05)


@pytest.mark.training
@pytest.mark.parametrize("activation", ["relu", "tanh", "linear"])
def test_without_bn_the_gradient_is_flat(activation):
    """Seeds 0-9, both kernels: ReLU 0.963-1.043, tanh 0.996-1.021, linear 0.990-1.005 (at
    this small width the ReLU profile is the noisiest)."""
    assert np.all(np.abs(rates(activation, "plain") - 1) < 0.06)


@pytest.mark.training
def test_residual_path_and_linear_regime_slow_the_explosion():
    """Seeds 0-9, both kernels: ReLU BN + residual 1.022-1.051, β₀ = 1 1.070-1.083 (plain BN
    1.210-1.229); tanh γ₀ = 0.2 1.003-1.018 against tanh BN 1.093-1.111 (smallest gap 0.075)."""
    assert np.all(rates("relu", "bn_residual") < 1.08)
    assert np.all(rates("relu", "bn_shifted") < 1.12)
    assert np.all(rates("tanh", "bn_small_gamma") < rates("tanh", "bn") - 0.04)


@pytest.mark.training
def test_one_sgd_step_shrinks_the_gradients_dynamic_range():
    """ReLU BN depth 30, width 32, lr 0.1: the largest/smallest layer gradient is 354-905 at
    init; after one step it is 0.05-0.57 (Haswell) and 0.07-0.77 (Sandybridge) times that,
    seeds 0-9: always smaller, but by a factor of 1.3 to 19 depending on the seed."""
    eq = lesson.equilibration(depth=30, lr=0.1, probe_steps=(0, 1), width=32, seeds=SEEDS)
    at_init, after_one = eq["dynamic_range"].T
    assert np.all(after_one < 0.9 * at_init), (at_init, after_one)
