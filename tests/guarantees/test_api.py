"""The guarantee mechanism's edges over every interface: signed acknowledgements, bad input
(4xx or exit code with the field, nothing changed), retries with backoff."""

from __future__ import annotations

import base64
import time
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from fastapi.testclient import TestClient

from truceline.adapters.agreement_files import example_path, read_agreement_text
from truceline.adapters.cli.main import cli
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.store import open_store
from truceline.adapters.webhooks import HttpxTransport
from truceline.core.notifications import ack_message
from truceline.core.record import signing
from truceline.services.check import run_check
from truceline.services.delivery import MAX_ATTEMPTS, backoff, deliver
from truceline.services.guarantees import guarantee_store, notify, register_endpoint
from truceline.services.ingest import ingest
from truceline.services.keys import register_source_key
from truceline.services.record import initialize_store
from truceline.settings import Settings

from .conftest import T0, Receiver, SimClock, breach

UK_SEED, OTHER_SEED = bytes(range(32)), bytes(range(1, 33))
HANG_GUARD_POLLS = 600


def test_signed_acknowledgement_forged_missing_and_valid(planted: Path) -> None:
    store = open_store(str(planted))
    register_source_key(store, "UK", "guarantor",
                        base64.b64encode(signing.public_key(UK_SEED)).decode())
    uk_token = create_api_key(store, "uk", "guarantor", "UK")
    clock = SimClock(T0)
    notify(store, T0)
    nid = next(r["id"] for r in guarantee_store(store).notification_rows()
               if r["guarantor"] == "UK")
    msg = ack_message(nid, "UK")
    h = {"Authorization": f"Bearer {uk_token}"}
    with TestClient(create_app(str(planted), Settings(), clock=clock)) as api:
        size = store.entry_count()
        url = f"/notifications/{nid}/acknowledge"
        for body, status in (({}, 422),  # the UK signs: a signature is required
                             ({"signature": base64.b64encode(
                                 signing.sign(OTHER_SEED, msg)).decode()}, 400),  # forged
                             ({"signature": base64.b64encode(
                                 signing.sign(UK_SEED, msg + b"x")).decode()}, 400),
                             ({"signature": "not base64!"}, 422)):
            r = api.post(url, headers=h, json=body)
            assert (r.status_code, r.json()["field"]) == (status, "signature"), r.text
        assert store.entry_count() == size
        ok = api.post(url, headers=h, json={
            "signature": base64.b64encode(signing.sign(UK_SEED, msg)).decode()})
        assert ok.status_code == 201 and ok.json()["key_id"].startswith("UK+")
        assert store.entry_count() == size + 1


def test_bad_endpoints_and_escalations_are_refused_with_the_field(planted: Path) -> None:
    store = open_store(str(planted))
    analyst = create_api_key(store, "a", "analyst", None)
    uk = create_api_key(store, "uk", "guarantor", "UK")
    clock = SimClock(T0)
    with TestClient(create_app(str(planted), Settings(), clock=clock)) as api:
        h = {"Authorization": f"Bearer {analyst}"}
        for body, field in (({"recipient": "UK", "url": "http://example.org/hook"}, "url"),
                            ({"recipient": "UK", "url": "ftp://127.0.0.1/x"}, "url"),
                            ({"recipient": "XX", "url": "https://example.org/h"}, "recipient"),
                            ({"recipient": "", "url": "https://example.org/h"}, "recipient")):
            r = api.post("/notifications/endpoints", headers=h, json=body)
            assert r.status_code == 422 and field in str(r.json().get("field")), r.text
        r = api.post("/notifications/endpoints", headers={"Authorization": f"Bearer {uk}"},
                     json={"recipient": "UK", "url": "https://example.org/h"})
        assert r.status_code == 403
        assert api.get("/notifications/endpoints", headers=h).json() == []

        notify(store, T0)
        clock.now = T0 + timedelta(hours=30)
        esc = notify(store, clock()).escalated
        assert len(esc) == 2
        mine = next(r["id"] for r in guarantee_store(store).notification_rows()
                    if r["id"] in esc and r["guarantor"] == "UK")
        r = api.post(f"/notifications/{mine}/acknowledge",
                     headers={"Authorization": f"Bearer {uk}"}, json={})
        assert (r.status_code, r.json()["field"]) == (422, "notification_id")
    res = CliRunner().invoke(cli, ["notify", "endpoint", "--db", str(planted), "--recipient",
                                   "UK", "--url", "http://10.0.0.1/hook"])
    assert res.exit_code == 65 and res.output.strip().splitlines() == [
        "error: url: an endpoint must be https:// (plain http only on loopback)"]
    assert guarantee_store(store).endpoints() == []


def test_retries_back_off_and_give_up(planted: Path, receiver: Receiver) -> None:
    store = open_store(str(planted))
    receiver.secrets["UK"] = register_endpoint(store, "UK", f"{receiver.url}/hook/UK", T0)
    clock = SimClock(T0)
    notify(store, T0)
    receiver.fail_next = 1
    with HttpxTransport() as t:
        first = deliver(store, t, clock)
        # UK's two notifications: the first request refused (503), the second taken
        assert len(first.retrying) == 1 and len(first.delivered) == 1
        assert len(receiver.requests) == 2 and len(receiver.kept) == 1
        assert deliver(store, t, clock).delivered == []  # not retried before its time
        clock.advance(seconds=backoff(1).total_seconds())
        assert deliver(store, t, clock).delivered == first.retrying
        assert len(receiver.kept) == 2
    gs = guarantee_store(store)
    pending = [d for d in gs.deliveries() if d["state"] == "pending"]
    assert {d["recipient"] for d in pending} == {"FR", "US", "RU", "MED"}  # no endpoint yet

    receiver.secrets["FR"] = register_endpoint(store, "FR", f"{receiver.url}/down/FR", T0)
    receiver.fail_next = 10_000
    waits = []
    with HttpxTransport() as t:
        for _ in range(MAX_ATTEMPTS):
            res = deliver(store, t, clock)
            row = next(d for d in gs.deliveries() if d["recipient"] == "FR"
                       and d["state"] != "delivered")
            waits.append(row["attempts"])
            clock.advance(hours=6)
    assert res.failed and row["state"] == "failed" and row["last_error"] == "HTTP 503"
    assert waits == list(range(1, MAX_ATTEMPTS + 1))
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 20)] == [30, 60, 120, 6 * 3600]


