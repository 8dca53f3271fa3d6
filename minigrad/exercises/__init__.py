"""Derive it yourself: checkers that say which term of the reader's own backward is wrong.

    from minigrad.exercises import check_batch_norm_backward, check_function
    result = check_batch_norm_backward(my_backward)   # prints a report; result.passed, .failed

Each checker searches a list of properties (documented in batch_norm.py and function.py) with
hypothesis, shrinks every failure to its smallest input, and prints expected vs got with a
hint naming the likely culprit. The exercises that use them are lessons/exercises/*.ipynb.

hypothesis is a dependency of the tests and the exercises, not of minigrad itself:
`import minigrad` works without it; this package needs it.
"""
try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("minigrad.exercises needs hypothesis, a test and exercise dependency of "
                      "minigrad: pip install -e \".[exercises]\" (or \".[test]\")") from error

from .batch_norm import PROPERTIES as BATCH_NORM_PROPERTIES, check_batch_norm_backward
from .checker import CheckResult
from .function import PROPERTIES as FUNCTION_PROPERTIES, check_function

__all__ = ["BATCH_NORM_PROPERTIES", "FUNCTION_PROPERTIES", "CheckResult",
           "check_batch_norm_backward", "check_function"]
