"""Ground truth of a simulated scenario: the day's firing events and their truth records.

Events are drawn per sector (its heat, the day's escalation, a daily rhythm), per side and
weapon class, with an origin behind the firing side's part of the line and an impact across it
(placed by :meth:`~truceline.simulation.world.World.place`, so both lie where classify says they
should). Their truth records carry origin, impact, time, party, weapon, the provisions the firing
violates, and (filled in by the day) the observations that report them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.random import Generator
from numpy.typing import NDArray

from truceline.core.catalogue import SYSTEMS
from truceline.core.classify import Classification
from truceline.core.provisions import CeasefireRule
from truceline.core.taxonomy import WeaponClass
from truceline.simulation.records import iso_ns
from truceline.simulation.world import F64, I64, S_NS, World, ns_of, rounded


@dataclass
class Events:
    """A day's true firing events, in time order (index ``i`` is event id ``ids[i]``)."""

    ids: list[str]
    sec: I64
    side: I64
    wpn: I64
    t: I64
    t_imp: I64
    rounds: I64
    system: list[str]
    airburst: NDArray[np.bool_]
    ox: F64
    oy: F64
    olon: F64
    olat: F64
    ix: F64
    iy: F64
    ilon: F64
    ilat: F64
    origin_dist_m: F64
    violates: list[list[str]]

    def __len__(self) -> int:
        return len(self.ids)


def draw_events(scn: World, rng: Generator, d: int, day_ns: int) -> Events | None:
    """Day ``d``'s firing events (None if there are none)."""
    p, W = scn.p, scn.weapons
    a = np.array([x[1] for x in scn.sectors])
    b = np.array([x[2] for x in scn.sectors])
    lam = np.array([scn.rate(hi - lo) for lo, hi in zip(a, b, strict=True)])
    nk = rng.poisson(lam * scn.heat * scn.escalation[d])
    sec = np.repeat(np.arange(len(nk)), nk)
    n = len(sec)
    if n == 0:
        return None
    s = rng.uniform(a[sec], b[sec])
    p0, p1 = scn.side_parties
    side = np.where(rng.random(n) < 0.5, p0, p1)
    other = np.where(side == p0, p1, p0)
    shares = np.array([w.share for w in W])
    wpn = rng.choice(len(W), n, p=shares / shares.sum())
    hours = scn.local_hours(day_ns)
    rate = np.asarray(p.hourly_rhythm)[hours]
    slot = rng.choice(24, n, p=rate / rate.sum())
    t = day_ns + slot * 3600 * S_NS + rng.integers(0, 3600 * S_NS, n)
    col = lambda f: np.array([f(w) for w in W])[wpn]  # noqa: E731
    depth = rng.uniform(col(lambda w: w.origin_depth_km[0]),
                        col(lambda w: w.origin_depth_km[1]))
    rounds = 1 + rng.poisson(col(lambda w: w.rounds_mean - 1.0))
    system = [W[k].systems[j % len(W[k].systems)]
              for k, j in zip(wpn.tolist(), rng.integers(0, 1 << 30, n).tolist(), strict=True)]
    reach = col(lambda w: w.max_range_km)
    tlo = col(lambda w: w.target_depth_km[0])
    thi = np.maximum(np.minimum(col(lambda w: w.target_depth_km[1]), reach - depth), tlo)
    tdepth = rng.uniform(tlo, thi)
    s_imp = s + rng.normal(0.0, 2_000.0, n)
    ox, oy, olon, olat, ook, ocls = scn.place(rng, scn.loc, s, depth, side, t)
    ix, iy, ilon, ilat, iok, _ = scn.place(rng, scn.loc, s_imp, tdepth, other, t)
    dist = np.hypot(ix - ox, iy - oy)
    ok = ook & iok & (dist <= reach * 1e3)
    order = np.flatnonzero(ok)[np.argsort(t[ok], kind="stable")]
    n = len(order)
    if n == 0:
        return None
    sec, side, wpn, t, rounds, dist = (v[order] for v in (sec, side, wpn, t, rounds, dist))
    ox, oy, olon, olat, ix, iy, ilon, ilat = (
        v[order] for v in (ox, oy, olon, olat, ix, iy, ilon, ilat))
    system = [system[i] for i in order.tolist()]
    speed = np.array([w.flight_speed_ms for w in W])[wpn]
    t_imp = t + (dist / speed * 1e9).astype(np.int64)
    airburst = np.isin(wpn, [i for i, w in enumerate(W) if w.weapon_class in (
        WeaponClass.MORTAR, WeaponClass.TUBE_ARTILLERY)]) & (rng.random(n) < p.airburst_share)
    eids = [f"e-{scn.seed}-{d:03d}-{i:05d}" for i in range(n)]
    violates = ceasefire_truth(scn, t, side, ocls, order)
    return Events(eids, sec, side, wpn, t, t_imp, rounds, system, airburst, ox, oy, olon, olat,
                  ix, iy, ilon, ilat, ocls.dist_m[scn.loc][order], violates)


