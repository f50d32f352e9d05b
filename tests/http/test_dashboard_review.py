"""Adversarial checks of the dashboard's routes: never more than /findings, /incidents and
/record serve the same key, and bad input is a 4xx naming the field."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.http.conftest import F_RU, F_UA_FOREIGN, World


def _cells(answer: dict, grid: float) -> list[tuple[float, float]]:
    out = []
    for m in answer["marks"]:
        inc = m.get("incident") or {}
        for loc in (inc.get("impact"), inc.get("location"), inc.get("origin"),
                    m if "lon" in m else None):
            if loc is not None:
                out.append((loc["lon"], loc["lat"]))
    return out


def _on(v: float, grid: float) -> bool:
    k = v / grid - 0.5
    return math.isclose(k, round(k), abs_tol=1e-6)


def test_incident_cache_is_keyed_by_the_grid(make_client: Callable[..., TestClient]) -> None:
    """Two apps over one store with different public grids: the coarser one's public answer
    must not be the finer one's cached answer (a position finer than its grid)."""
    fine, coarse = make_client(redaction_grid_deg=0.05), make_client(redaction_grid_deg=0.5)
    assert fine.get("/dashboard/incidents?zoom=20").json()["total"] == 1
    answer = coarse.get("/dashboard/incidents?zoom=20").json()
    points = _cells(answer, 0.5)
    assert points
    assert all(_on(v, 0.5) for p in points for v in p), points
    # the same as the coarse app's /incidents
    (inc,) = coarse.get("/incidents").json()["incidents"]
    (mark,) = answer["marks"]
    assert mark["incident"]["origin"] == inc["origin"]


def test_dashboard_serves_a_role_no_more_incidents_than_incidents(client: TestClient,
                                                                  world: World) -> None:
    for role in ("anon", "public", "monitor", "party_UA", "party_RU", "guarantor_UK"):
        h = world.headers(role)
        dash = client.get("/dashboard/incidents?zoom=20", headers=h).json()
        api = client.get("/incidents", headers=h).json()["incidents"]
        singles = [m["incident"] for m in dash["marks"] if "incident" in m]
        assert dash["total"] == len(api) == len(singles), role
        by_id = {x["id"]: x for x in api}
        for s in singles:
            assert {k: v for k, v in s.items() if k != "details"} == \
                {k: v for k, v in by_id[s["id"]].items() if k != "details"}, role
            assert s["details"] == {}, role


def test_record_location_unknown_and_forbidden_look_the_same(client: TestClient,
                                                              world: World) -> None:
    for role in ("anon", "public", "monitor", "party_UA"):
        h = world.headers(role)
        unknown = client.get("/dashboard/record/f-00000000000000000000", headers=h)
        forbidden = client.get(f"/dashboard/record/{F_RU}", headers=h)
        assert unknown.status_code == forbidden.status_code == 404, role
        assert unknown.json() == forbidden.json(), role
        assert forbidden.json()["field"] == "finding_id"
    # a party sees its own unpublished finding's place, not another party's
    assert client.get(f"/dashboard/record/{F_UA_FOREIGN}",
                      headers=world.headers("party_RU")).status_code == 404
    own = client.get(f"/dashboard/record/{F_UA_FOREIGN}", headers=world.headers("party_UA"))
    assert own.status_code == 200 and own.json()["opening"]["field"] == "id"


def test_bad_input_on_every_dashboard_route_is_a_4xx_naming_the_field(
        client: TestClient) -> None:
    cases = [("/dashboard/incidents?zoom=abc", "zoom"), ("/dashboard/incidents?zoom=99", "zoom"),
             ("/dashboard/incidents?zoom=-1", "zoom"),
             ("/dashboard/incidents?bbox=nan,1,2,3", "bbox"),
             ("/dashboard/incidents?bbox=0,0,inf,1", "bbox"),
             ("/dashboard/incidents?bbox=" + "9" * 200, "bbox"),
             ("/dashboard/incidents?start=2025-13-01", "start"),
             ("/dashboard/incidents?end=" + "9" * 39, "end"),
             ("/dashboard/checkpoint?size=0", "size"), ("/dashboard/checkpoint?size=x", "size"),
             ("/dashboard/checkpoint?size=" + "9" * 30, "size"),
             ("/dashboard/checkpoint?size=2", "size"),
             ("/dashboard/record/no-such-finding", "finding_id"),
             ("/dashboard/static/..%2F..%2F..%2Fsettings.py", "path"),
             ("/dashboard/layers/nope", None)]
    for path, field in cases:
        r = client.get(path)
        assert 400 <= r.status_code < 500, (path, r.status_code)
        body = r.json()
        assert body["code"] and "Traceback" not in r.text, path
        if field is not None:
            assert body["field"] == field, (path, body)


def test_record_opening_is_one_the_key_gets_from_record_openings(client: TestClient,
                                                                 world: World) -> None:
    """The dashboard's opening of a finding's id is never more than ``/record/openings``
    gives the same key for that entry."""
    for role in ("anon", "monitor", "party_RU", "party_UA", "guarantor_UK", "analyst"):
        h = world.headers(role)
        seen = [f["id"] for f in client.get("/findings", headers=h).json()["findings"]]
        assert seen, role
        for fid in seen[:4]:
            loc = client.get(f"/dashboard/record/{fid}", headers=h).json()
            i = loc["index"]
            bundle = client.get(f"/record/openings?start={i}&end={i + 1}", headers=h).json()
            allowed = {(o["field"], o["salt"], json.dumps(o["value"]))
                       for o in bundle["openings"] if o["index"] == i}
            op = loc["opening"]
            assert (op["field"], op["salt"], json.dumps(op["value"])) in allowed, (role, fid)
            assert op["value"] == fid


def test_the_page_runs_only_its_own_scripts(client: TestClient) -> None:
    csp = client.get("/").headers.get("content-security-policy", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives.get("script-src") == "'self'"  # no inline handlers, no eval
    assert directives.get("frame-ancestors") == "'none'"


def test_one_bound_alone_spans_at_most_the_limit(client: TestClient, world: World) -> None:
    """A start without an end is not "from then on, everything" (each such query would read
    every incident in the store again): it spans the same 62 days as an explicit pair."""
    h = world.headers("analyst")
    everything = client.get("/dashboard/incidents", headers=h).json()["total"]
    assert everything > 0
    early = client.get("/dashboard/incidents?start=2024-12-01T00:00:00Z", headers=h)
    assert early.status_code == 200 and early.json()["total"] == 0  # ends 2025-02-01
    late = client.get("/dashboard/incidents?end=2025-06-30T00:00:00Z", headers=h)
    assert late.status_code == 200 and late.json()["total"] == 0  # starts 2025-04-29
    for q, field in (("start=9999-12-31T00:00:00Z", "start"), ("end=0001-01-02T00:00:00Z", "end")):
        r = client.get(f"/dashboard/incidents?{q}", headers=h)
        assert r.status_code == 422 and r.json()["field"] == field, (q, r.text)
