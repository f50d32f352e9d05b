"""Object-level authorization, for every endpoint and every role (one table, one test each).

Statuses: 401 without a (valid) key where one is needed, 403 when the key's role may not use the
endpoint, 404 when the object exists but this key may not see it (its existence does not leak).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import (
    F_PUBLISHED,
    F_RU,
    F_UA_FOREIGN,
    F_UNATTRIBUTED,
    OBS_FOREIGN,
    OBS_RU,
    ROLES,
    World,
    new_fire,
)

# anon, public, monitor, analyst, the parties, the guarantors, a revoked key
A, P, M, N, UA, RU, UK, US, X = ROLES


def row(method: str, path: str, expect: dict[str, int], default: int,
        body: Any = None, mutates: bool = False) -> tuple[Any, ...]:
    statuses = {r: expect.get(r, default) for r in ROLES}
    statuses.setdefault(X, 401)
    if X not in expect and path not in ("/healthz", "/readyz"):
        statuses[X] = 401
    return method, path, statuses, body, mutates


def _signed_fire(world: World) -> dict[str, Any]:
    return world.signed(new_fire(1))


SUBMIT = {A: 401, P: 403, M: 200, N: 200}  # parties' keys are bound to their own source id
ANYONE = {}  # default applies to every role (revoked: 401)

TABLE = [
    row("GET", "/healthz", {X: 200}, 200),
    row("GET", "/readyz", {X: 200}, 200),
    row("POST", "/observations", SUBMIT, 403, body="one", mutates=True),
    row("POST", "/observations/batch", SUBMIT, 403, body="batch", mutates=True),
    row("GET", "/observations", {A: 401, P: 403, UK: 403, US: 403}, 200),
    row("GET", f"/observations/{OBS_RU}", {A: 401, P: 403, UA: 404}, 200),
    row("GET", f"/observations/{OBS_FOREIGN}", {A: 401, P: 403, M: 404, RU: 404, UK: 404}, 200),
    row("GET", "/incidents", ANYONE, 200),
    # an incident is seen with the findings behind it (F_RU's; published ones by everyone)
    row("GET", f"/incidents/i-{OBS_RU}", {N: 200, RU: 200, UK: 200, US: 200}, 404),
    row("GET", "/findings", ANYONE, 200),
    row("GET", f"/findings/{F_RU}", {N: 200, RU: 200, UK: 200, US: 200}, 404),
    row("GET", f"/findings/{F_UA_FOREIGN}", {N: 200, UA: 200, US: 200}, 404),
    row("GET", f"/findings/{F_UNATTRIBUTED}", {N: 200, UK: 200, US: 200}, 404),
    row("GET", f"/findings/{F_PUBLISHED}", ANYONE, 200),
    row("POST", f"/findings/{F_RU}/publish", {A: 401, N: 200}, 403, mutates=True),
    row("POST", "/check", {A: 401, N: 200}, 403, mutates=True),
    row("POST", f"/findings/{F_RU}/disputes", {A: 401, RU: 201, UA: 404}, 403,
        body={"text": "our guns were withdrawn", "evidence": [OBS_RU]}, mutates=True),
    row("POST", f"/findings/{F_UA_FOREIGN}/disputes", {A: 401, UA: 201, RU: 404}, 403,
        body={"text": "they are instructors"}, mutates=True),
    row("GET", "/disputes", {A: 401, P: 403, M: 403}, 200),
    row("GET", "/disputes/d-none", ANYONE, 404),
    row("GET", f"/findings/{F_PUBLISHED}/disputes", ANYONE, 200),
    row("GET", f"/findings/{F_RU}/disputes", {N: 200, RU: 200, UK: 200, US: 200}, 404),
    row("POST", "/disputes/d-none/answer", {A: 401, N: 404}, 403, body={"text": "x"},
        mutates=True),
    row("POST", "/disputes/d-none/uphold", {A: 401, N: 404}, 403,
        body={"outcome": "withdrawn", "text": "x"}, mutates=True),
    row("POST", "/disputes/d-none/reject", {A: 401, N: 404}, 403, body={"reasons": "x"},
        mutates=True),
    row("POST", "/disputes/d-none/withdraw", {A: 401, RU: 404, UA: 404}, 403, mutates=True),
    row("POST", "/disputes/d-none/evidence", {A: 401, RU: 404, UA: 404}, 403,
        body={"evidence": [OBS_RU]}, mutates=True),
    row("POST", "/record/cosignatures", {}, 404,  # the cosignature is the credential
        body={"size": 999_999, "cosignature": "— w AAAAAAAA"}, mutates=True),
    # guarantee notifications (none in this store; who sees which: tests/guarantees)
    row("GET", "/notifications", {A: 401, P: 403, M: 403}, 200),
    row("GET", "/notifications/n-none", {A: 401, P: 403, M: 403}, 404),
    row("POST", "/notifications/n-none/acknowledge", {A: 401, UK: 404, US: 404}, 403, body={},
        mutates=True),
    row("GET", "/notifications/endpoints", {A: 401, N: 200}, 403),
    row("POST", "/notifications/endpoints", {A: 401, N: 201}, 403,
        body={"recipient": "UK", "url": "https://uk.example/hook"}, mutates=True),
    row("GET", "/coverage", ANYONE, 200),  # assets for analysts and monitors: test_coverage.py
    row("GET", "/sources", {A: 401, N: 200}, 403),  # source identities: analysts only
    row("GET", "/reports/daily/2025-03-28", ANYONE, 200),
    row("GET", "/reports/daily/2025-03-28?format=md", ANYONE, 200),
    row("GET", "/reports/periods/2025-03-28?period=week", ANYONE, 200),
    row("GET", "/reports/periods/2025-03-28?period=weekend&sector=donetsk&format=md",
        ANYONE, 200),
    row("GET", "/agreement", ANYONE, 200),
    row("GET", "/agreement/versions/1", ANYONE, 200),
    row("GET", "/agreement/areas", ANYONE, 200),
    row("GET", "/agreement/versions/99", ANYONE, 404),
    row("GET", "/record/checkpoints", ANYONE, 200),
    row("POST", "/record/checkpoints", {A: 401, N: 201}, 403, mutates=True),
    row("GET", "/record/log-key", ANYONE, 200),
    row("GET", "/record/proof/inclusion?index=0", ANYONE, 200),
    row("GET", "/record/proof/consistency?size1=1", ANYONE, 200),
    row("GET", "/ogc", ANYONE, 200),
    row("GET", "/ogc/conformance", ANYONE, 200),
    row("GET", "/ogc/api", {X: 200}, 200),
    row("GET", "/ogc/collections", ANYONE, 200),
    row("GET", "/ogc/collections/incidents", ANYONE, 200),
    row("GET", "/ogc/collections/observations", {A: 401, P: 403, UK: 403, US: 403}, 200),
    row("GET", "/ogc/collections/zones/items", ANYONE, 200),
    row("GET", "/ogc/collections/lines/items", ANYONE, 200),
    row("GET", "/ogc/collections/coverage_gaps/items", ANYONE, 200),
    row("GET", "/ogc/collections/incidents/items", ANYONE, 200),
    row("GET", "/ogc/collections/findings/items", ANYONE, 200),
    row("GET", f"/ogc/collections/findings/items/{F_RU}", {N: 200, RU: 200, UK: 200, US: 200},
        404),
    row("GET", f"/ogc/collections/findings/items/{F_PUBLISHED}", ANYONE, 200),
    row("GET", "/ogc/collections/observations/items", {A: 401, P: 403, UK: 403, US: 403}, 200),
    row("GET", f"/ogc/collections/observations/items/{OBS_RU}",
        {A: 401, P: 403, UK: 403, US: 403, UA: 404, RU: 404}, 200),
    row("GET", "/ogc/collections/incidents/queryables", ANYONE, 200),
    row("GET", "/ogc/collections/observations/queryables", {A: 401, P: 403, UK: 403, US: 403},
        200),
    row("GET", "/record/openings", ANYONE, 200),  # what each key opens: test_record_leaks.py
    row("GET", "/alarms", ANYONE, 200),  # incident ids cut per key: tests/early_warning
    row("GET", "/plan?personnel=3000", {A: 401, N: 200}, 403),  # every site: analysts only
    # the dashboard: public files and geometry (no key read at all), the rest per key
    row("GET", "/", {X: 200}, 200),
    row("GET", "/dashboard/static/index.html", {X: 200}, 200),
    row("GET", "/dashboard/basemap", {X: 200}, 200),
    row("GET", "/dashboard/layers", {X: 200}, 200),
    row("GET", "/dashboard/config", ANYONE, 200),
    row("GET", "/dashboard/published", ANYONE, 200),
    row("GET", "/dashboard/incidents", ANYONE, 200),
    row("GET", "/dashboard/checkpoint", ANYONE, 200),
    row("GET", f"/dashboard/record/{F_RU}", {N: 200, RU: 200, UK: 200, US: 200}, 404),
    row("GET", f"/dashboard/record/{F_PUBLISHED}", ANYONE, 200),
]

# the table must cover every route the app serves (a new route fails here until it is listed)
CASES = [(m, p, r, s[r], b, mut) for m, p, s, b, mut in TABLE for r in ROLES]


def _served(routes: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every (path, methods) the app serves. FastAPI >= 0.165 keeps an included router as one
    entry (its routes under ``original_router``) rather than copying them into ``app.routes``,
    so the top-level list alone holds none of ours and the check below passed vacuously."""
    out: list[tuple[str, Any]] = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        if inner is not None:
            context = getattr(r, "include_context", None)
            out += _served(inner.routes, prefix + getattr(context, "prefix", ""))
        elif getattr(r, "methods", None):
            out.append((prefix + r.path, r.methods))
    return out


