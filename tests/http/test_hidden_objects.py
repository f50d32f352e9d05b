"""What a key may not see must not show through a side door: an error that tells a hidden
object from a missing one, or a filter that selects by what the key may not read.

Each test asks one question two ways (an object that exists but is hidden, one that does
not exist; a report narrowed by party against the report's own party column) and requires
the same answer.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.http.conftest import F_RU, F_UA_FOREIGN, OBS_FOREIGN, World
from truceline.core.record.canonical import parse_entry

MISSING = "no-such-observation-anywhere"


def _answer(r: Any) -> tuple[int, Any]:
    return r.status_code, r.json()


def test_a_hidden_observation_reads_as_a_missing_one(world: World, client: TestClient) -> None:
    # OBS_FOREIGN exists (evidence of a UA finding) but the monitor and RU may not see it
    for role in ("monitor", "party_RU", "guarantor_UK"):
        h = world.headers(role)
        hidden = _answer(client.get(f"/observations/{OBS_FOREIGN}", headers=h))
        missing = _answer(client.get(f"/observations/{MISSING}", headers=h))
        assert hidden[0] == 404 and hidden == missing, (role, hidden, missing)


def test_a_hidden_observation_feature_reads_as_a_missing_one(world: World,
                                                             client: TestClient) -> None:
    base = "/ogc/collections/observations/items"
    for role in ("monitor", "party_RU"):
        h = world.headers(role)
        hidden = _answer(client.get(f"{base}/{OBS_FOREIGN}", headers=h))
        missing = _answer(client.get(f"{base}/{MISSING}", headers=h))
        assert hidden[0] == 404 and hidden == missing, (role, hidden, missing)


def test_a_dispute_cannot_cite_an_observation_its_party_may_not_see(
        world: World, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    h = world.headers("party_RU")

    def file(evidence: list[str]) -> tuple[int, Any]:
        return _answer(c.post(f"/findings/{F_RU}/disputes", headers=h,
                              json={"text": "not ours", "evidence": evidence}))

    hidden, missing = file([OBS_FOREIGN]), file([MISSING])
    assert hidden[0] == 422 and hidden == missing, (hidden, missing)


def test_counter_evidence_cannot_probe_for_observations(
        world: World, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    h = world.headers("party_RU")
    d = c.post(f"/findings/{F_RU}/disputes", headers=h, json={"text": "not ours"})
    assert d.status_code == 201, d.text
    url = f"/disputes/{d.json()['id']}/evidence"
    hidden = _answer(c.post(url, headers=h, json={"evidence": [OBS_FOREIGN]}))
    missing = _answer(c.post(url, headers=h, json={"evidence": [MISSING]}))
    assert hidden[0] == 422 and hidden == missing, (hidden, missing)


def test_a_report_narrowed_to_a_party_says_no_more_than_its_party_column(
        world: World, client: TestClient) -> None:
    """``party=`` keeps the restrictions a party was held responsible for: outside the
    mission only where a finding the reader sees says so, as the column shows."""
    day = "/reports/periods/2025-03-28?period=day"
    exact = client.get(f"{day}&party=RU", headers=world.headers("analyst")).json()
    assert exact["restrictions"], "the sample holds a restriction attributed to RU"
    names = {p["id"]: p["name"] for p in client.get("/agreement").json()["parties"]}
    for role in ("anon", "public", "monitor", "party_UA", "party_RU", "guarantor_US"):
        h = world.headers(role)
        whole = client.get(day, headers=h).json()["restrictions"]
        for party, name in names.items():
            narrowed = client.get(f"{day}&party={party}", headers=h).json()["restrictions"]
            shown = sorted(x["id"] for x in whole if x["party"] == name)
            assert sorted(x["id"] for x in narrowed) == shown, (role, party, narrowed)


def test_a_restrictions_free_text_stays_inside_the_mission(world: World,
                                                            client: TestClient) -> None:
    """Outside the mission an observation's ``description`` is withheld (it may place the
    observer); the finding about a restriction must not carry it either."""
    obs = "m25-restr-checkpoint-ru"
    text = client.get(f"/observations/{obs}", headers=world.headers("analyst")).json()[
        "description"]
    assert text
    shown = client.get(f"/observations/{obs}", headers=world.headers("party_RU")).json()
    assert "description" not in shown  # the observation itself: withheld
    for role in ("party_RU", "guarantor_UK"):
        h = world.headers(role)
        fs = client.get("/findings", headers=h).json()["findings"]
        report = client.get("/reports/daily/2025-03-28", headers=h).json()["findings"]
        ogc = [x["properties"] for x in client.get(
            "/ogc/collections/findings/items?limit=1000", headers=h).json()["features"]]
        for where, seen in (("findings", fs), ("report", report), ("ogc", ogc)):
            about = [f for f in seen if obs in str(f["evidence"])]
            assert about, (role, where)
            assert all(text not in f["explanation"] for f in about), (role, where, about)


def test_publication_does_not_open_a_dispute_to_every_guarantor(
        world: World, make_client: Callable[..., TestClient]) -> None:
    """A dispute is read in full by its party and the guarantors of its finding's provision
    (docs/guarantees.md); once the finding is published a guarantor of other provisions sees
    what the public sees (status and steps), in the API and in the record's openings."""
    c = make_client()
    d = c.post(f"/findings/{F_UA_FOREIGN}/disputes", headers=world.headers("party_UA"),
               json={"text": "they are instructors"})
    assert d.status_code == 201, d.text
    did = d.json()["id"]
    assert c.post(f"/findings/{F_UA_FOREIGN}/publish",
                  headers=world.headers("analyst")).status_code == 200
    public = c.get(f"/disputes/{did}").json()
    assert "text" not in public
    us = c.get(f"/disputes/{did}", headers=world.headers("guarantor_US")).json()
    assert us["text"] == "they are instructors"  # US guarantees the provision
    uk = world.headers("guarantor_UK")  # UK does not
    assert c.get(f"/disputes/{did}", headers=uk).json() == public
    assert did not in {x["id"] for x in c.get("/disputes", headers=uk).json()}
    index = c.get("/readyz").json()["entries"] - 2  # the dispute, then the publication
    entry = c.get(f"/record/proof/inclusion?index={index}").json()["entry"]
    assert parse_entry(base64.b64decode(entry))[0] == "dispute"
    opened = c.get(f"/record/openings?start={index}&end={index + 1}", headers=uk).json()
    assert opened["openings"] == []
    opened = c.get(f"/record/openings?start={index}&end={index + 1}",
                   headers=world.headers("guarantor_US")).json()
    assert "they are instructors" in [o["value"] for o in opened["openings"]]
