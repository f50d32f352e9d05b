"""Issue 15's end-to-end bar on a *simulated day*: the March 2025 example's 27 March simulated
(posts, cameras, arrays, patrols and their reports along the whole line) with one planted
breach of a guaranteed provision among them. The check finds it among the day's findings; the
loopback receiver checks every webhook's signature; the UK acknowledges the breach's
notification, France does not and is overdue after its deadline; RU disputes the finding, the
analyst answers, RU withdraws; every step is in the record, and a replay elsewhere from the
exported tiles reproduces the notification, acknowledgement, delivery and dispute states."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.simulate_files import write_simulation
from truceline.adapters.store import open_store
from truceline.adapters.webhooks import HttpxTransport
from truceline.services.check import run_check
from truceline.services.delivery import deliver
from truceline.services.guarantees import guarantee_store, notify, states
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.services.verify import verify_record
from truceline.settings import Settings

from .conftest import T0, Receiver, SimClock, breach, replay_elsewhere

KEYS = {"analyst": ("analyst", None), "UK": ("guarantor", "UK"), "FR": ("guarantor", "FR"),
        "RU": ("party", "RU")}


def test_a_simulated_day_with_a_planted_breach_end_to_end(receiver: Receiver,
                                                          tmp_path: Path) -> None:
    sim = tmp_path / "sim"
    write_simulation("march2025", sim, days=1, seed=5, scale=0.2,
                     start=datetime(2025, 3, 27, tzinfo=UTC))
    rows = [json.loads(x) for x in (sim / "observations.jsonl").read_text().splitlines() if x]
    db = tmp_path / "mission.db"
    store = open_store(str(db), create=True)
    initialize_store(store, load_agreement_file("march2025")[1])
    ingest(store, list(enumerate([*rows, breach(0)], 1)), clock=lambda: T0)
    run_check(store)
    tokens = {k: create_api_key(store, k, r, b) for k, (r, b) in KEYS.items()}
    day = [f for f in store.findings() if f.evidence]
    [planted] = [f for f in day if "planted-fire-0" in f.evidence]
    assert (planted.provision_id, planted.verdict.value, planted.party) == (
        "M25-ceasefire", "violation", "RU")
    assert len(day) > 10  # found among the simulated day's own findings
    clock = SimClock(T0)

    with TestClient(create_app(str(db), Settings(), clock=clock)) as api:
        def h(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[who]}"}

        for who in ("UK", "FR", "MED"):
            r = api.post("/notifications/endpoints", headers=h("analyst"),
                         json={"recipient": who, "url": f"{receiver.url}/hook/{who}"})
            assert r.status_code == 201, r.text
            receiver.secrets[who] = r.json()["secret"]
        made = notify(store, clock())
        with HttpxTransport() as t:
            sent = deliver(store, t, clock)
        assert not sent.failed and receiver.bad == []  # every signature checked by the receiver
        ours = {n["guarantor"]: n for n in guarantee_store(store).notification_rows()
                if n["finding_id"] == planted.id}
        assert set(ours) == {"UK", "FR"} and len(made.created) >= 2
        for n in ours.values():
            got = {b["recipient"] for b in receiver.kept.values()
                   if b["notification"]["id"] == n["id"]}
            assert got == {"UK", "FR", "MED"}  # RU has no endpoint: it reads the API

        uk, fr = ours["UK"]["id"], ours["FR"]["id"]
        clock.advance(hours=2)
        r = api.post(f"/notifications/{uk}/acknowledge", headers=h("UK"), json={})
        assert r.status_code == 201, r.text
        r = api.post(f"/notifications/{fr}/acknowledge", headers=h("UK"), json={})
        assert r.status_code == 403  # not the UK's to acknowledge
        clock.now = T0 + timedelta(hours=24 + 26)
        late = api.get("/notifications", params={"overdue": "true"},
                       headers=h("analyst")).json()
        late_ids = {n["id"] for n in late["notifications"]}
        assert fr in late_ids and uk not in late_ids

        r = api.post(f"/findings/{planted.id}/disputes", headers=h("RU"),
                     json={"text": "no battery of ours was there that evening"})
        assert r.status_code == 201, r.text
        did = r.json()["id"]
        r = api.post(f"/disputes/{did}/answer", headers=h("analyst"),
                     json={"text": "a monitor's bearing and location put it 5 km inside"})
        assert (r.status_code, r.json()["status"]) == (200, "answered"), r.text
        r = api.post(f"/disputes/{did}/withdraw", headers=h("RU"))
        assert (r.status_code, r.json()["status"]) == (200, "withdrawn"), r.text

    assert verify_record(store).ok, verify_record(store).problems
    other = replay_elsewhere(store, db, tmp_path)
    a, b = open_store(str(db)), open_store(str(other))
    for t in (T0, T0 + timedelta(hours=3), clock.now):
        assert states(a, t) == states(b, t)
    assert b.disputes() == a.disputes()
    assert [d["status"] for d in b.disputes()] == ["withdrawn"]
    assert verify_record(b).ok, verify_record(b).problems
