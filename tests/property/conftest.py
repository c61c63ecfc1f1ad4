"""Hypothesis profiles for the property suite.

``ci`` (default): few, derandomized examples so the suite is fast and its ledger reproducible.
``soak``: many random examples for a long hunt for counterexamples. Select with ``HYPOTHESIS_PROFILE=soak``.
Run with ``OMP_NUM_THREADS=1`` on shared machines.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "soak",
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
