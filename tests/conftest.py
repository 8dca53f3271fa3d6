"""Hypothesis profiles: `ci` (derandomised, sized for 2 cores) and `dev` (more examples).

Pick one with HYPOTHESIS_PROFILE=ci|dev; CI sets `ci`. The default is `ci` so a plain
`pytest` is fast and reproducible.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=15, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
