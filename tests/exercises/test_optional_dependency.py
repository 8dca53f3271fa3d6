"""hypothesis is a test and exercise dependency, not a runtime one."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

WITHOUT_HYPOTHESIS = """
import sys
sys.modules["hypothesis"] = None  # makes `import hypothesis` fail, as if it were not installed
import minigrad, minigrad.nn, minigrad.optim, minigrad.data, minigrad.analysis
try:
    import minigrad.exercises
except ImportError as error:
    print(error)
"""


def test_minigrad_imports_without_hypothesis_and_exercises_say_what_to_install():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-c", WITHOUT_HYPOTHESIS], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert 'minigrad.exercises needs hypothesis' in run.stdout
    assert 'pip install -e ".[exercises]"' in run.stdout
