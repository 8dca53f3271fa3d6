"""Every lesson notebook runs top to bottom in a real Jupyter kernel, in quick mode.

The kernel starts in lessons/ (the notebook's own folder), as it does for a reader.
"""
from pathlib import Path

import pytest

from lessons import LESSONS

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
from tests.notebooks import execute  # noqa: E402 (needs nbclient)

LESSON_DIR = Path(__file__).resolve().parents[2] / "lessons"
NOTEBOOKS = [name for name in LESSONS if (LESSON_DIR / f"{name}.ipynb").exists()]


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_executes_in_quick_mode(name, monkeypatch, tmp_path):
    monkeypatch.setenv("MINIGRAD_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(LESSON_DIR / f"{name}.ipynb", as_version=4)
    execute(notebook, LESSON_DIR)
