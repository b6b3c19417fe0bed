"""Fixtures shared by the whole suite: a seeded ``rng`` and the ``shared_data`` folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(
    os.environ.get("IMAGING_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
REQUIRE_SHARED = os.environ.get("IMAGING_REQUIRE_SHARED") == "1"


def need_shared(*parts: str) -> Path:
    """Return ``SHARED_DATA/parts``; skip the test (fail under IMAGING_REQUIRE_SHARED=1)
    when it is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        reason = (
            f"real data not found at {path}: the tests that need ../shared/data are skipped "
            "(set IMAGING_SHARED_DATA to its location)"
        )
        if REQUIRE_SHARED:
            pytest.fail(reason + " and IMAGING_REQUIRE_SHARED=1 requires it")
        pytest.skip(reason)
    return path


@pytest.fixture
def shared_data() -> Path:
    """The ``../shared/data`` folder with real images (skips when absent)."""
    return need_shared()


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator, so that every run sees the same data."""
    return np.random.default_rng(20261125)
