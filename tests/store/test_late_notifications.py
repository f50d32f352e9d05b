"""The report's overdue lines read only the notifications that may be late (issue 21), and say
exactly what the full scan of every notification said, on SQLite and PostgreSQL.

The store holds breach notifications overdue, not yet due, acknowledged before and after the
moment asked about, withdrawn, one made after that moment, and an escalation; their times
come with and without fractions of a second and with a UTC offset other than ``Z``. The lines
are compared with the old full scan at many moments, on each side of every deadline and
acknowledgement and exactly on them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from truceline.core import notifications as notes
from truceline.core.notifications import Notification
from truceline.core.record.canonical import entry_bytes
from truceline.services.guarantees import awaiting_lines, guarantee_store, withdrawn_entry
from truceline.services.ports import Store

T0 = datetime(2025, 3, 28, 6, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


def full_scan(store: Store, now: datetime) -> list[str]:
    """The overdue lines as they were computed before issue 21: every notification parsed."""
    rows = [
        r
        for r in guarantee_store(store).notification_rows()
        if datetime.fromisoformat(r["created"]) <= now
    ]
    closed = {
        r["id"]
        for r in rows
        if r["withdrawn"]
        or (r["acknowledgement"] and datetime.fromisoformat(r["acknowledgement"]["time"]) <= now)
    }
    record_keys = ("withdrawn", "acknowledgement")
    late = notes.overdue(
        [
            Notification.from_record({k: v for k, v in r.items() if k not in record_keys})
            for r in rows
        ],
        closed,
        now,
    )
    return notes.awaiting(late, now)


def _text(t: datetime, offset_h: int = 0) -> str:
    """RFC 3339 as truceline writes it (``Z``), or with another UTC offset."""
    if offset_h == 0:
        return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
    from datetime import timezone

    return t.astimezone(timezone(timedelta(hours=offset_h))).isoformat()


def _note(
    n: int,
    guarantor: str,
    created: datetime,
    deadline: datetime | None,
    *,
    kind: str = notes.BREACH,
    offset_h: int = 0,
) -> dict[str, Any]:
    return Notification(
        f"n-{n:04d}",
        kind,
        guarantor,
        f"{guarantor}-breach",
        "M25-ceasefire",
        f"f-{n:04d}",
        "RU",
        "violation",
        (guarantor, "MED"),
        _text(created),
        None if deadline is None else _text(deadline, offset_h),
        "consultations",
        escalates="n-0001" if kind == notes.ESCALATION else None,
    ).to_record()


def _fill(store: Store) -> list[datetime]:
    """The notifications described in the module; the moments worth asking about."""
    gs = guarantee_store(store)
    d = timedelta(hours=24)
    late_frac = T0 + timedelta(seconds=7, microseconds=250000)
    recs = [
        _note(1, "FR", T0, T0 + d),  # overdue from T0+24h
        _note(2, "FR", T0 + timedelta(hours=2), T0 + 2 * d),  # later, same guarantor
        _note(3, "UK", late_frac, late_frac + d),  # fraction of a second
        _note(4, "UK", T0, T0 + d, offset_h=5),  # deadline at +05:00
        _note(5, "US", T0, T0 + d, offset_h=-9),  # deadline at -09:00
        _note(6, "US", T0, T0 + d),  # acknowledged in time
        _note(7, "US", T0, T0 + d),  # acknowledged late
        _note(8, "FR", T0, T0 + d),  # withdrawn
        _note(9, "UK", T0 + 5 * d, T0 + 6 * d),  # made after most moments
        _note(10, "FR", T0 + d, None, kind=notes.ESCALATION),  # an escalation: no deadline
        _note(11, "UK", T0 - 40 * d, T0 - 39 * d),  # long overdue
        _note(12, "FR", T0 - 40 * d, T0 - 39 * d),  # long ago, acknowledged
    ]
    gs.add_notifications([(r, entry_bytes("notification", r)) for r in recs], _text(T0))
    acks = {
        "n-0006": T0 + timedelta(hours=3),
        "n-0007": T0 + 3 * d + timedelta(seconds=1.5),
        "n-0012": T0 - 30 * d,
    }
    for nid, at in acks.items():
        g = next(r["guarantor"] for r in recs if r["id"] == nid)
        rec = {"notification_id": nid, "guarantor": g, "by": "k", "time": _text(at), "late": False}
        gs.add_acknowledgement(rec, entry_bytes("acknowledgement", rec))
    gs.withdraw_notification("n-0008", withdrawn_entry("n-0008", "f-0008"))
    edges = [
        datetime.fromisoformat(r[k]) for r in recs for k in ("created", "deadline") if r[k]
    ] + list(acks.values())
    moments = {T0 - 60 * d, T0 + 30 * d} | {t + s for t in edges for s in (-US, 0 * US, US)}
    moments |= {T0 + k * timedelta(hours=7) for k in range(-150, 40)}
    return sorted(moments)


def test_the_narrow_read_says_what_the_full_scan_said(store: Store) -> None:
    moments = _fill(store)
    gs = guarantee_store(store)
    for now in moments:
        assert awaiting_lines(store, now) == full_scan(store, now), now
    # the store's notifications give every kind of line: none, one guarantor, several
    day = timedelta(hours=24)
    assert awaiting_lines(store, T0) == [
        "awaiting acknowledgement: UK, 1 notification, 936 h overdue"
    ]
    assert awaiting_lines(store, T0 + 4 * day) == [
        "awaiting acknowledgement: FR, 2 notifications, 72 h overdue",
        "awaiting acknowledgement: UK, 3 notifications, 1032 h overdue",
        "awaiting acknowledgement: US, 1 notification, 72 h overdue",
    ]
    assert awaiting_lines(store, T0 - 60 * day) == []
    # and it reads what may be late, not every notification
    assert len(gs.notification_rows()) == 12
    assert gs.late_notification_rows(T0 - 60 * day) == []
    assert {r["id"] for r in gs.late_notification_rows(T0 - 2 * day)} == {"n-0011"}
    assert {r["id"] for r in gs.late_notification_rows(T0 + 30 * day)} == {
        "n-0001",
        "n-0002",
        "n-0003",
        "n-0004",
        "n-0005",
        "n-0009",
        "n-0011",
    }


@pytest.mark.parametrize(
    "now",
    [
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
    ],
)
def test_the_calendar_s_ends_widen_the_read_instead_of_failing(store: Store, now: datetime) -> None:
    """The read's margin of a day would leave the calendar at its ends (CI found a 500 on
    /reports/daily/9999-12-31): the bound stops at the end and the lines are the full scan's."""
    _fill(store)
    assert awaiting_lines(store, now) == full_scan(store, now)
