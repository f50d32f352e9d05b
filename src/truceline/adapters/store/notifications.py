"""The guarantee mechanism's tables in a SQL store: notifications, acknowledgements, the
webhook outbox (``deliveries``) and the recipients' endpoints.

A notification, its entry and one outbox row per recipient commit in one transaction (the
transactional outbox): a crash after the commit leaves every delivery pending, a crash before
it leaves nothing, so nothing is lost and nothing is half-made. Delivery marks a row only
after the receiver answered; a crash between the two sends it again (at least once), and the
receiver drops the repeat by its idempotency key (the delivery id). Every change of a row
appends its entry in the same transaction (``record verify`` checks them all:
:mod:`truceline.services.verify_guarantees`, :mod:`truceline.services.verify_access`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

from truceline.adapters.store.schema import json_text
from truceline.core.record.canonical import PreparedEntry
from truceline.errors import ConflictError, NotFoundError

PENDING, DELIVERED, WITHDRAWN, FAILED = "pending", "delivered", "withdrawn", "failed"

#: A record's times are RFC 3339 with a ``T``, seconds and any UTC offset (under a day); their
#: first 19 characters order as text like the local time to the second. A bound widened by a
#: day on each side is therefore crossed by every row that could qualify in UTC, whatever its
#: offset or fraction of a second: SQL narrows the read, the caller decides exactly.
_TIME_MARGIN = timedelta(days=1)


def _second_text(t: datetime, shift: timedelta) -> str:
    """``t + shift`` in UTC to the second; past either end of the calendar, that end (a wider
    bound only reads more candidates, never fewer)."""
    try:
        return (t.astimezone(UTC) + shift).strftime("%Y-%m-%dT%H:%M:%S")
    except OverflowError:
        return "9999-12-31T23:59:59" if shift > timedelta(0) else "0001-01-01T00:00:00"


def _record_text(rec: dict[str, Any], entry: bytes) -> str:
    """The row's record text: a prepared entry's body when the entry is one (its canonical
    bytes, which for a record of JSON's own types are what :func:`json_text` writes: same
    key order, separators and escaping), so a check's notifications are encoded once."""
    if type(entry) is PreparedEntry:
        return entry.body.decode("utf-8")
    return json_text(rec)


