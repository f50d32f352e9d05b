"""Paths for the record tests: the peers' vectors, copied into ``tests/data/vectors``."""

from __future__ import annotations

from pathlib import Path

import pytest

VECTORS = Path(__file__).resolve().parents[1] / "data" / "vectors"


@pytest.fixture(scope="session")
def vectors() -> Path:
    assert VECTORS.is_dir(), f"peer vectors missing at {VECTORS}"
    return VECTORS
