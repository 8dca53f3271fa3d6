"""The lesson tests change the runner's settings (and the environment they export): undo that."""
import dataclasses
import os

import pytest

from lessons import runs


@pytest.fixture(autouse=True)
def restore_runner_settings():
    saved, environment = dataclasses.replace(runs.settings), dict(os.environ)
    yield
    runs.settings.__dict__.update(saved.__dict__)
    os.environ.clear()
    os.environ.update(environment)
