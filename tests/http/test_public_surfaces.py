"""Nothing a key may not see, on any surface: every GET endpoint, every exported tile (issue 13).

A demo-like store (the March 2025 sample, checked; a dispute by each party; two publications;
a checkpoint) is read without a key, with a public key and with each party's key: every GET
endpoint of the OpenAPI document, over every id the analyst sees, then every file of the
exported tiles and the key's bundle of openings. No monitor id, no coordinate finer than the
public grid, no finding the key may not see and no other party's dispute text appears
anywhere. A public field of a published finding proves against the signed checkpoint from the
tiles alone, and its opening fails once changed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import F_PUBLISHED, F_UNATTRIBUTED, World
from tests.http.test_record_leaks import OUTSIDERS, TEXTS, _secrets
from tests.http.test_record_leaks import busy as busy
from truceline.adapters.http.auth import Principal, Role, create_api_key
from truceline.adapters.http.disclosure import may_open
from truceline.adapters.store import open_store
from truceline.core.record import merkle
from truceline.core.record.canonical import parse_entry
from truceline.core.record.commit import open_body
from truceline.core.record.tiles import TileReader, read_log
from truceline.errors import IntegrityError
from truceline.services import access, guarantees
from truceline.services.openings import bundle, parse_bundle
from truceline.services.record import open_log_checkpoint
from truceline.services.verify import export_tiles

BOUND = {"party_UA": "UA", "party_RU": "RU"}


#: Who may read and where webhooks go (api_key, endpoint, pseudonym_secret entries): the
#: operator's, never anyone else's; the test adds each value to what no outsider may read.
KEY_NAME, HOOK = "kx-7f3e liaison", "https://uk-hook-5d1c.example/in"


@pytest.fixture()
def surfaces(world: World, busy: TestClient, fresh_db: Path) -> tuple[TestClient, Path]:
    """``busy`` with one more publication, as an entry, an API key, an endpoint and the
    pseudonym secret (each recorded), and a checkpoint over them all."""
    a = world.headers("analyst")
    assert busy.post(f"/findings/{F_UNATTRIBUTED}/publish", headers=a).status_code == 200
    store = open_store(str(fresh_db))
    create_api_key(store, KEY_NAME, "party", "UA")
    access.pseudonym_secret(store)  # what the app makes on the first redacted observation
    store.close()
    r = busy.post("/notifications/endpoints", headers=a, json={"recipient": "UK", "url": HOOK})
    assert r.status_code == 201, r.text
    assert busy.post("/record/checkpoints", headers=a).status_code == 201
    return busy, fresh_db


def _access_secrets(db: Path) -> set[str]:
    """API key names and token hashes, endpoint URLs and secrets, the pseudonym secret."""
    store = open_store(str(db))
    try:
        out = {KEY_NAME, HOOK} | {r["token_hash"] for r in store.table_rows("api_keys")}
        out |= {r["secret"] for r in store.table_rows("endpoints")}
        out.add(store.get_meta(access.PSEUDONYM_KEY) or "")
        assert all(out) and {"api_key", "endpoint", "pseudonym_secret"} <= {
            e.type for e in store.entries()}
        return out
    finally:
        store.close()


def _paths(c: TestClient, world: World) -> list[str]:
    """Every GET path of the API, each id parameter filled with every id the analyst sees."""
    a = world.headers("analyst")
    ids: dict[str, list[str]] = {
        "obs_id": [
            o["id"] for o in c.get("/observations?limit=10000", headers=a).json()["observations"]
        ],
        "incident_id": [i["id"] for i in c.get("/incidents", headers=a).json()["incidents"]],
        "finding_id": [f["id"] for f in c.get("/findings", headers=a).json()["findings"]],
        "dispute_id": [d["id"] for d in c.get("/disputes", headers=a).json()],
        "notification_id": [
            n["id"] for n in c.get("/notifications", headers=a).json()["notifications"]
        ],
        "version": ["1"],
        "collection_id": [x["id"] for x in c.get("/ogc/collections").json()["collections"]],
    }
    ids["day"] = sorted(
        {
            o[:10]
            for o in (
                x["time"]
                for x in c.get("/observations?limit=10000", headers=a).json()["observations"]
            )
        }
    )
    query = {
        "/observations": "?limit=10000",
        "/record/proof/inclusion": "?index=0",
        "/record/proof/consistency": "?size1=1",
    }
    out = []
    for path, ops in c.get("/openapi.json").json()["paths"].items():
        if "get" not in ops or path.startswith("/docs") or path == "/openapi.json":
            continue
        names = [p["name"] for p in ops["get"].get("parameters", []) if p["in"] == "path"]
        todo = [path]
        for name in names:
            assert name in ids or name == "feature_id", f"no ids for {{{name}}} in {path}"
            if name == "feature_id":
                continue
            todo = [p.replace("{" + name + "}", v) for p in todo for v in ids[name]]
        for p in todo:
            if "{feature_id}" in p:
                items = c.get(p.replace("/{feature_id}", "?limit=10000"), headers=a).json()
                todo_f = [
                    p.replace("{feature_id}", str(f["id"])) for f in items.get("features", [])
                ]
                out += todo_f
            else:
                out.append(p + query.get(path, "?limit=10000" if path.endswith("/items") else ""))
    return out


def _leaks(text: str, secrets: set[str]) -> list[str]:
    return sorted(s for s in secrets if s in text)


@pytest.mark.parametrize("role", OUTSIDERS)
def test_every_endpoint_and_every_tile_leak_nothing(
    world: World, surfaces: tuple[TestClient, Path], role: str
) -> None:
    c, db = surfaces
    public = c.get("/agreement").text  # the agreement is public, its vertices too
    secrets = {s for s in _secrets(c, world, role) if s not in public} | _access_secrets(db)
    assert F_UNATTRIBUTED not in secrets and F_PUBLISHED not in secrets
    assert "smm-post-1" in secrets
    paths = _paths(c, world)
    assert len(paths) > 60  # every endpoint, over every id
    for p in paths:
        r = c.get(p, headers=world.headers(role))
        assert r.status_code < 500, (p, r.status_code)
        assert _leaks(r.text, secrets) == [], (p, _leaks(r.text, secrets))
    store = open_store(str(db))
    files = export_tiles(store)
    assert any(p.startswith("tile/entries/") for p in files)
    for path, data in files.items():  # the public tiles: the same for everyone
        assert _leaks(data.decode("utf-8", "replace"), secrets) == [], path
    # the key's own bundle of openings (what `record openings --for` writes for a party)
    who = Principal(Role.PARTY, "k", BOUND[role]) if role in BOUND else Principal(Role.PUBLIC)
    mine = bundle(store, may_open(store, who))
    text = json.dumps(mine, ensure_ascii=False)
    assert _leaks(text, secrets) == []
    if role in BOUND:  # its own dispute, opened
        assert TEXTS[role] in text
    # every opening of the bundle opens its entry in the tiles
    cp = open_log_checkpoint(files["checkpoint"], store.get_meta("log_vkey") or "")
    entries = read_log(files.__getitem__, cp)
    for i, ops in parse_bundle(mine).items():
        t, body = parse_entry(entries[i])
        open_body(t, body, ops)
    store.close()


def test_a_public_field_proves_from_the_tiles_alone(
    world: World, surfaces: tuple[TestClient, Path]
) -> None:
    c, db = surfaces
    store = open_store(str(db))
    files = export_tiles(store)
    vkey = c.get("/record/log-key").json()["vkey"]
    store.close()
    public = parse_bundle(c.get("/record/openings").json())  # no key
    [index] = [i for i, ops in public.items() if "id" in ops and ops["id"][1] == F_PUBLISHED]
    ops = public[index]
    assert {"verdict", "provision_id"} <= set(ops) and not {"lon", "lat"} & set(ops)
    # from the tiles alone: the signed checkpoint, the entry bundle and the hash tiles
    read: Callable[[str], bytes] = files.__getitem__
    cp = open_log_checkpoint(read("checkpoint"), vkey)
    entry = read_log(read, cp, check_tiles=False)[index]
    proof = merkle.inclusion_proof(index, cp.size, TileReader(read, cp.size).get_node)
    merkle.verify_inclusion(merkle.leaf_hash(entry), index, cp.size, proof, cp.root_hash)
    t, body = parse_entry(entry)
    full, left = open_body(t, body, {"verdict": ops["verdict"]})
    assert t == "finding" and full["verdict"] == c.get(f"/findings/{F_PUBLISHED}").json()["verdict"]
    assert "lon" in left
    salt, value = ops["verdict"]
    for bad in ((salt, "compliant" if value != "compliant" else "violation"), (bytes(32), value)):
        with pytest.raises(IntegrityError):
            open_body(t, body, {"verdict": bad})


def test_openings_pages_and_refusals(world: World, surfaces: tuple[TestClient, Path]) -> None:
    c, _ = surfaces
    a = world.headers("analyst")
    whole = c.get("/record/openings", headers=a).json()["openings"]
    n = c.get("/readyz").json()["entries"]
    pages = (
        c.get(f"/record/openings?start=0&end={n // 2}", headers=a).json()["openings"]
        + c.get(f"/record/openings?start={n // 2}", headers=a).json()["openings"]
    )
    assert pages == whole and whole
    r = c.get("/record/openings?start=5&end=5")
    assert r.status_code in (400, 422) and "end" in r.text
    assert c.get(f"/record/openings?start={n + 5}").json()["openings"] == []


def test_notifications_open_to_whoever_may_see_them(
    world: World, surfaces: tuple[TestClient, Path]
) -> None:
    c, db = surfaces
    store = open_store(str(db))
    guarantees.notify(store, datetime(2025, 3, 28, 6, tzinfo=UTC))  # as a check does
    store.close()
    n = c.get("/readyz").json()["entries"]
    types = [
        parse_entry(base64.b64decode(c.get(f"/record/proof/inclusion?index={i}").json()["entry"]))[
            0
        ]
        for i in range(n)
    ]
    assert "notification" in types
    opened_any = False
    for who in ("guarantor_UK", "guarantor_US", "party_RU", "party_UA", "public", "monitor"):
        h = world.headers(who)
        mine = parse_bundle(c.get("/record/openings", headers=h).json())
        opened = {ops["id"][1] for i, ops in mine.items() if types[i] == "notification"}
        r = c.get("/notifications", headers=h)
        listed = {x["id"] for x in r.json()["notifications"]} if r.status_code == 200 else set()
        assert opened == listed, who
        opened_any |= bool(opened)
    assert opened_any
