"""Observation ids are shared by every source: a party must not learn from a refusal that
another source's observation holds an id.

A party probing a monitor's id (``m25-fire-ru-1``, one of the sample's) got 409 "stored with
other content", and a missing id got through to the signature check: existence leaked, and
with ids a mission numbers in order, how many reports a post made. A party's ids live in its
own namespace (``RU:...``), so a refusal of an id can only be about its own records.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.http.conftest import OBS_RU, World, new_fire
from truceline.adapters.store import open_store
from truceline.core.observations import parse_observation
from truceline.core.record.note import Signer
from truceline.services.keys import register_source_key
from truceline.services.submissions import sign_observation

RU_SEED = bytes(range(100, 132))


def _as_ru(oid: str, **kw: Any) -> dict[str, Any]:
    obs = parse_observation({**new_fire(7, source="RU"), "id": oid, **kw})
    return sign_observation(obs, Signer("RU", RU_SEED)).to_record()


def _answer(r: Any) -> tuple[int, Any]:
    body = r.json()
    if isinstance(body.get("details"), dict):
        body["details"].pop("id", None)  # the id asked for, echoed
    return r.status_code, body


def test_a_party_cannot_tell_another_sources_id_from_a_free_one(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    store = open_store(str(fresh_db))
    register_source_key(store, "RU", "party",
                        base64.b64encode(Signer("RU", RU_SEED).public_key).decode())
    store.close()
    c = make_client()
    h = world.headers("party_RU")
    for path, wrap in (("/observations", lambda r: r),
                       ("/observations/batch", lambda r: {"observations": [r]}),
                       ("/observations/batch?on_invalid=skip", lambda r: {"observations": [r]})):
        taken = _answer(c.post(path, headers=h, json=wrap(_as_ru(OBS_RU))))
        free = _answer(c.post(path, headers=h, json=wrap(_as_ru("never-used-anywhere"))))
        assert taken == free and taken[0] == 422, (path, taken, free)
        assert taken[1]["field"].endswith("id") and "RU:" in taken[1]["message"]
    # in its own namespace it submits, and a second record under its id is its own conflict
    ok = c.post("/observations", headers=h, json=_as_ru("RU:fire-1"))
    assert ok.status_code == 200 and ok.json()["added"] == 1, ok.text
    other = _as_ru("RU:fire-1", lat=48.36)
    assert c.post("/observations", headers=h, json=other).status_code == 409
    # the mission's own keys keep their ids
    mine = c.post("/observations", headers=world.headers("monitor"),
                  json=world.signed(new_fire(42)))
    assert mine.status_code == 200, mine.text
