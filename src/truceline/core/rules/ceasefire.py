"""Ceasefire: fire incidents in the provision's window (and zone), located and attributed.

An incident whose origin lies in a party's area of control is that party's violation when the
probability that it came from there (the incident's own, or from its distance to the line of
contact and its location uncertainty) reaches the agreement's ``attribution_confidence``;
below it the finding is undecided ("insufficient evidence", with the probabilities). Without a
located origin the violation is unattributed. An incident counts as evidence about the side
where it was located only when its location is precise enough to tell the side.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from truceline.core.agreements import Agreement
from truceline.core.classify import Classification
from truceline.core.counting import describe, incident_records
from truceline.core.evidence import Evidence, in_window, party_at, precision_of, where_inc
from truceline.core.findings import Verdict
from truceline.core.precision import (
    K_AREA,
    K_LINE,
    POINT_M,
    describe_precision,
    distance_statement,
    unassigned,
    zone_decided,
)
from truceline.core.provisions import CeasefireRule
from truceline.core.taxonomy import Kind
from truceline.core.verdicts import Builder
from truceline.core.wording import words


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _zone_decided(
    a: Agreement, zone_id: str, cls: Classification, row: int, sigma: float | None
) -> bool:
    """Can a point with this uncertainty be said to lie in (or out of) the zone?"""
    if not sigma:
        return True
    assert a.geography is not None
    z = next(z for z in a.geography.zones if z.id == zone_id)
    if z.within_km_of_line is None or z.line is None:  # a polygon: only a near-exact point
        return K_AREA * sigma <= POINT_M
    d = float(cls.dist_m[z.line][row])
    side_known = z.party_side is None or d > K_LINE * sigma
    return side_known and zone_decided(d, z.within_km_of_line * 1000.0, sigma)


def check_ceasefire(b: Builder, rule: CeasefireRule, ev: Evidence, parties: list[str]) -> int:
    a, conf = b.a, b.a.attribution_confidence
    relevant = 0
    loc_line = a.geography.line_of_contact if a.geography else None
    for inc in ev.incidents:
        if inc.kind != Kind.FIRE.value:
            continue
        t = datetime.fromisoformat(inc.time)
        if not in_window(t, b.start, b.end):
            continue
        if rule.fire_types and inc.fire_type not in [f.value for f in rule.fire_types]:
            continue
        row = ev.inc_row.get(inc.id)
        cls = ev.inc_cls
        loc = where_inc(inc)
        sigma, plabel = precision_of(inc, loc, ev)
        zone_unsure = False
        if cls is not None and row is not None:
            if not cls.in_aoi[row]:
                continue
            if rule.zone is not None:
                zone_unsure = not _zone_decided(a, rule.zone, cls, row, sigma)
                if not zone_unsure and not cls.zone[rule.zone][row]:
                    continue
        relevant += 1
        # Evidence about the side where it was located (origin, else impact, else where seen):
        # a shot from one party's side says nothing about whether the other party fired. A
        # location too imprecise to tell the side is evidence about no side.
        if cls is not None and row is not None and loc_line is not None and (
            float(cls.dist_m[loc_line][row]) > K_LINE * (sigma or 0.0)
        ):
            b.saw(party_at(cls, row, parties))
        # What was counted, in its own unit and from its source (a GED event is no explosion).
        unit, sources = incident_records(inc, ev.facts)
        counted = {"counted": {"unit": unit.value, "sources": sources}}
        what = describe(unit, inc.count, sources, inc.explosion_type)
        if inc.weapon_class:
            wc = inc.weapon_class
            # after the sources, so the weapon never reads as one of them
            what += "; weapon not known" if wc == "unknown" else f"; weapon: {words(wc)}"
        common: dict[str, Any] = dict(
            time=inc.time, incident_id=inc.id, weapon_class=inc.weapon_class
        )
        if loc is not None:
            common.update(lon=loc.lon, lat=loc.lat)
        when = f"at {inc.time}"
        located: dict[str, Any] = {}
        if sigma is not None and K_LINE * sigma > POINT_M:
            located = {"location": {"precision": describe_precision(plabel, sigma),
                                    "sigma_m": round(sigma, 1)}}
            when += f", location known only to {describe_precision(plabel, sigma)}"
        if zone_unsure:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                None,
                inc.evidence,
                f"{what} {when}; whether it lies in zone '{rule.zone}' cannot be told at that "
                f"precision (zone {unassigned(plabel, sigma)})",
                details={**counted, **located},
                **common,
            )
            continue
        if inc.origin is None or row is None or cls is None:
            where = (
                f"impact at {inc.impact.lat:.4f}N {inc.impact.lon:.4f}E"
                if inc.impact
                else "location of origin not determined"
            )
            b.add(
                Verdict.VIOLATION,
                None,
                inc.evidence,
                f"{what} {when}; {where}; origin not known, so the violation is unattributed",
                details={"attribution": "unattributed", **counted, **located},
                **common,
            )
            continue
        probs = dict(inc.party_probability)
        if not probs:
            owner = party_at(cls, row, parties)
            d = float(cls.dist_m[loc_line][row]) if loc_line else math.inf
            sigma = inc.origin.sigma_m
            p = 1.0 if not sigma else _phi(d / sigma)
            if owner is not None:
                probs = {owner: p}
                others = [x for x in parties if x != owner]
                if others and p < 1.0:
                    probs[others[0]] = 1.0 - p
        # no party at all (every probability 0: water, a third country): attributed to nobody
        best = max(probs, key=lambda k: (probs[k], k)) if any(probs.values()) else None
        pbest = probs.get(best, 0.0) if best else 0.0
        # a distance only as precise as the location allows (a range, or not determinable)
        dtext, dist, drange = (
            distance_statement(float(cls.dist_m[loc_line][row]), sigma)
            if loc_line else ("? from the line of contact", None, None)
        )
        if drange is not None:
            located.setdefault("location", {})["distance_range_m"] = list(drange)
        ptxt = ", ".join(f"P({k})={v:.2f}" for k, v in sorted(probs.items()))
        ell = inc.details.get("ellipse")
        where = (
            f"origin at {inc.origin.lat:.4f}N {inc.origin.lon:.4f}E"
            + (f" (95 % ellipse, semi-axes {ell['semi_major_m']:.0f} x {ell['semi_minor_m']:.0f} m)"
               if ell else "")
            + f", {dtext}"
            + (f", from {len(inc.evidence)} reports" if len(inc.evidence) > 1 else "")
        )
        if best is not None and pbest >= conf:
            verdict = Verdict.VIOLATION
            text = f"{what} {when}; {where}, in the area controlled by {best} ({ptxt})"
        else:
            verdict = Verdict.INSUFFICIENT_EVIDENCE
            why = (
                f"attribution below the agreed confidence {conf:.2f} ({ptxt}); a bearing from a "
                "second post or a crater analysis would settle it"
                if best is not None
                else "the origin lies in no party's area of control (water, a third country, or "
                "control not known there), so it is attributed to no party"
            )
            text = f"{what} {when}; {where}; {why}"
        b.add(
            verdict,
            best,
            inc.evidence,
            text,
            confidence=round(pbest, 4),
            distance_m=dist,
            details={"probabilities": probs, "ellipse": ell, **counted, **located},
            **common,
        )
    return relevant
