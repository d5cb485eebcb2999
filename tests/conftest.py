"""Shared fixtures: the real data folder beside the repository, when present."""

import os
from pathlib import Path

import pytest

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
