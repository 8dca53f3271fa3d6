"""Lesson 11 (edge of stability): the directions it claims, on a smaller net, over seeds.

The lesson's net is 3 × 64 tanh on 500 samples; here 3 × 32 on 200 samples (SMALL), so a run
takes a second or two. Every margin below was validated on seeds 0-9 with OpenBLAS's Haswell
and Sandybridge kernels (OPENBLAS_CORETYPE); each docstring gives the measured ranges as
"Haswell / Sandybridge" when they differ. 2/η is the edge of stability.
"""
import numpy as np
import pytest

from lessons import edge_of_stability as lesson

SMALL = {"n": 200, "width": 32}
SEEDS = [0, 1]  # the margins hold on seeds 0-9 (docstrings); two keep CI under a minute
pytestmark = pytest.mark.training


def late_over_edge(run, lr):
    """The median sharpness over the last quarter of the measurements, in units of 2/η."""
    return float(np.median(lesson.late(run["sharpness"]))) * lr / 2


@pytest.mark.parametrize("seed", SEEDS)
def test_without_bn_the_sharpness_rises_to_2_over_lr_and_stays(seed):
    """η = 0.4 (2/η = 5), 400 steps. Measured: max λ / λ(0) 2.21-2.91; late λ / (2/η)
    1.04-1.11 / 1.03-1.08; the loss rose on 19-34% / 19-32% of the second half's steps."""
    run = lesson.trajectory("standard", 0.4, 400, 25, seed, **SMALL)
    assert run["sharpness"].max() > 1.8 * run["sharpness"][0]
    assert 0.9 < late_over_edge(run, 0.4) < 1.25
    assert np.mean(np.diff(run["loss"][200:]) > 0) > 0.1
    assert run["loss"][-1] < 0.5 * run["loss"][0]


@pytest.mark.parametrize("seed", SEEDS)
def test_with_bn_the_sharpness_rises_to_2_over_lr_and_stays(seed):
    """BN, η = 0.1 (2/η = 20), 400 steps. Measured: max λ / λ(0) 1.85-2.86 / 1.91-2.86; late
    λ / (2/η) 1.03-1.11 / 1.01-1.11."""
    run = lesson.trajectory("bn", 0.1, 400, 25, seed, **SMALL)
    assert run["sharpness"].max() > 1.5 * run["sharpness"][0]
    assert 0.9 < late_over_edge(run, 0.1) < 1.25


@pytest.mark.parametrize("seed", SEEDS)
def test_with_bn_a_step_above_2_over_lambda_at_init_still_trains(seed):
    """The catapult: BN, η = 0.4 starts above its edge (λ(0) / (2/η) measured 1.79-2.65), the
    sharpness falls to it within 50 steps (lowest λ / (2/η) there 0.91-1.08), and stays just
    above it (late λ / (2/η) 1.15-1.22), while the loss falls."""
    run = lesson.trajectory("bn", 0.4, 200, 25, seed, early=50, **SMALL)
    edge = 2 / 0.4
    assert run["sharpness"][0] > 1.5 * edge
    assert run["sharpness"][run["step"] <= 50].min() < 1.2 * edge
    assert late_over_edge(run, 0.4) < 1.35
    assert run["full_loss"][-1] < 0.5 * run["full_loss"][0]


@pytest.mark.parametrize("seed", SEEDS)
def test_mini_batches_settle_below_the_full_batch_sharpness(seed):
    """η = 0.4, 400 steps: with batches of 20 the late full-batch sharpness is 0.60-0.74 /
    0.60-0.73 of gradient descent's, which sits at 1.01-1.11 / 1.03-1.14 × 2/η."""
    full = lesson.trajectory("standard", 0.4, 400, 50, seed, **SMALL)
    small = lesson.trajectory("standard", 0.4, 400, 50, seed, batch_size=20, **SMALL)
    assert late_over_edge(small, 0.4) < 0.85 * late_over_edge(full, 0.4)
    assert late_over_edge(full, 0.4) > 0.9


@pytest.mark.parametrize("seed", SEEDS)
def test_at_the_edge_the_top_component_of_the_gradient_flips_sign(seed):
    """Without BN, η = 0.4, steps 300-311 (at the edge: λ / (2/η) 0.99-1.31 / 1.05-1.15): c(t)
    changed sign on 82-100% of the steps (9/11 on seed 0, else all), median c(t+1)/c(t)
    −1.61 to −0.88 / −1.30 to −0.94: lesson 02's factor 1 − ηλ ≈ −1."""
    run = lesson.edge_window("standard", 0.4, seed, 300, 12, **SMALL)
    ratio = run["component"][1:] / run["component"][:-1]
    assert np.mean(ratio < 0) >= 0.7
    assert -2.0 < np.median(ratio) < -0.6


def test_describe_reads_the_edge_off_a_run():
    """A made-up run: λ crosses 2/η = 10 at step 20 of 100; the loss rises on every other step
    from there on."""
    steps = np.arange(0, 101, 10)
    sharpness = np.array([2, 4, 10, 10.5, 10, 9.8, 10.1, 10, 10, 10.2, 10.0])
    loss = np.where(np.arange(100) % 2 == 0, 1.0, 1.1) / (1 + np.arange(100))
    run = {"step": steps, "sharpness": sharpness, "loss": loss,
           "beta_smoothness": sharpness * 0.9}
    d = lesson.describe(run, 0.2)
    assert d["edge_reached_at_step"] == 20 and d["at_edge"]
    assert d["late_over_edge"] == pytest.approx(1.0)
    assert d["loss_rises"] == pytest.approx(0.5, abs=0.02)
    assert d["beta_over_sharpness_late"] == pytest.approx(0.9)
    assert not lesson.describe({**run, "sharpness": sharpness / 2}, 0.2)["at_edge"]
