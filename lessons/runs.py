"""Lesson experiments as independent runs: one configuration in, one result out.

A lesson trains many small models (seeds × methods × learning rates), each independent of the
others. Written as a list of `Run`s, they go through one function, `run_all`, which
- spreads them over the local cores (joblib's process pool) or a Dask cluster,
- keeps every result in a disk cache, keyed by the run's function, its configuration and a
  fingerprint of the source of `minigrad/` and `lessons/`: a code change gives new keys, so a
  stale result is never served, and a notebook executed after `python -m lessons` (same mode)
  reads the results instead of training again.

The results do not depend on how they were computed: each run seeds itself from its
configuration, and every run uses one BLAS thread wherever it runs (a BLAS splits its work
differently for other thread counts, which changes the rounding). A Dask worker on another CPU
picks its own BLAS kernel, though, and may round differently: the cache then holds what the
machine that ran each result computed.

How runs execute is set once, by `python -m lessons` flags or by the environment variables
MINIGRAD_JOBS, MINIGRAD_CACHE_DIR ("off" for none) and MINIGRAD_SCHEDULER, which the notebook
kernels that the runner starts inherit.
"""
import hashlib
import os
import pickle
import tempfile
import time
import traceback
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import joblib
from threadpoolctl import threadpool_limits
from tqdm import tqdm

import minigrad as mg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_DIR = ROOT / "lesson_outputs" / ".cache"


class RunnerError(Exception):
    """A setting the runner cannot work with, found before any run starts."""


class RunFailed(RuntimeError):
    """A run raised: says which lesson, which configuration, and the traceback where it ran."""


class Run:
    """One configuration of one experiment: `function(**config)` gives its result.

    `function` must be a module-level function (it is sent to other processes by name) and seed
    everything it draws from its configuration, so its result does not depend on where or in
    what order it runs.
    """

    def __init__(self, function, **config):
        self.function, self.config = function, config

    def __repr__(self):
        arguments = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.function.__module__}.{self.function.__qualname__}({arguments})"


# --------------------------------------------------------------------------- settings


@dataclass
class Settings:
    jobs: int
    cache_dir: Path | None
    scheduler: str | None


def from_environment():
    """The settings that MINIGRAD_JOBS, MINIGRAD_CACHE_DIR and MINIGRAD_SCHEDULER give."""
    jobs = os.environ.get("MINIGRAD_JOBS", "")
    cache = os.environ.get("MINIGRAD_CACHE_DIR", "")
    return Settings(jobs=int(jobs) if jobs else joblib.cpu_count(),
                    cache_dir=None if cache == "off" else Path(cache or DEFAULT_CACHE_DIR),
                    scheduler=os.environ.get("MINIGRAD_SCHEDULER") or None)


settings = from_environment()


def configure(jobs=None, cache_dir=DEFAULT_CACHE_DIR, scheduler=None):
    """Set how `run_all` executes; checks each setting before any work starts.

    jobs: worker processes (None: every core; 1: in this process, one run after another, which
    is the way to debug a run). cache_dir: a folder, or None for no cache. scheduler: the
    address of a running `dask.distributed` scheduler ("tcp://HOST:PORT"), or None.
    The settings are also exported to the environment, for the notebook kernels started later.
    """
    jobs = joblib.cpu_count() if jobs is None else jobs
    if not isinstance(jobs, int) or jobs < 1:
        raise RunnerError(f"jobs must be a whole number >= 1, got {jobs!r}")
    if cache_dir is not None:
        cache_dir = _writable(Path(cache_dir))
    if scheduler is not None:
        _connect(scheduler)
    settings.jobs, settings.cache_dir, settings.scheduler = jobs, cache_dir, scheduler
    os.environ.update(MINIGRAD_JOBS=str(jobs), MINIGRAD_CACHE_DIR=str(cache_dir or "off"),
                      MINIGRAD_SCHEDULER=scheduler or "")
    return settings


def _writable(folder):
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise RunnerError(f"cannot write the cache folder {folder}: {error.strerror or error}")
    return folder


