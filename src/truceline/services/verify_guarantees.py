"""The guarantee mechanism's rows against the record, and their rebuild from it.

``record verify`` (:func:`truceline.services.verify_rows.check_rows`) calls
:func:`check_rows`: each stored notification must be its ``notification`` entry, column by
column, withdrawn exactly when a ``status_change`` entry withdrew it; each acknowledgement its
``acknowledgement`` entry; each outbox row what :func:`outbox` makes of the entries (one row
per notification and recipient, pending from the notification's creation, withdrawn with it,
delivered by its ``delivered`` note, retried or given up by its ``delivery`` notes, attempts,
retry time and error included); each entry must have its row. The endpoints are checked by
:mod:`truceline.services.verify_access`. ``record replay --db``
(:func:`truceline.services.verify.rebuild`) calls :func:`rebuild_entry`: a rebuilt store has
the same outbox, and its endpoints without their secrets (the log holds only their hashes), so
a mirror never sends the mission's notifications again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from truceline.errors import IntegrityError
from truceline.services import access
from truceline.services.guarantees import OUTBOX_STATE, guarantee_store, iso_text
from truceline.services.ports import Store
from truceline.services.verify_pairs import pair_rows

Issue = tuple[str, int | None, str]
Bodies = dict[str, list[tuple[int, dict[str, Any], bytes]]]


PENDING, DELIVERED, WITHDRAWN = "pending", "delivered", "withdrawn"


def _withdrawals(bodies: Bodies) -> dict[str, int]:
    return {b["notification_id"]: i for i, b, _ in bodies.get("status_change", [])
            if b.get("subject") == "notification" and b.get("status") == "withdrawn"
            and isinstance(b.get("notification_id"), str)}


def _table(store: Store, table: str, key: str, entry_type: str, bodies: Bodies,
           what: str) -> Iterator[tuple[Issue | None, dict[str, Any], int, dict[str, Any]]]:
    """Pair each row with its entry (:func:`~truceline.services.verify_pairs.pair_rows`),
    the first entry of ``entry_type`` for each ``key``."""
    recorded: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, b, _ in bodies.get(entry_type, []):
        if isinstance(b.get(key), str):
            recorded.setdefault(b[key], (i, b))
    yield from pair_rows(store, table, key, recorded, what)


def check_rows(store: Store, bodies: Bodies) -> Iterator[Issue]:
    """Notifications, acknowledgements and the outbox against the entries (module doc)."""
    withdrawn = _withdrawals(bodies)
    stored: set[str] = set()
    for issue, row, i, _ in _table(store, "notifications", "id", "notification", bodies,
                                   "notification"):
        if issue is not None:
            yield issue
            continue
        stored.add(row["id"])
        if row["withdrawn"] not in (0, 1) or bool(row["withdrawn"]) != (row["id"] in withdrawn):
            yield ("changed", withdrawn.get(row["id"], i),
                   f"notification {row['id']!r}: withdrawal differs from the record")
    for issue, _, _, _ in _table(store, "acknowledgements", "notification_id",
                                 "acknowledgement", bodies, "acknowledgement of"):
        if issue is not None:
            yield issue
    yield from _deliveries(store, bodies, stored)


def _step(rows: dict[str, dict[str, Any]], t: str, b: dict[str, Any]) -> list[str]:
    """Apply one entry to the outbox ``rows`` (in place); the ids of the rows it changed.

    A notification makes one pending row per recipient, due at its creation; a withdrawal
    withdraws its pending rows; a ``delivered`` note marks its row delivered (one attempt
    more); a ``delivery`` note sets the row's state as it says."""
    if t == "notification" and isinstance(b.get("id"), str) and isinstance(
            b.get("recipients"), list):
        if any(r["notification_id"] == b["id"] for r in rows.values()):
            return []  # a notification is stored once: a second entry makes no rows
        try:
            due: str | None = iso_text(datetime.fromisoformat(str(b.get("created"))))
        except ValueError:
            due = None
        made = [f"{b['id']}.{who}" for who in b["recipients"]]
        for who, made_id in zip(b["recipients"], made, strict=True):
            rows[made_id] = {"id": made_id, "notification_id": b["id"], "recipient": who,
                         "state": PENDING, "attempts": 0, "next_at": due, "delivered_at": None,
                         "last_error": None}
        return made
    if t != "status_change":
        return []
    subject, status = b.get("subject"), b.get("status")
    if subject == "notification" and status == "withdrawn":
        out = [d for d, r in rows.items()
               if r["notification_id"] == b.get("notification_id") and r["state"] == PENDING]
        for d in out:
            rows[d]["state"] = WITHDRAWN
        return out
    did = b.get("delivery_id")
    if not isinstance(did, str):
        return []
    if subject == "notification" and status == DELIVERED:
        r = rows.get(did) or {"id": did, "notification_id": b.get("notification_id"),
                              "recipient": b.get("recipient"), "attempts": 0}
        try:
            at = iso_text(datetime.fromisoformat(str(b.get("time"))))
        except ValueError:
            at = None
        tries = r["attempts"] if type(r["attempts"]) is int else 0
        rows[did] = {**r, "state": DELIVERED, "attempts": tries + 1, "next_at": at,
                     "delivered_at": b.get("time"), "last_error": None}
        return [did]
    if subject == "delivery" and did in rows:
        rows[did].update({"state": status, **{c: b.get(c) for c in OUTBOX_STATE[1:]}})
        return [did]
    return []


