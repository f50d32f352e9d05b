"""Status provisions and the status of areas over HTTP and in the daily report (issue 20).

The March 2025 example's illustrative non-accession provision (M25-non-accession, Ukraine and
NATO) on the real fact of NATO's list of members on 28 March 2025 (Ukraine not among them;
tests/data/status), and on a hypothetical application (not a fact) on 27 March 2025.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from .conftest import World, ingest_and_check

PROVISION = "M25-non-accession"
DATA = Path(__file__).resolve().parents[1] / "data/status/alliance_status_events_sourced.jsonl"
HYPOTHETICAL = {"id": "ua-applies-hypothetical", "kind": "status",
                "time": "2025-03-27T21:00:00+02:00", "time_precision": "day",
                "source_id": "hypothetical-wire", "source_type": "open_source", "party": "UA",
                "status_act": "application", "alliance": "NATO",
                "description": "hypothetical: not a fact"}


def _fact(oid: str) -> dict[str, Any]:
    recs = [json.loads(s) for s in DATA.read_text(encoding="utf-8").splitlines() if s.strip()]
    return next(r for r in recs if r["id"] == oid)


def _findings(c: TestClient, world: World, role: str) -> list[dict[str, Any]]:
    r = c.get(f"/findings?provision_id={PROVISION}", headers=world.headers(role))
    assert r.status_code == 200
    return list(r.json()["findings"])


def test_without_status_evidence_the_provision_is_insufficient_evidence(
        client: TestClient, world: World) -> None:
    fs = _findings(client, world, "analyst")
    assert [(f["verdict"], f["party"]) for f in fs] == [("insufficient_evidence", "UA")]
    assert "no status evidence about UA" in fs[0]["explanation"]


def test_an_application_is_a_violation_seen_by_whom_it_may_concern(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    ingest_and_check(fresh_db, [HYPOTHETICAL])
    c = make_client()
    (v,) = [f for f in _findings(c, world, "analyst") if f["verdict"] == "violation"]
    assert v["party"] == "UA" and v["evidence"] == ["ua-applies-hypothetical"]
    assert "UA applied for membership of NATO on 2025-03-27 (source: hypothetical-wire)" \
        in v["explanation"]
    assert [f["id"] for f in _findings(c, world, "party_UA")] == [v["id"]]
    # unpublished: not the public's, nor the other party's, nor a guarantor's who does not
    # guarantee the provision (UK guarantees ceasefire, movement and pull-back only)
    for role in ("anon", "public", "party_RU", "guarantor_UK"):
        assert _findings(c, world, role) == []


def test_the_daily_report_shows_the_finding_and_the_status_of_areas(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    ingest_and_check(fresh_db, [_fact("ua-check-2025")])
    c = make_client()
    h = world.headers("analyst")
    rep = c.get("/reports/daily/2025-03-28", headers=h).json()
    mine = [f for f in rep["findings"] if f["provision_id"] == PROVISION]
    assert {f["verdict"] for f in mine} == {"compliant"}
    assert any("UA is not a member of NATO as of 2025-03-28 (source: nato.int" in
               f["explanation"] for f in mine)
    assert [(a["status"], a["by"]) for a in rep["areas"]] == [
        ("de_jure", ["RU"]), ("disputed", ["UA", "UN General Assembly"])]
    md = c.get("/reports/daily/2025-03-28?format=md", headers=h).text
    assert "## Status of areas" in md
    assert "| Russian-held part of Ukraine (DeepStateMap 2025-04-02) | RU | disputed | UA, " \
           "UN General Assembly | 2022-10-12 |" in md
    html = c.get("/reports/daily/2025-03-28?format=html", headers=h).text
    assert '<table id="areas">' in html and "<td>de jure</td><td>RU</td>" in html
    # the status of areas is the agreement's text: the public's report shows it too
    public = c.get("/reports/daily/2025-03-28?format=md").text
    assert "## Status of areas" in public and PROVISION not in public


def test_status_of_areas_is_public_by_date_and_a_bad_date_names_the_field(
        client: TestClient) -> None:
    full = client.get("/agreement/areas").json()
    assert full["agreement"] == "march-2025" and len(full["areas"]) == 2
    assert {a["held_by"] for a in full["areas"]} == {"RU"}
    on = client.get("/agreement/areas?date=2025-03-28").json()["areas"]
    assert on == full["areas"]
    # before the area was drawn (valid from 2025-03-01) it has no status to show
    assert client.get("/agreement/areas?date=2025-02-01").json()["areas"] == []
    r = client.get("/agreement/areas?date=2022-13-01")
    assert r.status_code == 422 and r.json()["field"] == "date"


def test_a_bad_status_event_is_refused_naming_the_field_and_nothing_is_stored(
        world: World, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    h = world.headers("monitor")
    before = c.get("/observations?limit=1000", headers=world.headers("analyst")).json()
    bad = {**HYPOTHETICAL, "source_id": "smm-post-1"}
    del bad["alliance"]
    r = c.post("/observations", headers=h, json=bad)
    assert r.status_code == 422 and r.json()["field"] == "alliance"
    assert "alliance is required for status_act 'application'" in r.json()["message"]
    after = c.get("/observations?limit=1000", headers=world.headers("analyst")).json()
    assert after == before
