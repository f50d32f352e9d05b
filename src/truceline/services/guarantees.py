"""The guarantee mechanism's use cases: notify, withdraw, escalate, acknowledge, endpoints.

:func:`notify` is idempotent and safe to run at any time (after every check, before every
delivery pass): it creates the notifications the current findings call for under the
agreement's guarantee clauses, withdraws those whose finding was withdrawn, and escalates
those past their deadline. Each step is an entry appended in the transaction that writes its
rows, so ``record verify`` can check them and a replay reproduces them. Delivery is
:mod:`truceline.services.delivery`.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any, Protocol, cast
from urllib.parse import urlsplit

from truceline.core import notifications as notes
from truceline.core.findings import Finding, FindingHead, iso
from truceline.core.notifications import Notification
from truceline.core.record import signing
from truceline.core.record.canonical import entry_bytes, prepared_entry
from truceline.core.webhooks import SECRET_PREFIX
from truceline.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    SignatureError,
    ValidationError,
)
from truceline.services import access
from truceline.services.context import load_context
from truceline.services.ports import Store
from truceline.services.record import unb64


class GuaranteeStore(Store, Protocol):
    """What the guarantee mechanism needs of a store beyond :class:`Store` (both SQL stores
    have it: :mod:`truceline.adapters.store.notifications`)."""

    def add_notifications(self, items: list[tuple[dict[str, Any], bytes]],
                          next_at: str, deliveries: bool = True) -> int: ...

    def notification_rows(self) -> list[dict[str, Any]]: ...

    def late_notification_rows(self, now: datetime) -> list[dict[str, Any]]: ...

    def withdraw_notification(self, notification_id: str, entry: bytes) -> None: ...

    def withdraw_notifications(self, items: list[tuple[str, bytes]]) -> None: ...

    def add_acknowledgement(self, record: dict[str, Any], entry: bytes) -> None: ...

    def deliveries(self, notification_id: str | None = None) -> list[dict[str, Any]]: ...

    def due_deliveries(self, now: str, limit: int) -> list[dict[str, Any]]: ...

    def mark_delivery(self, delivery_id: str, state: str, attempts: int, next_at: str,
                      at: str | None, error: str | None, entry: bytes | None = None
                      ) -> bool: ...

    def put_delivery(self, row: dict[str, Any], entry: bytes) -> None: ...

    def set_endpoint(self, recipient: str, url: str, secret: str, registered: str,
                     entry: bytes) -> None: ...

    def endpoints(self) -> list[dict[str, Any]]: ...


def guarantee_store(store: Store) -> GuaranteeStore:
    """The store as a :class:`GuaranteeStore` (every store truceline opens is one)."""
    return cast(GuaranteeStore, store)


@dataclass
class NotifyResult:
    created: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)


def delivered_entry(delivery_id: str, notification_id: str, recipient: str, at: str) -> bytes:
    """The record's note that a recipient's endpoint accepted a notification (2xx), when."""
    return entry_bytes("status_change", {"subject": "notification", "status": "delivered",
                                         "notification_id": notification_id,
                                         "delivery_id": delivery_id, "recipient": recipient,
                                         "time": at})


#: The outbox columns a delivery's entries set (its key columns come from the notification).
OUTBOX_STATE = ("state", "attempts", "next_at", "delivered_at", "last_error")


def delivery_entry(row: dict[str, Any]) -> bytes:
    """The record's note of an outbox row's state after an attempt that did not deliver (to
    retry, or given up), or as a store from before these notes stood (``adopt-access``)."""
    return entry_bytes("status_change", {"subject": "delivery", "status": row["state"],
                                         "delivery_id": row["id"],
                                         **{c: row[c] for c in OUTBOX_STATE if c != "state"}})


def withdrawn_entry(notification_id: str, finding_id: str) -> bytes:
    return entry_bytes("status_change", {"subject": "notification", "status": "withdrawn",
                                         "notification_id": notification_id,
                                         "finding_id": finding_id})


#: Notifications encoded and added this many at a time (a month's check makes ~100k).
_ADD_PART = 10_000


def notify(store: Store, now: datetime,
           findings: Sequence[Finding | FindingHead] | None = None) -> NotifyResult:
    """Bring the notifications in line with the current findings at ``now`` (see module).
    ``findings``: the stored findings (or their heads), when the caller holds them (the
    check that just stored them), so they are not read back."""
    gs = guarantee_store(store)
    agreement = load_context(store).agreement
    res = NotifyResult()
    if findings is None:
        findings = store.findings()
    current = {f.id for f in findings}
    rows = gs.notification_rows()
    existing = {r["id"] for r in rows}
    gone = [r for r in rows  # a finding withdrawn before acknowledgement withdraws its
            if not r["withdrawn"] and r["acknowledgement"] is None  # notification (in one
            and r["finding_id"] not in current]  # transaction, as notifications are made)
    gs.withdraw_notifications([(r["id"], withdrawn_entry(r["id"], r["finding_id"]))
                               for r in gone])
    res.withdrawn = [r["id"] for r in gone]
    new = notes.due(agreement, findings, existing, now)
    closed = {r["id"] for r in rows if r["withdrawn"] or r["acknowledgement"]} | set(res.withdrawn)
    late = notes.overdue([Notification.from_record(_record(r)) for r in rows], closed, now)
    esc = notes.escalations(agreement, late, existing, now)
    made = new + esc
    with store.atomic():  # one transaction; encoded and added a part at a time
        for at in range(0, len(made), _ADD_PART):
            items: list[tuple[dict[str, Any], bytes]] = []
            for n in made[at : at + _ADD_PART]:
                rec = n.to_record()
                items.append((rec, prepared_entry("notification", rec)))
            gs.add_notifications(items, iso_text(now))
    res.created = [n.id for n in new]
    res.escalated = [n.id for n in esc]
    return res


_STATE_KEYS = ("withdrawn", "acknowledgement")


def iso_text(t: datetime) -> str:
    """Fixed-width UTC text (the outbox's ``next_at``: text order is time order)."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in _STATE_KEYS}


def states(store: Store, now: datetime) -> list[dict[str, Any]]:
    """Every notification with its state at ``now``: ``withdrawn``, ``acknowledged``,
    ``overdue`` (a breach past its deadline), ``escalation`` or ``open``; and the hours
    overdue. What the API serves and what a rebuilt store must reproduce."""
    out = []
    for r in guarantee_store(store).notification_rows():
        rec = _record(r)
        late = None
        if r["withdrawn"]:
            state = "withdrawn"
        elif r["acknowledgement"] is not None:
            state = "acknowledged"
        elif rec["kind"] == notes.ESCALATION:
            state = "escalation"
        elif datetime.fromisoformat(rec["deadline"]) <= now:
            state = "overdue"
            late = round((now - datetime.fromisoformat(rec["deadline"])).total_seconds() / 3600,
                         1)
        else:
            state = "open"
        out.append({**rec, "state": state, "hours_overdue": late,
                    "acknowledgement": r["acknowledgement"]})
    return out


def awaiting_lines(store: Store, now: datetime) -> list[str]:
    """'awaiting acknowledgement: UK, 2 notifications, 26 h overdue', one per guarantor, as
    things stood at ``now``: notifications made by then, acknowledgements made by then (so a
    day's report says the same whenever it is written). Reads only the notifications that may
    be late at ``now`` (a superset, decided exactly here), not every one ever made."""
    rows = [r for r in guarantee_store(store).late_notification_rows(now)
            if datetime.fromisoformat(r["created"]) <= now]
    closed = {r["id"] for r in rows if r["withdrawn"] or (
        r["acknowledgement"] and datetime.fromisoformat(r["acknowledgement"]["time"]) <= now)}
    late = notes.overdue([Notification.from_record(_record(r)) for r in rows], closed, now)
    return notes.awaiting(late, now)


def acknowledge(store: Store, notification_id: str, guarantor: str, by: str, now: datetime,
                signature_b64: str | None = None) -> dict[str, Any]:
    """A guarantor acknowledges its own breach notification; the acknowledgement is an entry.

    Refused, with nothing written: a notification that does not exist or that this guarantor
    may not see (NotFoundError, so its existence does not leak), one for another guarantor to
    acknowledge, an escalation or a withdrawn one (ForbiddenError/ConflictError), a second
    acknowledgement (ConflictError). If the guarantor has Ed25519 keys registered in the store
    (role ``guarantor``), the acknowledgement must carry a signature by one of them over
    :func:`truceline.core.notifications.ack_message` (SignatureError otherwise).
    """
    gs = guarantee_store(store)
    row = next((r for r in gs.notification_rows() if r["id"] == notification_id), None)
    if row is None or guarantor not in row["recipients"]:
        raise NotFoundError("no such notification", field="notification_id")
    if row["guarantor"] != guarantor:
        raise ForbiddenError(f"this notification is for {row['guarantor']} to acknowledge",
                             field="notification_id")
    if row["kind"] != notes.BREACH:
        raise ValidationError("an escalation is not acknowledged", field="notification_id")
    if row["withdrawn"]:
        raise ConflictError("this notification was withdrawn with its finding",
                            field="notification_id")
    if row["acknowledgement"] is not None:
        raise ConflictError("this notification is acknowledged already (nothing changed)",
                            field="notification_id")
    key_id = _check_signature(store, notification_id, guarantor, signature_b64)
    rec: dict[str, Any] = {"notification_id": notification_id, "guarantor": guarantor,
                           "by": by, "time": iso(now),
                           "late": row["deadline"] is not None
                           and datetime.fromisoformat(row["deadline"]) < now}
    if key_id is not None:
        rec.update(key_id=key_id, signature=signature_b64)
    gs.add_acknowledgement(rec, entry_bytes("acknowledgement", rec))
    return rec


def _check_signature(store: Store, notification_id: str, guarantor: str,
                     signature_b64: str | None) -> str | None:
    keys = [k for k in store.keys(guarantor) if k["role"] == "guarantor" and not k["revoked"]]
    if not keys:
        if signature_b64 is not None:
            raise ValidationError(f"{guarantor} has no registered key to check a signature "
                                  "with; register one or send none", field="signature")
        return None
    if signature_b64 is None:
        raise ValidationError(f"{guarantor} signs its acknowledgements: give the Ed25519 "
                              "signature of the acknowledgement message", field="signature")
    sig = unb64(signature_b64, "signature")
    msg = notes.ack_message(notification_id, guarantor)
    for k in keys:
        try:
            signing.verify(k["public_key"], msg, sig)
            return str(k["key_id"])
        except SignatureError:  # try the guarantor's next key
            continue
    raise SignatureError(f"the signature does not verify with any key of {guarantor}",
                         field="signature")


def recipients_known(store: Store) -> set[str]:
    """Who may have an endpoint: the agreement's guarantors, parties and mediator."""
    a = load_context(store).agreement
    out = {g.id for g in a.guarantors} | {p.id for p in a.parties}
    return out | ({a.mediator.id} if a.mediator else set())


def check_url(url: str) -> str:
    """An endpoint URL: ``https://``; plain ``http://`` only to a loopback address (a
    receiver on the same host, and tests). ValidationError naming ``url`` otherwise."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise ValidationError("not a URL", field="url") from None
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host:
        try:
            if host == "localhost" or ip_address(host).is_loopback:
                return url
        except ValueError:
            pass
        raise ValidationError("an endpoint must be https:// (plain http only on loopback)",
                              field="url")
    raise ValidationError("an endpoint must be an https:// URL with a host", field="url")


def register_endpoint(store: Store, recipient: str, url: str, now: datetime) -> str:
    """Register (or replace) a recipient's webhook endpoint; returns its new signing secret,
    shown this once. Replacing an endpoint gives it a new secret. The registration is an
    ``endpoint`` entry holding a salted hash of the secret (:mod:`truceline.services.access`)."""
    if recipient not in recipients_known(store):
        raise ValidationError(f"{recipient!r} is not a guarantor, party or mediator of the "
                              "agreement", field="recipient")
    check_url(url)
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    access.set_endpoint(store, recipient, url, secret, iso(now))
    return secret
