"""Hypothesis profiles: `ci` (derandomised, sized for 2 cores) and `dev` (more examples).

Pick one with HYPOTHESIS_PROFILE=ci|dev|mutation; CI sets `ci`. The default is `ci` so a plain
`pytest` is fast and reproducible. `mutation` (5 examples) is for mutation testing, which runs
the tests once per mutant (docs/testing.md).

The tests' arrays are small, and on small matrices a multi-threaded BLAS spends more time
synchronising its threads than multiplying (badly so on a busy machine), so the suite, and
the notebook kernels it starts, use one BLAS thread. This must be set before NumPy loads.

Lesson runs are not cached in tests (MINIGRAD_CACHE_DIR=off, inherited by notebook kernels):
a test must compute what it checks, not read what an earlier run, perhaps under another BLAS
kernel, computed.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MINIGRAD_CACHE_DIR", "off")

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("mutation", max_examples=5, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
