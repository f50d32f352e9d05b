"""Provision checks: evaluate every provision's rule against incidents and observations.

Each rule kind is one function that takes the agreement, the provision, and the classified
evidence and returns findings. A finding says which clause, which evidence, which line and
distance, which weapon class, which window and with what confidence; a summary finding per
obligated party says "compliant" only when there was evidence to look at in the window, and
"insufficient evidence" when there was none ("no violations" is not "no coverage").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.agreements import (
    RULE_EVIDENCE,
    Agreement,
    CeasefireRule,
    LimitRule,
    MovementRule,
    PresenceRule,
    Provision,
    WithdrawalRule,
)
from truceline.core.classify import Classification, CompiledGeometry, classify
from truceline.core.counting import describe, incident_records
from truceline.core.coverage import RULE_COVERAGE_KINDS, Coverage
from truceline.core.findings import Finding, Verdict, finding_id, sort_findings
from truceline.core.incidents import Incident, Located, singleton
from truceline.core.limits import check_limit, limit_summaries
from truceline.core.nationality import country_code, country_name
from truceline.core.observations import Observation
from truceline.core.precision import (
    K_AREA,
    K_LINE,
    POINT_M,
    assignable_sectors,
    describe_precision,
    distance_statement,
    unassigned,
    zone_decided,
)
from truceline.core.taxonomy import Kind


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _km(m: float) -> str:
    return f"{m / 1000.0:.1f} km"


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


@dataclass
class Evidence:
    """Observations and incidents with their classification, computed once per check."""

    observations: list[Observation]
    incidents: list[Incident]
    obs_cls: Classification | None
    obs_row: dict[str, int]  # observation id -> row in obs_cls
    inc_cls: Classification | None
    inc_row: dict[str, int]
    as_of: datetime | None  # latest evidence time: summaries of open windows are "as of" this
    by_kind: dict[str, list[Observation]] = field(default_factory=dict)
    obs_by_id: dict[str, Observation] = field(default_factory=dict)
    #: What the mission could observe (None: no monitoring assets in the record).
    coverage: Coverage | None = None
    #: Per incident row: the sector its location's uncertainty allows (-1: none or unassigned).
    inc_sector: NDArray[np.int16] | None = None


def _where_obs(o: Observation) -> tuple[float, float] | None:
    """Where an observation happened: the event location, else the observer's position."""
    if o.lon is not None and o.lat is not None:
        return o.lon, o.lat
    if o.observer_lon is not None and o.observer_lat is not None:
        return o.observer_lon, o.observer_lat
    return None


def _where_inc(i: Incident) -> Located | None:
    return i.origin or i.impact or i.location


def _classify_points(
    geom: CompiledGeometry | None, pts: list[tuple[str, float, float, datetime]]
) -> tuple[Classification | None, dict[str, int]]:
    if geom is None or not pts:
        return None, {}
    lon = np.array([p[1] for p in pts], dtype=np.float64)
    lat = np.array([p[2] for p in pts], dtype=np.float64)
    t = np.array([np.datetime64(p[3].astimezone(UTC).replace(tzinfo=None), "ns") for p in pts])
    return classify(geom, lon, lat, t), {p[0]: i for i, p in enumerate(pts)}


def gather(
    geom: CompiledGeometry | None,
    observations: Sequence[Observation],
    incidents: Sequence[Incident] | None = None,
    coverage: Coverage | None = None,
) -> Evidence:
    """Classify every located observation and incident in one columnar call each.

    ``coverage`` is the mission's coverage model (:mod:`truceline.core.coverage_inputs`);
    without it no party is found compliant on a spatial provision (unless the agreement's
    ``min_coverage`` is 0).
    """
    obs = list(observations)
    if incidents is None:
        incidents = [singleton(o) for o in obs if o.kind is Kind.FIRE]
    incs = list(incidents)
    opts = []
    for o in obs:
        w = _where_obs(o)
        if w is not None:
            opts.append((o.id, w[0], w[1], o.time))
    ipts = []
    for i in incs:
        loc = _where_inc(i)
        if loc is not None:
            ipts.append((i.id, loc.lon, loc.lat, datetime.fromisoformat(i.time)))
    obs_cls, obs_row = _classify_points(geom, opts)
    inc_cls, inc_row = _classify_points(geom, ipts)
    # the latest evidence: a post manned until 08:00 is evidence until 08:00, not its start
    times = [o.time for o in obs] + [o.end_time for o in obs if o.end_time is not None]
    ev = Evidence(obs, incs, obs_cls, obs_row, inc_cls, inc_row, max(times) if times else None,
                  coverage=coverage)
    if geom is not None and inc_cls is not None:
        sig = np.full(len(ipts), np.nan)
        for i in incs:
            loc = _where_inc(i)
            if i.id in inc_row and loc is not None and loc.sigma_m is not None:
                sig[inc_row[i.id]] = loc.sigma_m
        ev.inc_sector = assignable_sectors(
            inc_cls.sector, inc_cls.chainage_m, inc_cls.dist_m, sig,
            [(s.line, s.from_km, s.to_km) for s in geom.spec.sectors], geom.sector_max_m,
        )
    for o in obs:
        ev.by_kind.setdefault(o.kind.value, []).append(o)
        ev.obs_by_id[o.id] = o
    return ev


