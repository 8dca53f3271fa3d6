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
SEEDS = [0, 1, 2]
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
