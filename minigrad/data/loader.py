"""DataLoader: cut a dataset into (shuffled) mini-batches of Tensors.

Each epoch the loader lays out the dataset's indices (a fresh permutation when
`shuffle=True`), cuts them into index arrays of `batch_size`, and asks the dataset for each
batch with one `dataset.get_batch(indices)` call: array-backed datasets answer with one
fancy-indexing operation per array, other datasets fall back to stacking items.

Randomness: with neither `seed` nor `generator`, the permutation is drawn from minigrad's
module-level generator at the start of each epoch, so `minigrad.manual_seed(s)` makes a
whole run (initialisation and batch order) reproducible bit for bit.
"""
import functools

import numpy as np

from ..autograd import Tensor, default_generator
from .dataset import get_batch_by_items


class DataLoader:
    """Iterate over `dataset` in batches of `batch_size`; PyTorch's semantics.

    len(loader) is the number of batches per epoch; the last batch is smaller unless
    `drop_last=True` drops it. A batch is a tuple of Tensors when items are tuples (e.g.
    `for x, y in loader`), else a single Tensor. Labels stay int64, float32 data stays float32.
    `generator` (an `np.random.Generator`) or `seed` (an int) gives the loader its own
    stream of permutations, independent of `manual_seed`; each epoch still differs.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False,
                 generator=None, seed=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if generator is not None and seed is not None:
            raise ValueError("pass either generator or seed, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"generator must be an np.random.Generator, "
                            f"got {type(generator).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = np.random.default_rng(seed) if seed is not None else generator

    def __len__(self):
        full, rest = divmod(len(self.dataset), self.batch_size)
        return full if self.drop_last or rest == 0 else full + 1

    def __iter__(self):
        order = self._epoch_order()
        # Objects that only have __len__ and __getitem__ are datasets too (duck typing).
        fetch = getattr(self.dataset, "get_batch", None) \
            or functools.partial(get_batch_by_items, self.dataset)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            yield _as_tensors(fetch(order[start:start + self.batch_size]))

    def _epoch_order(self):
        """All indices, in the order this epoch visits them."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        # default_generator() is looked up now, not stored: manual_seed replaces it.
        generator = self.generator if self.generator is not None else default_generator()
        return generator.permutation(n)


def _as_tensors(batch):
    """Wrap a batch of arrays in Tensors, keeping dtypes and sharing memory."""
    if isinstance(batch, (tuple, list)):
        return tuple(Tensor(array) for array in batch)
    return Tensor(batch)