def _in_window(t: datetime, start: datetime, end: datetime | None) -> bool:
    return t >= start and (end is None or t < end)


def _party_at(cls: Classification | None, row: int | None, parties: Sequence[str]) -> str | None:
    if cls is None or row is None:
        return None
    k = int(cls.control[row])
    return parties[k] if k >= 0 else None


class _Builder:
    """Collects findings for one provision with the fields every finding shares."""

    def __init__(self, agreement: Agreement, provision: Provision) -> None:
        self.a = agreement
        self.p = provision
        self.start, self.end = agreement.window(provision)
        self.out: list[Finding] = []
        self.violators: set[str] = set()
        #: party -> how many records bear on that party's side or forces (evidence about it)
        self.relevant: dict[str, int] = {}

    def saw(self, party: str | None) -> None:
        """Count one record as evidence about ``party`` (its side of the line or its forces)."""
        if party is not None:
            self.relevant[party] = self.relevant.get(party, 0) + 1

    def doubt(self, f: Finding, party: str) -> str | None:
        """Why an open finding keeps ``party`` from being found compliant, else None.

        A violation attributed at the agreement's confidence is settled (one event, one party);
        an unattributed violation could be anyone's; an undecided finding counts against every
        party whose probability reaches the agreement's doubt threshold (when the finding has
        no probabilities: against the party it names, or everyone when it names none).
        """
        if not f.evidence or f.verdict is Verdict.COMPLIANT:
            return None
        what = f"incident {f.incident_id}" if f.incident_id else "record " + ", ".join(f.evidence)
        if f.verdict is Verdict.VIOLATION:
            return f"unattributed {what}" if f.party is None else None
        probs = f.details.get("probabilities")
        if probs:
            p = float(probs.get(party, 0.0))
            return f"undecided {what} (P({party})={p:.2f})" if p >= self.a.doubt_threshold else None
        if f.party is None or f.party == party:
            why = f.details.get("open")
            return f"undecided {what}" + (f" ({why})" if why else "")
        return None

    def add(
        self,
        verdict: Verdict,
        party: str | None,
        evidence: tuple[str, ...],
        why: str,
        kind: str = "event",
        **kw: Any,
    ) -> None:
        label = ""
        if self.p.optional:
            label += " [optional provision]"
        if self.p.illustrative:
            label += " [illustrative values]"
        self.out.append(
            Finding(
                id=finding_id(self.p.id, party, kind, evidence),
                provision_id=self.p.id,
                rule_kind=self.p.rule.kind,
                verdict=verdict,
                party=party,
                evidence=evidence,
                explanation=f"{self.p.id}{label}: {why}",
                window_start=_iso(self.start),
                window_end=_iso(self.end) if self.end else None,
                **kw,
            )
        )
        if verdict is Verdict.VIOLATION and party is not None:
            self.violators.add(party)

    def coverage_of(
        self, ev: Evidence, party: str, as_of: datetime | None
    ) -> tuple[float | None, str | None]:
        """The observed share of ``party``'s side in ``[start, as_of)`` for the kinds of event
        this rule needs, and why it is not enough (None: enough, or the rule is not spatial).

        A share below the agreement's ``min_coverage`` (0 switches the condition off) gives
        "not covered"; so does a record without monitoring assets (no coverage model).
        """
        kinds = RULE_COVERAGE_KINDS.get(self.p.rule.kind)
        need = self.a.min_coverage
        if kinds is None or need <= 0 or as_of is None:
            return None, None
        if ev.coverage is None:
            return None, (f"not covered: the record holds no monitoring assets (posts, patrols, "
                          f"cameras, arrays), so no share of {party}'s side is known to have "
                          f"been observed; min_coverage is {100 * need:.0f} %")
        share = ev.coverage.share(party, self.start, as_of, kinds)
        if share >= need:
            return round(share, 4), None
        what = ", ".join(sorted(kinds))
        return round(share, 4), (
            f"not covered: observed {100 * share:.0f} % of {party}'s side ({what}, within "
            f"{ev.coverage.band_m / 1e3:g} km of the line, {_iso(self.start)} to {_iso(as_of)}), "
            f"below min_coverage {100 * need:.0f} %")

    def summaries(self, ev: Evidence) -> None:
        """Per obligated party: compliant only with evidence about it, no violation and no doubt.

        "Insufficient evidence" says why: the open findings that could be the party's (an
        unattributed violation, or an undecided one with P(party) at or above the agreement's
        ``doubt_threshold``), or no relevant evidence about the party's side or forces.
        """
        if ev.as_of is None or ev.as_of < self.start:
            as_of = None
        else:
            as_of = ev.as_of if self.end is None else min(ev.as_of, self.end)
        window = f"{_iso(self.start)} to {_iso(self.end) if self.end else 'open'}"
        findings = list(self.out)
        for party in self.p.obligated:
            if party in self.violators:
                continue
            doubts = [d for f in findings if (d := self.doubt(f, party)) is not None]
            relevant = self.relevant.get(party, 0)
            cov, not_covered = self.coverage_of(ev, party, as_of)
            # A ceasefire is kept by *not* firing: watching a party's side and seeing no fire
            # from it is evidence about it, as much as an incident located there.
            watched = self.p.rule.kind == "ceasefire" and bool(cov)
            if doubts and as_of is not None:
                shown = "; ".join(doubts[:3]) + (
                    f"; and {len(doubts) - 3} more" if len(doubts) > 3 else ""
                )
                self.add(
                    Verdict.INSUFFICIENT_EVIDENCE,
                    party,
                    (),
                    f"no violation attributed to {party} in the window {window}, but "
                    f"{len(doubts)} open findings could be {party}'s ({shown}; doubt threshold "
                    f"{self.a.doubt_threshold:g}), so {party} is not found compliant "
                    f"(as of {_iso(as_of)})",
                    kind="summary",
                    time=_iso(as_of),
                )
            elif as_of is None or (relevant == 0 and not watched):
                self.add(
                    Verdict.INSUFFICIENT_EVIDENCE,
                    party,
                    (),
                    f"no relevant evidence about {party}'s side or forces in the window "
                    f"{window}, so no determination for {party}",
                    kind="summary",
                    time=_iso(self.end) if self.end else None,
                )
            elif not_covered is not None:
                self.add(Verdict.INSUFFICIENT_EVIDENCE, party, (), not_covered, kind="summary",
                         time=_iso(as_of) if as_of else None, coverage=cov)
            else:
                basis = (
                    f"{relevant} relevant records about {party}'s side or forces"
                    if relevant
                    else f"{party}'s side observed ({100 * (cov or 0):.0f} %) and no fire from it"
                )
                self.add(
                    Verdict.COMPLIANT,
                    party,
                    (),
                    f"{basis} in the window {window}, none shows a violation by {party} "
                    f"(as of {_iso(as_of)})",
                    kind="summary",
                    time=_iso(as_of),
                    coverage=cov,
                )


