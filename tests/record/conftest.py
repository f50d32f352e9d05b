"""Shared paths for the record tests: the peer vectors live in ``../shared`` beside the repo."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"
VECTORS = SHARED / "vectors"


@pytest.fixture(scope="session")
def vectors() -> Path:
    assert VECTORS.is_dir(), f"peer vectors missing at {VECTORS}"
    return VECTORS