def test_post_check_notifies_and_serve_delivers_in_the_background(
        planted: Path, receiver: Receiver) -> None:
    store = open_store(str(planted))
    analyst = create_api_key(store, "a", "analyst", None)
    receiver.secrets["UK"] = register_endpoint(store, "UK", f"{receiver.url}/hook/UK", T0)
    h = {"Authorization": f"Bearer {analyst}"}
    quiet = Settings(notify_in_serve=False)
    with TestClient(create_app(str(planted), quiet, clock=SimClock(T0))) as api:
        assert api.get("/notifications", headers=h).json()["numberReturned"] == 0
        assert api.post("/check", headers=h).status_code == 200
        assert api.get("/notifications", headers=h).json()["numberReturned"] == 2
    assert receiver.requests == []  # nothing is sent unless delivery runs
    busy = Settings(notify_in_serve=True, notify_interval_s=0.05)
    clock = SimClock(T0)
    def uk_states() -> set[str]:
        return {d["state"] for d in guarantee_store(store).deliveries()
                if d["recipient"] == "UK"}

    with TestClient(create_app(str(planted), busy, clock=clock)):
        for _ in range(HANG_GUARD_POLLS):  # a hang guard, not a timing assertion
            # both taken and both recorded: an attempt that timed out on a loaded machine
            # after the receiver kept it stays pending until its retry is answered
            if len(receiver.kept) == 2 and uk_states() == {"delivered"}:
                break
            time.sleep(0.1)
            # simulated time moves on, so that an attempt that timed out on a loaded
            # machine is retried after its backoff instead of waiting for a frozen clock
            clock.advance(minutes=1)  # 10 h at most: before any acknowledgement is due
    assert len(receiver.kept) == 2 and receiver.bad == []
    assert uk_states() == {"delivered"}


def test_the_reports_overdue_lines_are_for_the_mission_only(planted: Path) -> None:
    store = open_store(str(planted))
    tokens = {who: create_api_key(store, who, role, bound) for who, role, bound in (
        ("analyst", "analyst", None), ("UK", "guarantor", "UK"), ("RU", "party", "RU"),
        ("public", "public", None))}
    notify(store, T0)  # never acknowledged: overdue by the end of 29 March's period
    with TestClient(create_app(str(planted), Settings(), clock=SimClock(T0))) as api:
        for who, shown in (("analyst", True), ("UK", False), ("RU", False), ("public", False),
                           (None, False)):
            h = {"Authorization": f"Bearer {tokens[who]}"} if who else {}
            text = api.get("/reports/daily/2025-03-29", params={"format": "md"}, headers=h).text
            assert ("awaiting acknowledgement: FR, 1 notification" in text) is shown, who


def test_a_guarantor_named_in_notify_reads_over_the_api_what_its_webhook_got(
        tmp_path: Path, receiver: Receiver) -> None:
    """DE guarantees only M25-movement, but UK's breach clause names it in ``notify``: the
    agreement entitles it to those notifications, so the API lists exactly what its webhook
    delivered (as a guarantor reads them: no deliveries), and only UK acknowledges them."""
    base = example_path("march2025")
    text = base.read_text(encoding="utf-8").replace(
        "  - id: US\n    name: United States\n",
        "  - id: US\n    name: United States\n  - id: DE\n    name: Germany\n"
        "    guarantees: [M25-movement]\n", 1).replace(
        "notify: [guarantors, parties_concerned, mediator]",
        "notify: [guarantors, parties_concerned, mediator, DE]", 1)
    _, doc = read_agreement_text(text, base.parent)
    db = tmp_path / "named.db"
    store = open_store(str(db), create=True)
    initialize_store(store, doc)
    ingest(store, [(0, breach(0))], clock=lambda: T0)
    run_check(store)
    de = create_api_key(store, "de", "guarantor", "DE")
    receiver.secrets["DE"] = register_endpoint(store, "DE", f"{receiver.url}/hook/DE", T0)
    clock = SimClock(T0)
    notify(store, T0)
    with HttpxTransport() as t:
        deliver(store, t, clock)
    hooked = {b["notification"]["id"] for b in receiver.kept.values()}
    assert len(hooked) == 1 and not receiver.bad
    (nid,) = hooked
    h = {"Authorization": f"Bearer {de}"}
    with TestClient(create_app(str(db), Settings(), clock=clock)) as api:
        listed = api.get("/notifications", headers=h).json()["notifications"]
        assert [n["id"] for n in listed] == [nid]
        assert listed[0]["guarantor"] == "UK" and "DE" in listed[0]["recipients"]
        assert "deliveries" not in listed[0]
        assert api.get(f"/notifications/{nid}", headers=h).status_code == 200
        r = api.post(f"/notifications/{nid}/acknowledge", headers=h, json={})
        assert (r.status_code, r.json()["field"]) == (403, "notification_id"), r.text
