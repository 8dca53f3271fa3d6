"""Data: datasets, the DataLoader, transforms, and the synthetic sets the lessons use.

    X, y = make_moons(500, noise=0.1, seed=0)          # NumPy arrays: float32 X, int64 y
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
    for xb, yb in loader:                               # minigrad Tensors
        ...

Real and synthetic images share one interface: `CIFAR10(root)` and `CIFARLike(n, seed)`
yield (3, 32, 32) float32 images and int labels, and both take `transform=`.
"""
from . import transforms
from .cifar10 import CIFAR10, download_cifar10
from .dataset import Dataset, ImageDataset, TensorDataset
from .loader import DataLoader
from .synthetic_cifar import CIFARLike, cifar_like
from .toy import (
    make_blobs,
    make_linear_regression,
    make_mnist_like,
    make_moons,
    make_spirals,
    make_teacher_classification,
)
from .transforms import Compose, Normalize

__all__ = ["CIFAR10", "CIFARLike", "Compose", "DataLoader", "Dataset", "ImageDataset",
           "Normalize", "TensorDataset", "cifar_like", "download_cifar10", "make_blobs",
           "make_linear_regression", "make_mnist_like", "make_moons", "make_spirals",
           "make_teacher_classification", "transforms"]
