"""Disputes over HTTP: the lifecycle, steps out of order, who may take each step, and what
each role sees; every step is one record entry and the stored state verifies against them."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.http.conftest import F_PUBLISHED, F_RU, OBS_RU, World, new_fire
from truceline.adapters.store import open_store
from truceline.core.observations import parse_observation
from truceline.core.record.note import Signer
from truceline.services.keys import register_source_key
from truceline.services.submissions import sign_observation
from truceline.services.verify import verify_record

RU_SEED = bytes(range(100, 132))


def _state(db: Path) -> tuple[int, list[dict[str, Any]]]:
    store = open_store(str(db))
    try:
        return store.entry_count(), store.disputes()
    finally:
        store.close()


def _dispute_problems(db: Path) -> list[str]:
    store = open_store(str(db))
    try:
        return [str(p) for p in verify_record(store).problems if "dispute" in str(p)]
    finally:
        store.close()


def _file(c: TestClient, world: World, text: str = "our guns were withdrawn") -> dict[str, Any]:
    r = c.post(f"/findings/{F_RU}/disputes", headers=world.headers("party_RU"),
               json={"text": text, "evidence": [OBS_RU]})
    assert r.status_code == 201, r.text
    return dict(r.json())


def _ru_observation(i: int) -> dict[str, Any]:
    """An observation by party RU's own source, signed with its registered key."""
    obs = parse_observation({**new_fire(500 + i, source="RU"), "id": f"RU:fire-{i}"})
    return sign_observation(obs, Signer("RU", RU_SEED)).to_record()


@pytest.fixture()
def ru_key(fresh_db: Path) -> None:
    store = open_store(str(fresh_db))
    register_source_key(store, "RU", "party",
                        base64.b64encode(Signer("RU", RU_SEED).public_key).decode())
    store.close()


