"""cifar_like: shapes, dtypes, determinism, balance, and that its classes are real structure."""
import numpy as np
import pytest

from minigrad.data import CIFARLike, DataLoader, Normalize, cifar_like
from minigrad.data.synthetic_cifar import CLASSES


@pytest.fixture(scope="module")
def sample():
    return cifar_like(500, seed=0)


def test_shapes_dtypes_range(sample):
    X, y = sample
    assert X.shape == (500, 3, 32, 32) and X.dtype == np.float32
    assert y.shape == (500,) and y.dtype == np.int64
    assert X.min() >= 0 and X.max() <= 1


def test_deterministic_per_seed(sample):
    X, y = cifar_like(500, seed=0)
    np.testing.assert_array_equal(X, sample[0])
    np.testing.assert_array_equal(y, sample[1])
    assert not np.array_equal(cifar_like(500, seed=1)[0], X)


@pytest.mark.parametrize("n, num_classes", [(500, 10), (103, 10), (50, 5), (7, 2)])
def test_classes_balanced(n, num_classes):
    _, y = cifar_like(n, seed=2, num_classes=num_classes)
    counts = np.bincount(y, minlength=num_classes)
    assert len(counts) == num_classes and counts.max() - counts.min() <= 1


def test_striped_shapes_have_more_edges_than_solid_ones(sample):
    """Stripes add sharp pixel-to-pixel steps that a solid shape lacks: the texture is real."""
    X, y = sample
    steps = np.abs(np.diff(X, axis=-1)).mean(axis=1)  # horizontal change, averaged over RGB
    edge_fraction = (steps > 0.15).mean(axis=(1, 2))
    shapes = len(CLASSES) // 2
    for solid in range(shapes):
        striped = solid + shapes
        assert edge_fraction[y == striped].mean() > 1.2 * edge_fraction[y == solid].mean()


def test_images_vary_within_a_class(sample):
    """Position, size and colours change from image to image: no class is one template."""
    X, y = sample
    for k in range(10):
        assert X[y == k].std(axis=0).mean() > 0.15


def test_bad_num_classes():
    with pytest.raises(ValueError, match="num_classes"):
        cifar_like(10, seed=0, num_classes=11)


def test_dataset_items_batches_and_transform(sample):
    X, y = sample
    normalize = Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3])
    dataset = CIFARLike(500, seed=0, transform=normalize)
    assert len(dataset) == 500 and dataset.classes == list(CLASSES)
    image, label = dataset[3]
    assert isinstance(label, int) and label == y[3]
    np.testing.assert_allclose(image, normalize(X[3]))
    xb, yb = next(iter(DataLoader(dataset, batch_size=8)))
    np.testing.assert_allclose(xb.data, normalize(X[:8]))
    np.testing.assert_array_equal(yb.data, y[:8])
    assert xb.dtype == np.float32 and yb.dtype == np.int64
