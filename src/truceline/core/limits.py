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
from datetime import date, datetime
from typing import Any, Protocol

from truceline.core.deflators import Constant
from truceline.core.findings import Finding, Verdict, iso
from truceline.core.limit_bounds import bound_on, describe, measure, num
from truceline.core.observations import Observation
from truceline.core.provisions import DeclarationSchedule, LimitRule, Provision
from truceline.core.taxonomy import Kind, SourceType


class Builder(Protocol):
    """What the checks need of :class:`truceline.core.verdicts.Builder`."""

    p: Provision
    start: datetime
    end: datetime | None
    out: list[Finding]

    def add(self, verdict: Verdict, party: str | None, evidence: tuple[str, ...], why: str,
            kind: str = "event", **kw: Any) -> None: ...


def _verb(o: Observation) -> str:
    """How a figure was obtained, as its finding says it."""
    if o.kind is Kind.DECLARATION:
        return "declared"
    return {SourceType.OPEN_SOURCE: "estimated (third party)", SourceType.MONITOR: "counted",
            SourceType.CAMERA: "counted"}.get(o.source_type, "inspected")


def check_limit(
    b: Builder, rule: LimitRule, decl: Sequence[Observation], latest: datetime | None
) -> int:
    """Findings for declarations and inspections of ``rule.category``; how many were in force.

    A declaration and the inspections (or estimates) of the same party at most
    ``rule.match_days`` apart are reconciled: a difference above ``rule.tolerance`` of the
    declared figure is a discrepancy finding, and the limit's verdict rests on the figure
    ``rule.evidence_rule`` names, never on the declaration alone while an inspection differs.
    ``latest`` is the latest evidence time (declarations due after it are not yet due, unless
    another party's declaration for the same date is recorded).
    """
    mine = [o for o in decl if o.category == rule.category and o.party in b.p.obligated
            and o.as_of is not None and o.quantity is not None]
    end = b.end.date() if b.end is not None else None
    in_force = sorted((o for o in mine if o.as_of is not None and o.as_of >= b.start.date()
                       and (end is None or o.as_of < end)),
                      key=lambda x: (x.as_of or x.time.date(), x.id))
    others = [o for o in in_force if o.kind is not Kind.DECLARATION]
    used: set[str] = set()
    relevant = 0
    for d in in_force:
        if d.kind is not Kind.DECLARATION:
            continue
        assert d.as_of is not None
        matched = [i for i in others if i.party == d.party and i.as_of is not None
                   and abs((i.as_of - d.as_of).days) <= rule.match_days]
        used.update(i.id for i in matched)
        relevant += _judge(b, rule, d, matched, mine)
    for i in others:
        if i.id not in used:
            relevant += _judge(b, rule, None, [i], mine)
    if rule.declarations is not None:
        missing_declarations(b, rule, rule.declarations, decl, latest)
    return relevant