def test_lifecycle_each_step_is_an_entry_and_verifies(
        world: World, fresh_db: Path, ru_key: None,
        make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    d = _file(c, world)
    assert d["status"] == "open"
    n0, _ = _state(fresh_db)

    r = c.post(f"/disputes/{d['id']}/answer", headers=world.headers("analyst"),
               json={"text": "two crater analyses point east"})
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["status"] == "answered"
    step = a["history"][-1]
    finding = c.get(f"/findings/{F_RU}", headers=world.headers("analyst")).json()
    assert step["evidence"] == finding["evidence"]  # the reply carries what produced it
    assert (step["provision_id"], step["rule_kind"]) == (finding["provision_id"],
                                                          finding["rule_kind"])

    obs = _ru_observation(1)
    r = c.post(f"/disputes/{d['id']}/evidence", headers=world.headers("party_RU"),
               json={"observations": [obs]})
    assert r.status_code == 200, r.text
    assert r.json()["history"][-1]["observations"] == [obs["id"]]
    assert r.json()["status"] == "answered"  # counter-evidence does not move the status
    stored = c.get(f"/observations/{obs['id']}", headers=world.headers("analyst"))
    assert stored.status_code == 200  # ingested like any submission

    r = c.post(f"/disputes/{d['id']}/reject", headers=world.headers("analyst"),
               json={"reasons": "the counter-evidence is 40 km away"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"

    n1, rows = _state(fresh_db)
    # answer, the observation, the evidence step, the rejection
    assert n1 - n0 == 4
    assert [h["action"] for h in rows[0]["history"]] == ["answer", "evidence", "reject"]
    assert _dispute_problems(fresh_db) == []


def test_upheld_after_an_answer_records_the_outcome(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    d = _file(c, world)
    c.post(f"/disputes/{d['id']}/answer", headers=world.headers("analyst"), json={"text": "x"})
    r = c.post(f"/disputes/{d['id']}/uphold", headers=world.headers("analyst"),
               json={"outcome": "amended", "text": "origin moved 3 km west, unattributed"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "upheld"
    assert r.json()["history"][-1]["outcome"] == "amended"
    assert _dispute_problems(fresh_db) == []


OUT_OF_ORDER = [
    # (steps before, the step, who, body, status, field)
    ([], "uphold", "analyst", {"outcome": "withdrawn", "text": "x"}, 409, "status"),
    ([], "reject", "analyst", {"reasons": "x"}, 409, "status"),
    (["withdraw"], "answer", "analyst", {"text": "x"}, 409, "status"),
    (["withdraw"], "withdraw", "party_RU", None, 409, "status"),
    (["withdraw"], "evidence", "party_RU", {"evidence": [OBS_RU]}, 409, "status"),
    (["answer"], "answer", "analyst", {"text": "again"}, 409, "status"),
    (["answer", "reject"], "uphold", "analyst", {"outcome": "withdrawn", "text": "x"}, 409,
     "status"),
    ([], "answer", "party_RU", {"text": "x"}, 403, "authorization"),
    ([], "withdraw", "analyst", None, 403, "authorization"),
    ([], "evidence", "party_RU", {"evidence": [OBS_RU]}, 403, "observations[0]"),
    ([], "evidence", "party_RU", {"evidence": ["no-such-obs"]}, 422, "observations[0]"),
    ([], "uphold", "analyst", {"outcome": "maybe", "text": "x"}, 422, "outcome"),
    ([], "answer", "analyst", {"text": ""}, 422, "text"),
]


@pytest.mark.parametrize(("before", "step", "who", "body", "status", "field"), OUT_OF_ORDER,
                         ids=[f"{'+'.join(b) or 'open'}->{s} as {w}"
                              for b, s, w, *_ in OUT_OF_ORDER])
def test_a_step_out_of_order_changes_nothing(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient],
        before: list[str], step: str, who: str, body: Any, status: int, field: str) -> None:
    c = make_client()
    d = _file(c, world)
    bodies = {"answer": {"text": "x"}, "reject": {"reasons": "x"}, "withdraw": None}
    for b in before:
        role = "party_RU" if b == "withdraw" else "analyst"
        r = c.post(f"/disputes/{d['id']}/{b}", headers=world.headers(role), json=bodies[b])
        assert r.status_code == 200, r.text
    was = _state(fresh_db)
    r = c.post(f"/disputes/{d['id']}/{step}", headers=world.headers(who), json=body)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field and r.json()["message"]
    assert _state(fresh_db) == was  # no entry, no state change


def test_a_party_disputes_only_findings_about_itself(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    was = _state(fresh_db)
    # F_PUBLISHED is about UA and published, so RU may see it, but not dispute it
    r = c.post(f"/findings/{F_PUBLISHED}/disputes", headers=world.headers("party_RU"),
               json={"text": "it was them"})
    assert r.status_code == 403 and r.json()["field"] == "finding_id"
    assert _state(fresh_db) == was


def test_only_the_filing_party_withdraws(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    d = _file(c, world)
    was = _state(fresh_db)
    # UA cannot see F_RU: the dispute does not exist for it
    r = c.post(f"/disputes/{d['id']}/withdraw", headers=world.headers("party_UA"))
    assert r.status_code == 404 and r.json()["field"] == "dispute_id"
    c.post(f"/findings/{F_RU}/publish", headers=world.headers("analyst"))
    was = _state(fresh_db)
    # once the finding is published UA sees the dispute's status, and still may not withdraw
    r = c.post(f"/disputes/{d['id']}/withdraw", headers=world.headers("party_UA"))
    assert r.status_code == 403 and r.json()["field"] == "party"
    assert _state(fresh_db) == was


def test_the_public_sees_status_and_history_of_published_findings_only(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    secret = "the battery belonged to the 4th brigade"
    d = _file(c, world, text=secret)
    c.post(f"/disputes/{d['id']}/answer", headers=world.headers("analyst"),
           json={"text": "reply text not for the public"})
    assert c.get(f"/findings/{F_RU}/disputes").status_code == 404  # not published yet
    assert c.get(f"/disputes/{d['id']}").status_code == 404
    c.post(f"/findings/{F_RU}/publish", headers=world.headers("analyst"))
    for who in ("anon", "public", "party_UA", "monitor"):
        r = c.get(f"/findings/{F_RU}/disputes", headers=world.headers(who))
        assert r.status_code == 200, (who, r.text)
        [seen] = r.json()
        assert seen["status"] == "answered"
        assert [h["action"] for h in seen["history"]] == ["answer"]
        assert secret not in r.text and "not for the public" not in r.text
        assert "text" not in seen and "evidence" not in seen
        one = c.get(f"/disputes/{d['id']}", headers=world.headers(who))
        assert one.status_code == 200 and secret not in one.text
    full = c.get(f"/disputes/{d['id']}", headers=world.headers("party_RU")).json()
    assert full["text"] == secret and full["history"][0]["text"]


def test_steps_are_readable_in_the_record_by_who_may_see_the_dispute(
        world: World, fresh_db: Path, make_client: Callable[..., TestClient]) -> None:
    c = make_client()
    d = _file(c, world)
    c.post(f"/disputes/{d['id']}/answer", headers=world.headers("analyst"), json={"text": "x"})
    size = c.get("/readyz").json()["entries"]
    proof = {who: c.get(f"/record/proof/inclusion?index={size - 1}",
                        headers=world.headers(who)).json()
             for who in ("party_RU", "party_UA", "guarantor_UK", "public")}
    assert all("entry" in p for p in proof.values())  # in committed form, for everyone
    opened = {who: c.get(f"/record/openings?start={size - 1}",
                         headers=world.headers(who)).json()["openings"] for who in proof}
    assert {o["field"] for o in opened["party_RU"]} >= {"dispute_id", "action"}
    assert opened["guarantor_UK"] == opened["party_RU"]
    assert opened["party_UA"] == [] and opened["public"] == []


def test_counter_evidence_on_another_partys_dispute_stores_nothing(
        world: World, fresh_db: Path, ru_key: None,
        make_client: Callable[..., TestClient]) -> None:
    """RU may see UA's dispute of a published finding, not add to it: the refusal says
    'nothing changed', and its observations must not have been ingested first."""
    c = make_client()
    d = c.post(f"/findings/{F_PUBLISHED}/disputes", headers=world.headers("party_UA"),
               json={"text": "not ours"})
    assert d.status_code == 201, d.text
    before = _state(fresh_db)
    obs = _ru_observation(9)
    r = c.post(f"/disputes/{d.json()['id']}/evidence", headers=world.headers("party_RU"),
               json={"observations": [obs]})
    assert r.status_code == 403 and r.json()["field"] == "party", r.text
    assert _state(fresh_db) == before
    missing = c.get(f"/observations/{obs['id']}", headers=world.headers("analyst"))
    assert missing.status_code == 404


def test_counter_evidence_ids_follow_the_party_rule(
        world: World, fresh_db: Path, ru_key: None,
        make_client: Callable[..., TestClient]) -> None:
    """Counter-evidence is a submission: outside its '<party>:' namespace an id is refused
    (422 naming the field) before anything is stored, as on POST /observations."""
    c = make_client()
    d = _file(c, world)
    obs = parse_observation({**new_fire(600, source="RU"), "id": "fire-600"})
    bad = sign_observation(obs, Signer("RU", RU_SEED)).to_record()
    r = c.post(f"/disputes/{d['id']}/evidence", headers=world.headers("party_RU"),
               json={"observations": [bad]})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "observations[0].id" and "'RU:'" in r.json()["message"]
    assert c.get("/observations/fire-600", headers=world.headers("analyst")).status_code == 404
