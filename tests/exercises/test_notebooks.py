"""The exercise notebooks run top to bottom in a real Jupyter kernel: with their stubs (the
checker says "not written yet" and nothing fails), and with every stub replaced by the
solution in tests/exercises/solutions.py (then every check passes).

Stub cells carry the tag "stub" and define one function or class; check cells carry "check".
"""
import inspect
import re
from pathlib import Path

import pytest

from tests.exercises import solutions

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
from tests.notebooks import execute  # noqa: E402 (needs nbclient)

EXERCISE_DIR = Path(__file__).resolve().parents[2] / "lessons" / "exercises"
NOTEBOOKS = sorted(path.name for path in EXERCISE_DIR.glob("*.ipynb"))


def tagged(notebook, tag):
    return [cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])]


def printed(cell):
    return "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream")


def test_the_three_exercises_are_there():
    assert NOTEBOOKS == ["01_batch_norm_backward.ipynb", "02_softmax_cross_entropy.ipynb",
                         "03_layer_norm_backward.ipynb"]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_exercise_runs_with_its_stubs(name, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(EXERCISE_DIR / name, as_version=4)
    stubs, checks = tagged(notebook, "stub"), tagged(notebook, "check")
    assert stubs and len(checks) == len(stubs)
    execute(notebook, EXERCISE_DIR)
    for cell in tagged(notebook, "check"):
        assert "not written yet" in printed(cell), printed(cell)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_exercise_passes_with_a_solution(name, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(EXERCISE_DIR / name, as_version=4)
    for cell in tagged(notebook, "stub"):
        defined = re.search(r"^(?:def|class) (\w+)", cell.source, re.MULTILINE).group(1)
        cell.source = inspect.getsource(getattr(solutions, defined))
    execute(notebook, EXERCISE_DIR)
    for cell in tagged(notebook, "check"):
        assert re.search(r"All \d+ properties hold\.", printed(cell)), printed(cell)
