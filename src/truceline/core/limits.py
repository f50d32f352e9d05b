"""Quantitative limits: declared or inspected quantities against a limit, and declarations due.

A declaration or inspection as of a date in the provision's window is a finding: a violation
above the limit, compliant at or under it. Dates before the limit took effect (New START's
2011-2017 excesses) or after the agreement lapsed give nothing. With a declaration schedule
(:class:`~truceline.core.provisions.DeclarationSchedule`), a declaration due in the window and
not in the record is a finding of its own; a party with no declaration at all gets
"insufficient evidence", never "compliant".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from truceline.core.findings import Finding, Verdict
from truceline.core.observations import Observation
from truceline.core.provisions import DeclarationSchedule, LimitRule, Provision
from truceline.core.taxonomy import Kind


class Builder(Protocol):
    """What the checks need of :class:`truceline.core.verdicts.Builder`."""

    p: Provision
    start: datetime
    end: datetime | None
    out: list[Finding]

    def add(self, verdict: Verdict, party: str | None, evidence: tuple[str, ...], why: str,
            kind: str = "event", **kw: Any) -> None: ...


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def check_limit(
    b: Builder, rule: LimitRule, decl: Sequence[Observation], latest: datetime | None
) -> int:
    """Findings for declarations and inspections of ``rule.category``; how many were in force.

    ``latest`` is the latest evidence time (declarations due after it are not yet due, unless
    another party's declaration for the same date is recorded).
    """
    relevant = 0
    start_day = b.start.date()
    for o in sorted(decl, key=lambda x: (x.as_of or x.time.date(), x.id)):
        if o.category != rule.category or o.party not in b.p.obligated:
            continue
        assert o.as_of is not None and o.quantity is not None
        if o.as_of < start_day or (b.end is not None and o.as_of >= b.end.date()):
            continue  # before the limit took effect: not a violation, by the treaty's terms
        relevant += 1
        unit = f" {rule.unit}" if rule.unit else ""
        kw: dict[str, Any] = dict(
            time=_iso(o.time),
            details={"quantity": o.quantity, "limit": rule.limit, "as_of": o.as_of.isoformat()},
        )
        src = "declared" if o.kind is Kind.DECLARATION else "inspected"
        if o.quantity > rule.limit:
            b.add(
                Verdict.VIOLATION,
                o.party,
                (o.id,),
                f"{o.party} {src} {o.quantity:g}{unit} of {rule.category} as of "
                f"{o.as_of}, over the limit of {rule.limit:g}",
                **kw,
            )
        else:
            b.add(
                Verdict.COMPLIANT,
                o.party,
                (o.id,),
                f"{o.party} {src} {o.quantity:g}{unit} of {rule.category} as of "
                f"{o.as_of}, at or under the limit of {rule.limit:g}",
                **kw,
            )
    if rule.declarations is not None:
        missing_declarations(b, rule, rule.declarations, decl, latest)
    return relevant


def missing_declarations(
    b: Builder,
    rule: LimitRule,
    sched: DeclarationSchedule,
    decl: Sequence[Observation],
    latest_time: datetime | None,
) -> None:
    """A declaration due in the window and not in the record is a finding of its own.

    A round counts as due once its due date is on or before the latest evidence, or once any
    party's declaration for it is in the record (the exchange took place). The verdict is
    "insufficient evidence" on the limit: the party's numbers for that date are not known.
    """
    declared: dict[date, dict[str, list[str]]] = {}
    for o in decl:
        if o.kind is Kind.DECLARATION and o.category == rule.category and o.as_of is not None:
            declared.setdefault(o.as_of, {}).setdefault(str(o.party), []).append(o.id)
    latest = latest_time.date() if latest_time is not None else b.start.date()
    until = max([latest, *declared])
    end = b.end.date() if b.end is not None else None
    for as_of, due in sched.rounds(b.start.date(), end, until):
        by = declared.get(as_of, {})
        if due > latest and not by:
            continue  # not yet due as far as the record shows
        for party in b.p.obligated:
            if party in by:
                continue
            others = sorted(p for p in by if p != party)
            seen = f"; {', '.join(others)}'s for that date is recorded" if others else ""
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                party,
                tuple(sorted(i for p in others for i in by[p])),
                f"declaration not provided by its due date: {party}'s declaration of "
                f"{rule.category} as of {as_of} (due by {due}) is not in the record{seen}; "
                f"{party}'s compliance with the limit of {rule.limit:g} as of {as_of} cannot "
                f"be determined",
                kind=f"missing-declaration {as_of}",
                time=f"{due.isoformat()}T00:00:00Z",
                details={"missing_declaration": {"as_of": as_of.isoformat(),
                                                 "due": due.isoformat()}},
            )


def limit_summaries(b: Builder, rule: LimitRule) -> None:
    """A party with no declaration in force gets 'insufficient evidence', never 'compliant'."""
    seen = {f.party for f in b.out}
    for party in b.p.obligated:
        if party not in seen:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                party,
                (),
                f"no declaration or inspection of {rule.category} by {party} "
                f"since the limit took effect on {_iso(b.start)}",
                kind="summary",
            )
