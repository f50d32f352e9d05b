"""Shared fixtures: the real data trimmed into tests/data, the shipped examples, fresh stores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

#: CI (``.ci/run`` sets CI=1) runs Hypothesis derandomized, so that a landing passes or fails on
#: the code and not on the draw; runs elsewhere keep searching new cases (they found the
#: arrival-time faults that are now fixed ``@example`` cases).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

ROOT = Path(__file__).resolve().parents[1]
#: Public data and peers' vectors, trimmed to what the tests use (sources, licences: README.md
#: there; made by tools/trim_test_data.py). The suite reads nothing outside the repository.
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    assert DATA.is_dir(), f"the test data folder is missing: {DATA}"
    return DATA


@pytest.fixture(scope="session")
def examples() -> Path:
    return ROOT / "src" / "truceline" / "examples"


def _tool_cache(name: str) -> bool:
    """The caches the suite's tools keep (pytest, ruff, mypy, import-linter, Hypothesis)."""
    return (name.startswith(".") and name.endswith("_cache")) or name == ".hypothesis"


@pytest.fixture(scope="session", autouse=True)
def _nothing_left_at_the_repository_root() -> object:
    """A test run creates nothing at the repository root (stores belong in tmp_path)."""
    before = {p.name for p in ROOT.iterdir()}
    yield
    added = {p.name for p in ROOT.iterdir() if not _tool_cache(p.name)} - before
    assert not added, f"the test run left these at the repository root: {sorted(added)}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give every test its own node id, and refuse a run where two tests share one.

    pytest-xdist runs each node id once: schemathesis 4 under pytest 9 gives all the operations
    of one schema test the function's node id (the operation is only in the item's name), so a
    parallel run silently left 168 of them unrun. Such an id is rebuilt from the name (pytest 9
    keeps it structured in ``_id``, pytest 8 as a string in ``_nodeid``).
    """
    for item in items:
        if item.parent is not None and not item.nodeid.endswith("::" + item.name):
            nodeid = f"{item.parent.nodeid}::{item.name}"
            if hasattr(item, "_id"):
                from _pytest.nodeid import NodeId

                item._id = NodeId.parse(nodeid)
            else:
                item._nodeid = nodeid
    seen: dict[str, int] = {}
    for item in items:
        seen[item.nodeid] = seen.get(item.nodeid, 0) + 1
    shared = sorted(nodeid for nodeid, n in seen.items() if n > 1)
    if shared:
        raise pytest.UsageError(
            f"{len(shared)} node ids are shared by several tests, e.g. {shared[:3]}")
