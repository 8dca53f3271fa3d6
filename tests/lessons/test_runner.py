"""The lessons runner: name matching and what a run writes."""
import json
from pathlib import Path

import pytest

import lessons
from lessons.__main__ import main


def test_names_match_with_or_without_number():
    assert lessons.resolve(["02"]) == ["02_feature_scaling"]
    assert lessons.resolve(["feature_scaling"]) == ["02_feature_scaling"]
    assert lessons.resolve(["02_feature_scaling", "autograd"]) == ["02_feature_scaling", "01_autograd"]
    assert lessons.resolve([]) == lessons.LESSONS


def test_unknown_name_lists_the_lessons():
    with pytest.raises(SystemExit, match="01_autograd"):
        lessons.resolve(["nope"])


def test_every_lesson_has_run_and_gallery_and_notebook():
    for name in lessons.LESSONS:
        module = lessons.module(name)
        assert callable(module.run), name
        png, caption = module.GALLERY
        assert png.endswith(".png") and caption, name
        assert (Path(lessons.__file__).parent / f"{name}.ipynb").exists(), name


def test_quick_run_writes_summary_and_figures(tmp_path):
    main(["feature_scaling", "--quick", "--out", str(tmp_path)])
    out = tmp_path / "02_feature_scaling"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["quick"] is True and summary["wall_time_s"] >= 0
    assert list(out.glob("*.png"))
