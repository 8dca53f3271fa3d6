"""Benchmark minigrad against PyTorch CPU on the same work, in one run.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python examples/benchmark.py [--repeats 20]
        [--threads N] [--json benchmark.json]

The header names the CPU and the OpenBLAS kernel that ran (Haswell, SkylakeX, ...): the
ratios depend on both, since PyTorch brings kernels of its own. Some machines set
OPENBLAS_CORETYPE or OPENBLAS_L2_SIZE, which force a kernel or a cache size other than the
one OpenBLAS would pick for the CPU; unset them for the benchmark command alone (as above),
not in your shell, so the tests and lessons keep the machine's setting.

Both frameworks get the same inputs, float32, and the same number of threads (NumPy's BLAS
threads, which minigrad.set_num_threads also gets; --threads N restarts the script with
OPENBLAS_NUM_THREADS=N, since BLAS reads it once at start-up). Calls are interleaved
(minigrad, torch, minigrad, ...) so machine noise hits both alike, and medians are
reported, of wall time and of CPU time (all threads). Each turn first runs its step
untimed for --warm-for seconds: without that, the other library's idle threads are still
spinning on a core (timing.py says more), which made PyTorch look 1.4× slower than it is
on the CNN step.
Ratios > 1 mean minigrad is slower; "must"/"aim" are the targets of issue 21. GFLOP/s counts
the multiply-adds of the matmuls/convolutions, forward and backward, and is compared with
this machine's GEMM peak, measured in the same run with one large np.matmul. The header
gives the load average: on a busy machine wall times are inflated (and 2-thread BLAS can
spin while one thread waits for the other), so compare ratios, and CPU ratios, of one run.
The run first calls minigrad.allocator.reuse_freed_memory() (as the lessons and the training
examples do), which stops glibc from handing each step's memory back to the OS only for the
next step to fault it in again; both frameworks share the process and so the setting.
--return-freed-memory leaves glibc's default, to see what the setting is worth.
Without PyTorch only minigrad's columns are printed. Timings live here, never in tests.

The BatchNorm step comes from benchmark_batchnorm.py and the op chain from
benchmark_overhead.py, which look at those two workloads in more detail.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

import minigrad as mg
from minigrad.allocator import reuse_freed_memory
from minigrad.nn import functional as F

from benchmark_batchnorm import minigrad_step as batch_norm_minigrad_step, torch_step as batch_norm_torch_step
from benchmark_overhead import chain, numpy_threads
from timing import header, interleaved_times, load_average, machine_info

try:
    import torch
except ImportError:
    torch = None

BATCH = 128
MLP_SIZES = (3072, 512, 256, 10)
CNN_CHANNELS = (3, 32, 64, 128)
BATCH_NORM_SHAPE = (128, 64, 16, 16)
CHAIN_OPS = 1000


# --------------------------------------------------------------------------- the workloads


def mlp_layers(lib, bn=True):
    """3072-512-256-10, BatchNorm1d + ReLU after each hidden Linear (same code, two libraries)."""
    layers = []
    for fan_in, fan_out in zip(MLP_SIZES[:-2], MLP_SIZES[1:-1]):
        layers += [lib.nn.Linear(fan_in, fan_out)] + ([lib.nn.BatchNorm1d(fan_out)] if bn else [])
        layers.append(lib.nn.ReLU())
    return lib.nn.Sequential(*layers, lib.nn.Linear(MLP_SIZES[-2], MLP_SIZES[-1]))


def cnn_layers(lib):
    """3 × [Conv3×3 pad 1 → BatchNorm2d → ReLU → MaxPool2d(2)] → Flatten → Linear(2048, 10)."""
    layers = []
    for c_in, c_out in zip(CNN_CHANNELS, CNN_CHANNELS[1:]):
        layers += [lib.nn.Conv2d(c_in, c_out, 3, padding=1), lib.nn.BatchNorm2d(c_out),
                   lib.nn.ReLU(), lib.nn.MaxPool2d(2)]
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


def mlp_step(lib):
    return train_step(lib, mlp_layers(lib), *make_inputs(lib, (BATCH, MLP_SIZES[0])))


def cnn_step(lib):
    return train_step(lib, cnn_layers(lib), *make_inputs(lib, (BATCH, 3, 32, 32)))


def batch_norm_step(lib):
    """BatchNorm2d forward + backward in training mode, random upstream gradient."""
    if lib is mg:
        return batch_norm_minigrad_step(BATCH_NORM_SHAPE, "fused")
    return batch_norm_torch_step(BATCH_NORM_SHAPE)


def op_chain_step(lib, ops=CHAIN_OPS, size=16):
    """A chain of `ops` small ops (add, mul, tanh) forward + backward: the per-op overhead."""
    data = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    as_tensor = mg.tensor if lib is mg else torch.tensor
    shift, scale = as_tensor(np.full_like(data, 0.01)), as_tensor(np.full_like(data, 1.0))
    x = as_tensor(data, requires_grad=True)

    def step():
        x.grad = None
        chain(x, shift, scale, ops).backward()

    return step


def matmul_flops(layers):
    """Multiply-adds ×2 of a training step through these (rows, inner, columns, needs dx)
    products: forward y = x·w, backward dw = xᵀ·dy and (unless x is the input) dx = dy·wᵀ."""
    return sum(2 * rows * inner * cols * (3 if needs_dx else 2)
               for rows, inner, cols, needs_dx in layers)


def mlp_flops():
    return matmul_flops([(BATCH, fan_in, fan_out, i > 0)
                         for i, (fan_in, fan_out) in enumerate(zip(MLP_SIZES, MLP_SIZES[1:]))])


def cnn_flops():
    """A 3×3 convolution: a product of (N·H·W, 9·C_in) windows and (9·C_in, C_out) filters."""
    layers, side = [], 32
    for i, (c_in, c_out) in enumerate(zip(CNN_CHANNELS, CNN_CHANNELS[1:])):
        layers.append((BATCH * side * side, 9 * c_in, c_out, i > 0))
        side //= 2
    return matmul_flops(layers + [(BATCH, 2048, 10, True)])


# name, builder(lib) -> step, FLOPs per step (or None), per-op count (or None), must, aim
WORKLOADS = [
    ("MLP train step", mlp_step, mlp_flops(), None, 1.1, None),
    ("CNN train step", cnn_step, cnn_flops(), None, 1.3, 1.0),
    ("BatchNorm2d fwd+bwd", batch_norm_step, None, None, 1.2, None),
    (f"{CHAIN_OPS:,}-op chain", op_chain_step, None, CHAIN_OPS, 1.0, None),
]


# --------------------------------------------------------------------------- measuring


def gemm_peak_gflops(n=2048, repeats=5):
    """GFLOP/s of one large float32 np.matmul: what this machine's BLAS can reach."""
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    (timing,) = interleaved_times([lambda: a @ a], repeats, warmup=1)
    return 2 * n ** 3 / timing["wall"] / 1e9


