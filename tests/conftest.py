"""Shared fixtures: the real data folder beside the repository, when present."""

import os
from pathlib import Path

# Two test workers each run numba's OpenMP threads on a 2-core machine; spinning
# idle threads then take the cores the other worker needs (measured: the t-SNE
# tests ran 2.4x slower). Set before any OpenMP runtime starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402

DATA_HOME = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_home():
    """``../shared/data``; tests that need it are skipped where it is absent."""
    if not (DATA_HOME / "mnist").is_dir():
        pytest.skip("../shared/data is not present")
    return DATA_HOME


# CI runs every property test on the same examples, so that a green run is
# reproducible; locally hypothesis explores new examples each run.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None)
settings.register_profile("stress", max_examples=300, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
elif os.environ.get("SKGEN_HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["SKGEN_HYPOTHESIS_PROFILE"])
