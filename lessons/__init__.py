"""The lessons: one module (experiments as functions) and one notebook (the narrative) each.

Every lesson module defines `run(out_dir, quick=False, seed=0) -> dict`: it runs the lesson's
experiments, saves its figures as PNGs in `out_dir` and returns the numbers the lesson claims
(written to summary.json by the runner, `python -m lessons`). `GALLERY = (png_name, caption)`
names the one figure README shows.
"""
import importlib
import os

from minigrad.allocator import reuse_freed_memory

reuse_freed_memory()  # lessons train hundreds of models: reuse each step's memory (see allocator.py)

LESSONS = [
    "01_autograd",
    "02_feature_scaling",
    "03_batchnorm_by_hand",
    "04_training_with_bn",
    "05_covariate_shift",
    "06_loss_landscape",
    "07_beyond_batchnorm",
    "08_bn_claims",
    "09_weight_decay",
    "10_depth",
    "11_edge_of_stability",
]


def is_quick(quick=False):
    """Quick mode (small sizes, for CI): asked for, or MINIGRAD_QUICK=1 in the environment."""
    return bool(quick) or os.environ.get("MINIGRAD_QUICK", "") not in ("", "0")


def resolve(names):
    """Full lesson names ('02_feature_scaling') for names given with or without the number."""
    if not names:
        return list(LESSONS)
    chosen = []
    for name in names:
        matches = [full for full in LESSONS if name in (full, full[3:], full[:2])]
        if not matches:
            known = ", ".join(LESSONS)
            raise SystemExit(f"unknown lesson {name!r}; the lessons are: {known}")
        chosen.append(matches[0])
    return chosen


def module(full_name):
    """The lesson's module, e.g. lessons.feature_scaling for '02_feature_scaling'."""
    return importlib.import_module(f"lessons.{full_name[3:]}")


def source_of(obj):
    """(path relative to the repository, first line, last line, source text) of a function or class."""
    import inspect
    from pathlib import Path

    lines, first = inspect.getsourcelines(obj)
    root = Path(__file__).resolve().parent.parent
    path = Path(inspect.getsourcefile(obj)).resolve().relative_to(root).as_posix()
    return path, first, first + len(lines) - 1, "".join(lines)


def source_link(obj):
    """A markdown link from a notebook in lessons/ to the lines where `obj` is defined."""
    path, first, last, _ = source_of(obj)
    return f"[`{path}` lines {first}–{last}](../{path}#L{first}-L{last})"


def numbered_source(obj):
    """`obj`'s source with the file's line numbers, to print in a notebook."""
    _, first, _, text = source_of(obj)
    return "\n".join(f"{first + i:4d}  {line}" for i, line in enumerate(text.splitlines()))