def outbox(bodies: Bodies) -> dict[str, tuple[int, dict[str, Any]]]:
    """Each outbox row as the entries make it, with the last entry that shaped it."""
    rows: dict[str, dict[str, Any]] = {}
    last: dict[str, int] = {}
    merged = sorted((i, t, b) for t in ("notification", "status_change")
                    for i, b, _ in bodies.get(t, []))
    for i, t, b in merged:
        for did in _step(rows, t, b):
            last[did] = i
    return {d: (last[d], r) for d, r in rows.items()}


def _deliveries(store: Store, bodies: Bodies, stored: set[str]) -> Iterator[Issue]:
    """Every outbox row is what its notification and the notes about it make it, column by
    column; every notification's recipient has its row; no row without a notification."""
    said = outbox(bodies)
    old = access.hint(bodies)  # a store from before attempts were recorded: adopt-access
    seen: set[str] = set()
    for d in store.table_rows("deliveries"):
        did = d["id"]
        if d["notification_id"] not in stored:
            yield ("unrecorded", None, f"delivery {did!r} is of no stored notification")
        hit = said.get(did)
        if hit is None or did in seen:
            yield ("unrecorded", None, f"delivery {did!r} has no entry")
            continue
        seen.add(did)
        i, want = hit
        if d["state"] == DELIVERED and want["state"] != DELIVERED:
            yield ("unrecorded", None, f"delivery {did!r} is marked delivered with no entry")
            continue
        if d["state"] != DELIVERED and want["state"] == DELIVERED:
            yield ("changed", i, f"delivery {did!r} is {d['state']!r}; the record says it was "
                   "delivered")
            continue
        for col in ("notification_id", "recipient", *OUTBOX_STATE):
            if d[col] != want[col]:
                yield ("changed", i, f"delivery {did!r}: column {col} is {d[col]!r}, the "
                       f"record says {want[col]!r}{old if col in OUTBOX_STATE else ''}")
    for did, (i, _) in said.items():
        if did not in seen:
            yield ("missing", i, f"delivery {did!r} is in the record but not stored")


def rebuild_entry(store: Store, entry_type: str, body: dict[str, Any], data: bytes) -> bool:
    """Store one guarantee entry's row with the entry (a rebuild); False if not one."""
    gs = guarantee_store(store)
    if entry_type == "notification":
        gs.add_notifications([(body, data)], iso_text(datetime.fromisoformat(body["created"])))
    elif entry_type == "acknowledgement":
        gs.add_acknowledgement(body, data)
    elif entry_type == "status_change" and body.get("subject") == "notification" and \
            body.get("status") == "withdrawn":
        gs.withdraw_notification(body["notification_id"], data)
    elif entry_type == "status_change" and body.get("subject") in ("notification", "delivery"):
        rows = {d["id"]: d for d in gs.deliveries()}
        changed = _step(rows, entry_type, body)
        if len(changed) != 1:
            raise IntegrityError(f"a delivery note about no delivery: {body.get('delivery_id')!r}",
                                 field="entry")
        gs.put_delivery(rows[changed[0]], data)
    else:
        return False
    return True
