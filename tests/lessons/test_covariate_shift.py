"""Lesson 05's claims at quick size, each over three seeds.

A claim is asserted on every seed where it held on every validated seed (seeds 0-9 or 0-11,
under two BLAS kernels) with a margin, and on the median over the seeds where it did not.
"""
import json

import numpy as np
import pytest

import minigrad as mg
from lessons import covariate_shift as lesson, models
from minigrad.analysis import NonStationaryNoise
from minigrad.data import make_teacher_classification

SEEDS = (0, 1, 2)


@pytest.mark.training
def test_dln_bn_has_more_ics_yet_a_lower_loss():
    """[S18] Fig. 3 on the 25-layer DLN at quick size (300 steps), layers 13 and 21.

    ‖G − G'‖ is asserted per seed; the loss and cos(G, G') on the median over the seeds. How far
    BN's cosine has dropped by step 300 depends on the rounding (25 layers amplify it; BN's shift
    builds up over the first ~150 steps on some seeds), and on some seeds it has dropped by less
    than 0.2: on a machine with another BLAS kernel that made a per-seed test fail (issue 20).

    Validated over seeds 0-11 under OpenBLAS's Haswell and Sandybridge kernels:
    - final loss BN / standard: 0.61-0.90 per seed (seed 7: 0.904); the median over each
      triple of seeds (0-2, 3-5, 6-8, 9-11) is at most 0.77.
    - median ‖G − G'‖ BN / standard: at least 39 on every seed and layer.
    - median cos(G, G') standard − BN: 0.15-1.93 per seed and layer (seed 11, layer 13: 0.15
      and 0.16; seed 0, layer 13: 0.28 with Haswell, 0.94 with Sandybridge); the median over
      each triple is at least 0.64 (seeds 0-2: 1.07-1.09 at layer 13, 1.42-1.89 at layer 21).
    Seeds 0-2 under the Prescott kernel too: loss ratio median 0.73, distance ratio at least 58,
    cosine drop medians 1.07 and 1.30.
    """
    data = lesson.dln_experiment(SEEDS, steps=300, lr=1e-4, measure_every=50, layers=(12, 20))
    runs = list(zip(data["runs"]["standard"], data["runs"]["bn"]))
    def final_loss(run):
        return np.nanmean(run["loss"][-10:])
    loss_ratio = [final_loss(bn) / final_loss(standard) for standard, bn in runs]
    cosine_drop = [np.median(standard["cosine"], 0) - np.median(bn["cosine"], 0)
                   for standard, bn in runs]
    for standard, bn in runs:
        assert (np.median(bn["distance"], 0) > 10 * np.median(standard["distance"], 0)).all()
    assert np.median(loss_ratio) < 0.9, loss_ratio
    assert (np.median(cosine_drop, axis=0) > 0.2).all(), cosine_drop


@pytest.mark.training
def test_noisy_bn_makes_the_least_stable_inputs():
    """[S18] Fig. 2's set-up at lr 0.1: jitter BN + noise > standard > BN, per seed.

    Validated at this size over seeds 0-9 under OpenBLAS's Haswell and Sandybridge kernels:
    jitter BN + noise / standard 1.67-2.62 (Haswell), 1.68-2.53 (Sandybridge); standard / BN
    1.42-2.11 and 1.41-2.11. (At lr 1.0 and this size BN + noise / standard falls to 0.62 on
    one seed, so that rate is not asserted here.)
    """
    data = lesson.noisy_bn_experiment(SEEDS, steps=150, eval_every=50, n_train=2000, n_test=500)
    jitter = {m: np.array([r["jitter"] for r in runs]) for m, runs in data["runs"].items()}
    assert (jitter["bn_noisy"] > 1.4 * jitter["standard"]).all()
    assert (jitter["standard"] > 1.2 * jitter["bn"]).all()


@pytest.mark.training
def test_a_diverged_run_is_flagged_not_fatal():
    """Validated over seeds 0-9 under OpenBLAS's Haswell and Sandybridge kernels: at
    lr 5 the noisy plain net diverges on every seed, after 3-4 steps, under both.
    """
    data = lesson.noisy_bn_experiment((0,), steps=60, lr=5.0, eval_every=20, n_train=512,
                                      n_test=128)
    run = data["runs"]["standard_noisy"][0]
    assert run["diverged"] and np.isnan(run["jitter"]) and np.isnan(run["eval_loss"])
    assert np.isnan(run["train_mode_loss"])
    assert len(run["test_accuracy"]) == 4 and np.isfinite(run["percentiles"]).all()


def test_the_two_losses_of_a_noisy_bn_net():
    """eval_loss applies the noise's expectation; train_mode_loss draws it and uses BN's batch
    statistics, and leaves BN's running statistics as they were."""
    X, y = make_teacher_classification(300, seed=0)
    mg.manual_seed(0)
    model = models.mlp(X.shape[1], 10, 16, 2, norm=lesson.norm_layer("bn_noisy"))
    models.train(model, X, y, steps=5, lr=0.1)
    running = [b.data.copy() for b in model.buffers()]
    noisy = lesson.train_mode_loss(model, X, y)
    for before, after in zip(running, model.buffers()):
        np.testing.assert_array_equal(before, after.data)
    assert noisy != lesson.train_mode_loss(model, X, y)  # fresh noise each time
    expected = lesson.eval_loss(model, X, y)
    for noise in model.modules():
        if isinstance(noise, NonStationaryNoise):
            noise.scale_range = (1.0, 1.0)  # E[s] = 1: the identity in eval mode
    assert expected != lesson.eval_loss(model, X, y)
    assert model.training


def test_cnn_ics_and_summary_are_json_ready():
    cnn = lesson.cnn_ics_experiment((0,), steps=4, measure_every=2, n_train=64, batch_size=16,
                                    channels=(4, 4, 4))
    run = cnn["runs"]["bn"][0]
    assert run["distance"].shape == run["cosine"].shape == (3, 3)
    assert np.isfinite(run["distance"]).all()
    dln = lesson.dln_experiment((0,), steps=4, measure_every=2)
    noisy = lesson.noisy_bn_experiment((0,), steps=4, eval_every=2, n_train=256, n_test=64)
    summary = json.loads(json.dumps(lesson.summarize({0.1: noisy}, dln, cnn)))
    assert set(summary["noisy_bn_lr0.1"]) >= set(lesson.NOISY_METHODS)
    assert len(summary["claims"]) == 5 + 4 + 4  # noisy BN; per layer and the loss, DLN and CNN
    assert all(row["verdict"] in ("held", "did not hold") for row in summary["claims"])
    assert len(summary["ics_dln"]["bn"]["median_distance"][0]) == 3
    for figure in (lesson.plot_noisy_bn(noisy), lesson.plot_ics(dln), lesson.plot_ics(cnn)):
        assert figure.axes
