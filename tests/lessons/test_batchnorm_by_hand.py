"""Lesson 03's claims: the staged steps by hand equal minigrad's, the compact form is a
projection, the three implementations agree, Theorem 4.1 (and a 1/√m variant is false),
and tiny training batches open a gap between train-mode and eval-mode behaviour."""
import numpy as np
import pytest

from lessons import batchnorm_by_hand as lesson


def test_forward_standardises_each_feature_and_then_applies_gamma_beta():
    picture = lesson.forward_picture(m=64, seed=0)
    mean, std = lesson.moments(picture["x_hat"])
    np.testing.assert_allclose(mean, 0, atol=1e-12)
    shrink = np.sqrt(picture["raw"].var(axis=0) / (picture["raw"].var(axis=0) + 1e-5))  # ε's effect
    np.testing.assert_allclose(std, shrink, rtol=1e-10)
    mean, std = lesson.moments(picture["y"])
    np.testing.assert_allclose(mean, picture["beta"], atol=1e-12)
    np.testing.assert_allclose(std, picture["gamma"] * shrink, rtol=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_staged_steps_by_hand_match_minigrad_and_the_compact_form(seed):
    rng = np.random.default_rng(seed)
    x, dy = rng.normal(2, 3, 7), rng.standard_normal(7)
    by_hand = lesson.staged_backward_by_hand(x, dy, gamma=1.7)
    ours = lesson.minigrad_gradients(x[:, None], dy[:, None], 1.7, implementation="staged")
    np.testing.assert_allclose(ours["dx"][:, 0], by_hand["dx"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours["dgamma"], by_hand["dgamma"], rtol=1e-10)
    np.testing.assert_allclose(ours["dbeta"], by_hand["dbeta"], rtol=1e-10)
    compact = lesson.compact_backward(x[:, None], dy[:, None], 1.7)[:, 0]
    np.testing.assert_allclose(compact, by_hand["dx"], rtol=1e-10, atol=1e-12)


def test_projection_removes_the_mean_and_the_x_hat_component_at_zero_eps():
    for seed in range(3):
        picture = lesson.projection_picture(seed=seed, eps=0.0)
        size = np.abs(picture["dx_hat"]).sum()
        assert abs(picture["sum_dx"]) < 1e-12 * size
        assert abs(picture["sum_dx_x_hat"]) < 1e-12 * size
        # and the residual s·dx has no straight-line trend left in x̂
        slope = np.polyfit(picture["x_hat"], picture["scaled_dx"], 1)
        np.testing.assert_allclose(slope, 0, atol=1e-12)


def test_three_implementations_agree():
    for shape in [(32, 8), (8, 4, 5, 5)]:
        for name, diffs in lesson.implementations_agree(shape).items():
            assert max(diffs.values()) < 1e-12, (name, shape, diffs)
        for name, diffs in lesson.implementations_agree(shape, dtype=np.float32).items():
            assert max(diffs.values()) < 1e-5, (name, shape, diffs)


def test_gradcheck_passes_for_every_implementation():
    assert all(lesson.gradcheck_implementations().values())


def test_ones_upstream_misses_the_forgotten_variance_path_and_random_catches_it():
    errors = lesson.blind_spot()
    assert errors["ones"] < 1e-6
    assert errors["random"] > 0.1
    assert errors["gradcheck"].startswith("gradcheck: input 0")


def test_theorem_41_equality_at_zero_eps_strict_above_and_the_sqrt_m_version_fails():
    sweep = lesson.theorem_41_sweep(eps_values=(0.0, 1e-3, 1.0), batch_sizes=(4, 16, 64), trials=5)
    assert np.abs(sweep["slack"][0]).max() < 1e-10
    assert np.all(sweep["slack"][1:] > 0)
    for m, sides in sweep["by_m"].items():
        for s in sides:
            assert abs(s["lhs"] - s["rhs"]) <= 1e-10 * s["unit"], m
            assert s["lhs"] > s["rhs_sqrt_m"] + 1e-6 * s["unit"], m


def test_batch_of_two_passes_no_gradient_to_the_first_layer_at_zero_eps():
    assert lesson.first_layer_gradient(2, eps=0.0, batches=10)["median"] < 1e-10
    assert lesson.first_layer_gradient(64, eps=0.0, batches=10)["median"] > 0.1


@pytest.mark.parametrize("var", [0.0, 1e-6, 4e-4, 5e-4, 1e-2, 1.0])
def test_batch_of_two_gain_is_what_the_backward_passes(var):
    """At m = 2, dx = ε/(σ² + ε)^{3/2} · γ(g₁ − g₂)/2 · (1, −1): above 1 below σ² = ε^{2/3} − ε."""
    eps, gamma = 1e-5, 1.5
    x = np.array([[-np.sqrt(var)], [np.sqrt(var)]]) + 0.3
    dy = np.array([[0.7], [-0.2]])
    dx = lesson.minigrad_gradients(x, dy, gamma, eps=eps, implementation="fused")["dx"][:, 0]
    gain = lesson.batch_of_two_gain(var, eps)
    np.testing.assert_allclose(dx, gain * gamma * (0.7 + 0.2) / 2 * np.array([1, -1]), rtol=1e-6)
    assert (gain > 1) == (var < eps ** (2 / 3) - eps)


@pytest.mark.training
def test_small_batches_open_a_gap_between_train_and_eval_mode():
    """Batch 2 stays near chance (10 classes); at batch 8 the two modes disagree at least twice
    as much as at batch 64 (pilot at 800 steps: loss gaps 0.11–0.23 vs 0.02–0.03)."""
    for seed in range(3):
        tiny = lesson.train_then_compare_modes(2, seed, steps=300)
        assert tiny["train_mode_accuracy"] < 0.3 and tiny["eval_mode_accuracy"] < 0.3
        small = lesson.train_then_compare_modes(8, seed, steps=800)
        normal = lesson.train_then_compare_modes(64, seed, steps=800)
        gap_small = abs(small["train_mode_loss"] - small["eval_mode_loss"])
        gap_normal = abs(normal["train_mode_loss"] - normal["eval_mode_loss"])
        assert gap_small > 2 * gap_normal, (seed, gap_small, gap_normal)
