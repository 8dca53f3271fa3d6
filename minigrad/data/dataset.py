"""Datasets: what a `DataLoader` reads from.

A dataset is anything with `len(dataset)` and `dataset[i]` (one item, usually an
`(input, label)` tuple), as in PyTorch. Asking for items one at a time is slow in NumPy,
so a dataset may also offer `get_batch(indices)`: all the items at once, built with one
fancy-indexing operation per array. The `DataLoader` uses `get_batch` when it exists;
`Dataset.get_batch` is the slow generic fallback (fetch each item, then stack).

Items and batches are NumPy arrays here; the `DataLoader` wraps batches in `Tensor`s.
"""
import numpy as np

from ..autograd import as_array


class Dataset:
    """Base class: subclasses write `__len__` and `__getitem__`, and `get_batch` if they can."""

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def get_batch(self, indices):
        """The items at `indices` as one batch (generic and slow: one call per item)."""
        return get_batch_by_items(self, indices)


def get_batch_by_items(dataset, indices):
    """Fetch `dataset[i]` for every index and stack: works for any dataset, one item at a time."""
    return stack_items([dataset[int(i)] for i in indices])


def stack_items(items):
    """Stack a list of items into one batch, as PyTorch's default collate does.

    Tuple items are stacked field by field and stay tuples; arrays, Tensors and numbers are
    stacked along a new first axis with minigrad's dtype rules (Python ints -> int64,
    Python floats -> float32, arrays keep their dtype).
    """
    first = items[0]
    if isinstance(first, (tuple, list)):
        return tuple(stack_items(list(field)) for field in zip(*items))
    arrays = [as_array(item) for item in items]
    shapes = {array.shape for array in arrays}
    if len(shapes) > 1:
        raise ValueError(f"cannot stack items of different shapes {sorted(shapes)} into a batch")
    return np.stack(arrays)


class TensorDataset(Dataset):
    """Item i is `(a[i] for a in arrays)`: the i-th row of every array given.

    Accepts minigrad Tensors, ndarrays or lists (lists follow minigrad's dtype rules); keeps
    the arrays without copying. Items are tuples of arrays; `get_batch` fancy-indexes every
    array once, so a `DataLoader` over a `TensorDataset` never loops over items in Python.
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(as_array(t) for t in tensors)
        lengths = [len(a) if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) > 1:
            shapes = [a.shape for a in self.arrays]
            raise ValueError(f"TensorDataset needs arrays with the same first dimension, "
                             f"got shapes {shapes}")

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices):
        return tuple(a[indices] for a in self.arrays)


class ImageDataset(Dataset):
    """Images and int64 labels held in arrays, with an optional transform (CIFAR-style).

    Subclasses set `self.targets` (int64 array) and write `images(indices)`, which returns
    float32 images of shape (B, C, H, W) however they are stored. The transform is applied
    to whole batches, so it must accept (B, C, H, W) arrays (`transforms.Normalize` and
    `transforms.Compose` do); a single item is simply a batch of one.
    Items are `(image (C, H, W) float32, label int)`, as in torchvision.
    """

    def __init__(self, transform=None):
        self.transform = transform

    def images(self, indices):
        raise NotImplementedError(f"{type(self).__name__} must define images(indices)")

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        images, labels = self.get_batch(np.array([index]))
        return images[0], int(labels[0])

    def get_batch(self, indices):
        images = self.images(indices)
        if self.transform is not None:
            images = self.transform(images)
        return images, self.targets[indices]
