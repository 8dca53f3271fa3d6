"""Small synthetic datasets for the lessons, each with a known structure.

Every function returns NumPy arrays: float32 inputs `X` of shape (n, dim) and int64 class
labels `y` of shape (n,) (regression targets are float32). Wrap them for training with
`TensorDataset(X, y)`. Classes are balanced (sizes differ by at most one; the teacher's
labels are the exception) and the rows are shuffled, so any prefix is a fair sample.

`seed`: an int gives the same data on every call; None draws from minigrad's generator,
so `minigrad.manual_seed` governs it. The seed also draws the task itself where it is random
(blob centres, the teacher net, the digit prototypes), so for a training and a test set of
the same task draw `n_train + n_test` rows with one seed and split them.
"""
import numpy as np

from ..autograd import default_generator


def generator_for(seed):
    """A fresh generator for an int `seed`, or minigrad's module-level one for None."""
    return default_generator() if seed is None else np.random.default_rng(seed)


def balanced_labels(n, num_classes, rng):
    """n int64 labels, each class n // num_classes or one more times, in random order."""
    if n < 0 or num_classes < 1:
        raise ValueError(f"need n >= 0 and num_classes >= 1, got n={n}, num_classes={num_classes}")
    return rng.permutation(np.arange(n, dtype=np.int64) % num_classes)


def _check_noise(noise):
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")


def make_blobs(n=300, num_classes=3, dim=2, noise=1.0, seed=None):
    """Gaussian clusters: class k is N(c_k, noise^2 I), centres c_k uniform in [-5, 5]^dim.

    The easy case: with small noise a linear classifier separates the classes.
    """
    _check_noise(noise)
    rng = generator_for(seed)
    centres = rng.uniform(-5, 5, size=(num_classes, dim))
    y = balanced_labels(n, num_classes, rng)
    X = centres[y] + noise * rng.standard_normal((n, dim))
    return X.astype(np.float32), y


def make_moons(n=200, noise=0.1, seed=None):
    """Two interleaving half circles (sklearn's moons); no straight line separates them.

    Class 0 lies on the upper unit half circle, class 1 on a lower one shifted by (1, -0.5);
    Gaussian noise of std `noise` is added to both coordinates.
    """
    _check_noise(noise)
    rng = generator_for(seed)
    y = balanced_labels(n, 2, rng)
    angle = rng.uniform(0, np.pi, size=n)
    upper = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    lower = np.stack([1 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    X = np.where(y[:, None] == 0, upper, lower) + noise * rng.standard_normal((n, 2))
    return X.astype(np.float32), y


def make_spirals(n=300, num_classes=3, turns=1.0, noise=0.05, seed=None):
    """Interleaved spiral arms, one per class (the cs231n spiral): strongly non-linear.

    A point at radius r in [0, 1] on arm k sits at angle 2*pi*(k / num_classes + turns * r);
    Gaussian noise of std `noise` is added to both coordinates.
    """
    _check_noise(noise)
    rng = generator_for(seed)
    y = balanced_labels(n, num_classes, rng)
    radius = rng.uniform(0, 1, size=n)
    angle = 2 * np.pi * (y / num_classes + turns * radius)
    X = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X += noise * rng.standard_normal((n, 2))
    return X.astype(np.float32), y


def make_linear_regression(n=200, feature_scales=(1.0, 100.0), noise=0.1, seed=None):
    """Least-squares data whose features live on different scales: returns X, y, true_w.

    Feature j is N(0, feature_scales[j]^2); y = X @ true_w + N(0, noise^2), with no intercept.
    true_w[j] is N(0, 1) / feature_scales[j], so every feature moves y by about the same amount
    and the loss is minimised at true_w (up to noise). The Hessian of the mean squared error,
    X^T X / n, is then close to diag(feature_scales^2): the loss contours are ellipses with
    axis ratio max(scale) / min(scale), which is what the feature-scaling lesson plots;
    standardising the columns of X makes them circles.
    """
    _check_noise(noise)
    scales = np.asarray(feature_scales, dtype=np.float64)
    if scales.ndim != 1 or np.any(scales <= 0):
        raise ValueError(f"feature_scales must be a sequence of positive numbers, "
                         f"got {feature_scales!r}")
    rng = generator_for(seed)
    X = rng.standard_normal((n, scales.size)) * scales
    true_w = rng.standard_normal(scales.size) / scales
    y = X @ true_w + noise * rng.standard_normal(n)
    return X.astype(np.float32), y.astype(np.float32), true_w.astype(np.float32)


def make_teacher_classification(n=1000, dim=20, num_classes=10, hidden=64, noise=0.1, seed=None):
    """Labels given by a random one-hidden-layer "teacher" net: y = argmax(tanh(X W1) W2 + noise).

    X ~ N(0, I_dim); W1 (dim, hidden) and W2 (hidden, num_classes) are Gaussian with variance
    1 / fan_in, so tanh works in its curved range rather than saturating; the logit noise of std
    `noise` makes the labels not quite a deterministic function of X. Because the teacher is
    itself a small net, a student of similar size can learn the task, but not instantly.
    Classes are not exactly balanced: their sizes follow the teacher.
    """
    _check_noise(noise)
    rng = generator_for(seed)
    W1 = rng.standard_normal((dim, hidden)) / np.sqrt(dim)
    W2 = rng.standard_normal((hidden, num_classes)) / np.sqrt(hidden)
    X = rng.standard_normal((n, dim))
    logits = np.tanh(X @ W1) @ W2 + noise * rng.standard_normal((n, num_classes))
    return X.astype(np.float32), logits.argmax(axis=1).astype(np.int64)


def make_mnist_like(n=10000, dim=100, num_classes=10, flip=0.1, ink=0.2, seed=None):
    """A binary stand-in for MNIST: noisy copies of one random 0/1 "digit" pattern per class.

    Each class has a prototype with about `ink` of its `dim` pixels on (MNIST has ~20% ink);
    a sample is its class prototype with each pixel flipped with probability `flip`. The
    prototypes differ in about 2 * ink * (1 - ink) * dim pixels, far more than the flips
    (flip * dim), so the task is learnable to ~100% by a 3x100 sigmoid MLP (Ioffe & Szegedy's
    Figure 1 setting), while its speed of learning still depends on how well the net trains.
    Values are exactly 0.0 or 1.0 (float32). Checked in PyTorch (init N(0, 0.1^2), SGD lr 0.1,
    batch 60, 10,000 training rows): without BN test accuracy is 9-16% after 500 steps and
    99.9-100% after 2,000 (3 seeds); with BN it is 100% after 500 (1 seed).
    """
    if not 0 <= flip <= 0.5 or not 0 < ink < 1:
        raise ValueError(f"need 0 <= flip <= 0.5 and 0 < ink < 1, got flip={flip}, ink={ink}")
    rng = generator_for(seed)
    prototypes = rng.random((num_classes, dim)) < ink
    y = balanced_labels(n, num_classes, rng)
    flips = rng.random((n, dim)) < flip
    X = prototypes[y] ^ flips
    return X.astype(np.float32), y
