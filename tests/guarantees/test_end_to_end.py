"""Issue 15, done when: a simulated day on the march2025 example with a planted breach of a
guaranteed provision; the check finds it; a real webhook receiver on loopback gets the
signed notifications and checks their signatures; the UK acknowledges through the API;
France does not and is reported overdue after its deadline (simulated clock), escalated and
named in the daily report; RU disputes the finding, the analyst answers, RU withdraws; every
step is in the record, and `record replay --db` on another machine (another directory, from
the exported tiles alone) reproduces the same states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.render.report import render_report
from truceline.adapters.store import open_store
from truceline.adapters.webhooks import HttpxTransport
from truceline.services.access import PSEUDONYM_KEY
from truceline.services.delivery import deliver
from truceline.services.guarantees import guarantee_store, iso_text, notify, states
from truceline.services.ports import Store
from truceline.services.report import daily_report
from truceline.services.verify import verify_record
from truceline.settings import Settings

from .conftest import T0, Receiver, SimClock, replay_elsewhere

KEYS = {"analyst": ("analyst", None), "UK": ("guarantor", "UK"), "FR": ("guarantor", "FR"),
        "US": ("guarantor", "US"), "RU": ("party", "RU"), "UA": ("party", "UA"),
        "monitor": ("monitor", "smm-post-1"), "public": ("public", None)}


def _kinds(store: Store) -> list[str]:
    return [e.type for e in store.entries()]


def _rows(store: Store) -> list[dict[str, Any]]:
    return guarantee_store(store).notification_rows()


def test_planted_breach_notified_acknowledged_overdue_replayed(
        planted: Path, receiver: Receiver, tmp_path: Path) -> None:
    store = open_store(str(planted))
    tokens = {k: create_api_key(store, k, r, b) for k, (r, b) in KEYS.items()}
    clock = SimClock(T0)
    breach = [f for f in store.findings()
              if f.provision_id == "M25-ceasefire" and f.verdict.value == "violation"]
    assert [(f.party, f.weapon_class) for f in breach] == [("RU", "tube_artillery")]

    with TestClient(create_app(str(planted), Settings(), clock=clock)) as api:
        def h(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[who]}"}

        for who in ("UK", "FR", "MED"):  # RU and US have no endpoint: they read the API
            r = api.post("/notifications/endpoints", headers=h("analyst"),
                         json={"recipient": who, "url": f"{receiver.url}/hook/{who}"})
            assert r.status_code == 201, r.text
            receiver.secrets[who] = r.json()["secret"]

        made = notify(store, clock())
        assert len(made.created) == 2  # UK's clause and FR's clause on the same finding
        with HttpxTransport() as t:
            sent = deliver(store, t, clock)
        assert len(sent.delivered) == 6 and not sent.retrying and not sent.failed
        assert receiver.bad == [] and len(receiver.kept) == 6
        assert _kinds(store).count("notification") == 2
        recorded = {r["id"]: {k: v for k, v in r.items()
                              if k not in ("withdrawn", "acknowledgement")} for r in _rows(store)}
        for did, body in receiver.kept.items():
            n = body["notification"]
            assert did == f"{n['id']}.{body['recipient']}"
            assert n == recorded[n["id"]]  # what was delivered is what is stored
            assert n["finding_id"] == breach[0].id and n["deadline"] == "2025-03-29T06:00:00Z"
        by_guarantor = {n["guarantor"]: n["id"] for n in recorded.values()}

        # a recipient without an endpoint reads its notifications; others see none
        ru = api.get("/notifications", headers=h("RU")).json()
        assert sorted(n["id"] for n in ru["notifications"]) == sorted(recorded)
        assert api.get("/notifications", headers=h("UA")).json()["numberReturned"] == 0
        assert api.get("/notifications", headers=h("monitor")).status_code == 403
        assert api.get("/notifications").status_code == 401

        # the UK acknowledges two hours later; France never does
        clock.advance(hours=2)
        size = store.entry_count()
        uk, fr = by_guarantor["UK"], by_guarantor["FR"]
        for who, nid, status, field in (("FR", uk, 403, "notification_id"),
                                        ("US", uk, 403, "notification_id"),
                                        ("RU", uk, 403, "authorization"),
                                        ("UK", "n-00000000000000000000", 404, "notification_id")):
            r = api.post(f"/notifications/{nid}/acknowledge", headers=h(who), json={})
            assert (r.status_code, r.json()["field"]) == (status, field), (who, r.text)
        assert store.entry_count() == size  # refused: nothing written
        r = api.post(f"/notifications/{uk}/acknowledge", headers=h("UK"), json={})
        assert r.status_code == 201 and r.json()["late"] is False
        again = api.post(f"/notifications/{uk}/acknowledge", headers=h("UK"), json={})
        assert (again.status_code, again.json()["field"]) == (409, "notification_id")
        assert store.entry_count() == size + 1

        # 26 hours past France's deadline (24 h after the check)
        clock.now = T0 + timedelta(hours=24 + 26)
        late = api.get("/notifications", params={"overdue": "true"},
                       headers=h("analyst")).json()
        assert [n["id"] for n in late["notifications"]] == [fr]
        assert late["awaiting"] == ["awaiting acknowledgement: FR, 1 notification, 26 h overdue"]
        uk_view = api.get(f"/notifications/{uk}", headers=h("UK")).json()
        assert uk_view["state"] == "acknowledged" and "by" not in uk_view["acknowledgement"]

        esc = notify(store, clock())
        assert len(esc.escalated) == 1 and not esc.created
        with HttpxTransport() as t:
            deliver(store, t, clock)
        escalation = next(n for n in _rows(store) if n["kind"] == "escalation")
        assert escalation["escalates"] == fr
        assert set(escalation["recipients"]) == {"UK", "FR", "US", "MED"}
        got = {b["recipient"] for b in receiver.kept.values()
               if b["notification"]["id"] == escalation["id"]}
        assert got == {"UK", "FR", "MED"}
        assert notify(store, clock()).escalated == []  # once

        # RU disputes the breach, the analyst answers, RU withdraws: each step in the record
        # (the first dispute also makes the store's pseudonym secret, which keys its id)
        fresh = store.get_meta(PSEUDONYM_KEY) is None
        size = store.entry_count() + fresh
        r = api.post(f"/findings/{breach[0].id}/disputes", headers=h("RU"),
                     json={"text": "that battery had been withdrawn the day before"})
        assert r.status_code == 201, r.text
        did = r.json()["id"]
        r = api.post(f"/disputes/{did}/withdraw", headers=h("UA"))  # not UA's dispute
        assert r.status_code in (403, 404) and store.entry_count() == size + 1, r.text
        r = api.post(f"/disputes/{did}/answer", headers=h("analyst"),
                     json={"text": "three bearings put the battery 9 km inside RU's area"})
        assert (r.status_code, r.json()["status"]) == (200, "answered"), r.text
        r = api.post(f"/disputes/{did}/withdraw", headers=h("RU"))
        assert (r.status_code, r.json()["status"]) == (200, "withdrawn"), r.text
        r = api.post(f"/disputes/{did}/answer", headers=h("analyst"), json={"text": "again"})
        assert r.status_code == 409 and r.json()["field"] == "status"  # out of order
        assert store.entry_count() == size + 3  # the filing and two steps

    # the daily report of 30 March names France, hours counted to the period's end
    rep = daily_report(store, "2025-03-30")
    end = datetime(2025, 3, 30, 19, 30, tzinfo=ZoneInfo("Europe/Kyiv")).astimezone(UTC)
    hours = int((end - datetime(2025, 3, 29, 6, tzinfo=UTC)).total_seconds() // 3600)
    assert rep.awaiting == [f"awaiting acknowledgement: FR, 1 notification, {hours} h overdue"]
    assert rep.awaiting[0] in render_report(rep, "md", None)
    assert daily_report(store, "2025-03-28").awaiting == []  # not yet due then

    # every step is in the record, the rows follow from it, and a replay elsewhere agrees
    assert _kinds(store).count("notification") == 3
    assert _kinds(store).count("acknowledgement") == 1
    assert [r["id"] for r in _rows(store) if r["acknowledgement"]] == [uk]
    assert verify_record(store).ok, verify_record(store).problems
    other = replay_elsewhere(store, planted, tmp_path)
    a, b = open_store(str(planted)), open_store(str(other))
    for t in (T0, T0 + timedelta(hours=2, minutes=1), clock.now, clock.now + timedelta(days=9)):
        assert states(a, t) == states(b, t)
    assert verify_record(b).ok, verify_record(b).problems
    assert b.disputes() == a.disputes()  # the dispute's states too
    assert [(d["status"], [x["action"] for x in d["history"]]) for d in b.disputes()] == [
        ("withdrawn", ["answer", "withdraw"])]
    # who was told and when is in the record; a mirror has the same outbox but no endpoint
    # secret (the log holds only its hash), so it never sends
    delivered = sorted((d["id"], d["delivered_at"]) for d in guarantee_store(a).deliveries()
                       if d["state"] == "delivered")
    steps = 2  # the dispute's answer and withdrawal are status changes too
    assert len(delivered) == 6 + 3 == _kinds(a).count("status_change") - steps  # each recorded
    assert guarantee_store(b).deliveries() == guarantee_store(a).deliveries()
    assert guarantee_store(b).due_deliveries(iso_text(clock.now + timedelta(days=9)), 99) == []
