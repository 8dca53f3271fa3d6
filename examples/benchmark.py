"""Benchmark minigrad against PyTorch CPU on the same work, in one run.

    python examples/benchmark.py [--repeats 20] [--json benchmark.json]

Both frameworks get the same inputs, float32, and the same number of threads; calls are
interleaved (minigrad, torch, minigrad, ...) so that machine noise hits both alike, and
medians are reported. Ratios > 1 mean minigrad is slower. GFLOP/s counts the multiply-adds
of the matmuls/convolutions (training ≈ 3× forward) and is compared with this machine's
GEMM peak, measured here with one large np.matmul. Without PyTorch only minigrad's columns
are printed. Timings live here, never in tests.
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

try:
    import torch
except ImportError:
    torch = None

THREADS = os.cpu_count()


# --------------------------------------------------------------------------- the workloads


def mlp_layers(lib, bn):
    """3072-512-256-10 with BatchNorm1d + ReLU after each hidden Linear (same code, two libraries)."""
    layers = []
    for fan_in, fan_out in ((3072, 512), (512, 256)):
        layers += [lib.nn.Linear(fan_in, fan_out)] + ([lib.nn.BatchNorm1d(fan_out)] if bn else [])
        layers.append(lib.nn.ReLU())
    return lib.nn.Sequential(*layers, lib.nn.Linear(256, 10))


def cnn_layers(lib):
    """3 × [Conv3×3 pad 1 → BatchNorm2d → ReLU → MaxPool2d(2)] → Flatten → Linear(2048, 10)."""
    layers, c_in = [], 3
    for c_out in (32, 64, 128):
        layers += [lib.nn.Conv2d(c_in, c_out, 3, padding=1), lib.nn.BatchNorm2d(c_out),
                   lib.nn.ReLU(), lib.nn.MaxPool2d(2)]
        c_in = c_out
    return lib.nn.Sequential(*layers, lib.nn.Flatten(), lib.nn.Linear(2048, 10))


def train_step(lib, model, x, y):
    """One SGD-with-momentum step: zero_grad, forward, backward, step."""
    optimizer = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = F.cross_entropy if lib is mg else torch.nn.functional.cross_entropy

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    return step


def make_inputs(lib, shape, classes=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.integers(0, classes, shape[0])
    if lib is mg:
        return mg.Tensor(x), y
    return torch.from_numpy(x), torch.from_numpy(y)


def batch_norm_step(lib, shape=(128, 64, 16, 16)):
    """BatchNorm2d forward + backward (training mode) with a random upstream gradient."""
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(shape, dtype=np.float32)
    upstream_np = rng.standard_normal(shape, dtype=np.float32)
    layer = lib.nn.BatchNorm2d(shape[1])
    if lib is mg:
        x, upstream = mg.Tensor(x_np, requires_grad=True), upstream_np
    else:
        x, upstream = torch.from_numpy(x_np).requires_grad_(), torch.from_numpy(upstream_np)

    def step():
        x.grad = None
        layer(x).backward(upstream)

    return step


def op_chain_step(lib, length=1000, size=(16, 16)):
    """A chain of `length` small elementwise ops, forward + backward: pure per-op overhead."""
    x_np = np.random.default_rng(0).standard_normal(size, dtype=np.float32) * 0.1
    x = mg.Tensor(x_np, requires_grad=True) if lib is mg else torch.from_numpy(x_np).requires_grad_()

    def step():
        x.grad = None
        h = x
        for i in range(length // 2):
            h = (h * 0.99 if i % 2 else h + 0.01).tanh()
        h.sum().backward()

    return step


def mlp_flops(batch=128):
    return 3 * 2 * batch * (3072 * 512 + 512 * 256 + 256 * 10)


def cnn_flops(batch=128):
    convs = [(3, 32, 32), (32, 64, 16), (64, 128, 8)]  # (c_in, c_out, spatial side)
    forward = sum(2 * batch * c_out * side * side * c_in * 9 for c_in, c_out, side in convs)
    return 3 * (forward + 2 * batch * 2048 * 10)


# --------------------------------------------------------------------------- measuring


def interleaved_medians(steps, repeats, warmup=2):
    """Median seconds per call of each step function, calling them in turn."""
    for step in steps:
        for _ in range(warmup):
            step()
    times = [[] for _ in steps]
    for _ in range(repeats):
        for i, step in enumerate(steps):
            start = time.perf_counter()
            step()
            times[i].append(time.perf_counter() - start)
    return [float(np.median(t)) for t in times]


def gemm_peak_gflops(n=2048, repeats=5):
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    (seconds,) = interleaved_medians([lambda: a @ a], repeats, warmup=1)
    return 2 * n ** 3 / seconds / 1e9


def peak_memory_mb(library):
    """Peak RSS growth of a fresh process doing three CNN steps (MiB), or None."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
            f"import benchmark; print(benchmark._memory_probe({library!r}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return float(result.stdout.strip()) if result.returncode == 0 else None