def _precision_of(
    inc: Incident, loc: Located | None, ev: Evidence
) -> tuple[float | None, str | None]:
    """An incident's 1-sigma location uncertainty (metres) and its sources' precision label
    (that of the least precise report, e.g. "oblast, UCDP where_prec 4")."""
    sigma = loc.sigma_m if loc is not None else None
    worst: tuple[float, str] | None = None
    for oid in inc.evidence:
        o = ev.obs_by_id.get(oid)
        if o is not None and o.location_precision:
            u = o.location_uncertainty_m or 0.0
            if worst is None or u > worst[0]:
                worst = (u, o.location_precision)
    return sigma, worst[1] if worst else None


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


def _check_ceasefire(b: _Builder, rule: CeasefireRule, ev: Evidence, parties: list[str]) -> int:
    a, conf = b.a, b.a.attribution_confidence
    relevant = 0
    loc_line = a.geography.line_of_contact if a.geography else None
    for inc in ev.incidents:
        if inc.kind != Kind.FIRE.value:
            continue
        t = datetime.fromisoformat(inc.time)
        if not _in_window(t, b.start, b.end):
            continue
        if rule.fire_types and inc.fire_type not in [f.value for f in rule.fire_types]:
            continue
        row = ev.inc_row.get(inc.id)
        cls = ev.inc_cls
        loc = _where_inc(inc)
        sigma, plabel = _precision_of(inc, loc, ev)
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
            b.saw(_party_at(cls, row, parties))
        # What was counted, in its own unit and from its source (a GED event is no explosion).
        unit, sources = incident_records(inc, ev.obs_by_id)
        counted = {"counted": {"unit": unit.value, "sources": sources}}
        what = describe(unit, inc.count, sources, inc.explosion_type)
        if inc.weapon_class:
            wc = inc.weapon_class
            what += ", weapon not known" if wc == "unknown" else f", {wc}"
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
            owner = _party_at(cls, row, parties)
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
            + (f" (95 % ellipse {ell['semi_major_m']:.0f} x {ell['semi_minor_m']:.0f} m)"
               if ell else "")
            + f", {dtext}"
            + (f", from {len(inc.evidence)} reports" if len(inc.evidence) > 1 else "")
        )
        if best is not None and pbest >= conf:
            b.add(
                Verdict.VIOLATION,
                best,
                inc.evidence,
                f"{what} {when}; {where}, in the area controlled by {best} ({ptxt})",
                confidence=round(pbest, 4),
                distance_m=dist,
                details={"probabilities": probs, "ellipse": ell, **counted, **located},
                **common,
            )
        else:
            why = (
                f"attribution below the agreed confidence {conf:.2f} ({ptxt}); a bearing from a "
                "second post or a crater analysis would settle it"
                if best is not None
                else "the origin lies in no party's area of control (water, a third country, or "
                "control not known there), so it is attributed to no party"
            )
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                best,
                inc.evidence,
                f"{what} {when}; {where}; {why}",
                confidence=round(pbest, 4),
                distance_m=dist,
                details={"probabilities": probs, "ellipse": ell, **counted, **located},
                **common,
            )
    return relevant