def test_table_covers_every_route(client: TestClient) -> None:
    import re

    served = {(m, path) for path, methods in _served(client.app.routes) for m in methods
              if m in ("GET", "POST") and not path.startswith(("/docs", "/redoc"))
              and path != "/openapi.json"}
    assert ("GET", "/findings") in served  # the walk reaches the included routers
    listed = set()
    for m, p, *_ in TABLE:
        path = p.split("?")[0]
        for t_method, t_path in served:
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", t_path) + "$"
            if m == t_method and re.match(pattern, path):
                listed.add((t_method, t_path))
    assert served - listed == set()


@pytest.mark.parametrize(("method", "path", "role", "status", "body", "mutates"), CASES,
                         ids=[f"{c[0]} {c[1]} as {c[2]}" for c in CASES])
def test_role_table(world: World, client: TestClient, make_client: Callable[..., TestClient],
                    method: str, path: str, role: str, status: int, body: Any,
                    mutates: bool) -> None:
    c = make_client() if mutates else client
    if body == "one":
        body = _signed_fire(world)
    elif body == "batch":
        body = {"observations": [_signed_fire(world)]}
    r = c.request(method, path, headers=world.headers(role), json=body)
    assert r.status_code == status, r.text
    if status >= 400:
        env = r.json()
        assert set(env) >= {"code", "message"}, env


