"""The guarantee mechanism's rows against the record, and their rebuild from it.

``record verify`` (:func:`truceline.services.verify_rows.check_rows`) calls
:func:`check_rows`: each stored notification must be its ``notification`` entry, column by
column, withdrawn exactly when a ``status_change`` entry withdrew it; each acknowledgement its
``acknowledgement`` entry; each delivered outbox row its ``delivered`` entry; each entry must
have its row. The rest of the outbox (attempts, retry times, errors) and the ``endpoints`` are
operational state the record does not hold. ``record replay --db``
(:func:`truceline.services.verify.rebuild`) calls :func:`rebuild_entry`; a rebuilt store has
only the delivered rows, so a mirror never sends the mission's notifications again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from truceline.services.guarantees import guarantee_store
from truceline.services.ports import Store
from truceline.services.verify_pairs import pair_rows

Issue = tuple[str, int | None, str]
Bodies = dict[str, list[tuple[int, dict[str, Any], bytes]]]


DELIVERED = "delivered"


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


def _deliveries(store: Store, bodies: Bodies, stored: set[str]) -> Iterator[Issue]:
    """A delivered row is its ``delivered`` entry (notification, recipient, time); every such
    entry has its delivered row; any row belongs to a stored notification. Pending, failed
    and withdrawn rows' attempts and times are operational (not recorded)."""
    said: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, b, _ in bodies.get("status_change", []):
        if (b.get("subject") == "notification" and b.get("status") == "delivered"
                and isinstance(b.get("delivery_id"), str)):
            said.setdefault(b["delivery_id"], (i, b))
    seen: set[str] = set()
    for d in store.table_rows("deliveries"):
        did = d["id"]
        if d["notification_id"] not in stored:
            yield ("unrecorded", None, f"delivery {did!r} is of no stored notification")
        hit = said.get(did)
        if d["state"] != DELIVERED:
            if hit is not None:
                yield ("changed", hit[0], f"delivery {did!r} is {d['state']!r}; the record "
                       "says it was delivered")
                seen.add(did)
            continue
        if hit is None:
            yield ("unrecorded", None, f"delivery {did!r} is marked delivered with no entry")
            continue
        seen.add(did)
        i, b = hit
        want = (b.get("notification_id"), b.get("recipient"), b.get("time"))
        got = (d["notification_id"], d["recipient"], d["delivered_at"])
        if got != want:
            yield ("changed", i, f"delivery {did!r} is {got}, the record says {want}")
    for did, (i, _) in said.items():
        if did not in seen:
            yield ("missing", i, f"delivery {did!r} is in the record but not stored")


def rebuild_entry(store: Store, entry_type: str, body: dict[str, Any], data: bytes) -> bool:
    """Store one guarantee entry's row with the entry (a rebuild); False if not one."""
    gs = guarantee_store(store)
    if entry_type == "notification":
        gs.add_notifications([(body, data)], "", deliveries=False)
    elif entry_type == "acknowledgement":
        gs.add_acknowledgement(body, data)
    elif (entry_type == "status_change" and body.get("subject") == "notification"
          and body.get("status") == "delivered"):
        gs.record_delivery(body["delivery_id"], body["notification_id"], body["recipient"],
                           body["time"], data)
    elif entry_type == "status_change" and body.get("subject") == "notification":
        gs.withdraw_notification(body["notification_id"], data)
    else:
        return False
    return True
