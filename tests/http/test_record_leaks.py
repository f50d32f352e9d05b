"""The record's proofs and the incidents leak nothing a key may not see (issue 13, item 1).

Every index of the record is asked for an inclusion proof without a key, with a public key and
with each party's key: every entry comes in committed form, and no monitor id, no exact
position, no finding the key may not see and no other party's dispute text appears in the
answer or in the entry bytes it carries, and the proof still verifies against the signed
checkpoint. (The openings, the other endpoints and the exported tiles:
``test_public_surfaces.py``.) ``/incidents`` and the OGC incidents collection
show the public only the incidents behind published findings, on the redaction grid.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import F_PUBLISHED, F_RU, F_UA_FOREIGN, OBS_RU, World
from truceline.adapters.http.redaction import DEFAULT_GRID_DEG
from truceline.core.record.canonical import parse_entry
from truceline.core.record.commit import open_body
from truceline.services.openings import plaintext
from truceline.services.record import check_proof

TEXTS = {"party_RU": "RU-PRIVATE: the guns at the depot were training dummies",
         "party_UA": "UA-PRIVATE: the instructors are civilian contractors"}
OUTSIDERS = ["anon", "public", "party_UA", "party_RU"]


@pytest.fixture()
def busy(world: World, make_client: Callable[..., TestClient]) -> TestClient:
    """The base store plus a dispute by each party, a publication, and a fresh checkpoint."""
    c = make_client()
    for role, fid, ev in (("party_RU", F_RU, [OBS_RU]), ("party_UA", F_UA_FOREIGN, [])):
        r = c.post(f"/findings/{fid}/disputes", headers=world.headers(role),
                   json={"text": TEXTS[role], "evidence": ev})
        assert r.status_code == 201, r.text
    assert c.post(f"/findings/{F_PUBLISHED}/publish",
                  headers=world.headers("analyst")).status_code == 200
    assert c.post("/record/checkpoints", headers=world.headers("analyst")).status_code == 201
    return c


def _numbers(v: Any, key: str = "") -> Iterator[tuple[str, float]]:
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _numbers(x, k)
    elif isinstance(v, list):
        for x in v:
            yield from _numbers(x, key)
    elif isinstance(v, float):
        yield key, v


def _secrets(c: TestClient, world: World, role: str) -> set[str]:
    """What ``role`` must never read: monitor ids, exact coordinates (not its own), findings
    it may not see, other parties' dispute texts."""
    h = world.headers("analyst")
    bound = {"party_UA": "UA", "party_RU": "RU"}.get(role)
    obs = c.get("/observations?limit=10000", headers=h).json()["observations"]
    own = [o for o in obs if o["source_id"] == bound]
    out = {o["source_id"] for o in obs if o.get("source_type") == "monitor"}
    assert "smm-post-1" in out
    exact = [o for o in obs if o["source_id"] != bound]
    exact += c.get("/incidents", headers=h).json()["incidents"]
    exact += c.get("/findings", headers=h).json()["findings"]
    own_numbers = {repr(x) for _, x in _numbers(own)}
    coords = {repr(x) for rec in exact for k, x in _numbers(rec)
              if k in ("lon", "lat", "observer_lon", "observer_lat")}
    # exact positions: every coordinate with 4 or more decimals (the grid's centres have 3)
    out |= {s for s in coords - own_numbers if len(s.partition(".")[2]) >= 4}
    every = {f["id"] for f in c.get("/findings", headers=h).json()["findings"]}
    seen = {f["id"] for f in c.get("/findings", headers=world.headers(role)).json()["findings"]}
    out |= every - seen
    out |= {t for r, t in TEXTS.items() if r != role}
    return out


