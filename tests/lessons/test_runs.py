"""The lesson runner: same results in process, on two cores, from the cache and on Dask."""
import sys

import numpy as np
import pytest

import minigrad as mg
from lessons import runs
from lessons.runs import Run, RunFailed, RunnerError, run_all
from minigrad import nn


def train_tiny(seed, steps=20, lr=0.1):
    """A run: a small BN MLP trained by SGD; its losses depend on every rounding on the way."""
    mg.manual_seed(seed)
    X = mg.randn(64, 5)
    y = (X.data[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(5, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))
    optimizer = mg.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.array(losses)


def fails_for_seed_one(seed):
    if seed == 1:
        raise ValueError("seed one is broken")
    return seed


RUNS = [Run(train_tiny, seed=seed, lr=lr) for seed in (0, 1) for lr in (0.1, 0.5)]


def test_two_workers_give_bitwise_the_results_of_one_process_in_order():
    runs.configure(jobs=1, cache_dir=None)
    alone = run_all(RUNS)
    runs.configure(jobs=2, cache_dir=None)
    spread = run_all(RUNS)
    assert all(np.array_equal(a, b) for a, b in zip(alone, spread))
    assert not np.array_equal(alone[0], alone[1])  # the order is the runs' order


def test_a_cached_rerun_reads_the_results_without_running(tmp_path, monkeypatch):
    runs.configure(jobs=1, cache_dir=tmp_path)
    first = run_all(RUNS)
    monkeypatch.setattr(runs, "_execute", lambda *args: pytest.fail("ran instead of reading"))
    again = run_all(RUNS)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))


def test_a_code_change_is_a_cache_miss(tmp_path, monkeypatch):
    runs.configure(jobs=1, cache_dir=tmp_path)
    before = runs.cache_path(RUNS[0])
    monkeypatch.setattr(runs, "source_fingerprint", lambda: "another version of the code")
    assert runs.cache_path(RUNS[0]) != before
    assert runs.cache_path(RUNS[0]) != runs.cache_path(RUNS[1])


def test_fingerprint_covers_minigrad_and_lessons():
    assert len(runs.source_fingerprint()) == 64


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failed_run_names_its_configuration_and_keeps_the_others(tmp_path, jobs):
    runs.configure(jobs=jobs, cache_dir=tmp_path)
    batch = [Run(fails_for_seed_one, seed=seed) for seed in (0, 1, 2)]
    with pytest.raises(RunFailed) as raised:
        run_all(batch, desc="a test lesson")
    message = str(raised.value)
    assert "1 of 3 runs of a test lesson" in message and "seed=1" in message
    assert "ValueError: seed one is broken" in message  # the worker's traceback
    assert runs._load(batch[0]).result == 0 and runs._load(batch[2]).result == 2


def test_bad_settings_are_refused_before_any_work(tmp_path):
    with pytest.raises(RunnerError, match="jobs must be a whole number >= 1, got 0"):
        runs.configure(jobs=0)
    blocker = tmp_path / "a file"
    blocker.write_text("")
    with pytest.raises(RunnerError, match="cannot write the cache folder"):
        runs.configure(cache_dir=blocker / "cache")


def test_an_unreachable_scheduler_is_refused():
    pytest.importorskip("dask.distributed")
    with pytest.raises(RunnerError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        runs.configure(scheduler="tcp://127.0.0.1:9")


def test_a_dask_cluster_gives_the_same_results():
    distributed = pytest.importorskip("dask.distributed")
    runs.configure(jobs=1, cache_dir=None)
    alone = run_all(RUNS)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        runs.configure(cache_dir=None, scheduler=cluster.scheduler_address)
        on_dask = run_all(RUNS)
        runs._connect(cluster.scheduler_address).close()
    assert all(np.array_equal(a, b) for a, b in zip(alone, on_dask))


def test_a_progress_block_counts_every_run_all_inside_it_on_one_bar(tmp_path):
    runs.configure(jobs=1, cache_dir=tmp_path)
    run_all(RUNS[:1])
    with runs.progress("a lesson") as lesson:
        run_all(RUNS[:2])
        run_all(RUNS[2:])
    assert lesson.bar.total == len(RUNS)
    assert (lesson.read, lesson.computed) == (1, len(RUNS) - 1) and lesson.run_time_s > 0
    assert runs._current is None  # run_all after the block has a bar of its own again


def test_a_cluster_that_cannot_import_the_lessons_is_refused(monkeypatch):
    """Otherwise the runs' tasks fail to unpickle on the scheduler and the lesson waits forever."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        monkeypatch.setitem(sys.modules, "lessons", None)  # import lessons fails
        with pytest.raises(RunnerError, match="cannot import lessons and minigrad"):
            runs._connect.__wrapped__(cluster.scheduler_address)