def _check_withdrawal(b: _Builder, rule: WithdrawalRule, ev: Evidence, parties: list[str]) -> int:
    """Sightings of covered weapons within the withdrawal distance of their owner's line.

    A sighting is evidence about its owner only (affiliation, else the area of control it lies
    in): a weapon on one side says nothing about the other side's withdrawal. A sighting whose
    calibre is unknown where the provision has a calibre band cannot be decided within the
    distance ("insufficient evidence"); beyond it, it is compliant whatever its calibre.
    """
    a = b.a
    assert a.geography is not None
    thr = rule.within_km * 1000.0
    sel = rule.weapons.describe()
    relevant = 0
    for o in ev.by_kind.get(Kind.WEAPON_SIGHTING.value, []):
        if not _in_window(o.time, b.start, b.end):
            continue
        wc, cal = o.resolved_weapon()
        covered = rule.weapons.covers(wc, cal, o.system)
        if covered is False:
            continue
        row = ev.obs_row.get(o.id)
        cls = ev.obs_cls
        desc = " ".join(
            x
            for x in (
                f"{cal:g} mm" if cal else "",
                wc.value if wc else "",
                f"({o.system})" if o.system else "",
            )
            if x
        )
        desc = f"{o.count} x {desc}"
        if covered is None:
            desc += " of unknown calibre"
        if o.lon is None or row is None or cls is None:
            relevant += 1
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                None,
                (o.id,),
                f"{desc} reported at {_iso(o.time)} without an event location: neither its "
                f"owner nor its distance from a line can be told",
                time=_iso(o.time),
                weapon_class=wc.value if wc else None,
            )
            continue
        if not cls.in_aoi[row]:
            continue
        owner = o.affiliation if o.affiliation in parties else _party_at(cls, row, parties)
        if owner is None or owner not in b.p.obligated:
            continue
        relevant += 1
        b.saw(owner)
        line = (
            a.geography.line_of_contact
            if rule.measured_from == "line_of_contact"
            else a.reference_line(owner)
        )
        d = (
            float(cls.dist_to_ref_m[owner][row])
            if rule.measured_from == "reference_line"
            else float(cls.dist_m[line][row])
        )
        sigma = o.location_uncertainty_m or 0.0
        kw: dict[str, Any] = dict(
            time=_iso(o.time),
            lon=o.lon,
            lat=o.lat,
            distance_m=round(d, 1),
            threshold_m=thr,
            weapon_class=wc.value if wc else None,
        )
        if d - 2 * sigma > thr:
            continue  # beyond the distance (at 95 %): compliant whatever the calibre
        if covered is None:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                owner,
                (o.id,),
                f"{desc} sighted at {_iso(o.time)} {_km(d)} from {owner}'s reference line "
                f"'{line}', within the {rule.within_km:g} km withdrawal distance, but its "
                f"calibre is unknown, so it cannot be told whether the provision ({sel}) "
                f"covers it; a calibre or a named system would settle it",
                details={"open": "calibre unknown"},
                **kw,
            )
        elif d <= thr and d + 2 * sigma <= thr:
            b.add(
                Verdict.VIOLATION,
                owner,
                (o.id,),
                f"{desc} sighted at {_iso(o.time)} {_km(d)} from {owner}'s reference line "
                f"'{line}', within the {rule.within_km:g} km withdrawal distance for {sel}, "
                f"after the deadline {_iso(b.start)}",
                **kw,
            )
        else:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                owner,
                (o.id,),
                f"{desc} sighted {_km(d)} ± {_km(2 * sigma)} (95 %) from {owner}'s reference "
                f"line '{line}', too close to the {rule.within_km:g} km limit to decide; a "
                f"located sighting within {_km(abs(thr - d))} would settle it",
                **kw,
            )
    return relevant


