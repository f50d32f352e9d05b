"""Planted provision evidence: what the simulator puts in the record for every rule kind.

Heavy weapons inside and beyond a withdrawal distance, foreign contingents (and allowed or
unknown nationalities), restrictions of the monitors, declarations over and under a limit. The
truth of each item (which provisions it violates, by whom) is computed from the geometry and
the agreement's windows, not assumed. Functions of a
:class:`~truceline.simulation.world.World` (a scenario's setup).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from numpy.random import Generator

from truceline.core.catalogue import SYSTEMS
from truceline.core.classify import Classification
from truceline.core.provisions import LimitRule, MovementRule, PresenceRule, WithdrawalRule
from truceline.core.taxonomy import RestrictionType
from truceline.simulation.records import ObsBatch, iso_ns
from truceline.simulation.world import DAY_NS, F64, I64, PATROL, S_NS, Sources, World, ns_of


def plan_planted(scn: World) -> dict[int, list[tuple[str, Any, int, int]]]:
    """Which day each planted item falls on: uniformly over the days the provision is in
    force within the run (none if it is never in force during the run)."""
    a, rng = scn.agreement, scn.rng
    planted: dict[int, list[tuple[str, Any, int, int]]] = {}
    end_ns = scn.start_ns + scn.days * DAY_NS
    for prov in a.provisions:
        r = prov.rule
        w0, w1 = a.window(prov)
        lo = max(scn.start_ns, ns_of(w0))
        hi = min(end_ns, ns_of(w1) if w1 is not None else end_ns)
        items: list[tuple[str, int]] = []
        if isinstance(r, WithdrawalRule) and scn.geom is not None:
            for party in prov.obligated:
                pi = scn.parties.index(party)
                items += [("withdrawal_in", pi)] * scn.p.withdrawal_violations
                items += [("withdrawal_out", pi)] * scn.p.withdrawal_compliant
        elif isinstance(r, PresenceRule) and scn.geom is not None:
            items += [("presence_foreign", 0)] * scn.p.presence_violations
            items += [("presence_allowed", 0)] * scn.p.presence_compliant
            items += [("presence_unknown", 0)] * scn.p.presence_unknown
        elif isinstance(r, LimitRule) and r.limit is not None and not r.steps:
            # (baseline-relative and phased limits are not planted: their bound is per party)
            for k, party in enumerate(prov.obligated):
                pi = scn.parties.index(party)
                kind = "limit_over" if k == 0 else "limit_under"
                items += [(kind, pi)] * scn.p.limit_declarations
            if hi <= lo:  # a data exchange on the limit's first day still counts
                lo, hi = ns_of(w0), ns_of(w0) + DAY_NS
        if hi <= lo:
            continue
        for kind, pi in items:
            t = int(rng.integers(lo, hi))
            day = max(0, min(scn.days - 1, (t - scn.start_ns) // DAY_NS))
            planted.setdefault(int(day), []).append((kind, prov, pi, t))
    return planted


def restriction(scn: World, rng: Generator, d: int, src: Sources, i: int, t: int,
                batch: ObsBatch, truth: list[dict[str, Any]],
                denied_radius_m: float | None = None) -> None:
    """Source ``i`` is stopped at ``t`` for the rest of the day; with ``denied_radius_m`` the
    disc of that radius around it is denied to every asset (a denial of access)."""
    allowed: set[RestrictionType] = set(RestrictionType)
    for prov in scn.agreement.provisions:
        if isinstance(prov.rule, MovementRule) and prov.rule.restriction_types:
            allowed &= set(prov.rule.restriction_types)
    choices = sorted(allowed or set(RestrictionType))
    weights = np.array([{"checkpoint": 5, "denial_of_access": 3}.get(c.value, 1)
                        for c in choices], float)
    rtype = choices[int(rng.choice(len(choices), p=weights / weights.sum()))]
    if denied_radius_m is not None and RestrictionType.DENIAL_OF_ACCESS in choices:
        rtype = RestrictionType.DENIAL_OF_ACCESS
    lon, lat, c = float(src.lon[i]), float(src.lat[i]), None
    _, _, c = scn.classify_xy(src.x[i:i + 1], src.y[i:i + 1], np.array([t]))
    ctl = int(c.control[0])
    who = scn.parties[ctl] if ctl >= 0 else None
    what = "patrol" if src.role[i] == PATROL else "observation post"
    item = f"p-{scn.seed}-{d:03d}-r{i:04d}"
    violates = [prov.id for prov in scn.agreement.provisions
                if isinstance(prov.rule, MovementRule) and who in prov.obligated
                and in_window(scn, prov, t)
                and (not prov.rule.restriction_types or rtype in prov.rule.restriction_types)]
    truth.append({"type": "planted", "id": item, "kind": "freedom_of_movement",
                  "intent": "restriction", "party": who,
                  "time": iso_ns(np.array([t]))[0], "lon": round(lon, 6), "lat": round(lat, 6),
                  "source_id": src.ids[i], "restriction_type": rtype.value,
                  "coverage_lost": f"{what} {src.ids[i]} for the day" + (
                      f", and every asset within {denied_radius_m:g} m of it"
                      if denied_radius_m else ""),
                  **({"denied_radius_m": denied_radius_m} if denied_radius_m else {}),
                  "violates": violates, "observation_ids": []})
    rec = {"id": "", "kind": "restriction", "time": iso_ns(np.array([t - t % (60 * S_NS)]))[0],
           "time_precision": "minute", "source_id": src.ids[i], "source_type": "monitor",
           "observer_lon": round(lon, 6), "observer_lat": round(lat, 6),
           "count": 1, "restriction_type": rtype.value,
           # stopped for the rest of the simulated day (the source observes nothing that day)
           "end_time": iso_ns(np.array([scn.start_ns + (d + 1) * DAY_NS]))[0]}
    if denied_radius_m:
        rec["denied_radius_m"] = float(denied_radius_m)
    rec["description"] = f"{what} stopped ({rtype.value.replace('_', ' ')})" + (
        f", area of {denied_radius_m / 1e3:g} km radius denied" if denied_radius_m else "")
    batch.add_record(t, rec, item)

def in_window(scn: World, prov: Any, t_ns: int) -> bool:
    w0, w1 = scn.agreement.window(prov)
    return ns_of(w0) <= t_ns and (w1 is None or t_ns < ns_of(w1))


def plant(scn: World, rng: Generator, d: int, kind: str, prov: Any, pi: int, t: int,
          batch: ObsBatch,
           truth: list[dict[str, Any]]) -> None:
    item = f"p-{scn.seed}-{d:03d}-x{len(truth):04d}"
    base: dict[str, Any] = {"type": "planted", "id": item, "kind": prov.rule.kind,
                            "planted_for": prov.id, "intent": kind,
                            "time": iso_ns(np.array([t]))[0]}
    tmin = iso_ns(np.array([t - t % (60 * S_NS)]))[0]
    if kind.startswith("limit"):
        r: LimitRule = prov.rule
        assert r.limit is not None
        over = kind == "limit_over"
        f = rng.uniform(1.02, 1.15) if over else rng.uniform(0.85, 1.0)
        q = float(round(r.limit * f))
        day = datetime.fromtimestamp(t / 1e9, UTC).astimezone(scn.agreement.tz).date()
        party = scn.parties[pi]
        violates = [x.id for x in scn.agreement.provisions if isinstance(x.rule, LimitRule)
                    and x.rule.category == r.category and party in x.obligated
                    and x.rule.limit is not None and q > x.rule.limit
                    and in_window(scn, x, t)]
        truth.append({**base, "party": party, "category": r.category, "quantity": q,
                      "as_of": day.isoformat(), "violates": violates, "observation_ids": []})
        rec = {"id": "", "kind": "declaration", "time": tmin, "time_precision": "minute",
               "source_id": f"party-{party.lower()}", "source_type": "party", "count": 1,
               "party": party, "category": r.category, "quantity": q,
               "as_of": day.isoformat()}
        batch.add_record(t, rec, item)
        return
    tt = np.array([t], np.int64)
    if kind.startswith("withdrawal"):
        r2: WithdrawalRule = prov.rule
        wsys = [x for x in SYSTEMS if r2.weapons.matches(x.weapon_class, x.calibre_mm, x.name)]
        if not wsys:
            return
        ws = wsys[int(rng.integers(len(wsys)))]
        line = scn.loc if r2.measured_from == "line_of_contact" \
            else scn.agreement.reference_line(scn.parties[pi])
        far = max(x.rule.within_km for x in scn.agreement.provisions
                  if isinstance(x.rule, WithdrawalRule)
                  and x.rule.weapons.matches(ws.weapon_class, ws.calibre_mm, ws.name))
        lo = min(1.0, r2.within_km * 0.3)
        where = None
        for _ in range(10):  # the line bends: keep the spot only if its distance is as meant
            depth = rng.uniform(lo, max(lo + 0.1, r2.within_km - 2.0)) \
                if kind == "withdrawal_in" else far + rng.uniform(3.0, 15.0)
            where = _spot(scn, rng, line, np.array([depth]), pi, tt)
            if where is not None:
                dd = float(where[4].dist_m[line][0])
                if (dd <= r2.within_km * 1e3 - 500.0) if kind == "withdrawal_in" \
                        else (dd >= far * 1e3 + 1000.0):
                    break
                where = None
        if where is None:
            return
        x, y, lon, lat, c = where
        party = scn.parties[pi]
        violates = []
        for x2 in scn.agreement.provisions:
            r3 = x2.rule
            if not (isinstance(r3, WithdrawalRule) and party in x2.obligated
                    and in_window(scn, x2, t)
                    and r3.weapons.matches(ws.weapon_class, ws.calibre_mm, ws.name)):
                continue
            dd = c.dist_to_ref_m[party][0] if r3.measured_from == "reference_line" \
                else c.dist_m[scn.loc][0]
            if dd <= r3.within_km * 1e3:
                violates.append(x2.id)
        count = int(rng.integers(1, 5))
        truth.append({**base, "party": party, "lon": lon, "lat": lat, "system": ws.name,
                      "weapon_class": ws.weapon_class.value, "calibre_mm": ws.calibre_mm,
                      "count": count,
                      "dist_to_line_m": round(float(c.dist_to_ref_m[party][0]), 1),
                      "violates": violates, "observation_ids": []})
        obs = _observer(scn, rng, x, y, tt)
        rec = {"id": "", "kind": "weapon_sighting", "time": tmin, "time_precision": "minute",
               "source_id": f"patrol-{party.lower()}-hw", "source_type": "monitor",
               "observer_lon": obs[0], "observer_lat": obs[1], "lon": lon, "lat": lat,
               "location_uncertainty_m": scn.p.sighting_uncertainty_m, "count": count,
               "weapon_class": ws.weapon_class.value}
        if ws.calibre_mm is not None:
            rec["calibre_mm"] = float(ws.calibre_mm)
        rec |= {"system": ws.name, "affiliation": party}
        batch.add_record(t, rec, item)
        return
    # prohibited presence
    r4: PresenceRule = prov.rule
    holder = scn.parties.index(r4.territory_of) if r4.territory_of else None
    where = _presence_spot(scn, rng, r4, holder, tt)
    if where is None:
        return
    x, y, lon, lat, c = where
    foreign = [n for n in scn.p.foreign_nationalities
               if n.lower() not in {a.lower() for a in r4.allowed_nationalities}]
    nat = r4.allowed_nationalities[0] if kind == "presence_allowed" \
        else foreign[int(rng.integers(len(foreign)))]
    label = {"presence_foreign": "reassurance force", "presence_allowed": "",
             "presence_unknown": "volunteers"}[kind]
    violates, who = [], None
    for x2 in scn.agreement.provisions:
        r5 = x2.rule
        if not (isinstance(r5, PresenceRule) and in_window(scn, x2, t)):
            continue
        if r5.territory_of is not None:
            inside = int(c.control[0]) == scn.parties.index(r5.territory_of)
        else:
            inside = bool(c.zone[str(r5.zone)][0])
        allowed = {a.lower() for a in r5.allowed_nationalities}
        if inside and nat.lower() not in allowed and "unit" in [v.value for v in r5.categories]:
            violates.append(x2.id)
            who = r5.territory_of if r5.territory_of in x2.obligated else x2.obligated[0]
    count = int(rng.integers(30, 300))
    truth.append({**base, "party": who, "lon": lon, "lat": lat, "nationality": nat,
                  "reported_nationality": None if kind == "presence_unknown" else nat,
                  "count": count, "violates": violates, "observation_ids": []})
    obs = _observer(scn, rng, x, y, tt)
    rec = {"id": "", "kind": "presence", "time": tmin, "time_precision": "minute",
           "source_id": "patrol-presence", "source_type": "monitor",
           "observer_lon": obs[0], "observer_lat": obs[1], "lon": lon, "lat": lat,
           "location_uncertainty_m": scn.p.sighting_uncertainty_m, "count": count}
    if kind != "presence_unknown":
        rec["nationality"] = nat
    if label:
        rec["unit_label"] = label
    rec["presence_category"] = "unit"
    batch.add_record(t, rec, item)

def _spot(scn: World, rng: Generator, line: str, depth: F64, pi: int, tt: I64
          ) -> tuple[float, float, float, float, Classification] | None:
    s = rng.uniform(0.0, scn.track(line).total, 1)
    x, y, lon, lat, ok, c = scn.place(rng, line, s, depth, np.array([pi]), tt, tries=20)
    if not ok[0]:
        return None
    return float(x[0]), float(y[0]), round(float(lon[0]), 6), round(float(lat[0]), 6), c

def _presence_spot(scn: World, rng: Generator, r: PresenceRule, holder: int | None, tt: I64
                   ) -> tuple[float, float, float, float, Classification] | None:
    if holder is not None:
        return _spot(scn, rng, scn.loc, np.array([rng.uniform(5.0, 40.0)]), holder, tt)
    assert scn.geom is not None
    zone = next(z for z in scn.geom.spec.zones if z.id == r.zone)
    for _ in range(20):
        if zone.polygon is not None:
            w, s_, e, n = zone.polygon.bounds
            lon = rng.uniform(w, e, 64)
            lat = rng.uniform(s_, n, 64)
            x, y = scn.geom.projection.forward(lon, lat)
        else:
            side = scn.parties.index(zone.party_side) if zone.party_side \
                else scn.side_parties[int(rng.integers(2))]
            tr = scn.track(str(zone.line))
            cl = scn.geom.lines[str(zone.line)]
            sign = 1.0 if cl.left_party == side else -1.0
            width = float(zone.within_km or 1)
            x, y = tr.offset(rng.uniform(0, tr.total, 64),
                             sign * rng.uniform(0.5, width - 0.5, 64) * 1e3)
        lon, lat, c = scn.classify_xy(x, y, np.repeat(tt, 64))
        good = np.flatnonzero(c.in_aoi & c.zone[zone.id])
        if len(good):
            i = good[0]
            _, _, c1 = scn.classify_xy(x[i:i + 1], y[i:i + 1], tt)
            return (float(x[i]), float(y[i]), round(float(lon[i]), 6),
                    round(float(lat[i]), 6), c1)
    return None

def _observer(scn: World, rng: Generator, x: float, y: float, tt: I64) -> tuple[float, float]:
    """A monitor 300-1,500 m from what it reports (inside the area of interest)."""
    ang, dist = rng.uniform(0, 2 * np.pi), rng.uniform(300.0, 1500.0)
    ox, oy = np.array([x + dist * np.cos(ang)]), np.array([y + dist * np.sin(ang)])
    lon, lat, c = scn.classify_xy(ox, oy, tt)
    if not c.in_aoi[0]:
        lon, lat, _ = scn.classify_xy(np.array([x]), np.array([y]), tt)
    return round(float(lon[0]), 6), round(float(lat[0]), 6)
