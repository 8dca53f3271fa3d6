"""What the benchmark scripts share: interleaved timing and a header saying where it ran.

On a shared machine a single timing means little: other people's work slows whatever runs
at the same moment. So the contenders take turns, call after call (minigrad, torch,
minigrad, ...), medians are reported, and each table is printed under the load average it
was measured at. CPU time (time.process_time: every thread of this process, user + system)
is kept beside wall time: it is steadier under load, and a CPU time far above the wall
time shows threads spinning while they wait for each other.

Taking turns has traps of its own. After a call, a library's idle worker threads keep a core
busy for a while in case more work comes (spin-waiting; measured here: OpenBLAS, under
NumPy, about 110 ms; PyTorch's OpenMP pool about 10 ms), so the next contender runs beside a
spinning thread and loses a core it did not use itself. And a core that has been idle runs
slowly for its first ~0.1 s of work (measured here: a BatchNorm step split over two threads
was no faster than on one until its step had run for 0.1 s). So with `warm_for` > 0 each
turn first runs its step untimed for that long (at least once), which outlasts the other
library's spinning and wakes the cores, and then times one call: what a training loop that
runs one library step after step sees.
"""
import os
import platform
import time

import numpy as np


def interleaved_times(steps, repeats, warmup=2, warm_for=0.0):
    """Median wall and CPU seconds per call of each step function, calling them in turn
    (each turn after `warm_for` seconds of untimed calls, when warm_for > 0).

    Returns one dict per step: {"wall": median, "cpu": median, "walls": [...], "cpus": [...]}.
    """
    for step in steps:
        for _ in range(warmup):
            step()
    walls, cpus = [[] for _ in steps], [[] for _ in steps]
    for _ in range(repeats):
        for i, step in enumerate(steps):
            if warm_for:
                run_for(step, warm_for)
            wall, cpu = time.perf_counter(), time.process_time()
            step()
            cpus[i].append(time.process_time() - cpu)
            walls[i].append(time.perf_counter() - wall)
    return [{"wall": float(np.median(w)), "cpu": float(np.median(c)), "walls": w, "cpus": c}
            for w, c in zip(walls, cpus)]


def run_for(step, seconds):
    """Call step() until `seconds` have passed (at least once)."""
    start = time.perf_counter()
    step()
    while time.perf_counter() - start < seconds:
        step()


def interleaved_medians(steps, repeats, warmup=2, warm_for=0.0):
    """Median wall seconds per call of each step function, calling them in turn."""
    return [t["wall"] for t in interleaved_times(steps, repeats, warmup, warm_for)]


def load_average():
    """The 1, 5 and 15 minute load averages (runnable processes; compare with the cores)."""
    return os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas_name():
    """NumPy's BLAS library, version and the kernel it picked for this CPU, e.g.
    'scipy-openblas 0.3.31, Haswell kernels'."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name = f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # the layout of show_config is not a stable API
        name = "unknown BLAS"
    return f"{name}, {blas_kernel()} kernels"


def blas_kernel():
    """The OpenBLAS core type whose kernels run ('Haswell', 'SkylakeX', ...), via threadpoolctl.

    OpenBLAS picks it per CPU at start-up, unless OPENBLAS_CORETYPE forces one: the same
    machine can time very differently under another kernel.
    """
    from threadpoolctl import threadpool_info
    return next((pool.get("architecture") or "unknown" for pool in threadpool_info()
                 if pool.get("internal_api") == "openblas"), "non-OpenBLAS")


# Settings outside the code that change the timings: BLAS threads, a forced BLAS kernel or
# cache size (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE), how long idle BLAS threads spin, and
# whether glibc hands freed memory back to the OS after every step (then the next step pays
# page faults to get it back).
ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
               "OPENBLAS_L2_SIZE", "OPENBLAS_THREAD_TIMEOUT", "MALLOC_TRIM_THRESHOLD_",
               "MALLOC_MMAP_THRESHOLD_")


def machine_info():
    """Where and when this ran: a dict for JSON files."""
    return {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "cpu": cpu_name(),
            "cores": os.cpu_count(), "numpy": np.__version__, "blas": blas_name(),
            "load_average": load_average(),
            "environment": {k: os.environ[k] for k in ENVIRONMENT if k in os.environ}}


def header(info, threads, torch=None):
    """Lines for the top of a table: machine, versions, threads, load, settings."""
    versions = f"NumPy {info['numpy']} ({info['blas']})"
    if torch is not None:
        versions += f", PyTorch {torch.__version__}"
    load = " / ".join(f"{x:.1f}" for x in info["load_average"])
    environment = " ".join(f"{k}={v}" for k, v in info["environment"].items())
    return (f"{info['date']} on {info['cpu']} ({info['cores']} cores); {versions}\n"
            f"threads: {threads} (NumPy's BLAS{' and PyTorch' if torch is not None else ''}); "
            f"load average {load} (1/5/15 min)"
            + (f"\nenvironment: {environment}" if environment else ""))