@pytest.mark.parametrize("role", OUTSIDERS)
def test_inclusion_proofs_leak_nothing(world: World, busy: TestClient, role: str) -> None:
    c, h = busy, world.headers(role)
    secrets = _secrets(c, world, role)
    note = c.get("/record/checkpoints").json()[-1]
    size, vkey = note["size"], c.get("/record/log-key").json()["vkey"]
    assert size == c.get("/readyz").json()["entries"]
    for index in range(size):
        r = c.get(f"/record/proof/inclusion?index={index}&size={size}", headers=h)
        assert r.status_code == 200, r.text
        doc = r.json()
        text = r.text
        entry_type, body = parse_entry(base64.b64decode(doc["entry"]))  # committed: for all
        assert not plaintext(entry_type, body), index
        text += json.dumps(body)
        leaked = sorted(s for s in secrets if s in text)
        assert leaked == [], (index, leaked)
        assert check_proof(doc, [note["note"].encode()], vkey).startswith(f"entry {index} ")


def test_analysts_and_monitors_open_their_entries(world: World, busy: TestClient) -> None:
    size = busy.get("/readyz").json()["entries"]
    entries = [parse_entry(base64.b64decode(busy.get(f"/record/proof/inclusion?index={i}")
                                            .json()["entry"])) for i in range(size)]
    analyst = busy.get("/record/openings", headers=world.headers("analyst")).json()["openings"]
    by_index: dict[int, dict[str, tuple[bytes, Any]]] = {}
    for o in analyst:
        by_index.setdefault(o["index"], {})[o["field"]] = (bytes.fromhex(o["salt"]), o["value"])
    for i, (t, body) in enumerate(entries):  # the analyst opens every field of every entry
        assert open_body(t, body, by_index.get(i, {}))[1] == [], i
    mine: dict[int, dict[str, tuple[bytes, Any]]] = {}
    for o in busy.get("/record/openings", headers=world.headers("monitor")).json()["openings"]:
        mine.setdefault(o["index"], {})[o["field"]] = (bytes.fromhex(o["salt"]), o["value"])
    for i, ops in mine.items():  # all of its own entries; of the rest, published findings
        t, body = entries[i]
        full, left = open_body(t, body, ops)
        if t == "finding":
            assert full["id"] == F_PUBLISHED and left == ["details", "explanation", "lat", "lon"]
        else:
            assert left == [] and "smm-post-1" in (full.get("source_id"), full.get("owner")), i
    assert {entries[i][0] for i in mine} == {"observation", "key_registration", "finding"}


def _on_grid(v: float) -> bool:
    return math.isclose((v / DEFAULT_GRID_DEG - 0.5) % 1, 0, abs_tol=1e-6) or math.isclose(
        (v / DEFAULT_GRID_DEG - 0.5) % 1, 1, abs_tol=1e-6)


@pytest.mark.parametrize("role", OUTSIDERS)
def test_incidents_only_behind_findings_the_key_sees(world: World, busy: TestClient,
                                                     role: str) -> None:
    c, h = busy, world.headers(role)
    secrets = _secrets(c, world, role)
    behind = {f["incident_id"] for f in c.get("/findings", headers=h).json()["findings"]
              if f["incident_id"]}
    r = c.get("/incidents", headers=h)
    assert r.status_code == 200
    incidents = r.json()["incidents"]
    assert {i["id"] for i in incidents} == behind
    if role in ("anon", "public"):
        published = c.get(f"/findings/{F_PUBLISHED}").json()
        assert behind == {published["incident_id"]}
    ogc = c.get("/ogc/collections/incidents/items?limit=1000", headers=h)
    assert {f["id"] for f in ogc.json()["features"]} == behind
    for text in (r.text, ogc.text):
        leaked = sorted(s for s in secrets if s in text)
        assert leaked == [], leaked
    for k, v in _numbers(incidents):
        if k in ("lon", "lat"):
            assert _on_grid(v), (k, v)
    hidden = {i["id"] for i in c.get("/incidents", headers=world.headers("analyst"))
              .json()["incidents"]} - behind
    assert hidden
    for iid in sorted(hidden)[:3]:
        assert c.get(f"/incidents/{iid}", headers=h).status_code == 404