def test_party_never_sees_the_other_partys_restricted_findings(world: World,
                                                               client: TestClient) -> None:
    for me, other in (("party_UA", "RU"), ("party_RU", "UA")):
        fs = client.get("/findings", headers=world.headers(me)).json()["findings"]
        leaked = [f for f in fs if f["party"] == other and f["id"] != F_PUBLISHED]
        assert leaked == [], (me, leaked)
        ogc = client.get("/ogc/collections/findings/items?limit=1000",
                         headers=world.headers(me)).json()["features"]
        assert {f["id"] for f in ogc} == {f["id"] for f in fs}


def test_guarantor_sees_only_guaranteed_provisions(world: World, client: TestClient) -> None:
    uk = client.get("/findings", headers=world.headers("guarantor_UK")).json()["findings"]
    provisions = {f["provision_id"] for f in uk if f["id"] != F_PUBLISHED}
    assert provisions and provisions <= {"M25-ceasefire", "M25-movement", "M25-pullback"}
    us = client.get("/findings", headers=world.headers("guarantor_US")).json()["findings"]
    assert "M25-no-foreign-contingents" in {f["provision_id"] for f in us}


def test_unauthenticated_gets_only_published(world: World, client: TestClient) -> None:
    fs = client.get("/findings").json()["findings"]
    assert [f["id"] for f in fs] == [F_PUBLISHED]
    assert client.get("/observations").status_code == 401
    names = {c["id"] for c in client.get("/ogc/collections").json()["collections"]}
    assert names == {"incidents", "findings", "zones", "lines", "coverage_gaps"}


