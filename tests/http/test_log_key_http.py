"""POST /record/checkpoints signs with the log's key from the settings, never from the store:
without a key configured it is a server configuration error naming the setting, and nothing
is stored."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.http.conftest import F_RU, OBS_RU, World
from truceline.services.record import open_log_checkpoint


def test_checkpoints_are_signed_with_the_configured_key(
        world: World, make_client: Callable[..., TestClient]) -> None:
    bare = make_client(log_key_file=None, log_key_passphrase=None)
    before = bare.get("/record/checkpoints").json()
    r = bare.post("/record/checkpoints", headers=world.headers("analyst"))
    assert r.status_code == 500
    assert r.json()["code"] == "bad_config" and r.json()["field"] == "log_key_file"
    assert bare.get("/record/checkpoints").json() == before  # nothing signed or stored

    c = make_client()
    r = c.post(f"/findings/{F_RU}/disputes", headers=world.headers("party_RU"),
               json={"text": "not ours", "evidence": [OBS_RU]})  # the log grows by an entry
    assert r.status_code == 201, r.text
    r = c.post("/record/checkpoints", headers=world.headers("analyst"))
    assert r.status_code == 201, r.text
    vkey = c.get("/record/log-key").json()["vkey"]
    assert open_log_checkpoint(r.json()["note"].encode(), vkey).size == r.json()["size"]
    # a new checkpoint, signed just now: the dispute's entry, and the store's pseudonym
    # secret's, made on its first use (a dispute's id is keyed with it)
    assert r.json()["size"] == before[-1]["size"] + 2