def _check_presence(b: _Builder, rule: PresenceRule, ev: Evidence, parties: list[str]) -> int:
    """Foreign contingents hosted on a party's territory (or in a zone).

    Nationalities are compared as ISO 3166 codes (:mod:`truceline.core.nationality`). The host
    is ``territory_of`` or, for a zone, the party holding the place; the host's own nationality
    is always allowed. Forces of *another party* on the host's territory are an incursion (a
    ceasefire matter), not a contingent the host hosts: not evidence for this provision. A
    mission under a mandate the rule exempts is allowed only when it is reported unarmed; its
    label alone never exempts. An unknown nationality gives "insufficient evidence" naming it.
    """
    relevant = 0
    allowed = {c for n in rule.allowed_nationalities if (c := country_code(n)) is not None}
    own = {p.id: country_code(p.nationality) for p in b.a.parties if p.nationality}
    exempt = {m.strip().lower() for m in rule.exempt_unarmed_missions}
    for o in ev.by_kind.get(Kind.PRESENCE.value, []):
        if not _in_window(o.time, b.start, b.end):
            continue
        if o.presence_category is not None and o.presence_category not in rule.categories:
            continue
        row = ev.obs_row.get(o.id)
        cls = ev.obs_cls
        if row is None or cls is None or not cls.in_aoi[row]:
            continue
        holder = _party_at(cls, row, parties)
        if rule.territory_of is not None:
            inside = holder == rule.territory_of
            host: str | None = rule.territory_of
            terr = f"territory held by {rule.territory_of}"
        else:
            inside = bool(cls.zone[rule.zone][row])  # type: ignore[index]
            host = holder
            terr = f"zone '{rule.zone}'" + (f" (held by {holder})" if holder else "")
        if not inside:
            continue
        if host in b.p.obligated:
            party: str | None = host
        elif len(b.p.obligated) == 1:
            party = b.p.obligated[0]
        else:
            party = None  # a zone whose holder at that place is not known: could be either's
        what = f"{o.count} x {o.presence_category or 'presence'}"
        label = f" under the label '{o.unit_label}'" if o.unit_label else ""
        kw: dict[str, Any] = dict(time=_iso(o.time), lon=o.lon, lat=o.lat)
        code = country_code(o.nationality) if o.nationality is not None else None
        by_party = o.affiliation if o.affiliation in parties else None
        if by_party is None and code is not None:
            by_party = next((pid for pid, c in own.items() if c == code), None)
        if by_party is not None and by_party != host:
            # another party's forces where the host holds the ground: not hosted by the host
            continue
        relevant += 1
        b.saw(party)
        at = f"in {terr} at {_iso(o.time)}"
        if o.nationality is None:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                party,
                (o.id,),
                f"{what}{label} seen {at}, nationality not established",
                **kw,
            )
            continue
        if code is None:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                party,
                (o.id,),
                f"{what}{label} seen {at}: nationality {o.nationality!r} is not a known state "
                "(ISO 3166 name or code, or a demonym), so whether it is foreign is not known",
                **kw,
            )
            continue
        if code in allowed or (host is not None and own.get(host) == code):
            continue
        nat = f"{country_name(code)} ({code})"
        mandate = (o.mandate or "").strip()
        if mandate.lower() in exempt and mandate:
            if o.armed is False:
                continue  # an unarmed mission under a mandate the provision exempts
            if o.armed is None:
                b.add(
                    Verdict.INSUFFICIENT_EVIDENCE,
                    party,
                    (o.id,),
                    f"{what} of {nat}{label} under the mandate '{mandate}' {at}: the provision "
                    f"allows unarmed missions under that mandate, and whether they were armed "
                    "was not reported",
                    **kw,
                )
                continue
            reason = (
                f"armed, so not covered by the exemption for unarmed missions under "
                f"'{mandate}'; foreign contingents are prohibited under any label"
            )
        else:
            reason = "foreign contingents are prohibited under any label"
            if mandate:
                reason += f" (the mandate '{mandate}' is not one the provision exempts)"
        b.add(
            Verdict.VIOLATION,
            party,
            (o.id,),
            f"{what} of {nat}{label} {at}: {reason}",
            details={"nationality": code},
            **kw,
        )
    return relevant


