"""The submission routes on bodies in other encodings (issue 11, item 7, over HTTP).

JSON's own rule (RFC 8259, with the UTF-16/32 detection of RFC 4627 that ``json.loads`` does):
UTF-8 with or without a byte-order mark, UTF-16 or UTF-32. A body that is not text in these is
a 422 with code ``bad_encoding``, field ``body`` and the byte offset, and stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.encoded import random_bytes
from tests.http.conftest import World, new_fire

JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-32"])
def test_a_batch_in_unicode_is_read(
    world: World, make_client: Callable[..., TestClient], encoding: str
) -> None:
    c = make_client()
    batch = [world.signed(new_fire(i)) for i in range(3)]
    body = json.dumps({"observations": batch}, ensure_ascii=False).encode(encoding)
    r = c.post("/observations/batch", headers={**world.headers("monitor"), **JSON}, content=body)
    assert r.status_code == 200, r.text
    assert r.json() == {"added": 3, "duplicates": 0, "rejected": []}


@pytest.mark.parametrize("path", ["/observations", "/observations/batch"])
def test_a_body_that_is_not_text_is_422_bad_encoding(
    world: World, make_client: Callable[..., TestClient], path: str
) -> None:
    c = make_client()
    rec = world.signed(new_fire(1))
    good = json.dumps(rec if path == "/observations" else {"observations": [rec]}).encode()
    cut = good.index(b'"smm-post-1"') + 1
    bodies = {
        # the source id typed in a Windows code page (cp1251) into otherwise UTF-8 JSON
        "cp1251": good[:cut] + "Донецьк".encode("cp1251") + good[cut:],
        "random": random_bytes(512),
    }
    for name, body in bodies.items():
        r = c.post(path, headers={**world.headers("monitor"), **JSON}, content=body)
        assert r.status_code == 422, (name, r.text)
        err = r.json()
        assert (err["code"], err["field"]) == ("bad_encoding", "body"), err
        assert err["message"].startswith("not decodable as ")
        if name == "cp1251":
            assert err["details"]["offset"] == cut
            assert "0xc4" in err["message"]
    rows = c.get(
        "/observations",
        headers=world.headers("analyst"),
        params={"source_id": "smm-post-1", "limit": 10_000},
    ).json()["observations"]
    assert not any(o["id"] == rec["id"] for o in rows)