def peak_memory_mib(library, reuse):
    """Peak RSS growth (MiB) of a fresh process doing three CNN steps, or None."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); "
            f"import benchmark; print(benchmark._memory_probe({library!r}, {reuse!r}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return float(result.stdout.strip()) if result.returncode == 0 else None


def _memory_probe(library, reuse):
    """The peak resident memory of three CNN steps above the memory before them, in MiB.

    Read from /proc (Linux): the peak (VmHWM) is reset to the current size just before the
    steps. Not getrusage's ru_maxrss: a process started from another keeps its parent's peak
    there across exec, so a probe run from this benchmark read the benchmark's own size.
    """
    lib = mg if library == "minigrad" else torch
    if reuse:
        reuse_freed_memory()
    lib.set_num_threads(numpy_threads())  # as in main(): both get BLAS's thread count
    step = cnn_step(lib)
    before = _status_mib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS
    for _ in range(3):
        step()
    return _status_mib("VmHWM") - before


def _status_mib(field):
    """A memory line of /proc/self/status (VmRSS, VmHWM, ...) in MiB."""
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 2 ** 10  # reported in kB


# --------------------------------------------------------------------------- the table


def target(must, aim):
    goals = (("must", must), ("aim", aim))
    return " ".join(f"{word} ≤{value:g}" for word, value in goals if value)


def run_workload(build, repeats, warm_for):
    """Interleaved timings of minigrad's and (if installed) PyTorch's step."""
    libraries = [mg] + ([torch] if torch is not None else [])
    mg.manual_seed(0)
    if torch is not None:
        torch.manual_seed(0)
    return interleaved_times([build(lib) for lib in libraries], repeats, warm_for=warm_for)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, help="BLAS and PyTorch threads (default: NumPy's)")
    parser.add_argument("--json", default="benchmark.json")
    parser.add_argument("--warm-for", type=float, default=0.2,
                        help="seconds of untimed calls before each timed one, so the other "
                             "library's idle threads stop spinning (timing.py); 0: none")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory probe")
    parser.add_argument("--return-freed-memory", action="store_true",
                        help="keep glibc's default of returning freed blocks to the OS")
    args = parser.parse_args(argv)
    if args.threads and args.threads != numpy_threads():
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(args.threads),
                   OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
        os.execve(sys.executable, [sys.executable, *sys.argv], env)  # BLAS reads it at import
    threads = numpy_threads()
    mg.set_num_threads(threads)
    if torch is not None:
        torch.set_num_threads(threads)

    info = machine_info()
    info["reuse_freed_memory"] = not args.return_freed_memory and reuse_freed_memory()
    print(header(info, threads, torch))
    print(f"freed memory kept for reuse (minigrad.allocator): {info['reuse_freed_memory']}")
    peak = gemm_peak_gflops()
    print(f"GEMM peak (np.matmul 2048² float32): {peak:.1f} GFLOP/s; medians of {args.repeats} "
          f"interleaved calls, each after {args.warm_for:g} s of untimed ones, float32\n")
    columns = (f"{'workload':<21}{'minigrad ms':>12}{'torch ms':>10}{'ratio':>7}{'CPU ratio':>10}"
               f"{'GFLOP/s':>9}{'% peak':>8}   target")
    print(columns + "\n" + "-" * len(columns))
    results = {**info, "threads": threads, "repeats": args.repeats, "warm_for_s": args.warm_for,
               "gemm_peak_gflops": peak,
               "torch": torch.__version__ if torch is not None else None, "workloads": {}}
    for name, build, flops, ops, must, aim in WORKLOADS:
        timings = run_workload(build, args.repeats, args.warm_for)
        ours, theirs = timings[0], timings[1] if len(timings) > 1 else None
        gflops = flops / ours["wall"] / 1e9 if flops else None
        row = {"minigrad": ours, "torch": theirs, "gflops": gflops, "must": must, "aim": aim,
               "ratio": theirs and ours["wall"] / theirs["wall"],
               "cpu_ratio": theirs and ours["cpu"] / theirs["cpu"]}
        results["workloads"][name] = row
        line = f"{name:<21}{1e3 * ours['wall']:>12.2f}"
        line += (f"{1e3 * theirs['wall']:>10.2f}{row['ratio']:>7.2f}{row['cpu_ratio']:>10.2f}"
                 if theirs else f"{'-':>10}{'-':>7}{'-':>10}")
        line += f"{gflops:>9.1f}{100 * gflops / peak:>7.0f}%" if gflops else f"{'':>17}"
        print(line + "   " + target(must, aim))
        if ops:
            per_op = f"{1e6 * ours['wall'] / ops:.1f} µs"
            if theirs:
                per_op += f" (torch {1e6 * theirs['wall'] / ops:.1f} µs)"
            print(f"{'':<21}per op, forward + backward: minigrad {per_op}")
    results["load_average_end"] = load_average()
    print("\nload average at the end: "
          + " / ".join(f"{x:.1f}" for x in results["load_average_end"]))
    if not args.no_memory:
        libraries = ["minigrad"] + (["torch"] if torch else [])
        memory = {lib: peak_memory_mib(lib, info["reuse_freed_memory"]) for lib in libraries}
        results["cnn_peak_memory_mib"] = memory
        print("CNN step peak memory (RSS growth over 3 steps in a fresh process, MiB): "
              + ", ".join(f"{k} {v:.0f}" if v is not None else f"{k} n/a"
                          for k, v in memory.items()))
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
