"""Time BatchNorm's three implementations against PyTorch CPU (training forward + backward).

    python examples/benchmark_batchnorm.py [--repeats 30] [--threads N] [--warm-for 0.2]

Each step is one training-mode `batch_norm` call with γ, β and running statistics, then a
backward pass with a random upstream gradient, all in float32. Steps are interleaved
(fused, staged, composed, torch, fused, ...) so machine noise hits every column alike, each
timed call after --warm-for seconds of untimed ones (so PyTorch's idle threads are not
spinning on a core during the next column's call; see timing.py), and medians are
reported. "× torch" is the median time divided by PyTorch's median (> 1 means slower).
PyTorch and minigrad's elementwise chains (minigrad.set_num_threads) run on `--threads`
threads (default: every core); minigrad's reductions use one. The load average is printed
too: on a busy machine every number is inflated. Without PyTorch only minigrad's columns
are printed.
"""
import argparse
import os

import numpy as np

import minigrad as mg
from minigrad.nn import functional as F

from timing import interleaved_medians

try:
    import torch
except ImportError:
    torch = None

CASES = {"BatchNorm2d (128, 64, 16, 16)": (128, 64, 16, 16),
         "BatchNorm1d (128, 512)": (128, 512)}
IMPLEMENTATIONS = ("fused", "staged", "composed")


def inputs(shape, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape, dtype=np.float32) * 2 + 1,
            rng.standard_normal(shape, dtype=np.float32))


def minigrad_step(shape, implementation):
    x_np, upstream = inputs(shape)
    channels = shape[1]
    x = mg.tensor(x_np, requires_grad=True)
    weight, bias = mg.ones(channels, requires_grad=True), mg.zeros(channels, requires_grad=True)
    running_mean, running_var = mg.zeros(channels), mg.ones(channels)

    def step():
        x.grad = weight.grad = bias.grad = None
        y = F.batch_norm(x, running_mean, running_var, weight, bias, training=True,
                         implementation=implementation)
        y.backward(upstream)

    return step


def torch_step(shape):
    x_np, upstream_np = inputs(shape)
    channels = shape[1]
    x = torch.from_numpy(x_np).requires_grad_()
    upstream = torch.from_numpy(upstream_np)
    weight = torch.ones(channels, requires_grad=True)
    bias = torch.zeros(channels, requires_grad=True)
    running_mean, running_var = torch.zeros(channels), torch.ones(channels)

    def step():
        x.grad = weight.grad = bias.grad = None
        y = torch.nn.functional.batch_norm(x, running_mean, running_var, weight, bias,
                                           training=True)
        y.backward(upstream)

    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--warm-for", type=float, default=0.2)
    args = parser.parse_args()
    mg.set_num_threads(args.threads)
    names = list(IMPLEMENTATIONS) + (["torch"] if torch is not None else [])
    if torch is not None:
        torch.set_num_threads(args.threads)
        threads = torch.get_num_threads()
        print(f"PyTorch {torch.__version__} on {threads} thread{'s' * (threads != 1)}; ", end="")
    print(f"NumPy {np.__version__}; medians of {args.repeats} interleaved repeats, float32; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores\n")
    header = f"{'':<32}" + "".join(f"{name:>10}" for name in names)
    for case, shape in CASES.items():
        steps = [minigrad_step(shape, name) for name in IMPLEMENTATIONS]
        steps += [torch_step(shape)] if torch is not None else []
        medians = interleaved_medians(steps, args.repeats, warmup=3, warm_for=args.warm_for)
        print(header)
        print(f"{case + ' ms':<32}" + "".join(f"{1e3 * t:>10.2f}" for t in medians))
        if torch is not None:
            print(f"{'  × torch':<32}" + "".join(f"{t / medians[-1]:>10.2f}" for t in medians))
        print(f"{'  × fused':<32}" + "".join(f"{t / medians[0]:>10.2f}" for t in medians))
        print()


if __name__ == "__main__":
    main()
