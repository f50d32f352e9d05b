"""Delivering notifications: one pass over the outbox, each due delivery POSTed once.

A delivery is a row of the store's outbox, made with its notification in one transaction
(:mod:`truceline.adapters.store.notifications`). A pass takes the pending rows that are due
and whose recipient has an endpoint, POSTs each as a signed webhook
(:mod:`truceline.core.webhooks`) through a :class:`Transport`, and marks the row delivered
on a 2xx answer (with a ``status_change`` entry saying so: the record shows who was
told and when), or schedules the next attempt with exponential backoff (an entry too, with
the attempts, the next time and the error: every outbox column a reader sees is recorded).
Marking comes after the answer, so a crash in between sends it again: at least once, and the
receiver drops the repeat by its ``webhook-id`` (the delivery id, stable across attempts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from truceline.core import webhooks
from truceline.core.findings import iso
from truceline.core.record.canonical import canonical_bytes
from truceline.services.guarantees import (
    delivered_entry,
    delivery_entry,
    guarantee_store,
    iso_text,
)
from truceline.services.ports import Clock, Store, system_clock

#: The first retry waits this long; each further one twice as long, up to ``BACKOFF_MAX``.
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=6)
#: After this many failed attempts (about four days at the cap) a delivery is ``failed``:
#: reported by the API and ``notify deliver``, readable there, no longer retried.
MAX_ATTEMPTS = 24
#: Deliveries taken per pass (the rest wait for the next pass).
BATCH = 200


class Transport(Protocol):
    """POSTs a body to a URL and returns the HTTP status; raises ``OSError`` (or any
    exception) when no answer came. The real one is :mod:`truceline.adapters.webhooks`."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int: ...


@dataclass
class DeliveryResult:
    delivered: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    #: Due deliveries not sent because their endpoint holds no secret (withheld: a mirror's,
    #: or blanked on disk); said, so that such a store never stops delivering in silence.
    held: list[str] = field(default_factory=list)


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min ... 6 h."""
    return min(BACKOFF_FIRST * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def webhook_body(delivery_id: str, recipient: str, rec: dict[str, Any]) -> bytes:
    """The JSON a recipient receives: the notification as its record entry holds it (the
    entry, and its inclusion under the log's signed checkpoint, are the mission's proof)."""
    return canonical_bytes({"type": "notification", "delivery_id": delivery_id,
                            "recipient": recipient, "notification": rec})


def deliver(store: Store, transport: Transport, clock: Clock = system_clock,
            limit: int = BATCH) -> DeliveryResult:
    """One pass over the due deliveries (see the module docstring)."""
    gs = guarantee_store(store)
    res = DeliveryResult()
    for d in gs.due_deliveries(iso_text(clock()), limit):
        body = webhook_body(d["id"], d["recipient"], d["notification"])
        now = clock()
        hdrs = webhooks.headers(d["secret"], d["id"], int(now.timestamp()), body)
        try:
            status = transport.post(d["url"], body, hdrs)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except Exception as exc:  # any failure to get an answer is retried
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
        attempts = d["attempts"] + 1
        after = clock()
        if error is None:
            entry = delivered_entry(d["id"], d["notification"]["id"], d["recipient"],
                                    iso(after))
            gs.mark_delivery(d["id"], "delivered", attempts, iso_text(after), iso(after), None,
                             entry)
            res.delivered.append(d["id"])
        else:
            state = "failed" if attempts >= MAX_ATTEMPTS else "pending"
            row = {"id": d["id"], "state": state, "attempts": attempts, "delivered_at": None,
                   "next_at": iso_text(after if state == "failed" else after + backoff(attempts)),
                   "last_error": error}
            gs.mark_delivery(d["id"], state, attempts, row["next_at"], None, error,
                             delivery_entry(row))
            (res.failed if state == "failed" else res.retrying).append(d["id"])
    blank = {e["recipient"] for e in store.table_rows("endpoints") if e["secret"] == ""}
    if blank:
        due = iso_text(clock())
        res.held = [d["id"] for d in gs.deliveries() if d["state"] == "pending"
                    and d["recipient"] in blank and d["next_at"] <= due]
    return res
