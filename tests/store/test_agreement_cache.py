"""The server's cached agreement (issue 21): a batch does not read, parse and hash the whole
agreement document again; an amendment is still picked up within the cache's time."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import state
from truceline.adapters.http.state import CachedAgreement
from truceline.services.ports import Store
from truceline.services.record import initialize_store


def test_the_same_document_is_kept_until_the_agreement_changes(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = load_agreement_file("march2025")[1]
    initialize_store(store, doc)
    cached = CachedAgreement(store)
    clock = [100.0]
    monkeypatch.setattr(state.time, "monotonic", lambda: clock[0])
    first = cached.agreement_doc()
    assert first == store.agreement_doc() and store.agreement_version() == 1
    clock[0] += state.AGREEMENT_TTL_S + 1  # past the cache's time, nothing changed
    assert cached.agreement_doc() is first  # same dict: its compiled context is reused
    amended = copy.deepcopy(doc)
    amended["name"] = str(amended.get("name", "")) + " (amended)"
    amended["version"] = int(doc.get("version", 1)) + 1
    initialize_store(store, amended, amend=True, effective=date(2025, 4, 1))
    assert store.agreement_version() == 2
    assert cached.agreement_doc() is first  # within the cache's time
    clock[0] += state.AGREEMENT_TTL_S + 1
    assert cached.agreement_doc() == store.agreement_doc() != first
    assert cached.agreement_doc(1) == first