def test_monitor_reads_only_its_own_submissions(world: World, client: TestClient) -> None:
    obs = client.get("/observations", headers=world.headers("monitor")).json()["observations"]
    assert obs and {o["source_id"] for o in obs} == {"smm-post-1"}
    r = client.get("/observations?source_id=smm-post-2", headers=world.headers("monitor"))
    assert r.status_code == 403 and r.json()["field"] == "source_id"
    mine = {o["id"] for o in obs}
    other = client.get("/observations", headers=world.headers("analyst")).json()["observations"]
    for o in other:
        if o["id"] not in mine:
            r = client.get(f"/observations/{o['id']}", headers=world.headers("monitor"))
            assert r.status_code == 404


def test_a_monitor_cannot_submit_for_another_source(world: World, client: TestClient) -> None:
    r = client.post("/observations/batch", headers=world.headers("monitor"),
                    json={"observations": [world.signed(new_fire(1)), new_fire(2, "smm-post-2")]})
    assert r.status_code == 403
    assert r.json()["field"] == "observations[1].source_id"


def test_disputes_are_seen_by_their_party_and_guarantors_only(
        world: World, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    r = c.post(f"/findings/{F_RU}/disputes", headers=world.headers("party_RU"),
               json={"text": "outgoing fire was a training range", "evidence": [OBS_RU]})
    assert r.status_code == 201
    d = r.json()
    again = c.post(f"/findings/{F_RU}/disputes", headers=world.headers("party_RU"),
                   json={"text": "outgoing fire was a training range", "evidence": [OBS_RU]})
    assert again.json()["id"] == d["id"]  # idempotent
    seen = {role: [x["id"] for x in c.get("/disputes", headers=world.headers(role)).json()]
            for role in ("party_RU", "party_UA", "guarantor_UK", "guarantor_US", "analyst")}
    assert seen == {"party_RU": [d["id"]], "party_UA": [], "guarantor_UK": [d["id"]],
                    "guarantor_US": [d["id"]], "analyst": [d["id"]]}
    size = c.get("/readyz").json()["entries"]
    entry = c.get(f"/record/proof/inclusion?index={size - 1}").json()
    assert entry["size"] == size  # the dispute is the record's last entry


def test_revoked_key_is_refused_at_once(world: World, make_client: Callable[..., TestClient]
                                        ) -> None:
    from truceline.adapters.http.auth import revoke_api_key
    from truceline.adapters.store import open_store

    c = make_client()
    h = world.headers("party_RU")
    assert c.get("/findings", headers=h).status_code == 200
    revoke_api_key(open_store(str(c.app.state.truceline.raw_store.url)), "party_RU")
    r = c.get("/findings", headers=h)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert r.headers["www-authenticate"] == "Bearer"
    assert c.get("/findings", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert c.get("/findings", headers={"Authorization": "Basic abc"}).status_code == 401
