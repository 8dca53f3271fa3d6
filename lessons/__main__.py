"""`python -m lessons [NAMES...] [--quick] [--out DIR] [--seed N] [--jobs N] [--cache-dir DIR |
--no-cache] [--scheduler ADDRESS] [--notebooks | --stale]`

Runs the named lessons (all, in order, by default), writing each lesson's figures and a
summary.json of its measured numbers into DIR/NN_name/. After a full run of all lessons the
README gallery (docs/gallery/) is refreshed. The lessons' training runs are spread over every
core and cached (see lessons/runs.py). `--notebooks` instead re-executes the notebooks in full
mode and saves them with their outputs; `--stale` lists the notebooks executed with other code.
"""
import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import is_quick, module, resolve, runs

HERE = Path(__file__).resolve().parent
INLINE = "module://matplotlib_inline.backend_inline"
GALLERY = HERE.parent / "docs" / "gallery"


def json_ready(value):
    """Arrays to lists, NumPy scalars to Python, nan/inf (a diverged run) to null: strict JSON."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(v) for v in value]
    if isinstance(value, (np.generic, float)):
        value = value.item() if isinstance(value, np.generic) else value
        return value if not isinstance(value, float) or np.isfinite(value) else None
    return value


def run_lesson(name, out_root, quick, seed):
    out_dir = Path(out_root) / name
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with runs.progress(name) as lesson_runs:  # one bar counting the lesson's runs
        summary = module(name).run(out_dir, quick=quick, seed=seed)
    cache = runs.settings.cache_dir and {"folder": str(runs.settings.cache_dir),
                                         "results_read": lesson_runs.read}
    summary = dict(summary, wall_time_s=round(time.perf_counter() - started, 1),
                   run_time_s=round(lesson_runs.run_time_s, 1),  # summed over the workers
                   quick=quick, seed=seed, jobs=runs.settings.jobs,
                   scheduler=runs.settings.scheduler, cache=cache or None)
    (out_dir / "summary.json").write_text(json.dumps(json_ready(summary), indent=2) + "\n")
    return out_dir


def refresh_gallery(name, out_dir):
    """Copy the lesson's gallery figure to docs/gallery/NN_name.png for README."""
    figure, _caption = module(name).GALLERY
    GALLERY.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out_dir / figure, GALLERY / f"{name}.png")


def execute_notebooks(names, timeout=1800):
    """Run each lesson's notebook top to bottom in a fresh kernel and save its outputs.

    The notebook records the fingerprint of the code it ran (`runs.source_fingerprint`), so
    `--stale` can tell which committed notebooks no longer match the code.
    """
    import nbformat
    from nbclient import NotebookClient

    os.environ["MPLBACKEND"] = INLINE  # the kernels inherit it: Agg would leave no figures
    for name in tqdm(names, desc="notebooks", unit="notebook"):
        path = HERE / f"{name}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(HERE)}}).execute()
        notebook.metadata["minigrad"] = {"source_fingerprint": runs.source_fingerprint(),
                                         "quick": is_quick()}
        nbformat.write(notebook, path)


def stale_notebooks(names):
    """The lessons whose committed notebook was executed with other code than this checkout's."""
    import nbformat

    stale = []
    for name in names:
        recorded = nbformat.read(HERE / f"{name}.ipynb", as_version=4).metadata.get("minigrad", {})
        if recorded.get("source_fingerprint") != runs.source_fingerprint():
            stale.append(name)
    return stale


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lessons", description=__doc__.split("\n\n")[1])
    parser.add_argument("names", nargs="*", help="lessons to run, e.g. 02 or feature_scaling")
    parser.add_argument("--quick", action="store_true", help="small sizes (about a minute each)")
    parser.add_argument("--out", default="lesson_outputs", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes (default: every core, or MINIGRAD_JOBS; "
                             "1: in this process)")
    parser.add_argument("--cache-dir", default=None,
                        help=f"where run results are cached (default: MINIGRAD_CACHE_DIR, "
                             f"else {runs.DEFAULT_CACHE_DIR})")
    parser.add_argument("--no-cache", action="store_true", help="compute every run afresh")
    parser.add_argument("--scheduler", default=None,
                        help="address of a dask.distributed scheduler, e.g. tcp://HOST:8786")
    parser.add_argument("--notebooks", action="store_true",
                        help="re-execute the notebooks (full mode) and save them")
    parser.add_argument("--stale", action="store_true",
                        help="list the notebooks executed with other code than this checkout's")
    args = parser.parse_args(argv)
    names = resolve(args.names)
    if args.stale:
        stale = stale_notebooks(names)
        print("\n".join(f"{name}: executed with other code" for name in stale)
              or "every notebook was executed with this code")
        return
    try:
        environment = runs.from_environment()  # what a flag left unsaid
        runs.configure(jobs=environment.jobs if args.jobs is None else args.jobs,
                       scheduler=args.scheduler or environment.scheduler,
                       cache_dir=None if args.no_cache else args.cache_dir or environment.cache_dir)
    except runs.RunnerError as error:
        parser.error(str(error))
    if args.notebooks:
        execute_notebooks(names)
        return
    quick = is_quick(args.quick)
    for name in tqdm(names, desc="lessons", unit="lesson"):
        out_dir = run_lesson(name, args.out, quick, args.seed)
        if not quick:
            refresh_gallery(name, out_dir)
        tqdm.write(f"{name}: figures and summary.json in {out_dir}")


if __name__ == "__main__":
    main()