def _judge(b: Builder, rule: LimitRule, d: Observation | None, matched: list[Observation],
           records: Sequence[Observation]) -> int:
    """One finding on the limit for a declaration and the figures reconciled with it (and a
    discrepancy finding for each figure beyond the tolerance); 0 if no limit is in force."""
    first = d if d is not None else matched[0]
    party, day = str(first.party), first.as_of
    assert day is not None
    bound = bound_on(rule, party, day, records)
    if bound is None:
        return 0  # a phased limit whose first step is later: nothing in force yet
    unit = f" {rule.unit}" if rule.unit else ""
    group = ([d] if d is not None else []) + matched
    figs = {o.id: measure(rule, o) for o in group}
    said = [f"{_verb(o)} {num(o.quantity or 0)}{unit}"
            + (f" ({figs[o.id].text})" if rule.currency else "")
            + (f" as of {o.as_of}" if o is first else f" on {o.as_of} ({o.id})") for o in group]
    head = f"{party} " + "; ".join(said) + ("" if len(group) > 1 else f" of {rule.category}")
    when = max(o.time for o in group)
    evidence = tuple(o.id for o in group) + bound.evidence
    kw: dict[str, Any] = dict(time=iso(when))
    if d is not None:
        _discrepancies(b, rule, d, matched, figs, kw)
    if d is not None and matched and rule.evidence_rule == "inspection_over_declaration":
        basis, rests = matched, (f"; the verdict rests on the {_verb(matched[0])} figure "
                                 "(evidence rule inspection_over_declaration)")
    elif len(group) > 1:
        basis, rests = group, "; the verdict rests on the highest figure (evidence rule max_of)"
    else:
        basis, rests = group, ""
    unknown = [f"{o.id}: {figs[o.id].text}" for o in basis if figs[o.id].value is None]
    details: dict[str, Any] = {"quantity": None, "limit": bound.value, "as_of": day.isoformat()}
    if unknown or bound.value is None:
        why = "; ".join(unknown) if unknown else bound.text
        b.add(Verdict.INSUFFICIENT_EVIDENCE, party, evidence,
              f"{head}{rests}; compliance with the limit cannot be determined: {why}",
              details=details, **kw)
        return 1
    top = max(basis, key=lambda o: (figs[o.id].value or 0.0, o.id))
    q = figs[top.id].value
    assert q is not None
    details["quantity"] = q
    if len(group) > 1:
        details["figures"] = {o.id: figs[o.id].value for o in group}
    over = q > bound.value
    verdict = Verdict.VIOLATION if over else Verdict.COMPLIANT
    shown = f"{num(q)}{unit}"
    cmp = "over" if over else "at or under"
    tail = f", {cmp} {bound.text}" if len(group) == 1 else f"{rests}: {shown} is {cmp} {bound.text}"
    b.add(verdict, party, evidence, head + tail, details=details, **kw)
    return 1


def _discrepancies(b: Builder, rule: LimitRule, d: Observation, matched: list[Observation],
                   figs: dict[str, Constant], kw: dict[str, Any]) -> None:
    """A reconciled figure beyond the tolerance of the declared one is a finding of its own:
    the declaration is not borne out, whatever the limit's verdict."""
    dv = figs[d.id].value
    for i in matched:
        iv = figs[i.id].value
        if dv is None or iv is None:
            continue
        rel = abs(iv - dv) / dv if dv > 0 else (0.0 if iv == 0 else float("inf"))
        if rel <= rule.tolerance:
            continue
        share = (f"discrepancy {100 * rel:.0f} % of the declared figure" if dv > 0
                 else "a discrepancy from a declared 0")
        terms = f" ({rule.currency} at {rule.price_year} prices)" if rule.currency else ""
        b.add(Verdict.INSUFFICIENT_EVIDENCE, d.party, (d.id, i.id),
              f"discrepancy: {d.party} declared {num(dv)}, {_verb(i)} {num(iv)} on {i.as_of} "
              f"({i.id}){terms}: {share}, above the {100 * rule.tolerance:g} % tolerance; the "
              f"declaration is not borne out",
              kind="discrepancy",
              details={"as_of": (d.as_of or i.as_of or date.min).isoformat(), "discrepancy": {
                  "declared": dv, "reported": iv, "share": None if dv == 0 else round(rel, 6),
                  "relative_to": "declared", "tolerance": rule.tolerance,
                  "declaration": d.id, "report": i.id}}, **kw)


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
                f"{party}'s compliance with {describe(rule)} as of {as_of} cannot "
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
            why = (f"no declaration or inspection of {rule.category} by {party} "
                   f"since the limit took effect on {iso(b.start)}")
            if rule.steps and rule.limit is None and rule.share is None:
                why = (f"no figure of {rule.category} by {party} to judge under "
                       f"{describe(rule)}: none in the record dated from its first step "
                       f"({rule.steps[0].by}) on")
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                party,
                (),
                why,
                kind="summary",
            )