def _check_movement(b: _Builder, rule: MovementRule, ev: Evidence, parties: list[str]) -> int:
    relevant = 0
    for o in ev.by_kind.get(Kind.RESTRICTION.value, []):
        if not _in_window(o.time, b.start, b.end):
            continue
        if rule.restriction_types and o.restriction_type not in rule.restriction_types:
            continue
        relevant += 1
        row = ev.obs_row.get(o.id)
        cls = ev.obs_cls
        rtype = o.restriction_type.value if o.restriction_type else "restriction"
        where = _where_obs(o)
        kw: dict[str, Any] = dict(
            time=_iso(o.time), lon=where[0] if where else None, lat=where[1] if where else None
        )
        party = _party_at(cls, row, parties)
        b.saw(party)
        if party is None:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                None,
                (o.id,),
                f"{rtype} at {_iso(o.time)} where control is not known",
                **kw,
            )
        elif party in b.p.obligated:
            b.add(
                Verdict.VIOLATION,
                party,
                (o.id,),
                f"{rtype} of the monitors at {_iso(o.time)} in the area controlled by {party}"
                + (f": {o.description}" if o.description else ""),
                **kw,
            )
    return relevant


def _check_limit(b: _Builder, rule: LimitRule, ev: Evidence, parties: list[str]) -> int:
    decl = ev.by_kind.get(Kind.DECLARATION.value, []) + ev.by_kind.get(Kind.INSPECTION.value, [])
    return check_limit(b, rule, decl, ev.as_of)


_CHECKS = {
    "ceasefire": _check_ceasefire,
    "withdrawal": _check_withdrawal,
    "prohibited_presence": _check_presence,
    "freedom_of_movement": _check_movement,
    "quantitative_limit": _check_limit,
}


def check(agreement: Agreement, geom: CompiledGeometry | None, ev: Evidence) -> list[Finding]:
    """Every provision's findings, in the canonical order."""
    parties = [p.id for p in agreement.parties]
    out: list[Finding] = []
    for prov in agreement.provisions:
        b = _Builder(agreement, prov)
        _CHECKS[prov.rule.kind](b, prov.rule, ev, parties)  # type: ignore[operator]
        if prov.rule.kind == "quantitative_limit":
            limit_summaries(b, prov.rule)
        else:
            b.summaries(ev)
        out.extend(b.out)
    assert set(_CHECKS) == set(RULE_EVIDENCE)
    return sort_findings(out)

