"""The INF-type example's findings on every surface: the CLI (check, report) and GET /findings.

A 9M729 of RUS (a violation) and a test launch with no owner stated (insufficient evidence)
under the illustrative inf2 agreement; USA declares zero missiles in the band (compliant).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from truceline.adapters.cli.main import cli
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.store import open_store
from truceline.settings import Settings

RECORDS: list[dict[str, Any]] = [
    {"id": "ssc8-rus", "kind": "weapon_sighting", "time": "2026-04-10T10:00:00Z",
     "source_id": "imagery-1", "source_type": "open_source", "system": "9M729",
     "affiliation": "RUS", "count": 4, "lon": 45.8, "lat": 48.6},
    {"id": "launch-anon", "kind": "weapon_sighting", "time": "2026-04-10T11:00:00Z",
     "source_id": "imagery-1", "source_type": "open_source", "system": "SSC-8",
     "activity": "test_launch"},
    {"id": "usa-decl", "kind": "declaration", "time": "2026-04-01T00:00:00Z",
     "source_id": "party-usa", "source_type": "party", "party": "USA",
     "category": "ground_launched_missiles_500_5500km", "quantity": 0, "as_of": "2026-04-01"},
]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture()
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "inf2.db")
    assert run("init", "--db", path, "--agreement", "inf2").exit_code == 0
    obs = tmp_path / "obs.jsonl"
    obs.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    res = run("ingest", "--db", path, str(obs))
    assert res.exit_code == 0, res.output
    assert run("check", "--db", path).exit_code == 0
    return path


def test_the_daily_report_shows_the_range_ban_findings(db: str, tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    res = run("report", "--db", db, "--date", "2026-04-10", "--out", str(out))
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "**violation** (Russian Federation) — INF2-1 [illustrative values]: 4 x 9M729" in text
    assert "published range 500-5,500 km, source: U.S. Department of State" in text
    assert "**insufficient evidence** (unattributed)" in text
    # in the report's one time convention (this agreement's zone is UTC)
    assert "test-launched at 2026-04-10 11:00 UTC" in text


def test_a_bad_observation_changes_nothing(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**RECORDS[0], "id": "x", "activity": "flyby"}) + "\n")
    res = run("ingest", "--db", db, str(bad))
    assert res.exit_code == 65 and "activity" in res.output
    store = open_store(db)
    assert "x" not in {o.id for o in store.observations()}


def test_get_findings_by_role(db: str) -> None:
    store = open_store(db)
    tokens = {name: create_api_key(store, name, role, bound) for name, role, bound in [
        ("analyst", "analyst", None), ("rus", "party", "RUS"), ("usa", "party", "USA"),
        ("public", "public", None)]}
    store.close()
    with TestClient(create_app(db, Settings())) as c:
        def get(who: str) -> list[dict[str, Any]]:
            r = c.get("/findings", headers={"Authorization": f"Bearer {tokens[who]}"})
            assert r.status_code == 200
            return r.json()["findings"]

        mine = [f for f in get("analyst") if f["rule_kind"] == "range_ban"]
        (v,) = [f for f in mine if f["evidence"] == ["ssc8-rus"]]
        assert (v["verdict"], v["party"]) == ("violation", "RUS")
        assert v["details"]["range_km"] == [500.0, 5500.0]
        assert v["details"]["range_source"].startswith("U.S. Department of State")
        by_party = {f["party"]: f["verdict"] for f in mine if not f["evidence"]}
        assert by_party == {"USA": "insufficient_evidence"}  # the unowned launch could be USA's
        # each party sees findings about itself only; the public sees nothing unpublished
        assert {f["party"] for f in get("rus")} == {"RUS"}
        assert {f["party"] for f in get("usa")} == {"USA"}
        assert get("public") == []


def test_the_api_refuses_a_bad_activity_naming_the_field(db: str) -> None:
    store = open_store(db)
    token = create_api_key(store, "imagery", "monitor", "imagery-1")
    before = len(store.observations())
    store.close()
    bad = {**RECORDS[0], "id": "x", "activity": "flyby"}
    with TestClient(create_app(db, Settings())) as c:
        r = c.post("/observations", json=bad, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 422 and r.json()["field"] == "activity", r.text
    assert len(open_store(db).observations()) == before
