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

from datetime import datetime

from truceline.core.agreements import Agreement
from truceline.core.classify import CompiledGeometry
from truceline.core.evidence import Evidence
from truceline.core.findings import Finding, sort_findings
from truceline.core.limits import check_limit, limit_summaries
from truceline.core.provisions import RULE_EVIDENCE, LimitRule, Provision
from truceline.core.rules.ceasefire import check_ceasefire
from truceline.core.rules.movement import check_movement
from truceline.core.rules.presence import check_presence
from truceline.core.rules.range_ban import check_range_ban
from truceline.core.rules.status import check_status
from truceline.core.rules.withdrawal import check_withdrawal
from truceline.core.suspensions import apply_suspensions, from_observations, note_lapse
from truceline.core.taxonomy import Kind
from truceline.core.verdicts import Builder


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


def check(agreement: Agreement, geom: CompiledGeometry | None, ev: Evidence) -> list[Finding]:
    """Every provision's findings, in the canonical order."""
    parties = [p.id for p in agreement.parties]
    suspended = agreement.suspensions + from_observations(
        ev.by_kind.get(Kind.SUSPENSION.value, []), set(parties),
        {p.id for p in agreement.provisions}, agreement.tz)
    out: list[Finding] = []
    for prov in agreement.provisions:
        b = Builder(agreement, prov)
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
