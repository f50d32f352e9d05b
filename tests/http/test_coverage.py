"""``GET /coverage`` with each role, on the March 2025 line with a mission covering part of it.

The base store (tests/http/conftest.py) gets the posts of ``tests/partial_mission.py`` and is
checked again. Everyone gets shares and gaps; only analysts and monitors get the assets; no
asset position or source id reaches the public, a party or a guarantor, in any form.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import ROLES, World, sample_records
from tests.partial_mission import BOTH_TO_KM, DAY, PERIOD, UA_TO_KM, mission_records
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.http.state import PUBLISHED_KEY
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.settings import Settings

MISSION = mission_records()
INSIDE = ("analyst", "monitor")
OUTSIDE = ("anon", "public", "party_UA", "party_RU", "guarantor_UK", "guarantor_US")


@pytest.fixture(scope="module")
def covered(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("coverage") / "covered.db"
    shutil.copyfile(world.db, db)
    store = open_store(str(db))
    assert not ingest(store, list(enumerate(MISSION))).rejected
    run_check(store)
    store.close()
    with TestClient(create_app(str(db), Settings())) as c:
        yield c


def _get(c: TestClient, world: World, role: str, query: str = f"?day={DAY}") -> Any:
    return c.get(f"/coverage{query}", headers=world.headers(role))


def _numbers(body: Any) -> list[float]:
    """Every number in a JSON value (to look for coordinates anywhere in it)."""
    if isinstance(body, dict):
        return [n for v in body.values() for n in _numbers(v)]
    if isinstance(body, list):
        return [n for v in body for n in _numbers(v)]
    return [float(body)] if isinstance(body, int | float) and not isinstance(body, bool) else []


@pytest.mark.parametrize("role", [r for r in ROLES if r != "revoked"])
def test_every_role_gets_shares_and_gaps(covered: TestClient, world: World, role: str) -> None:
    r = _get(covered, world, role)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["assessed"] is True and body["kinds"] == ["fire"]
    assert (body["start"], body["end"]) == ("2025-03-27T17:30:00Z", "2025-03-28T17:30:00Z")
    assert set(body["parties"]) == {"UA", "RU"}
    assert 0.0 < body["line_share"] < 0.5  # posts on the first 400 of 1,264 km
    assert body["parties"]["UA"] > body["parties"]["RU"]  # UA's side is covered further
    sectors = {(s["sector"], s["party"]): s["share"] for s in body["sectors"]}
    assert sectors[("kharkiv", "UA")] > 0.5 and sectors[("zaporizhzhia_dnipro", "RU")] < 0.01
    ru_far = [g for g in body["gaps"] if g["party"] == "RU" and g["to_km"] > 1_200]
    assert len(ru_far) == 1 and BOTH_TO_KM <= ru_far[0]["from_km"] <= UA_TO_KM + 5
    ua_far = [g for g in body["gaps"] if g["party"] == "UA" and g["to_km"] > 1_200]
    assert len(ua_far) == 1 and UA_TO_KM <= ua_far[0]["from_km"] <= UA_TO_KM + 10
    assert ("assets" in body) == (role in INSIDE)


def test_revoked_key_is_refused(covered: TestClient, world: World) -> None:
    r = _get(covered, world, "revoked")
    assert r.status_code == 401 and "assets" not in r.json() and r.json()["code"]


def test_the_mission_sees_its_assets(covered: TestClient, world: World) -> None:
    for role in INSIDE:
        assets = _get(covered, world, role).json()["assets"]
        assert {a["source_id"] for a in assets} == {m["source_id"] for m in MISSION}
        a = next(a for a in assets if a["source_id"] == MISSION[0]["source_id"])
        assert (a["lon"], a["lat"]) == (MISSION[0]["observer_lon"], MISSION[0]["observer_lat"])
        assert a["asset_type"] == "post" and a["asset_status"] == "active"


@pytest.mark.parametrize("role", OUTSIDE)
@pytest.mark.parametrize("query", [f"?day={DAY}", "", "?kinds=presence,fire:mlrs&below=0.9",
                                   f"?start={PERIOD[0].replace('+', '%2B')}"])
def test_no_asset_position_or_source_id_leaks_outside(covered: TestClient, world: World,
                                                     role: str, query: str) -> None:
    r = _get(covered, world, role, query)
    assert r.status_code == 200, r.text
    text = r.text
    body = r.json()
    assert "assets" not in body
    for m in MISSION:
        assert m["source_id"] not in text
    assert "source" not in text and "observer" not in text
    # no number of the answer is a post's longitude or latitude (to 3 decimals, ~100 m)
    coords = {round(m[k], 3) for m in MISSION for k in ("observer_lon", "observer_lat")}
    assert not coords & {round(n, 3) for n in _numbers(body)}
    assert set(body) <= {"agreement", "version", "start", "end", "kinds", "below",
                         "min_coverage", "assessed", "reason", "line", "band_km", "as_of",
                         "line_share", "parties", "sectors", "gaps"}


def test_windows_and_kinds(covered: TestClient, world: World) -> None:
    day = _get(covered, world, "public").json()
    default = _get(covered, world, "public", "").json()  # the 24 h up to the latest record
    assert default["end"] == "2025-03-28T17:30:00Z" and default["start"] == day["start"]
    assert default["line_share"] == day["line_share"]
    before = _get(covered, world, "public", "?end=2025-03-27T19:30:00%2B02:00").json()
    assert before["line_share"] == 0.0 and before["parties"] == {"UA": 0.0, "RU": 0.0}
    mlrs = _get(covered, world, "public", f"?day={DAY}&kinds=fire:mlrs").json()
    assert mlrs["line_share"] > day["line_share"]  # heard farther
    both = _get(covered, world, "public", f"?day={DAY}&kinds=fire,presence").json()
    assert both["kinds"] == ["fire", "presence"] and both["line_share"] < day["line_share"]
    strict = _get(covered, world, "public", f"?day={DAY}&below=1").json()
    assert len(strict["gaps"]) >= len(day["gaps"])


@pytest.mark.parametrize(("query", "field"), [
    ("?start=yesterday", "start"),
    ("?end=2025-03-28T10:00:00", "end"),  # no offset: refused, not guessed
    ("?start=2025-03-28T10:00:00Z&end=2025-03-28T09:00:00Z", "end"),
    ("?day=2025-02-30", "day"),
    ("?day=9999-01-01", "day"),
    ("?start=0001-01-01T00:00:00Z", "start"),
    (f"?day={DAY}&start=2025-03-28T10:00:00Z", "day"),
    ("?kinds=fire,artillery", "kinds"),
    ("?kinds=FIRE", "kinds"),
    ("?below=2", "below"),
    ("?below=nan", "below"),
])
def test_bad_input_is_a_4xx_naming_the_field(covered: TestClient, world: World, query: str,
                                              field: str) -> None:
    r = _get(covered, world, "public", query)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "invalid_input" and body["field"] == field, body


def test_without_monitoring_coverage_is_unknown_not_zero(client: TestClient,
                                                         world: World) -> None:
    """The base store has no monitoring records: 'coverage unknown', not 0 %."""
    for role in ("public", "analyst"):
        body = client.get(f"/coverage?day={DAY}", headers=world.headers(role)).json()
        assert body["assessed"] is False and body["line_share"] is None
        assert "no monitoring assets" in body["reason"]
    body = client.get("/coverage", headers=world.headers("public")).json()
    assert body["assessed"] is False and body["start"] is None


@pytest.fixture(scope="module")
def summaries(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict]]:
    """A store whose pull-back provision has summaries: the mission, and two heavy weapons
    sighted far behind the line (no violation: evidence about each side, but seen only where
    the mission could see)."""
    db = tmp_path_factory.mktemp("summaries") / "s.db"
    _, doc = load_agreement_file("march2025")
    store = open_store(str(db), create=True)
    initialize_store(store, doc)
    far = [r for r in sample_records()
           if r["id"] in ("m25-sight-2a65-ru-31km", "m25-sight-grad-ua-far")]
    assert len(far) == 2
    assert not ingest(store, list(enumerate(MISSION + far))).rejected
    run_check(store)
    tokens = {name: create_api_key(store, name, role, bound) for name, role, bound in (
        ("analyst", "analyst", None), ("party_UA", "party", "UA"), ("public", "public", None))}
    ua = next(f for f in store.findings()
              if f.provision_id == "M25-pullback" and f.party == "UA" and not f.evidence)
    store.set_meta(PUBLISHED_KEY, json.dumps([ua.id]))
    store.close()
    with TestClient(create_app(str(db), Settings())) as c:
        yield c, {k: {"Authorization": f"Bearer {t}"} for k, t in tokens.items()}


def test_findings_carry_coverage_inside_the_mission(
        summaries: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    """Summary findings of spatial provisions carry the observed share of the party's side;
    outside the mission only once final (the window has ended: test_coverage_growth.py),
    since the share of an open window moves with every check."""
    c, keys = summaries
    analyst = c.get("/findings", headers=keys["analyst"]).json()["findings"]
    pull = {f["party"]: f for f in analyst if f["provision_id"] == "M25-pullback"}
    assert set(pull) == {"UA", "RU"}
    for f in pull.values():
        # seen from posts 7 km from the line, a 5 km horizon: far below min_coverage 60 %
        assert f["verdict"] == "insufficient_evidence" and "not covered" in f["explanation"]
        assert 0.0 <= f["coverage"] < 0.6
    assert pull["UA"]["coverage"] > pull["RU"]["coverage"]  # UA's side has posts further
    target = pull["UA"]
    for who in ("party_UA", "public"):
        listed = c.get("/findings", headers=keys[who]).json()["findings"]
        mine = next(f for f in listed if f["id"] == target["id"])
        assert mine["coverage"] is None and "not covered" in mine["explanation"]
        one = c.get(f"/findings/{target['id']}", headers=keys[who]).json()
        assert one["coverage"] is None and one["verdict"] == target["verdict"]
        assert not any(m["source_id"] in json.dumps(listed) for m in MISSION)
    ogc = c.get("/ogc/collections/findings/items", headers=keys["public"]).json()
    props = [f["properties"] for f in ogc["features"]]
    assert any(p["id"] == target["id"] and p.get("coverage") is None for p in props)


def test_openapi_documents_the_route(covered: TestClient) -> None:
    doc = covered.get("/openapi.json").json()
    params = {p["name"] for p in doc["paths"]["/coverage"]["get"]["parameters"]}
    assert {"start", "end", "day", "kinds", "below"} <= params
    assert "CoverageOut" in doc["components"]["schemas"]


def test_ogc_coverage_gaps_are_line_features_along_the_gaps(covered: TestClient,
                                                           world: World) -> None:
    """The OGC collection serves the gaps of the last 24 h (fire) as lines, to every role,
    without asset ids or positions."""
    gaps = _get(covered, world, "public", "").json()["gaps"]
    for role in ("public", "party_RU", "analyst"):
        r = covered.get("/ogc/collections/coverage_gaps/items?limit=1000",
                        headers=world.headers(role))
        assert r.status_code == 200 and r.headers["content-type"].startswith(
            "application/geo+json")
        fc = r.json()
        assert fc["numberMatched"] == len(gaps)
        got = [(f["properties"]["party"], f["properties"]["from_km"], f["properties"]["to_km"])
               for f in fc["features"]]
        # (in id order: the OGC pages are a keyset on the feature id)
        assert sorted(got) == sorted((g["party"], g["from_km"], g["to_km"]) for g in gaps)
        assert {f["geometry"]["type"] for f in fc["features"]} == {"MultiLineString"}
        assert not any(m["source_id"] in r.text for m in MISSION)
    # bbox: the far south of the line (Kherson) holds only the long gaps beyond the mission
    south = covered.get("/ogc/collections/coverage_gaps/items?bbox=32,46.4,33,46.8").json()
    assert {f["properties"]["party"] for f in south["features"]} == {"UA", "RU"}
    assert all(f["properties"]["to_km"] > 1_200 for f in south["features"])


#: One post stays on into the next period, to 10:00 local: the record then speaks until the
#: middle of a period, which outsiders may not have until it has ended.
FILLING = [*MISSION, {**MISSION[0], "id": "mon-late", "time": PERIOD[1],
                      "end_time": "2025-03-29T10:00:00+02:00"}]
NEXT_DAY = "2025-03-29"


@pytest.fixture(scope="module")
def filling(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    db = tmp_path_factory.mktemp("coverage") / "filling.db"
    shutil.copyfile(world.db, db)
    store = open_store(str(db))
    assert not ingest(store, list(enumerate(FILLING))).rejected
    store.close()
    with TestClient(create_app(str(db), Settings())) as c:
        yield c


@pytest.mark.parametrize("role", OUTSIDE)
@pytest.mark.parametrize(("query", "field"), [
    # an hour: finer than a period
    ("?start=2025-03-28T08:00:00Z&end=2025-03-28T09:00:00Z", "start"),
    ("?start=2025-03-27T17:30:00Z&end=2025-03-28T09:00:00Z", "end"),
    ("?end=2025-03-28T09:00:00Z", "end"),
    # the period still filling: asked again as records come in, it would show each hour
    (f"?day={NEXT_DAY}", "day"),
    ("?start=2025-03-28T17:30:00Z", "start"),
    ("?start=2025-03-27T17:30:00Z&end=2025-03-29T17:30:00Z", "end"),
])
def test_outsiders_get_whole_ended_periods_only(filling: TestClient, world: World, role: str,
                                                query: str, field: str) -> None:
    r = _get(filling, world, role, query)
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["code"] == "forbidden" and body["field"] == field, body
    assert "reporting period" in body["message"]
    assert "2025-03-29T08:00" not in r.text  # when the last post's hours end: the mission's
    assert _get(filling, world, "analyst", query).status_code == 200


@pytest.mark.parametrize("role", OUTSIDE)
def test_an_outsiders_default_is_the_last_ended_period(filling: TestClient, world: World,
                                                       role: str) -> None:
    body = _get(filling, world, role, "").json()
    assert (body["start"], body["end"]) == ("2025-03-27T17:30:00Z", "2025-03-28T17:30:00Z")
    # not when the last post's hours end (a committed field): the end of the last period
    assert body["as_of"] == "2025-03-28T17:30:00Z"
    assert body == _get(filling, world, role).json()  # the same as day=DAY
    two = _get(filling, world, role, "?start=2025-03-26T17:30:00Z&end=2025-03-28T19:30:00%2B02:00")
    assert two.status_code == 200 and two.json()["end"] == body["end"]
    mission = _get(filling, world, "analyst", "").json()  # the mission: the last 24 h
    assert mission["as_of"] == "2025-03-29T08:00:00Z"
    assert (mission["start"], mission["end"]) == ("2025-03-28T08:00:00Z", "2025-03-29T08:00:00Z")


def test_ogc_coverage_gaps_cover_the_last_ended_period(filling: TestClient,
                                                      world: World) -> None:
    """The OGC layer serves every role the gaps of that period, never of a window still
    filling (which an outsider could not ask ``/coverage`` for)."""
    gaps = _get(filling, world, "public", "").json()["gaps"]
    for role in ("public", "guarantor_UK", "analyst"):
        fc = filling.get("/ogc/collections/coverage_gaps/items?limit=1000",
                         headers=world.headers(role)).json()
        assert fc["numberMatched"] == len(gaps)
        assert {(f["properties"]["start"], f["properties"]["end"]) for f in fc["features"]} \
            == {("2025-03-27T17:30:00Z", "2025-03-28T17:30:00Z")}


@pytest.mark.parametrize("role", ["public", "party_RU", "guarantor_UK"])
def test_a_report_of_a_period_still_filling_withholds_its_coverage(filling: TestClient,
                                                                   world: World,
                                                                   role: str) -> None:
    """The daily report holds to the rule of ``/coverage``: outside the mission, a period's
    shares and gaps only once it has ended in the record."""
    h = world.headers(role)
    filled = filling.get(f"/reports/daily/{DAY}", headers=h).json()["coverage"]
    assert filled["observed"]["line_share"] > 0 and "observed_withheld" not in filled
    still = filling.get(f"/reports/daily/{NEXT_DAY}", headers=h).json()
    assert "observed" not in still["coverage"] and "not_covered" not in still["coverage"]
    assert "ended" in still["coverage"]["observed_withheld"]
    md = filling.get(f"/reports/daily/{NEXT_DAY}?format=md", headers=h).text
    assert "Observed" not in md and "not covered" not in md
    mission = filling.get(f"/reports/daily/{NEXT_DAY}", headers=world.headers("analyst"))
    assert mission.json()["coverage"]["observed"]["line_share"] > 0
