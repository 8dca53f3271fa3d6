"""Transforms: functions applied to images as they leave a dataset.

A transform is any callable that takes a float32 array of images and returns one. Those here
work on a single image (C, H, W) and on a batch (B, C, H, W) alike, because they act on the
last three axes only; that is what lets `ImageDataset.get_batch` transform a whole batch in
one NumPy operation instead of looping over images. Write your own the same way (index the
channel axis as -3, never as 0) and it will work in both places.
"""
import numpy as np


class Normalize:
    """Per-channel standardisation: (image - mean[c]) / std[c], as in torchvision.

    `mean` and `std` are sequences with one value per channel (or single numbers used for
    every channel), e.g. the training set's `X.mean(axis=(0, 2, 3))` and `X.std(axis=(0, 2, 3))`.
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if self.mean.shape != self.std.shape:
            raise ValueError(f"Normalize: mean has {self.mean.size} values but std has "
                             f"{self.std.size}")
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {self.std.tolist()}")

    def __call__(self, images):
        channels = self.mean.size
        if images.ndim < 3 or channels not in (1, images.shape[-3]):
            raise ValueError(f"Normalize with {channels} channel values expects images of shape "
                             f"(C, H, W) or (B, C, H, W) with C = {channels}, got {images.shape}")
        # (C,) -> (C, 1, 1) broadcasts over H, W and over any leading batch axis.
        return (images - self.mean[:, None, None]) / self.std[:, None, None]

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class Compose:
    """Apply transforms one after another: Compose([a, b])(x) == b(a(x))."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, images):
        for transform in self.transforms:
            images = transform(images)
        return images

    def __repr__(self):
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"