def _memory_probe(library):
    lib = mg if library == "minigrad" else torch
    model, (x, y) = cnn_layers(lib), make_inputs(lib, (128, 3, 32, 32))
    step = train_step(lib, model, x, y)
    with open("/proc/self/statm") as f:
        before = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20
    for _ in range(3):
        step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 10  # KiB on Linux
    return peak - before


# --------------------------------------------------------------------------- the table


def workloads():
    """(name, builder(lib) -> step, flops per step or None)."""
    return [
        ("MLP train step", lambda lib: train_step(lib, mlp_layers(lib, bn=True),
                                                  *make_inputs(lib, (128, 3072))), mlp_flops()),
        ("CNN train step", lambda lib: train_step(lib, cnn_layers(lib),
                                                  *make_inputs(lib, (128, 3, 32, 32))), cnn_flops()),
        ("BatchNorm2d fwd+bwd", batch_norm_step, None),
        ("1,000-op chain", op_chain_step, None),
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json", default="benchmark.json")
    args = parser.parse_args(argv)
    if torch is not None:
        torch.set_num_threads(THREADS)
    peak = gemm_peak_gflops()
    print(f"threads: {THREADS}   GEMM peak (np.matmul 2048², float32): {peak:.1f} GFLOP/s")
    header = f"{'workload':<22}{'minigrad ms':>12}{'torch ms':>10}{'ratio':>7}{'GFLOP/s':>9}{'% peak':>8}"
    print(header + "\n" + "-" * len(header))
    results = {"threads": THREADS, "gemm_peak_gflops": peak, "workloads": {}}
    for name, build, flops in workloads():
        libraries = [mg] + ([torch] if torch is not None else [])
        mg.manual_seed(0)
        medians = interleaved_medians([build(lib) for lib in libraries], args.repeats)
        ours = medians[0]
        theirs = medians[1] if torch is not None else None
        gflops = flops / ours / 1e9 if flops else None
        results["workloads"][name] = {"minigrad_s": ours, "torch_s": theirs,
                                      "ratio": theirs and ours / theirs, "gflops": gflops}
        print(f"{name:<22}{ours * 1e3:>12.2f}"
              + (f"{theirs * 1e3:>10.2f}{ours / theirs:>7.2f}" if theirs else f"{'-':>10}{'-':>7}")
              + (f"{gflops:>9.1f}{100 * gflops / peak:>7.0f}%" if gflops else ""))
    memory = {lib: peak_memory_mb(lib) for lib in ["minigrad"] + (["torch"] if torch else [])}
    results["cnn_peak_memory_mib"] = memory
    print("CNN step peak memory (RSS growth, MiB): "
          + ", ".join(f"{k} {v:.0f}" if v is not None else f"{k} n/a" for k, v in memory.items()))
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