class NotificationTables:
    """The guarantee methods of the SQL stores (see :class:`GuaranteeStore`)."""

    _tx: Callable[[], AbstractContextManager[None]]
    _one: Callable[..., Any]
    _all: Callable[..., list[Any]]
    _execute: Callable[..., Any]
    _executemany: Callable[[str, Sequence[Sequence[Any]]], None]
    _append: Callable[[Sequence[tuple[str, bytes]]], list[int]]
    _json_text: Callable[[str, str], str]
    _in: Callable[[int], str]

    def add_notifications(self, items: Sequence[tuple[dict[str, Any], bytes]],
                          next_at: str, deliveries: bool = True) -> int:
        """Store new notifications with their entries and one pending delivery per recipient
        (none without ``deliveries``: a store rebuilt from the log sends nothing), all in one
        transaction; ids already stored are skipped. How many were added."""
        rows: list[tuple[Any, ...]] = []
        outbox: list[tuple[Any, ...]] = []
        entries: list[tuple[str, bytes]] = []
        with self._tx():  # all at once: one lookup, one insert per table, one append
            ids = [rec["id"] for rec, _ in items]
            seen: set[str] = set()
            for k in range(0, len(ids), 500):
                part = ids[k : k + 500]
                seen.update(r[0] for r in self._all(
                    f"SELECT id FROM notifications WHERE id IN ({self._in(len(part))})", part))
            for rec, entry in items:
                if rec["id"] in seen:
                    continue
                seen.add(rec["id"])
                rows.append((rec["id"], rec["kind"], rec["guarantor"], rec["finding_id"],
                             rec.get("deadline"), _record_text(rec, entry)))
                outbox += [(f"{rec['id']}.{who}", rec["id"], who, PENDING, next_at)
                           for who in (rec["recipients"] if deliveries else ())]
                entries.append(("notification", entry))
            if rows:
                self._executemany(
                    "INSERT INTO notifications(id, kind, guarantor, finding_id, deadline, record)"
                    " VALUES (?,?,?,?,?,?)", rows)
            if outbox:
                self._executemany(
                    "INSERT INTO deliveries(id, notification_id, recipient, state, next_at)"
                    " VALUES (?,?,?,?,?)", outbox)
            self._append(entries)
        return len(rows)

    def notification_rows(self) -> list[dict[str, Any]]:
        """Every notification: its record, with ``withdrawn`` and ``acknowledgement`` (the
        acknowledgement's record, or None)."""
        acks = {r[0]: json.loads(r[1]) for r in
                self._all("SELECT notification_id, record FROM acknowledgements")}
        return [{**json.loads(rec), "withdrawn": bool(w), "acknowledgement": acks.get(i)}
                for i, rec, w in self._all(
                    "SELECT id, record, withdrawn FROM notifications ORDER BY id")]

    def late_notification_rows(self, now: datetime) -> list[dict[str, Any]]:
        """The notifications that may be past their deadline unacknowledged at ``now``, as
        :meth:`notification_rows` gives them: breach notifications not withdrawn, with a
        deadline up to about a day after ``now`` and no acknowledgement from more than about a
        day before it (see ``_TIME_MARGIN``). A superset of those overdue at ``now`` that grows
        with the notifications still open, not with the store; the exact test is the caller's
        (:func:`truceline.services.guarantees.awaiting_lines`)."""
        ack_time = self._json_text("a.record", "time")
        rows = self._all(
            "SELECT n.record, a.record FROM notifications n "
            "LEFT JOIN acknowledgements a ON a.notification_id = n.id "
            "WHERE n.kind = 'breach' AND n.withdrawn = 0 AND n.deadline IS NOT NULL "
            "AND substr(n.deadline, 1, 19) <= ? "
            f"AND (a.record IS NULL OR substr({ack_time}, 1, 19) >= ?) ORDER BY n.id",
            (_second_text(now, _TIME_MARGIN), _second_text(now, -_TIME_MARGIN)))
        return [{**json.loads(rec), "withdrawn": False,
                 "acknowledgement": None if ack is None else json.loads(ack)}
                for rec, ack in rows]

    def withdraw_notification(self, notification_id: str, entry: bytes) -> None:
        """Mark it withdrawn, cancel its pending deliveries, append the entry: one transaction."""
        self.withdraw_notifications([(notification_id, entry)])

    def withdraw_notifications(self, items: Sequence[tuple[str, bytes]]) -> None:
        """:meth:`withdraw_notification` of each ``(notification_id, entry)``, in order, all
        in one transaction."""
        if not items:
            return
        with self._tx():
            self._executemany("UPDATE notifications SET withdrawn = 1 WHERE id = ?",
                              [(nid,) for nid, _ in items])
            self._executemany("UPDATE deliveries SET state = ? WHERE notification_id = ? AND "
                              "state = ?", [(WITHDRAWN, nid, PENDING) for nid, _ in items])
            self._append([("status_change", entry) for _, entry in items])

    def add_acknowledgement(self, record: dict[str, Any], entry: bytes) -> None:
        """Store an acknowledgement with its entry; ConflictError (field ``notification_id``)
        if the notification is acknowledged already, NotFoundError if it is not stored."""
        nid = record["notification_id"]
        with self._tx():
            if self._one("SELECT 1 FROM notifications WHERE id = ?", (nid,)) is None:
                raise NotFoundError("no such notification", field="notification_id")
            if self._one("SELECT 1 FROM acknowledgements WHERE notification_id = ?", (nid,)):
                raise ConflictError("this notification is acknowledged already (nothing "
                                    "changed)", field="notification_id")
            self._execute("INSERT INTO acknowledgements(notification_id, guarantor, record) "
                          "VALUES (?,?,?)", (nid, record["guarantor"], json_text(record)))
            self._append([("acknowledgement", entry)])

    def deliveries(self, notification_id: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT id, notification_id, recipient, state, attempts, next_at, delivered_at, "
               "last_error FROM deliveries")
        args: list[Any] = []
        if notification_id is not None:
            sql += " WHERE notification_id = ?"
            args.append(notification_id)
        names = ("id", "notification_id", "recipient", "state", "attempts", "next_at",
                 "delivered_at", "last_error")
        return [dict(zip(names, r, strict=True)) for r in self._all(sql + " ORDER BY id", args)]

    def due_deliveries(self, now: str, limit: int) -> list[dict[str, Any]]:
        """Pending deliveries due by ``now`` whose recipient has an endpoint with its secret,
        oldest first, each with the notification's record, the endpoint's URL and secret."""
        rows = self._all(
            "SELECT d.id, d.recipient, d.attempts, n.record, e.url, e.secret FROM deliveries d "
            "JOIN notifications n ON n.id = d.notification_id "
            "JOIN endpoints e ON e.recipient = d.recipient "
            "WHERE d.state = ? AND d.next_at <= ? AND e.secret <> '' "
            "ORDER BY d.next_at, d.id LIMIT ?",
            (PENDING, now, limit))
        return [{"id": i, "recipient": r, "attempts": int(a), "notification": json.loads(rec),
                 "url": u, "secret": s} for i, r, a, rec, u, s in rows]

    def mark_delivery(self, delivery_id: str, state: str, attempts: int, next_at: str,
                      at: str | None, error: str | None, entry: bytes | None = None) -> bool:
        """Record one attempt's outcome, with ``entry`` (a delivery's ``status_change``) in the
        same transaction; a delivery no longer pending (withdrawn meanwhile, or marked by
        another pass) is left alone and nothing is appended. Whether it was marked."""
        with self._tx():
            row = self._one("SELECT state FROM deliveries WHERE id = ?", (delivery_id,))
            if row is None or row[0] != PENDING:
                return False
            self._execute(
                "UPDATE deliveries SET state = ?, attempts = ?, next_at = ?, delivered_at = ?, "
                "last_error = ? WHERE id = ?",
                (state, attempts, next_at, at, error, delivery_id))
            if entry is not None:
                self._append([("status_change", entry)])
            return True

    def put_delivery(self, row: dict[str, Any], entry: bytes) -> None:
        """An outbox row as the record makes it (a store rebuilt from the log), with the
        entry that made it so, in one transaction."""
        with self._tx():
            self._execute("DELETE FROM deliveries WHERE id = ?", (row["id"],))
            self._execute(
                "INSERT INTO deliveries(id, notification_id, recipient, state, attempts, next_at,"
                " delivered_at, last_error) VALUES (?,?,?,?,?,?,?,?)",
                tuple(row[c] for c in ("id", "notification_id", "recipient", "state",
                                       "attempts", "next_at", "delivered_at", "last_error")))
            self._append([("status_change", entry)])

    def set_endpoint(self, recipient: str, url: str, secret: str, registered: str,
                     entry: bytes) -> None:
        """Store (or replace) an endpoint with its ``endpoint`` entry in one transaction. An
        empty ``secret`` is one withheld (a store rebuilt from the log holds only its hash):
        such an endpoint is never delivered to."""
        with self._tx():
            self._execute("DELETE FROM endpoints WHERE recipient = ?", (recipient,))
            self._execute("INSERT INTO endpoints(recipient, url, secret, registered) "
                          "VALUES (?,?,?,?)", (recipient, url, secret, registered))
            self._append([("endpoint", entry)])

    def endpoints(self) -> list[dict[str, Any]]:
        """Registered endpoints, without their secrets."""
        return [{"recipient": r, "url": u, "registered": t} for r, u, t in
                self._all("SELECT recipient, url, registered FROM endpoints ORDER BY recipient")]
