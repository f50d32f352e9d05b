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
from truceline.services.early_warning import escalation_alarms
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store

from .records import BASELINE, ESCALATED, records

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
        # publish one finding about an incident counted in an alarm's evidence
        body = escalation_alarms(store, baseline_days=BASELINE).to_json()
        counted = {i for a in body["alarms"] if a["sector"] == ESCALATED
                   for r in a["evidence"] for i in r["incidents"]}
        pick = next(f for f in sorted(found, key=lambda f: f.id) if f.incident_id in counted)
        store.set_meta(PUBLISHED_KEY, json.dumps([pick.id]))
    finally:
        store.close()
    assert pick.incident_id is not None
    return Mission(db, tokens, pick.incident_id)
