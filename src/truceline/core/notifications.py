"""Notifications: findings that meet a guarantee clause, their deadlines, and what is overdue.

Pure: the agreement's clauses (:mod:`truceline.core.guarantees`), the findings and a time go
in, notification bodies come out. A notification's id is a hash of what it is about (the
guarantor, the clause and the finding; an escalation, the notification it escalates), so a
check run twice, or a delivery pass after a crash, never makes a second one; its times come
from the caller's clock, recorded in its entry, so a replay reads them rather than guessing.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from truceline.core.agreements import Agreement, Guarantor
from truceline.core.findings import Finding, FindingHead, compact_json, iso
from truceline.core.guarantees import GuaranteeClause, Trigger
from truceline.core.record.canonical import canonical_bytes

BREACH, ESCALATION = "breach", "escalation"
#: The domain-separation prefix of the message a guarantor's Ed25519 key signs to acknowledge.
ACK_CONTEXT = b"truceline-acknowledgement/v1\n"


@dataclass(frozen=True)
class Notification:
    """One notification: its record body is :meth:`to_record` (the entry's body)."""

    id: str
    kind: str  # BREACH or ESCALATION
    guarantor: str  # whose clause it is (who must acknowledge a breach notification)
    clause: str
    provision_id: str
    finding_id: str
    party: str | None
    verdict: str
    recipients: tuple[str, ...]
    created: str  # RFC 3339 UTC
    deadline: str | None  # by when the guarantor acknowledges (None: an escalation)
    next_step: str
    escalates: str | None = None

    def to_record(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["recipients"] = list(self.recipients)
        return d

    @classmethod
    def from_record(cls, d: dict[str, Any]) -> Notification:
        d = dict(d)
        d["recipients"] = tuple(d["recipients"])
        return cls(**d)


def _nid(*parts: str) -> str:
    key = compact_json(list(parts))
    return "n-" + hashlib.sha256(key.encode()).hexdigest()[:20]


def covered(agreement: Agreement, guarantor: Guarantor, clause: GuaranteeClause) -> set[str]:
    """The provisions a clause covers: its own list, else all its guarantor guarantees."""
    return set(clause.provisions or guarantor.guarantees or [p.id for p in agreement.provisions])


def meets(trigger: Trigger, f: Finding | FindingHead) -> bool:
    """The finding on its own meets the trigger (verdict, probability, weapon class)."""
    if f.verdict not in trigger.verdicts:
        return False
    if trigger.min_probability is not None and (
        f.confidence is None or f.party is None or f.confidence < trigger.min_probability
    ):
        return False
    return not trigger.weapon_classes or f.weapon_class in trigger.weapon_classes


def _counted(trigger: Trigger, f: Finding | FindingHead,
             times: Callable[[], list[datetime]]) -> bool:
    """The count condition: at least ``at_least`` matching findings in the period ending at
    ``f``'s time (``f`` included). A finding without a time never completes a count.
    ``times``: the matching findings' times, sorted (made once per clause, when first needed:
    counting by bisection keeps a clause's cost at m log m where a scan per finding was m²)."""
    c = trigger.count
    if c is None:
        return True
    if f.time is None:
        return False
    end = datetime.fromisoformat(f.time)
    start = end - timedelta(hours=c.within_hours)
    ts = times()
    return bisect_right(ts, end) - bisect_left(ts, start) >= c.at_least


def _sorted_times(matching: Sequence[Finding | FindingHead]) -> Callable[[], list[datetime]]:
    """The matching findings' times, parsed and sorted on first call, then kept."""
    kept: list[list[datetime]] = []

    def times() -> list[datetime]:
        if not kept:
            kept.append(sorted(datetime.fromisoformat(g.time) for g in matching if g.time))
        return kept[0]
    return times


def recipients(agreement: Agreement, guarantor: Guarantor, words: Iterable[str],
               provision_id: str, party: str | None) -> tuple[str, ...]:
    """The ids a clause's words name for one finding, the clause's guarantor always among them."""
    out = {guarantor.id}
    for w in words:
        if w == "guarantors":
            out |= {g.id for g in agreement.guarantors_of(provision_id)}
        elif w == "parties_concerned":
            out |= {party} if party else set(agreement.provision(provision_id).obligated)
        elif w == "mediator":
            if agreement.mediator is not None:
                out.add(agreement.mediator.id)
        elif w != "guarantor":
            out.add(w)
    return tuple(sorted(out))


def due(agreement: Agreement, findings: Sequence[Finding | FindingHead], existing: set[str],
        now: datetime) -> list[Notification]:
    """The breach notifications the findings call for that ``existing`` does not hold yet."""
    out: list[Notification] = []
    created = iso(now)
    for g in agreement.guarantors:
        for c in g.clauses:
            provs = covered(agreement, g, c)
            matching = [f for f in findings if f.provision_id in provs and meets(c.trigger, f)]
            times = _sorted_times(matching)
            deadline = iso(now + timedelta(hours=c.acknowledge_within_hours))
            to: dict[tuple[str, str | None], tuple[str, ...]] = {}  # the same for many findings
            for f in matching:
                nid = _nid(g.id, c.id, f.id)
                if nid in existing or not _counted(c.trigger, f, times):
                    continue
                key = (f.provision_id, f.party)
                if key not in to:
                    to[key] = recipients(agreement, g, c.notify, f.provision_id, f.party)
                out.append(Notification(
                    nid, BREACH, g.id, c.id, f.provision_id, f.id, f.party, f.verdict.value,
                    to[key], created, deadline, c.next_step))
    out.sort(key=lambda n: n.id)
    return out


def overdue(notes: Iterable[Notification], closed: set[str], now: datetime) -> list[Notification]:
    """Breach notifications past their deadline and not ``closed`` (acknowledged or
    withdrawn), oldest deadline first."""
    late = [n for n in notes if n.kind == BREACH and n.id not in closed and n.deadline
            and datetime.fromisoformat(n.deadline) <= now]
    return sorted(late, key=lambda n: (n.deadline or "", n.id))


def escalations(agreement: Agreement, late: Iterable[Notification], existing: set[str],
                now: datetime) -> list[Notification]:
    """One escalation per overdue notification, to the clause's ``escalate_to``, naming the
    clause's next step (none for a clause no longer in the agreement)."""
    out = []
    for n in late:
        nid = _nid(ESCALATION, n.id)
        g = next((x for x in agreement.guarantors if x.id == n.guarantor), None)
        c = next((x for x in g.clauses if x.id == n.clause), None) if g else None
        if nid in existing or g is None or c is None:
            continue
        out.append(Notification(
            nid, ESCALATION, n.guarantor, n.clause, n.provision_id, n.finding_id, n.party,
            n.verdict, recipients(agreement, g, c.escalate_to, n.provision_id, n.party),
            iso(now), None, c.next_step, escalates=n.id))
    return out


def awaiting(late: Iterable[Notification], now: datetime) -> list[str]:
    """The report's lines: 'awaiting acknowledgement: UK, 2 notifications, 26 h overdue'
    (hours past the oldest deadline, whole hours), one per guarantor."""
    by: dict[str, list[Notification]] = {}
    for n in late:
        by.setdefault(n.guarantor, []).append(n)
    lines = []
    for g, ns in sorted(by.items()):
        oldest = min(datetime.fromisoformat(n.deadline or "") for n in ns)
        hours = int((now - oldest).total_seconds() // 3600)
        word = "notification" if len(ns) == 1 else "notifications"
        lines.append(f"awaiting acknowledgement: {g}, {len(ns)} {word}, {hours} h overdue")
    return lines


def ack_message(notification_id: str, guarantor: str) -> bytes:
    """What a guarantor's Ed25519 key signs to acknowledge a notification."""
    return ACK_CONTEXT + canonical_bytes({"guarantor": guarantor,
                                          "notification_id": notification_id})
