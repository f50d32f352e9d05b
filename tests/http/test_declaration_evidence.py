"""A party reads another party's declaration only through a finding about that party.

Under New START (the shipped example) the United States declares its warheads as of
1 March 2019 and Russia does not: Russia's "declaration not provided" finding cites the
American declaration to show that the round took place. Through it Russia must not read the
American figures, on any surface that opens a finding's evidence (``GET /observations/{id}``,
a dispute's evidence); once a finding about the United States that cites it is published,
it may.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.http.state import PUBLISHED_KEY
from truceline.adapters.store import open_store
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.settings import Settings

USA_DECL = "usa-warheads-2019-03"
MISSING = "no-such-observation-anywhere"


def _decl(oid: str, party: str, as_of: str, qty: float) -> dict[str, Any]:
    return {"id": oid, "kind": "declaration", "time": f"{as_of}T12:00:00Z", "source_id": party,
            "source_type": "party", "party": party, "category": "warheads_on_deployed",
            "quantity": qty, "as_of": as_of}


@pytest.fixture()
def new_start(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "ns.db"
    _, doc = load_agreement_file("new_start")
    store = open_store(str(db), create=True)
    try:
        initialize_store(store, doc)
        # the United States declares for 1 March 2019; Russia's declaration for that date
        # never comes (its own for 1 September 2019 makes the March round due)
        ingest(store, list(enumerate([_decl(USA_DECL, "USA", "2019-03-01", 1365),
                                      _decl("rus-warheads-2019-09", "RUS", "2019-09-01",
                                            1426)])))
        run_check(store)
        tokens = {name: create_api_key(store, name, "party", name) for name in ("USA", "RUS")}
        tokens["analyst"] = create_api_key(store, "analyst", "analyst", None)
    finally:
        store.close()
    return db, tokens


def _h(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def test_a_late_party_does_not_read_the_declarations_its_finding_cites(
        new_start: tuple[Path, dict[str, str]]) -> None:
    db, tokens = new_start
    with TestClient(create_app(str(db), Settings())) as c:
        rus = _h(tokens, "RUS")
        late = [f for f in c.get("/findings", headers=rus).json()["findings"]
                if f["party"] == "RUS" and USA_DECL in f["evidence"]]
        assert late and "declaration not provided" in late[0]["explanation"], late
        assert "USA's for that date is recorded" in late[0]["explanation"]
        hidden = c.get(f"/observations/{USA_DECL}", headers=rus)
        missing = c.get(f"/observations/{MISSING}", headers=rus)
        assert hidden.status_code == 404 and hidden.json() == missing.json(), hidden.text
        assert "1365" not in hidden.text
        # nor by citing it in a dispute of that finding
        fid = late[0]["id"]
        cite = c.post(f"/findings/{fid}/disputes", headers=rus,
                      json={"text": "the round was not due", "evidence": [USA_DECL]})
        probe = c.post(f"/findings/{fid}/disputes", headers=rus,
                       json={"text": "the round was not due", "evidence": [MISSING]})
        assert cite.status_code == 422 and cite.json() == probe.json(), cite.text
        # its declarer and the analysts read it as before
        assert c.get(f"/observations/{USA_DECL}", headers=_h(tokens, "USA")).status_code == 200
        assert c.get(f"/observations/{USA_DECL}",
                     headers=_h(tokens, "analyst")).json()["quantity"] == 1365


def test_a_published_finding_about_the_declarer_opens_its_declaration(
        new_start: tuple[Path, dict[str, str]]) -> None:
    db, tokens = new_start
    store = open_store(str(db))
    try:
        about_usa = [f.id for f in store.findings()
                     if f.party == "USA" and f.evidence == (USA_DECL,)]
        assert about_usa, "the American declaration is judged against the limit"
        store.set_meta(PUBLISHED_KEY, json.dumps(about_usa))
    finally:
        store.close()
    with TestClient(create_app(str(db), Settings())) as c:
        r = c.get(f"/observations/{USA_DECL}", headers=_h(tokens, "RUS"))
        assert r.status_code == 200 and r.json()["quantity"] == 1365, r.text
