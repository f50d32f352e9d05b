"""Provision checks: evaluate every provision's rule against incidents and observations.

Each rule kind is one module with one function that takes the provision's
:class:`~truceline.core.verdicts.Builder`, the rule and the classified evidence
(:func:`~truceline.core.evidence.gather`) and adds findings: :mod:`.ceasefire`,
:mod:`.withdrawal`, :mod:`.presence`, :mod:`.movement`, :mod:`.status` (non-accession and
neutrality), :mod:`.range_ban` (INF-type range bans), and quantitative limits in
:mod:`truceline.core.limits`. A finding says which clause, which evidence, which line and
distance, which weapon class, which window and with what confidence; a summary finding per
obligated party says "compliant" only when there was evidence to look at in the window, and
"insufficient evidence" when there was none ("no violations" is not "no coverage").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from truceline.core.agreements import Agreement
from truceline.core.classify import CompiledGeometry
from truceline.core.evidence import Evidence
from truceline.core.findings import Finding, sort_findings
from truceline.core.incidents import Incident
from truceline.core.limits import check_limit, limit_summaries
from truceline.core.provisions import RULE_EVIDENCE, CeasefireRule, LimitRule, Provision
from truceline.core.rules.ceasefire import check_ceasefire
from truceline.core.rules.movement import check_movement
from truceline.core.rules.presence import check_presence
from truceline.core.rules.range_ban import check_range_ban
from truceline.core.rules.status import check_status
from truceline.core.rules.withdrawal import check_withdrawal
from truceline.core.suspensions import apply_suspensions, from_observations, note_lapse
from truceline.core.taxonomy import Kind
from truceline.core.verdicts import Builder, Tally


def _check_limit(b: Builder, rule: LimitRule, ev: Evidence, parties: list[str]) -> int:
    decl = ev.by_kind.get(Kind.DECLARATION.value, []) + ev.by_kind.get(Kind.INSPECTION.value, [])
    return check_limit(b, rule, decl, ev.as_of)


_CHECKS = {
    "ceasefire": check_ceasefire,
    "withdrawal": check_withdrawal,
    "prohibited_presence": check_presence,
    "freedom_of_movement": check_movement,
    "quantitative_limit": _check_limit,
    "non_accession": check_status,
    "neutrality": check_status,
    "range_ban": check_range_ban,
}
#: Rule kinds whose check gives its own summaries (not :meth:`Builder.summaries`).
_OWN_SUMMARIES = ("non_accession", "neutrality")


def _lapse(agreement: Agreement, prov: Provision) -> tuple[datetime, str] | None:
    """When the agreement itself ends for ``prov`` (its term or its latest extension), and why."""
    ext = [e for e in agreement.extensions if not e.provisions or prov.id in e.provisions]
    if ext:
        e = max(ext, key=lambda x: agreement.local(x.until))
        return agreement.local(e.until), f"extended to then: {e.source}"
    if agreement.expires is not None:
        return agreement.local(agreement.expires), "the end of its term"
    return None


@dataclass
class ByDay:
    """The incremental check's judging (docs/partitions.md): a ceasefire provision's
    per-incident findings read nothing but the incident, so only ``groups``' incidents (the
    UTC days fused again, by the day that owns each) are judged, and its summaries read the
    other days' :class:`~truceline.core.verdicts.Tally` (``kept``, by day and provision)
    merged with the judged days' (``made``, filled by :func:`check`). The other rules read
    the observations, not the incidents, and are judged whole."""

    groups: dict[int, list[Incident]]
    kept: dict[int, dict[str, Tally]] = field(default_factory=dict)
    made: dict[int, dict[str, Tally]] = field(default_factory=dict)


def _ceasefire_by_day(b: Builder, rule: CeasefireRule, ev: Evidence, parties: list[str],
                      by_day: ByDay) -> Tally:
    """Judge each day of ``by_day.groups`` into ``b`` (its findings, id order per day) and
    give the provision's tally over every day."""
    total = Tally()
    for day, group in sorted(by_day.groups.items()):
        bd = Builder(b.a, b.p)
        check_ceasefire(bd, rule, replace(ev, incidents=group), parties)
        made = by_day.made.setdefault(day, {})[b.p.id] = Tally.of(bd)
        total = total.merge(made)
        b.out.extend(bd.out)
    for day, kept in sorted(by_day.kept.items()):
        if day not in by_day.groups and b.p.id in kept:
            total = total.merge(kept[b.p.id])
    b.violators |= total.violators
    return total


def check(agreement: Agreement, geom: CompiledGeometry | None, ev: Evidence,
          by_day: ByDay | None = None) -> list[Finding]:
    """Every provision's findings, in the canonical order (``by_day``: only those of the
    incidents it groups, and every other finding; :class:`ByDay`)."""
    parties = [p.id for p in agreement.parties]
    suspended = agreement.suspensions + from_observations(
        ev.by_kind.get(Kind.SUSPENSION.value, []), set(parties),
        {p.id for p in agreement.provisions}, agreement.tz)
    out: list[Finding] = []
    for prov in agreement.provisions:
        b = Builder(agreement, prov)
        if by_day is not None and isinstance(prov.rule, CeasefireRule):
            b.summaries(ev, _ceasefire_by_day(b, prov.rule, ev, parties, by_day))
        else:
            _CHECKS[prov.rule.kind](b, prov.rule, ev, parties)  # type: ignore[operator]
            if prov.rule.kind == "quantitative_limit":
                limit_summaries(b, prov.rule)
            elif prov.rule.kind not in _OWN_SUMMARIES:
                b.summaries(ev)
        apply_suspensions(b, suspended)
        lapse = _lapse(agreement, prov)
        if lapse is not None and b.end == lapse[0] and ev.as_of is not None \
                and ev.as_of >= lapse[0]:
            note_lapse(b, lapse[0], lapse[1], ev.observed_since(lapse[0]))
        out.extend(b.out)
    assert set(_CHECKS) == set(RULE_EVIDENCE)
    return sort_findings(out)
