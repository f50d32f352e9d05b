"""One checked store of the month-long mission (:mod:`tests.early_warning.records`), built
once per session; tests that change nothing read it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.http.state import PUBLISHED_KEY
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store

from .records import ESCALATED, ESCALATION_DAY, records

ROLES = {"public": ("public", None), "analyst": ("analyst", None),
         "monitor": ("monitor", "ew-src-lyman-00"), "party_UA": ("party", "UA"),
         "guarantor_US": ("guarantor", "US")}


@dataclass(frozen=True)
class Mission:
    db: Path
    tokens: dict[str, str]
    published_incident: str


@pytest.fixture(scope="session")
def mission(tmp_path_factory: pytest.TempPathFactory) -> Mission:
    db = tmp_path_factory.mktemp("early_warning") / "m.db"
    _, doc = load_agreement_file("march2025")
    store = open_store(str(db), create=True)
    try:
        initialize_store(store, doc)
        ingest(store, list(enumerate(records(), 1)))
        found = run_check(store).findings
        tokens = {k: create_api_key(store, k, r, b) for k, (r, b) in ROLES.items()}
        # publish one finding about an incident of the escalated sector's first day
        day = ESCALATION_DAY.isoformat()
        pick = next(f for f in sorted(found, key=lambda f: f.id)
                    if f.incident_id and any(e.startswith(f"ew-{day}-{ESCALATED}-")
                                             for e in f.evidence))
        store.set_meta(PUBLISHED_KEY, json.dumps([pick.id]))
    finally:
        store.close()
    assert pick.incident_id is not None
    return Mission(db, tokens, pick.incident_id)
