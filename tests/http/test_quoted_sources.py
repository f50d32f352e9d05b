"""A finding that quotes its records' sources names no monitor outside the mission.

A status finding cites its record's source (``source: <id> (<dataset>, <ref>)``); a
suspension notified by an observation is described with the notice's text and its source
(``<text> (record <id> from <source>)``). Reported by a monitor, those would name the monitor
and quote its words to the party, the guarantors and (once published) the public, who read
neither on the record itself: outside the mission the source is its pseudonym, the reference
and the notice's text are withheld, on ``/findings``, the OGC layer and the reports.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import World, ingest_and_check
from tests.http.test_status_api import HYPOTHETICAL
from truceline.adapters.http.redaction import quotes
from truceline.adapters.http.state import PUBLISHED_KEY
from truceline.adapters.store import open_store
from truceline.core.findings import Finding, Verdict

MONITOR = "smm-post-1"
REF = "patrol log 7, entry 31"
WORDS = "the brigade commander at checkpoint Kilo-4 told patrol 12"
STATUS = {**HYPOTHETICAL, "id": "ua-applies-seen", "source_id": MONITOR,
          "source_type": "monitor", "dataset": "mission field report", "dataset_ref": REF}
NOTICE = {"id": "ru-notice-seen", "kind": "suspension", "time": "2025-03-27T12:00:00Z",
          "source_id": MONITOR, "source_type": "monitor", "party": "RU",
          "category": "M25-ceasefire", "description": WORDS}
SECRETS = (MONITOR, REF, WORDS, "Kilo-4", "patrol log")


def test_a_finding_quoting_nothing_names_no_source() -> None:
    """Only findings that quote a source ask for the pseudonyms' secret (which a store
    makes, with a record entry, the first time it is asked for)."""
    plain = Finding(id="f", provision_id="p", rule_kind="ceasefire",
                    verdict=Verdict.VIOLATION, party="RU", evidence=("o",), explanation="x",
                    window_start="2025-03-20T00:00:00Z")
    assert quotes(plain, lambda oid: None, lambda: pytest.fail("secret asked")) == {}


def _surfaces(c: TestClient, h: dict[str, str]) -> list[str]:
    return [c.get("/findings", headers=h).text,
            c.get("/ogc/collections/findings/items?limit=1000", headers=h).text,
            c.get("/reports/daily/2025-03-28", headers=h).text,
            c.get("/reports/daily/2025-03-28?format=md", headers=h).text,
            c.get("/reports/periods/2025-03-28?period=week", headers=h).text]


def test_quoted_sources_stay_inside_the_mission(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    ingest_and_check(fresh_db, [world.signed(STATUS), world.signed(NOTICE)])
    store = open_store(str(fresh_db))
    try:
        quoting = [f for f in store.findings() if "ua-applies-seen" in f.evidence
                   or "ru-notice-seen" in json.dumps(f.details)]
        store.set_meta(PUBLISHED_KEY, json.dumps(
            json.loads(store.get_meta(PUBLISHED_KEY) or "[]") + [f.id for f in quoting]))
    finally:
        store.close()
    c = make_client()
    mission = c.get("/findings", headers=world.headers("analyst")).json()["findings"]
    said = " ".join(f["explanation"] for f in mission)
    assert f"source: {MONITOR} (mission field report, {REF})" in said  # the mission's words
    assert f"{WORDS} (record ru-notice-seen from {MONITOR})" in said
    for role in ("anon", "public", "party_UA", "party_RU", "guarantor_UK"):
        h = world.headers(role)
        texts = _surfaces(c, h)
        for text in texts:
            for secret in SECRETS:
                assert secret not in text, (role, secret)
        seen: list[dict[str, Any]] = c.get("/findings", headers=h).json()["findings"]
        ids = {f["id"] for f in seen}
        assert {f.id for f in quoting} <= ids  # published: everyone reads them, redacted
        out = " ".join(f["explanation"] for f in seen)
        assert "source: source-" in out and "(mission field report)" in out
        assert "(the notice's text withheld) (record ru-notice-seen from source-" in out
