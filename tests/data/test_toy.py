"""Toy sets: shapes, dtypes, balance, determinism per seed, and the structure each promises."""
import numpy as np
import pytest

from minigrad.autograd import manual_seed
from minigrad.data import (
    make_blobs,
    make_linear_regression,
    make_mnist_like,
    make_moons,
    make_spirals,
    make_teacher_classification,
)

CLASSIFICATION = {
    "blobs": (lambda seed: make_blobs(301, num_classes=3, seed=seed), 2, 3),
    "blobs_5d": (lambda seed: make_blobs(100, num_classes=4, dim=5, seed=seed), 5, 4),
    "moons": (lambda seed: make_moons(201, seed=seed), 2, 2),
    "spirals": (lambda seed: make_spirals(300, num_classes=3, seed=seed), 2, 3),
    "teacher": (lambda seed: make_teacher_classification(500, seed=seed), 20, 10),
    "mnist_like": (lambda seed: make_mnist_like(200, seed=seed), 100, 10),
    "mnist_like_784": (lambda seed: make_mnist_like(50, dim=784, seed=seed), 784, 10),
}


@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_shapes_dtypes_and_determinism(name):
    make, dim, num_classes = CLASSIFICATION[name]
    X, y = make(0)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert X.shape == (len(y), dim) and y.min() >= 0 and y.max() < num_classes
    X_again, y_again = make(0)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(y, y_again)
    assert not np.array_equal(X, make(1)[0])


@pytest.mark.parametrize("name", ["blobs", "moons", "spirals", "mnist_like"])
def test_classes_are_balanced_and_shuffled(name):
    make, _, num_classes = CLASSIFICATION[name]
    _, y = make(0)
    counts = np.bincount(y, minlength=num_classes)
    assert counts.max() - counts.min() <= 1
    assert not np.array_equal(y, np.sort(y))


def test_seed_none_follows_manual_seed():
    manual_seed(5)
    first = make_moons(50)[0]
    manual_seed(5)
    np.testing.assert_array_equal(first, make_moons(50)[0])


def test_blob_noise_is_the_cluster_spread():
    X, y = make_blobs(3000, num_classes=2, noise=0.5, seed=0)
    spread = np.concatenate([X[y == k] - X[y == k].mean(0) for k in range(2)]).std()
    assert spread == pytest.approx(0.5, rel=0.05)


def test_moons_lie_on_their_half_circles_without_noise():
    X, y = make_moons(100, noise=0, seed=0)
    centres = np.where(y[:, None] == 0, [0.0, 0.0], [1.0, 0.5])
    np.testing.assert_allclose(np.linalg.norm(X - centres, axis=1), 1, atol=1e-6)


def test_spiral_radius_is_in_unit_disc_without_noise():
    X, _ = make_spirals(200, noise=0, seed=0)
    assert np.linalg.norm(X, axis=1).max() <= 1 + 1e-6


def test_linear_regression_scales_and_solution():
    X, y, w = make_linear_regression(5000, feature_scales=(1, 100), noise=0.1, seed=0)
    assert X.dtype == y.dtype == w.dtype == np.float32
    assert X.shape == (5000, 2) and y.shape == (5000,) and w.shape == (2,)
    np.testing.assert_allclose(X.std(axis=0), [1, 100], rtol=0.05)
    np.testing.assert_allclose((y - X @ w).std(), 0.1, rtol=0.05)
    # Hessian X^T X / n has condition number about (100 / 1)^2: elliptical contours.
    eigenvalues = np.linalg.eigvalsh(X.T.astype(np.float64) @ X / len(X))
    assert 0.8e4 < eigenvalues[-1] / eigenvalues[0] < 1.2e4


def test_linear_regression_noise_free_fits_exactly():
    X, y, w = make_linear_regression(50, feature_scales=(1, 3, 10), noise=0, seed=2)
    fitted = np.linalg.lstsq(X.astype(np.float64), y.astype(np.float64), rcond=None)[0]
    np.testing.assert_allclose(fitted, w, rtol=1e-4)


def test_teacher_labels_come_from_the_teacher_net():
    """Logit noise flips only the labels near the teacher's decision boundaries: most agree
    with the noise-free labels (same seed, same teacher and X), but not all."""
    _, clean = make_teacher_classification(2000, noise=0, seed=3)
    _, noisy = make_teacher_classification(2000, noise=0.05, seed=3)
    assert 0.8 < (clean == noisy).mean() < 1
    assert len(np.unique(clean)) == 10


def test_mnist_like_is_binary_and_near_its_prototypes():
    X, y = make_mnist_like(2000, flip=0.1, ink=0.2, seed=0)
    assert set(np.unique(X)) == {0.0, 1.0}
    assert X.mean() == pytest.approx(0.2 * 0.9 + 0.8 * 0.1, abs=0.03)
    # Nearest class mean classifies almost perfectly: far apart prototypes, few flips.
    means = np.stack([X[y == k].mean(0) for k in range(10)])
    nearest = ((X[:, None, :] - means) ** 2).sum(-1).argmin(1)
    assert (nearest == y).mean() > 0.98


@pytest.mark.parametrize("make, kwargs", [
    (make_moons, {"noise": -1}),
    (make_blobs, {"noise": -0.1}),
    (make_linear_regression, {"feature_scales": (1, 0)}),
    (make_mnist_like, {"flip": 0.7}),
    (make_blobs, {"num_classes": 0}),
])
def test_bad_arguments(make, kwargs):
    with pytest.raises(ValueError):
        make(**kwargs, seed=0)
