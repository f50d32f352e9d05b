"""The API end to end: submissions and findings, signatures, redaction, errors and limits."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import F_PUBLISHED, F_RU, OBS_RU, World, new_fire, sample_records

OUTSIDERS = ["anon", "public", "monitor", "party_UA", "party_RU", "guarantor_UK", "guarantor_US"]


def test_submit_then_findings_appear(world: World, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    h = world.headers("monitor")
    batch = [world.signed(new_fire(i)) for i in range(20)]
    r = c.post("/observations/batch", headers=h, json={"observations": batch})
    assert r.json() == {"added": 20, "duplicates": 0, "rejected": []}
    again = c.post("/observations/batch", headers=h, json={"observations": batch})
    assert again.json()["duplicates"] == 20  # idempotent by id
    one = c.post("/observations", headers=h, json=world.signed(new_fire(99)))
    assert one.json()["added"] == 1
    assert c.post("/check", headers=world.headers("analyst")).status_code == 200
    fs = c.get("/findings", headers=world.headers("analyst")).json()["findings"]
    cited = {e for f in fs for e in f["evidence"]}
    assert {f"http-fire-{i}" for i in range(20)} | {"http-fire-99"} <= cited
    mine = c.get("/observations?limit=1000", headers=h).json()["observations"]
    assert {"http-fire-0", "http-fire-99"} <= {o["id"] for o in mine}


def test_publication_makes_a_finding_public_and_is_recorded(
        world: World, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    assert c.get(f"/findings/{F_RU}").status_code == 404
    before = c.get("/readyz").json()["entries"]
    assert c.post(f"/findings/{F_RU}/publish", headers=world.headers("analyst")).status_code == 200
    assert c.get(f"/findings/{F_RU}").status_code == 200
    assert c.get("/readyz").json()["entries"] == before + 1


@pytest.mark.parametrize("change", ["unsigned", "tampered", "other_key"])
def test_submissions_must_be_signed(world: World, make_client: Callable[..., TestClient],
                                    change: str) -> None:
    c = make_client()
    rec = world.signed(new_fire(5))
    if change == "unsigned":
        rec.pop("signature")
    elif change == "tampered":
        rec["count"] = 7
    else:
        rec = {**new_fire(5, "smm-post-2"), "signature": rec["signature"]}
    h = world.headers("analyst")
    r = c.post("/observations/batch", headers=h,
               json={"observations": [world.signed(new_fire(4)), rec]})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "bad_signature"
    assert r.json()["field"] == "observations[1].signature"
    ids = {o["id"] for o in c.get("/observations?limit=10000", headers=h).json()["observations"]}
    assert "http-fire-4" not in ids  # nothing of the batch was stored


# -- redaction ------------------------------------------------------------------------------

def _exact_positions() -> set[str]:
    out = set()
    for r in sample_records():
        for k in ("observer_lon", "observer_lat", "lon", "lat"):
            if r.get(k) is not None:
                out.add(repr(float(r[k])))
    return out


def _numbers(node: Any, key: str = "") -> list[tuple[str, float]]:
    if isinstance(node, dict):
        return [x for k, v in node.items() for x in _numbers(v, k)]
    if isinstance(node, list):
        return [x for v in node for x in _numbers(v, key)]
    return [(key, float(node))] if isinstance(node, float) else []


def _on_grid(v: float, grid: float = 0.05) -> bool:
    k = v / grid - 0.5
    return math.isclose(k, round(k), abs_tol=1e-6)


OUTWARD = ["/findings", "/incidents", "/reports/daily/2025-03-28",
           "/reports/periods/2025-03-28?period=weekend",
           "/ogc/collections/findings/items", "/ogc/collections/incidents/items",
           f"/findings/{F_PUBLISHED}", f"/observations/{OBS_RU}"]


@pytest.mark.parametrize("role", OUTSIDERS)
@pytest.mark.parametrize("path", OUTWARD)
def test_outsiders_see_no_identities_or_exact_positions(world: World, client: TestClient,
                                                         role: str, path: str) -> None:
    r = client.get(path, headers=world.headers(role))
    if r.status_code in (401, 403, 404):
        return  # not theirs to see at all (the role table checks which)
    assert r.status_code == 200
    own = role == "monitor" and path.startswith("/observations")
    text = r.text
    if not own:
        assert "smm-" not in text
        for p in _exact_positions():  # as a whole number, not a prefix of a cell centre
            assert not re.search(rf"(?<![\d.]){re.escape(p)}(?!\d)", text), (p, path)
        for key, v in _numbers(r.json()):
            if key in ("lon", "lat", "coordinates"):
                assert _on_grid(v), (key, v)
        assert "observer_lon" not in text and "signature" not in text


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_public_reports_are_redacted(client: TestClient, fmt: str) -> None:
    text = client.get(f"/reports/daily/2025-03-28?format={fmt}").text
    assert "smm-" not in text
    assert "48.3538N" not in text  # an exact origin written into an explanation


def test_analysts_see_exact_values(world: World, client: TestClient) -> None:
    from truceline.adapters.store import open_store

    stored = {f.id: f for f in open_store(str(world.db)).findings()}[F_RU]
    f = client.get(f"/findings/{F_RU}", headers=world.headers("analyst")).json()
    assert (f["lon"], f["lat"]) == (stored.lon, stored.lat)
    assert not _on_grid(f["lon"])
    o = client.get(f"/observations/{OBS_RU}", headers=world.headers("analyst")).json()
    assert o["source_id"] == "smm-post-1" and o["observer_lon"] == 37.92758


def test_pseudonyms_are_stable(world: World, client: TestClient) -> None:
    h = world.headers("party_RU")
    a = client.get(f"/observations/{OBS_RU}", headers=h).json()["source_id"]
    b = client.get(f"/observations/{OBS_RU}", headers=h).json()["source_id"]
    assert a == b and a.startswith("source-") and "smm" not in a


# -- errors and limits ----------------------------------------------------------------------

@pytest.mark.parametrize(("path", "body", "field"), [
    ("/observations/batch", {"observations": [{"x": 1}]}, "observations[0].x"),
    ("/observations/batch", {"observations": "no"}, "observations"),
    ("/observations/batch", {"observations": [1]}, "observations[0]"),
    ("/observations", {**new_fire(1), "time": "2025-03-27T20:40:00"}, "time"),
    ("/observations", "outside", "lon"),
    ("/observations", b"{not json", "body"),
    (f"/findings/{F_RU}/disputes", {"text": "x", "evidence": ["nope"]}, "evidence[0]"),
    (f"/findings/{F_RU}/disputes", {"text": ""}, "text"),
])
def test_bad_input_names_the_field(world: World, client: TestClient, path: str, body: Any,
                                   field: str) -> None:
    role = "party_RU" if "disputes" in path else "monitor"
    if body == "outside":  # signed, valid, but outside the agreement's area of interest
        body = world.signed({**new_fire(1), "lon": 5.0})
    if isinstance(body, bytes):
        r = client.post(path, headers=world.headers(role), content=body)
    else:
        r = client.post(path, headers=world.headers(role), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


@pytest.mark.parametrize(("query", "field"), [
    ("/observations?limit=abc", "limit"), ("/observations?limit=0", "limit"),
    ("/observations?start=2025-03-01T00:00:00", "start"),
    ("/reports/daily/2025-13-01", "day"), ("/reports/daily/2025-03-28?format=pdf", "format"),
    ("/record/proof/inclusion?index=99999", "index"),
    ("/record/proof/inclusion?index=0&size=99999", "size"),
])
def test_bad_query_names_the_field(world: World, client: TestClient, query: str,
                                   field: str) -> None:
    """(The OGC routes answer 400, as OGC API - Features requires: test_ogc_conformance.)"""
    r = client.get(query, headers=world.headers("analyst"))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_unknown_routes_and_methods_use_the_envelope(client: TestClient) -> None:
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client.delete("/findings")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"


def test_oversize_body_is_413(world: World, make_client: Callable[..., TestClient]) -> None:
    c = make_client(max_request_bytes=2000)
    big = {"observations": [new_fire(i) for i in range(50)]}
    r = c.post("/observations/batch", headers=world.headers("monitor"), json=big)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"

    def chunks() -> Any:  # no Content-Length: counted while it streams in
        data = json.dumps(big).encode()
        for k in range(0, len(data), 500):
            yield data[k:k + 500]

    r = c.post("/observations/batch", headers=world.headers("monitor"), content=chunks())
    assert r.status_code == 413 and r.json()["field"] == "body"


def test_rate_limit_is_per_key(world: World, make_client: Callable[..., TestClient]) -> None:
    c = make_client(rate_limit_per_minute=5)
    # a still clock: the windows are whole minutes, so six requests served slowly (a loaded
    # CI machine) could otherwise fall on both sides of a minute's edge
    c.app.state.truceline.limiter.clock = lambda: 90.0  # type: ignore[attr-defined]
    h = world.headers("party_RU")
    assert [c.get("/findings", headers=h).status_code for _ in range(5)] == [200] * 5
    r = c.get("/findings", headers=h)
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) > 0
    assert c.get("/findings", headers=world.headers("party_UA")).status_code == 200


def test_openapi_is_published(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert "ObservationIn" in doc["components"]["schemas"]
    assert "/ogc/collections/{collection_id}/items" in doc["paths"]
