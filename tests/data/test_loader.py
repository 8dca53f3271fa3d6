"""DataLoader and TensorDataset: batching, len, drop_last, dtypes, shuffling per seed."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from minigrad.autograd import Tensor, manual_seed
from minigrad.data import DataLoader, Dataset, TensorDataset


def index_dataset(n):
    """Item i is (i as float32 features, i as int64 label): batches reveal the order."""
    return TensorDataset(np.arange(n, dtype=np.float32)[:, None], np.arange(n, dtype=np.int64))


def visit_order(loader):
    return np.concatenate([y.data for _, y in loader])


@pytest.mark.parametrize("n, batch_size, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (2, 5, False, [2]),
    (2, 5, True, []),
    (0, 4, False, []),
])
def test_len_and_batch_sizes(n, batch_size, drop_last, sizes):
    loader = DataLoader(index_dataset(n), batch_size=batch_size, drop_last=drop_last)
    assert len(loader) == len(sizes)
    assert [len(y) for _, y in loader] == sizes


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), shuffle=st.booleans(),
       drop_last=st.booleans(), seed=st.integers(0, 2**16))
def test_every_index_visited_once(n, batch_size, shuffle, drop_last, seed):
    loader = DataLoader(index_dataset(n), batch_size, shuffle, drop_last, seed=seed)
    batches = list(loader)
    assert len(batches) == len(loader)
    order = visit_order(batches) if batches else np.array([], np.int64)
    expected = n - n % batch_size if drop_last else n
    assert len(order) == expected and len(set(order.tolist())) == expected
    if not shuffle:
        np.testing.assert_array_equal(order, np.arange(expected))


def test_batches_are_tensors_with_the_data_dtypes():
    X = np.random.default_rng(0).standard_normal((7, 3)).astype(np.float32)
    y = np.arange(7, dtype=np.int64)
    xb, yb = next(iter(DataLoader(TensorDataset(X, y), batch_size=4)))
    assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(xb.data, X[:4])
    assert not xb.requires_grad


def test_shuffle_follows_manual_seed():
    loader = DataLoader(index_dataset(50), batch_size=8, shuffle=True)
    manual_seed(3)
    first = visit_order(loader)
    manual_seed(3)
    again = visit_order(loader)
    manual_seed(4)
    other = visit_order(loader)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, np.arange(50))


def test_own_seed_is_reproducible_and_epochs_differ():
    def two_epochs(seed):
        loader = DataLoader(index_dataset(50), batch_size=8, shuffle=True, seed=seed)
        return visit_order(loader), visit_order(loader)

    first, second = two_epochs(0)
    np.testing.assert_array_equal(np.stack(two_epochs(0)), np.stack([first, second]))
    assert not np.array_equal(first, second)
    assert not np.array_equal(first, two_epochs(1)[0])


def test_own_seed_ignores_manual_seed():
    loader_a = DataLoader(index_dataset(30), batch_size=4, shuffle=True, seed=7)
    loader_b = DataLoader(index_dataset(30), batch_size=4, shuffle=True, seed=7)
    manual_seed(0)
    a = visit_order(loader_a)
    manual_seed(1)
    np.testing.assert_array_equal(a, visit_order(loader_b))


def test_generator_argument():
    orders = [visit_order(DataLoader(index_dataset(30), 4, shuffle=True,
                                     generator=np.random.default_rng(5))) for _ in range(2)]
    np.testing.assert_array_equal(*orders)


def test_array_datasets_are_batched_without_per_item_calls():
    class NoItems(TensorDataset):
        def __getitem__(self, index):
            raise AssertionError("the fast path must not fetch items one by one")

    loader = DataLoader(NoItems(np.zeros((10, 2), np.float32), np.zeros(10, np.int64)), 4,
                        shuffle=True, seed=0)
    assert sum(len(x) for x, _ in loader) == 10


class Squares(Dataset):
    """A generic dataset: items computed one at a time, Python numbers as labels."""

    def __len__(self):
        return 5

    def __getitem__(self, index):
        return np.full(2, index, dtype=np.float32), index * index


def test_generic_dataset_items_are_stacked():
    xb, yb = next(iter(DataLoader(Squares(), batch_size=3)))
    np.testing.assert_array_equal(xb.data, [[0, 0], [1, 1], [2, 2]])
    np.testing.assert_array_equal(yb.data, [0, 1, 4])
    assert xb.dtype == np.float32 and yb.dtype == np.int64


def test_duck_typed_dataset_with_single_array_items():
    class Floats:
        def __len__(self):
            return 4

        def __getitem__(self, index):
            return index / 2

    batches = list(DataLoader(Floats(), batch_size=3))
    assert isinstance(batches[0], Tensor) and batches[0].dtype == np.float32
    np.testing.assert_array_equal(batches[1].data, [1.5])


def test_tensor_dataset_accepts_tensors_and_arrays():
    dataset = TensorDataset(Tensor(np.ones((3, 2), np.float32)), np.arange(3))
    x, y = dataset[1]
    assert len(dataset) == 3 and x.shape == (2,) and y == 1
    assert all(isinstance(a, np.ndarray) for a in dataset.arrays)


@pytest.mark.parametrize("arrays", [(np.zeros((3, 2)), np.zeros(4)), (np.zeros(3), np.float32(1))])
def test_tensor_dataset_rejects_mismatched_lengths(arrays):
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(*arrays)


def test_bad_arguments():
    dataset = index_dataset(4)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(dataset, batch_size=bad)
    with pytest.raises(ValueError, match="either"):
        DataLoader(dataset, generator=np.random.default_rng(0), seed=0)
    with pytest.raises(TypeError, match="Generator"):
        DataLoader(dataset, generator=0)


def test_items_of_different_shapes_are_reported():
    class Ragged(Squares):
        def __getitem__(self, index):
            return np.zeros(index + 1, np.float32)

    with pytest.raises(ValueError, match="different shapes"):
        next(iter(DataLoader(Ragged(), batch_size=2)))
