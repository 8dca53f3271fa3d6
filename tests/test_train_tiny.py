"""examples/train_tiny.py, the example README names: it trains, and its gradient check passes."""
import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.training  # every verdict here depends on training

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "train_tiny.py"


def load_example():
    spec = importlib.util.spec_from_file_location("train_tiny", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_train_tiny_learns_the_moons_and_passes_gradcheck(seed, capsys):
    """Validated over seeds 0-9 under OpenBLAS's Haswell and Sandybridge kernels (the same
    numbers under both): last / first loss 0.09-0.24, test accuracy 0.934-0.979, gradcheck passed.
    """
    load_example().main(steps=200, seed=seed)
    lines = capsys.readouterr().out.splitlines()
    losses = [float(line.split("loss")[1]) for line in lines if line.startswith("step")]
    accuracy = float(next(line for line in lines if line.startswith("test accuracy")).split()[2])
    assert losses[-1] < 0.5 * losses[0]
    assert accuracy > 0.85  # chance is 0.5; 200 steps reach about 0.95
    assert lines[-1].endswith("passed")
