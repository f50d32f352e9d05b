"""Thematic reports: a report narrowed to one sector, one provision or one party."""

from __future__ import annotations

from dataclasses import replace

from truceline.core.reporting import DailyReport
from truceline.errors import ValidationError

__all__ = ["narrow"]


def narrow(r: DailyReport, *, sector: str | None = None, provision: str | None = None,
           party: str | None = None) -> DailyReport:
    """A thematic report: only one sector's counts and events, one provision's or one
    party's findings (and restrictions the party was held responsible for)."""
    scope = []
    counts, daily, events, findings, restrictions = (r.counts, r.daily, r.events, r.findings,
                                                     r.restrictions)
    if sector is not None:
        g = r.agreement.geography
        names = {s.id: s.name or s.id for s in g.sectors} if g else {}
        if sector not in names and sector not in names.values():
            raise ValidationError(f"no sector {sector!r} (sectors: {', '.join(names)})",
                                  field="sector")
        name = names.get(sector, sector)
        counts = {k: c for k, c in counts.items() if k[1] == name}
        daily = {k: c for k, c in daily.items() if k[1] == name}
        events = [e for e in events if e.get("sector") == name]
        ids = {e["id"] for e in events}
        findings = [f for f in findings if f.incident_id in ids]
        restrictions = []
        scope.append(f"sector {name}")
    if provision is not None:
        if provision not in {p.id for p in r.agreement.provisions}:
            raise ValidationError(f"no provision {provision!r}", field="provision")
        findings = [f for f in findings if f.provision_id == provision]
        scope.append(f"provision {provision}")
    if party is not None:
        if party not in {p.id for p in r.agreement.parties}:
            raise ValidationError(f"no party {party!r}", field="party")
        findings = [f for f in findings if f.party == party]
        restrictions = [x for x in restrictions if x.get("party") == r.party_name(party)]
        scope.append(f"party {r.party_name(party)}")
    # the previous period's totals are the whole line's: not comparable with one sector's
    return replace(r, counts=counts, daily=daily, events=events, findings=findings,
                   restrictions=restrictions, scope="; ".join(scope),
                   previous=r.previous if sector is None else None)
