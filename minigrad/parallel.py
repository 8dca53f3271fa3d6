"""Running a long computation on blocks of the batch, on every core at once.

NumPy runs an elementwise loop on one core (only BLAS, behind matmul, uses several), but it
releases Python's GIL while the loop runs, so threads can work on different parts of the
batch at once. Each element goes through the same arithmetic whatever the split, so results
are identical, to the last bit, for any number of threads. Reductions
(`sum_over_batch_blocks`) and convolutions (`over_blocks`) cut blocks of a size that does
not depend on the thread count, so the same holds for them.

Split a whole chain of passes (e.g. BatchNorm's backward: four passes over dx), not each
pass: waking a thread costs tens of microseconds, and a chain over a block of samples also
finds its block still in cache from the previous pass. The batch axis is the outermost axis
in memory for NCHW and channels-last data alike, so a block of samples is one contiguous run.

Measured on a 2-core machine (examples/benchmark.py): BatchNorm2d forward + backward on
(128, 64, 16, 16) float32 went from ~11 to ~8-9 ms. Matrix products are BLAS's to split,
except where minigrad splits the work itself (`over_blocks`, for convolutions) and for
small products (`blas_threads_for`): after a call on several threads OpenBLAS keeps its
idle threads spinning for about 0.1 s, on the core our threads want.
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

SMALLEST_BLOCK = 1 << 18  # elements (1 MiB of float32); for less, a thread costs more than it saves


_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
_pool = None


def get_num_threads():
    """How many threads elementwise chains use (default: the cores this process may use)."""
    return _threads


def set_num_threads(threads):
    """Use `threads` threads for elementwise chains; 1 runs everything on the calling thread.

    As torch.set_num_threads, except that NumPy's BLAS (matmul) is left alone: it reads
    OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS) once, when NumPy is imported.
    """
    global _threads, _pool
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {threads!r}")
    if _pool is not None:
        _pool.shutdown()
    _threads, _pool = threads, None


def over_batch_blocks(function, *arrays):
    """function(*blocks) for matching blocks of samples (axis 0) of `arrays`, in parallel.

    `function` writes its results into its blocks (an output array passed among `arrays`);
    its return value is ignored. A large batch is cut into one block per thread.
    """
    batch, size = (len(arrays[0]) if arrays[0].ndim else 1), arrays[0].size
    count = max(1, min(_threads, batch, size // SMALLEST_BLOCK))
    if count == 1:
        function(*arrays)
        return
    bounds = [batch * i // count for i in range(count + 1)]
    parts = [[a[start:end] for a in arrays] for start, end in zip(bounds, bounds[1:])]
    share_out(lambda part: function(*part), parts)


def over_blocks(function, blocks):
    """[function(block) for block in blocks], the blocks shared out over the threads,
    NumPy's BLAS on one thread meanwhile.

    For work made of many modest matrix products (a convolution a few samples at a time):
    one BLAS call split over two threads pays a synchronisation per call, and a busy second
    core stalls every call, while a whole block per thread synchronises once. A block is
    then always computed on one BLAS thread, so the results do not depend on the number of
    threads. With one thread (set_num_threads(1)) the blocks run in turn on this thread and
    BLAS keeps its own setting.
    """
    if _threads == 1 or len(blocks) == 1:
        return [function(block) for block in blocks]
    with _one_blas_thread():
        return share_out(function, blocks)


def share_out(function, blocks):
    """[function(block) for block in blocks], computed by this thread and the worker threads,
    each taking the next block as soon as it is free.

    Handing blocks out one at a time, rather than a fixed share to each thread, keeps every
    core busy to the end when the blocks differ in size or a core is slowed by other work
    (measured: examples/benchmark.py's CNN step 5-6% faster on a 2-core machine than with a
    fixed run of consecutive blocks per thread). Which thread computes a block never changes
    its result, and the results come back in block order.
    """
    results, indices, lock = [None] * len(blocks), iter(range(len(blocks))), threading.Lock()

    def work():
        while True:
            with lock:
                index = next(indices, None)
            if index is None:
                return
            results[index] = function(blocks[index])

    helpers = [_worker_pool().submit(work) for _ in range(min(_threads, len(blocks)) - 1)]
    try:
        work()
    finally:
        for helper in helpers:
            helper.result()  # waits, and re-raises an error from a block it took
    return results


def sum_over_batch_blocks(function, *arrays):
    """Σ function(*blocks) over blocks of samples of `arrays` (a reduction such as a channel
    sum), the blocks computed on all cores and added in order.

    The blocks are SMALLEST_BLOCK-sized whatever the thread count, so the result is too; an
    array below two blocks is one block: function(*arrays), exactly.
    """
    batch = len(arrays[0])
    count = max(1, min(batch, arrays[0].size // SMALLEST_BLOCK))
    if count == 1:
        return function(*arrays)
    bounds = [batch * i // count for i in range(count + 1)]
    blocks = [slice(start, end) for start, end in zip(bounds, bounds[1:])]
    return sum(over_blocks(lambda block: function(*(a[block] for a in arrays)), blocks))


SMALL_PRODUCT = 1 << 23  # multiply-adds (about 0.2 ms on one core)


def blas_threads_for(multiply_adds):
    """A context for matrix products of about `multiply_adds`: a small one runs on one BLAS
    thread, a large one on all of them.

    After a call on several threads, OpenBLAS keeps its idle threads spinning for about 0.1 s,
    on the cores the next ops want (measured: a convolution right after a 2-thread
    (128, 2048) @ (2048, 10) product ran 2× slower). On a product that small the threads
    save less than that costs. With one thread (set_num_threads(1)) BLAS keeps its own setting.
    """
    small = multiply_adds < SMALL_PRODUCT and _threads > 1
    return _one_blas_thread() if small else nullcontext()


_blas = None


def _one_blas_thread():
    """A context in which NumPy's BLAS runs each call on the calling thread alone.

    threadpoolctl sets the limit when the context is made, so make it in the `with` line."""
    global _blas
    if _blas is None:  # finding the loaded BLAS takes milliseconds: once
        from threadpoolctl import ThreadpoolController
        _blas = ThreadpoolController().select(user_api="blas")
    if all(library.num_threads == 1 for library in _blas.lib_controllers):
        return nullcontext()  # nothing to limit (and limiting costs ~20 µs)
    return _blas.limit(limits=1)


def _worker_pool():
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max(1, _threads - 1), thread_name_prefix="minigrad")
    return _pool


def _forget_pool():
    """A forked child (multiprocessing on Linux) inherits the pool but not its threads."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
