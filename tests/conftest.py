"""Shared fixtures: the real data in ../shared, the shipped examples, fresh stores."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT.parent / "shared").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = SHARED / "data"
    assert path.is_dir(), f"the shared data folder is missing: {path}"
    return path


@pytest.fixture(scope="session")
def examples() -> Path:
    return ROOT / "src" / "truceline" / "examples"


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_at_the_repository_root() -> object:
    """A test run creates nothing at the repository root (stores belong in tmp_path)."""
    before = {p.name for p in ROOT.iterdir()}
    yield
    added = {p.name for p in ROOT.iterdir()} - before - {".pytest_cache", ".hypothesis"}
    assert not added, f"the test run left these at the repository root: {sorted(added)}"