def ceasefire_truth(scn: World, t: I64, side: NDArray[Any], ocls: Classification,
                    order: I64) -> list[list[str]]:
    """The ceasefire provisions each event violates (in force, obligating its side, in zone)."""
    out: list[list[str]] = [[] for _ in range(len(t))]
    for prov in scn.agreement.provisions:
        r = prov.rule
        if not isinstance(r, CeasefireRule):
            continue
        if r.fire_types and not {"explosion", "muzzle_flash"} & {f.value for f in r.fire_types}:
            continue
        w0, w1 = scn.agreement.window(prov)
        m = (t >= ns_of(w0)) & (t < (ns_of(w1) if w1 is not None else np.iinfo(np.int64).max))
        m &= np.isin(side, [scn.parties.index(x) for x in prov.obligated])
        if r.zone is not None:
            m &= ocls.zone[r.zone][order]
        for i in np.flatnonzero(m):
            out[i].append(prov.id)
    return out


def event_records(scn: World, ev: Events, observable: NDArray[np.bool_],
                  observable_all: NDArray[np.bool_], observable_origin: NDArray[np.bool_]
                  ) -> list[dict[str, Any]]:
    """Truth records of the events, with empty report lists for the day to fill."""
    W, n = scn.weapons, len(ev)
    sys_cal = {x.name: x.calibre_mm for x in SYSTEMS}
    t_iso, ti_iso = iso_ns(ev.t, "ms"), iso_ns(ev.t_imp, "ms")
    o_lon, o_lat = rounded(ev.olon, 6), rounded(ev.olat, 6)
    i_lon, i_lat = rounded(ev.ilon, 6), rounded(ev.ilat, 6)
    odist = rounded(ev.origin_dist_m, 1)
    party = [scn.parties[k] for k in ev.side.tolist()]
    wclass = [W[k].weapon_class.value for k in ev.wpn.tolist()]
    sector = [scn.sectors[k][0] for k in ev.sec.tolist()]
    rounds, airburst = ev.rounds.tolist(), ev.airburst.tolist()
    obs, obs_all = observable.tolist(), observable_all.tolist()
    obs_o = observable_origin.tolist()
    return [{"type": "event", "id": ev.ids[i], "time": t_iso[i], "party": party[i],
             "weapon_class": wclass[i], "system": ev.system[i],
             "calibre_mm": sys_cal.get(ev.system[i]), "rounds": rounds[i], "sector": sector[i],
             "origin": {"lon": o_lon[i], "lat": o_lat[i], "dist_to_line_m": odist[i]},
             "impact": {"lon": i_lon[i], "lat": i_lat[i], "time": ti_iso[i]},
             "airburst": airburst[i], "observable": obs[i],
             "observable_without_restrictions": obs_all[i], "observable_origin": obs_o[i],
             "violates": ev.violates[i], "reports": {"origin": [], "impact": []}}
            for i in range(n)]
