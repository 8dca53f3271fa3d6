"""Per-op overhead: how long minigrad spends per op outside NumPy's arithmetic.

A chain of small ops on (16, 16) float32 tensors (add, mul, tanh in turn) is built and
back-propagated; at this size the arithmetic takes well under a microsecond, so the time
per op is almost all bookkeeping: wrapping arrays, recording the graph, the backward sweep.
That is the cost the lessons pay thousands of times per training run. PyTorch CPU runs the
same chain when it is installed, with as many threads as NumPy uses, and with one thread
(its fastest setting for tensors this small). The frameworks take turns, repeat after
repeat, so a busy machine slows both alike; the table shows medians.

The constants keep values and gradients of order one all along the chain: a chain that
shrinks its gradient geometrically reaches subnormal floats, whose arithmetic is many times
slower and would be measured instead of the overhead.

    python examples/benchmark_overhead.py [--ops 1000] [--repeats 30] [--size 16]
"""
import argparse
import os
import statistics
import time

import numpy as np

import minigrad as mg


def numpy_threads():
    """Threads NumPy's BLAS may use, so PyTorch gets the same number (fair comparison)."""
    try:
        from threadpoolctl import threadpool_info
        return max(info["num_threads"] for info in threadpool_info())
    except (ImportError, ValueError):
        pass
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return os.cpu_count() or 1


def chain(x, shift, scale, ops):
    """ops steps of h + shift, h * scale, tanh(h) in turn; returns the scalar sum."""
    h = x
    for i in range(ops):
        step = i % 3
        h = h + shift if step == 0 else h * scale if step == 1 else h.tanh()
    return h.sum()


class Framework:
    """One framework's leaf, constants and grad switch, and the times it has collected."""

    def __init__(self, name, as_tensor, no_grad, before=None):
        self.name, self.as_tensor, self.no_grad, self.before = name, as_tensor, no_grad, before
        self.times = {"forward": [], "backward": [], "no_grad forward": []}

    def run_once(self, data, ops):
        if self.before:
            self.before()  # e.g. set PyTorch's thread count for this row
        shift = self.as_tensor(np.full_like(data, 0.01), False)
        scale = self.as_tensor(np.full_like(data, 1.0), False)
        x = self.as_tensor(data, True)
        start = time.perf_counter()
        loss = chain(x, shift, scale, ops)
        middle = time.perf_counter()
        loss.backward()
        end = time.perf_counter()
        with self.no_grad():
            chain(x, shift, scale, ops)
        self.times["forward"].append(middle - start)
        self.times["backward"].append(end - middle)
        self.times["no_grad forward"].append(time.perf_counter() - end)

    def microseconds_per_op(self, ops):
        medians = {k: 1e6 * statistics.median(v) / ops for k, v in self.times.items()}
        medians["fwd+bwd"] = medians["forward"] + medians["backward"]
        return medians


def frameworks():
    yield Framework("minigrad", lambda a, grad: mg.tensor(a, requires_grad=grad), mg.no_grad)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: minigrad numbers only.")
        return
    for threads in sorted({numpy_threads(), 1}, reverse=True):
        yield Framework(f"torch {torch.__version__} ({threads} thread{'s' * (threads > 1)})",
                        lambda a, grad: torch.tensor(a, requires_grad=grad), torch.no_grad,
                        before=lambda n=threads: torch.set_num_threads(n))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--size", type=int, default=16)
    args = parser.parse_args()

    data = np.random.default_rng(0).standard_normal((args.size, args.size)).astype(np.float32)
    contenders = list(frameworks())
    for framework in contenders:
        framework.run_once(data, args.ops)  # warm-up, not timed
        framework.times = {k: [] for k in framework.times}
    for _ in range(args.repeats):
        for framework in contenders:
            framework.run_once(data, args.ops)

    columns = ["forward", "backward", "fwd+bwd", "no_grad forward"]
    print(f"\nchain of {args.ops} ops (add, mul, tanh) on ({args.size}, {args.size}) float32, "
          f"median of {args.repeats} runs, microseconds per op\n")
    print(f"{'':46s}" + "".join(f"{c:>16s}" for c in columns))
    rows = {f.name: f.microseconds_per_op(args.ops) for f in contenders}
    for name, row in rows.items():
        print(f"{name:46s}" + "".join(f"{row[c]:16.2f}" for c in columns))
    ours = rows.pop("minigrad")
    for name, row in rows.items():
        print(f"{'minigrad / ' + name:46s}" + "".join(f"{ours[c] / row[c]:16.2f}" for c in columns))


if __name__ == "__main__":
    main()
