"""What the report tests share: one store of the March 2025 example with the shipped sample
ingested and checked (the tests only read it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.http.conftest import sample_records
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "m.db"
    _, doc = load_agreement_file("march2025")
    store = open_store(str(path), create=True)
    try:
        initialize_store(store, doc)
        assert not ingest(store, list(enumerate(sample_records()))).rejected
        run_check(store)
    finally:
        store.close()
    return path
