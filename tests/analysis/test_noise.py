"""NonStationaryNoise: [S18]'s noise distribution, seeded, its expectation in eval mode."""
import numpy as np

import minigrad as mg
from minigrad.analysis import NonStationaryNoise


def scale_and_shift(noise, shape, seed):
    """Recover this step's s and m from a = 0 and a = 1 under the same seed."""
    mg.manual_seed(seed)
    shift = noise(mg.zeros(*shape)).data
    mg.manual_seed(seed)
    scale = noise(mg.ones(*shape)).data - shift
    return scale, shift


def test_one_step_draws_s_around_sigma_t_and_m_around_mu_t():
    noise = NonStationaryNoise()
    for seed in range(5):
        scale, shift = scale_and_shift(noise, (200, 100), seed)
        assert 1.0 - 0.01 < scale.mean() < 1.25 + 0.01
        assert abs(scale.std() - 0.1) < 0.005
        assert shift.max() - shift.min() <= 0.2 + 1e-6
        assert -0.5 - 0.01 < shift.mean() < 0.5 + 0.01


def test_mu_t_moves_from_step_to_step_across_the_whole_range():
    mg.manual_seed(0)
    noise = NonStationaryNoise()
    means = [noise(mg.zeros(64, 8)).data.mean() for _ in range(400)]
    assert min(means) < -0.4 and max(means) > 0.4
    assert abs(np.std(means) - 1 / np.sqrt(12)) < 0.03  # U(-0.5, 0.5) has std 1/sqrt(12)


def test_seeded_repeatable_and_float32():
    noise = NonStationaryNoise()
    x = mg.tensor(np.linspace(-2, 2, 60, dtype=np.float32).reshape(6, 10))
    mg.manual_seed(3)
    first = noise(x).data
    mg.manual_seed(3)
    again = noise(x).data
    np.testing.assert_array_equal(first, again)
    assert first.dtype == np.float32
    assert not np.array_equal(first, noise(x).data)  # the next step draws new noise


def test_gradient_is_the_drawn_scale():
    noise = NonStationaryNoise()
    scale, _ = scale_and_shift(noise, (4, 3), seed=1)
    x = mg.randn(4, 3, requires_grad=True)
    upstream = np.arange(12, dtype=np.float32).reshape(4, 3)
    mg.manual_seed(1)
    noise(x).backward(upstream)
    np.testing.assert_allclose(x.grad.data, upstream * scale, rtol=1e-6)


def test_eval_mode_applies_the_expected_scale_and_shift():
    noise = NonStationaryNoise()
    scales, shifts = zip(*(scale_and_shift(noise, (50, 40), seed) for seed in range(400)))
    x = mg.randn(5, 4)
    noise.eval()
    np.testing.assert_allclose(noise(x).data, 1.125 * x.data, rtol=1e-6)
    assert noise.mean_scale == 1.125
    # over 400 steps (bounds 4 standard errors): σᵗ ~ U(1, 1.25) has sd 0.072, μᵗ ~ U(-.5, .5) 0.29
    assert abs(np.mean(scales) - noise.mean_scale) < 4 * 0.072 / 20
    assert abs(np.mean(shifts)) < 4 * 0.29 / 20
