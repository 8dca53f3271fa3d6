"""Splitting elementwise chains over batch blocks (minigrad/parallel.py)."""
import multiprocessing
import os
import threading
import time

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import minigrad as mg
from minigrad import parallel
from minigrad.nn import functional as F


@pytest.fixture
def threads():
    """Set the thread count inside a test; the default comes back afterwards."""
    before = mg.get_num_threads()
    yield mg.set_num_threads
    mg.set_num_threads(before)


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 9), count=st.integers(1, 4))
def test_every_sample_is_computed_once(batch, count):
    """With tiny blocks allowed, any batch size splits into blocks that cover it exactly."""
    x = np.arange(batch * 3, dtype=np.float64).reshape(batch, 3) + 1
    out = np.zeros_like(x)
    before, smallest = mg.get_num_threads(), parallel.SMALLEST_BLOCK
    try:
        mg.set_num_threads(count)
        parallel.SMALLEST_BLOCK = 1
        parallel.over_batch_blocks(lambda x, out: np.add(out, 2 * x, out=out), x, out)
    finally:
        mg.set_num_threads(before)
        parallel.SMALLEST_BLOCK = smallest
    np.testing.assert_array_equal(out, 2 * x)


def batch_norm_results(x, upstream):
    x = mg.tensor(x, requires_grad=True)
    weight, bias = mg.ones(x.shape[1], requires_grad=True), mg.zeros(x.shape[1], requires_grad=True)
    y = F.batch_norm(x, None, None, weight * 1.5, bias + 0.5, training=True)
    y.backward(upstream)
    return y.data, x.grad.data, weight.grad.data, bias.grad.data


@pytest.mark.parametrize("channels_last", [False, True])
def test_batch_norm_is_bitwise_the_same_on_one_or_two_threads(threads, channels_last):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 32, 16, 16), dtype=np.float32)  # two blocks
    upstream = rng.standard_normal(x.shape, dtype=np.float32)
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    assert x.size >= 2 * parallel.SMALLEST_BLOCK  # so two threads do split it
    threads(1)
    one = batch_norm_results(x, upstream)
    threads(2)
    two = batch_norm_results(x, upstream)
    for name, a, b in zip(("y", "dx", "dgamma", "dbeta"), one, two):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_an_error_in_a_worker_block_reaches_the_caller(threads):
    threads(2)
    x = np.ones((4, parallel.SMALLEST_BLOCK), dtype=np.float32) * np.arange(4)[:, None]

    def fail_on_second_half(x):  # the caller runs rows 0-1, the worker rows 2-3
        if x[0, 0] >= 2:
            raise RuntimeError("block failed")

    with pytest.raises(RuntimeError, match="block failed"):
        parallel.over_batch_blocks(fail_on_second_half, x)


def large_batch_norm_sum(_):
    x = mg.tensor(np.ones((8, parallel.SMALLEST_BLOCK), dtype=np.float32))
    return float(F.batch_norm(x, None, None, training=True).sum().item())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_threads_of_its_own(threads):
    """The pool's threads do not survive fork; a child must start its own, not wait forever."""
    threads(2)
    large_batch_norm_sum(None)  # the parent's pool now exists
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.map_async(large_batch_norm_sum, [0]).get(timeout=60) == [0.0]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_num_threads_names_a_bad_value(bad):
    with pytest.raises(ValueError, match=f"positive int, got {bad!r}"):
        mg.set_num_threads(bad)


def test_get_num_threads_returns_what_was_set(threads):
    threads(3)
    assert mg.get_num_threads() == 3


def cnn_results(x, upstream):
    """A conv → ReLU → max-pool → conv chain's output and every gradient."""
    rng = np.random.default_rng(1)
    x = mg.tensor(x, requires_grad=True)
    w1, w2 = (mg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
              for shape in [(8, 3, 3, 3), (4, 8, 3, 3)])
    b1 = mg.tensor(rng.standard_normal(8).astype(np.float32), requires_grad=True)
    y = F.conv2d(F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2), w2, None, padding=1)
    y.backward(upstream)
    return [y.data, x.grad.data, w1.grad.data, b1.grad.data, w2.grad.data]


def test_convolution_relu_and_pooling_are_bitwise_the_same_on_one_or_three_threads(threads):
    """The convolution's blocks (`over_blocks`) and the ReLU/pooling blocks
    (`over_batch_blocks`) split the work differently per thread count, never the arithmetic."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 3, 32, 32), dtype=np.float32)
    upstream = rng.standard_normal((64, 4, 16, 16), dtype=np.float32)
    threads(1)
    one = cnn_results(x, upstream)
    threads(3)
    three = cnn_results(x, upstream)
    for name, a, b in zip(("y", "dx", "dw1", "db1", "dw2"), one, three):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_over_blocks_keeps_the_blocks_order_and_reraises(threads):
    threads(3)
    assert parallel.over_blocks(lambda block: block * 10, list(range(7))) == [0, 10, 20, 30, 40,
                                                                            50, 60]

    def fail_on_five(block):
        if block == 5:
            raise RuntimeError("block 5 failed")

    with pytest.raises(RuntimeError, match="block 5 failed"):
        parallel.over_blocks(fail_on_five, list(range(7)))


def test_a_thread_held_up_by_one_block_leaves_the_others_to_the_free_threads(threads):
    """Blocks are handed out one at a time: while one thread is stuck on a slow block the
    others take every remaining block, each exactly once, and the results keep block order."""
    threads(3)
    done_by = {}

    def compute(block):
        if block == 0:
            time.sleep(0.2)
        done_by.setdefault(block, []).append(threading.get_ident())
        return block * 10

    assert parallel.share_out(compute, list(range(9))) == [10 * b for b in range(9)]
    assert sorted(done_by) == list(range(9)) and all(len(t) == 1 for t in done_by.values())
    slow_thread = done_by[0][0]
    assert [b for b, (t,) in done_by.items() if t == slow_thread] == [0]


def test_small_products_run_on_one_blas_thread_large_ones_on_all(threads):
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return max(pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas")

    threads(2)
    with threadpool_limits(limits=2, user_api="blas"):
        with parallel.blas_threads_for(parallel.SMALL_PRODUCT - 1):
            small = blas_threads()
        with parallel.blas_threads_for(parallel.SMALL_PRODUCT):
            large = blas_threads()
        assert (small, large, blas_threads()) == (1, 2, 2)


def test_a_blocked_sum_is_exact_below_two_blocks_and_thread_count_free_above(threads):
    rng = np.random.default_rng(0)
    small = rng.standard_normal((3, parallel.SMALLEST_BLOCK // 4), dtype=np.float32)
    large = rng.standard_normal((16, parallel.SMALLEST_BLOCK // 4), dtype=np.float32)

    def column_sums(a):
        return a.sum(axis=0)

    np.testing.assert_array_equal(parallel.sum_over_batch_blocks(column_sums, small),
                                  column_sums(small))
    sums = []
    for count in (1, 3):
        threads(count)
        sums.append(parallel.sum_over_batch_blocks(column_sums, large))
    np.testing.assert_array_equal(*sums)
    np.testing.assert_allclose(sums[0], large.astype(np.float64).sum(axis=0), rtol=1e-4, atol=1e-4)
