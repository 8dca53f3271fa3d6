"""The lessons: one module (experiments as functions) and one notebook (the narrative) each.

Every lesson module defines `run(out_dir, quick=False, seed=0) -> dict`: it runs the lesson's
experiments, saves its figures as PNGs in `out_dir` and returns the numbers the lesson claims
(written to summary.json by the runner, `python -m lessons`). `GALLERY = (png_name, caption)`
names the one figure README shows.
"""
import importlib
import os

LESSONS = [
    "01_autograd",
    "02_feature_scaling",
    "03_batchnorm_by_hand",
    "04_training_with_bn",
    "05_covariate_shift",
    "06_loss_landscape",
    "07_beyond_batchnorm",
    "08_bn_claims",
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
