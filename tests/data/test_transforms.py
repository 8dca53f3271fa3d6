"""Normalize and Compose: per channel, on one image or a whole batch alike."""
import numpy as np
import pytest

from minigrad.data import Compose, Normalize


def images(shape=(4, 3, 5, 6)):
    return np.random.default_rng(0).uniform(0, 1, shape).astype(np.float32)


def test_normalize_per_channel():
    batch = images()
    mean, std = batch.mean(axis=(0, 2, 3)), batch.std(axis=(0, 2, 3))
    out = Normalize(mean, std)(batch)
    assert out.dtype == np.float32 and out.shape == batch.shape
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, rtol=1e-4)


def test_normalize_batch_equals_each_image():
    batch, normalize = images(), Normalize([0.1, 0.5, 0.9], [0.2, 0.3, 0.4])
    np.testing.assert_array_equal(normalize(batch), np.stack([normalize(x) for x in batch]))


def test_normalize_single_values_apply_to_every_channel():
    np.testing.assert_allclose(Normalize(0.5, 0.25)(np.ones((3, 2, 2), np.float32)), 2)


@pytest.mark.parametrize("shape", [(2, 4, 5, 6), (4, 5, 6), (5, 6)])
def test_normalize_names_the_wrong_shape(shape):
    with pytest.raises(ValueError, match=r"C = 3.*" + r"\(" + ", ".join(map(str, shape))):
        Normalize([0, 0, 0], [1, 1, 1])(np.zeros(shape, np.float32))


@pytest.mark.parametrize("mean, std", [([0, 0], [1, 1, 1]), ([0, 0, 0], [1, 0, 1])])
def test_normalize_rejects_bad_statistics(mean, std):
    with pytest.raises(ValueError):
        Normalize(mean, std)


def test_compose_applies_in_order():
    first, second = Normalize(1, 2), Normalize(3, 4)
    x = images((3, 2, 2))
    np.testing.assert_allclose(Compose([first, second])(x), second(first(x)))
    assert "Normalize" in repr(Compose([first]))
