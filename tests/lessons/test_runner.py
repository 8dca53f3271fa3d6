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


def how_it_ran(summary):
    """The summary without what may differ between executions: timings and the runner's record."""
    return {key: value for key, value in summary.items()
            if "time" not in key and key not in ("jobs", "scheduler", "cache")}


def test_one_process_two_workers_and_the_cache_give_one_lesson_output(tmp_path):
    """Lesson 02 in quick mode three ways: the summaries (timings aside) and the figures' pixels
    are the same, and the cached rerun computed nothing."""
    outputs = {}
    for way, flags in {"alone": ["--jobs", "1", "--no-cache"],
                       "two workers": ["--jobs", "2", "--cache-dir", str(tmp_path / "cache")],
                       "cached": ["--jobs", "2", "--cache-dir", str(tmp_path / "cache")]}.items():
        main(["02", "--quick", "--out", str(tmp_path / way), *flags])
        out = tmp_path / way / "02_feature_scaling"
        outputs[way] = (json.loads((out / "summary.json").read_text()),
                        {png.name: png.read_bytes() for png in out.glob("*.png")})
    alone, spread, cached = outputs.values()
    assert alone[0]["quick"] is True and alone[0]["wall_time_s"] >= 0
    assert how_it_ran(alone[0]) == how_it_ran(spread[0]) == how_it_ran(cached[0])
    assert alone[1] == spread[1] == cached[1] and alone[1]
    assert cached[0]["run_time_s"] == 0 and cached[0]["cache"]["results_read"] > 0