@lru_cache(maxsize=None)
def _connect(address):
    """A Dask client for `address`, made once (joblib's Dask backend uses the newest client)."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise RunnerError('a Dask scheduler needs the cluster extra: pip install -e ".[cluster]"')
    try:
        client = Client(address, timeout="5s")
    except (OSError, TimeoutError, ValueError) as error:
        raise RunnerError(f"cannot reach the Dask scheduler at {address}: {error}")
    try:  # a run travels as a reference to its function: the scheduler unpickles it too
        client.run_on_scheduler(exec, "import lessons, minigrad")
        client.run(exec, "import lessons, minigrad")
    except Exception as error:
        client.close()
        raise RunnerError(f"the Dask scheduler or workers at {address} cannot import lessons and "
                          f"minigrad ({type(error).__name__}: {error}); start them where this "
                          f"checkout is installed (pip install -e .)")
    return client


# --------------------------------------------------------------------------- the cache


@lru_cache(maxsize=1)
def source_fingerprint():
    """A hash of every .py file under minigrad/ and lessons/ (paths and contents)."""
    digest = hashlib.sha256()
    for package in ("minigrad", "lessons"):
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_path(run):
    """Where `run`'s result is kept: one file per function, configuration and source version."""
    name = f"{run.function.__module__}.{run.function.__qualname__}"
    key = hashlib.sha256(f"{name}|{joblib.hash(run.config)}|{source_fingerprint()}".encode())
    return settings.cache_dir / name / f"{key.hexdigest()}.pkl"


def _load(run):
    path = cache_path(run)
    if not path.exists():
        return None
    with open(path, "rb") as file:
        return pickle.load(file)


def _store(run, outcome):
    path = cache_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as file:
        pickle.dump(outcome, file, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(file.name, path)  # whole or absent: a run killed mid-write leaves no half file


# --------------------------------------------------------------------------- running


@dataclass
class _Outcome:
    result: object = None
    error: str | None = None  # the traceback, formatted where the run raised
    seconds: float = 0.0      # how long the run took where it ran


def _execute(index, function, config):
    """Runs in a worker: one BLAS thread, one BN thread, and the error caught with its traceback."""
    threads = mg.get_num_threads()
    mg.set_num_threads(1)
    started = time.perf_counter()
    try:
        with threadpool_limits(limits=1):
            outcome = _Outcome(result=function(**config))
    except Exception:
        outcome = _Outcome(error=traceback.format_exc())
    finally:
        mg.set_num_threads(threads)
    outcome.seconds = time.perf_counter() - started
    return index, outcome


class Progress:
    """The runs of a `progress` block: one bar for all its `run_all` calls, and their cost."""

    def __init__(self, bar):
        self.bar = bar
        self.computed = self.read = 0  # runs computed here, results read from the cache
        self.run_time_s = 0.0          # the computed runs' seconds, summed over the workers


_current = None  # the Progress of the enclosing `progress` block, if any


@contextmanager
def progress(desc):
    """One progress bar for every `run_all` inside the block (a lesson's experiments).

    The experiments submit their runs one after another, so the bar's total grows as they do:
    its estimate covers the runs submitted so far. Yields the block's `Progress`.
    """
    global _current
    enclosing = _current
    with tqdm(total=0, desc=desc, unit="run", leave=False, disable=None) as bar:
        _current = Progress(bar)  # disable=None: the bar is shown on a terminal only
        try:
            yield _current
        finally:
            _current = enclosing


def run_all(runs, desc=None):
    """Every run's result, in the order of `runs`; cached results are read, the rest computed.

    A run that raises does not stop the others: their results are cached, then `RunFailed`
    names the failed run's configuration and gives its traceback.
    """
    runs = list(runs)
    outcomes = {i: _load(run) for i, run in enumerate(runs)} if settings.cache_dir else {}
    todo = [i for i in range(len(runs)) if outcomes.get(i) is None]
    with progress(desc) if _current is None else nullcontext(_current) as tally:
        tally.bar.total += len(runs)
        tally.bar.update(len(runs) - len(todo))
        tally.read += len(runs) - len(todo)
        for index, outcome in _dispatch([(i, runs[i]) for i in todo]):
            if outcome.error is None and settings.cache_dir:
                _store(runs[index], outcome)
            outcomes[index] = outcome
            tally.computed += 1
            tally.run_time_s += outcome.seconds
            tally.bar.update()
    failed = [i for i in todo if outcomes[i].error is not None]
    if failed:
        first = failed[0]
        raise RunFailed(f"{len(failed)} of {len(runs)} runs of {desc or 'a lesson'} failed; "
                        f"the first, {runs[first]!r}, raised:\n{outcomes[first].error}")
    return [outcomes[i].result for i in range(len(runs))]


def _dispatch(indexed_runs):
    """(index, outcome) pairs as the runs finish: in this process, on local cores, or on Dask."""
    calls = (joblib.delayed(_execute)(i, run.function, run.config) for i, run in indexed_runs)
    if settings.scheduler is None and (settings.jobs == 1 or len(indexed_runs) < 2):
        yield from (_execute(i, run.function, run.config) for i, run in indexed_runs)
        return
    backend = "dask" if settings.scheduler else "loky"
    if settings.scheduler:
        _connect(settings.scheduler)
    with joblib.parallel_config(backend=backend):
        yield from joblib.Parallel(n_jobs=settings.jobs if backend == "loky" else -1,
                                   return_as="generator_unordered")(calls)
