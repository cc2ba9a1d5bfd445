"""Hypothesis profiles. With ``CI`` set in the environment (or ``HYPOTHESIS_PROFILE=ci``) every search
is derandomized: the examples come from a fixed seed per test, no example database is read or
written, so a CI result never depends on the run's luck. The boundaries that a random search finds
late are fixed ``@example``s on the property tests and named tests (tests/test_rule_boundaries.py)."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev")

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
