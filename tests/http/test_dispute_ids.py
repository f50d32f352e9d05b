"""A dispute's id does not confirm a guess of its text.

The id is in clear in the public log (a ``dispute`` entry keeps ``id`` and ``time``) and is
shown with its status to whoever sees the finding (the public, once it is published); the
text only to the dispute's readers. An id that is a plain hash of the finding, the party, the
text and the evidence let anyone test candidate texts ("not ours", a template) against it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.http.conftest import F_RU, World
from truceline.core.record.canonical import parse_entry

TEXT = "not ours"


def _plain_hash(text: str) -> str:
    key = json.dumps([F_RU, "RU", text, []], separators=(",", ":"))
    return "d-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def test_the_public_cannot_confirm_a_disputes_text(
        world: World, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    filed = c.post(f"/findings/{F_RU}/disputes", headers=world.headers("party_RU"),
                   json={"text": TEXT})
    assert filed.status_code == 201, filed.text
    did = filed.json()["id"]
    again = c.post(f"/findings/{F_RU}/disputes", headers=world.headers("party_RU"),
                   json={"text": TEXT})
    assert again.json()["id"] == did  # idempotent as before
    assert c.post(f"/findings/{F_RU}/publish",
                  headers=world.headers("analyst")).status_code == 200
    shown = c.get(f"/findings/{F_RU}/disputes").json()
    assert [d["id"] for d in shown] == [did] and "text" not in shown[0]
    # the id is in clear in the log, for everyone
    size = c.get("/record/proof/inclusion?index=0").json()["size"]
    clear = []
    for i in range(size):
        doc = c.get(f"/record/proof/inclusion?index={i}").json()
        kind, body = parse_entry(base64.b64decode(doc["entry"]))
        if kind == "dispute":
            clear.append(body["id"])
    assert did in clear
    # and it confirms no guess of the text, the right one included
    for guess in (TEXT, "it was them", "not us", ""):
        assert _plain_hash(guess) != did
