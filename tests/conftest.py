"""Shared fixtures: the real data folder beside the repository, when present."""

from pathlib import Path

import pytest

DATA_HOME = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def data_home():
    """``../shared/data``; tests that need it are skipped where it is absent."""
    if not (DATA_HOME / "mnist").is_dir():
        pytest.skip("../shared/data is not present")
    return DATA_HOME
