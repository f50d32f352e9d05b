"""The guarantee mechanism's rows on SQLite and PostgreSQL: a notification, its entry and
its outbox rows commit together; a finding withdrawn before delivery withdraws its
notification and cancels its deliveries; `record verify` checks every row against the
entries and names a changed, deleted or inserted one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.errors import ConflictError
from truceline.services.check import run_check
from truceline.services.delivery import deliver
from truceline.services.guarantees import acknowledge, guarantee_store, notify, register_endpoint
from truceline.services.ingest import ingest
from truceline.services.ports import Store
from truceline.services.record import initialize_store
from truceline.services.verify import verify_record

from .rows import fire_row

T0 = datetime(2025, 3, 28, 6, 0, tzinfo=UTC)


def _setup(store: Store) -> None:
    _, doc = load_agreement_file("march2025")
    initialize_store(store, doc)
    ingest(store, [(1, fire_row("rows-fire-1", "smm-post-1", 38.0, 37.93))], clock=lambda: T0)
    run_check(store)


def _problems(store: Store) -> list[str]:
    return [p.message for p in verify_record(store).problems]


def test_notifications_rows_entries_and_outbox_commit_together(store: Store) -> None:
    _setup(store)
    before = store.entry_count()
    made = notify(store, T0)
    gs = guarantee_store(store)
    rows = gs.notification_rows()
    assert sorted(r["id"] for r in rows) == sorted(made.created) and len(rows) == 2
    assert store.entry_count() == before + 2
    assert len(gs.deliveries()) == sum(len(r["recipients"]) for r in rows)
    assert notify(store, T0).created == [] and store.entry_count() == before + 2  # idempotent
    assert _problems(store) == []


def test_a_withdrawn_finding_withdraws_its_notification(store: Store) -> None:
    _setup(store)
    first = notify(store, T0).created
    # a second post reports the same explosion: one incident, new evidence, a new finding
    ingest(store, [(1, fire_row("rows-fire-2", "smm-post-2", 38.0005, 37.95))], clock=lambda: T0)
    run_check(store)
    res = notify(store, T0 + timedelta(hours=1))
    assert sorted(res.withdrawn) == sorted(first)
    assert not set(res.created) & set(first)
    gs = guarantee_store(store)
    for d in gs.deliveries():
        assert d["state"] == ("withdrawn" if d["notification_id"] in first else "pending")
    for nid in first:  # a withdrawn notification is not acknowledged
        guarantor = next(r["guarantor"] for r in gs.notification_rows() if r["id"] == nid)
        with pytest.raises(ConflictError) as err:
            acknowledge(store, nid, guarantor, "k", T0 + timedelta(hours=2))
        assert err.value.field == "notification_id"
    assert _problems(store) == []


def test_verify_names_a_changed_deleted_or_inserted_row(store: Store) -> None:
    _setup(store)
    nid = notify(store, T0).created[0]
    guarantor = next(r["guarantor"] for r in guarantee_store(store).notification_rows()
                     if r["id"] == nid)
    acknowledge(store, nid, guarantor, "key", T0 + timedelta(hours=1))
    assert _problems(store) == []
    sql: Any = store
    with sql._tx():
        sql._execute("UPDATE notifications SET deadline = ? WHERE id = ?",
                     ("2030-01-01T00:00:00Z", nid))
    assert any(nid in m and "deadline" in m for m in _problems(store))
    with sql._tx():
        sql._execute("UPDATE notifications SET deadline = ? WHERE id = ?",
                     ("2025-03-29T06:00:00Z", nid))
        sql._execute("UPDATE notifications SET withdrawn = 1 WHERE id = ?", (nid,))
    assert any(nid in m and "withdrawal" in m for m in _problems(store))
    with sql._tx():
        sql._execute("UPDATE notifications SET withdrawn = 0 WHERE id = ?", (nid,))
        sql._execute("DELETE FROM acknowledgements WHERE notification_id = ?", (nid,))
    assert any(nid in m and "not stored" in m for m in _problems(store))
    with sql._tx():
        sql._execute("INSERT INTO acknowledgements(notification_id, guarantor, record) "
                      "VALUES (?,?,?)", ("n-forged", "UK", "{}"))
    assert any("n-forged" in m and "no entry" in m for m in _problems(store))


class Accepting:
    """A fake of the Transport port: every endpoint answers 200."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return 200


def test_a_delivery_is_recorded_and_its_row_checked(store: Store) -> None:
    _setup(store)
    notify(store, T0)
    register_endpoint(store, "UK", "https://uk.example/hook", T0)
    before = store.entry_count()
    sent = deliver(store, Accepting(), lambda: T0 + timedelta(minutes=1)).delivered
    assert len(sent) == 2 and store.entry_count() == before + 2
    assert deliver(store, Accepting(), lambda: T0 + timedelta(minutes=2)).delivered == []
    assert _problems(store) == []
    sql: Any = store
    with sql._tx():
        sql._execute("UPDATE deliveries SET delivered_at = ? WHERE id = ?",
                     ("2025-03-30T00:00:00Z", sent[0]))
    assert any(sent[0] in m for m in _problems(store))
    with sql._tx():
        sql._execute("UPDATE deliveries SET delivered_at = ?, state = ? WHERE id = ?",
                     ("2025-03-28T06:01:00Z", "pending", sent[0]))
    assert any(sent[0] in m and "delivered" in m for m in _problems(store))
    with sql._tx():
        sql._execute("DELETE FROM deliveries WHERE id = ?", (sent[0],))
        sql._execute("UPDATE deliveries SET state = ? WHERE recipient = ?", ("delivered", "FR"))
    msgs = _problems(store)
    assert any(sent[0] in m and "not stored" in m for m in msgs)
    assert any(".FR" in m and "no entry" in m for m in msgs)
