"""Detection of a day's firing events by the simulated sources, written as observation records.

Each event emits twice (at the origin: outgoing fire, a muzzle flash; at the impact: the burst).
Every source that is active and not restricted detects an emission with the probability its
error model gives for that distance, weapon, time of day and (cameras) field of view
(:mod:`truceline.simulation.sources`); each detection becomes one record, formatted column-wise into
JSON text (:class:`~truceline.simulation.records.ObsBatch`) and linked to its event and part.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.random import Generator
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from truceline.core.geo import GEOD
from truceline.simulation.ground_truth import Events
from truceline.simulation.records import ObsBatch, iso_ns, json_str
from truceline.simulation.sources import (
    camera_fields,
    detection_probability,
    monitor_fields,
    sensor_fields,
)
from truceline.simulation.world import CAMERA, F64, I64, PATROL, POST, S_NS, SENSOR, Sources, World

_MONITOR = (',"kind":"fire","time":"%s","time_precision":"minute","source_id":%s,'
            '"source_type":"monitor","observer_lon":%r,"observer_lat":%r,"bearing_deg":%r,'
            '"bearing_sd_deg":%r,"distance_min_m":%r,"distance_max_m":%r,'
            '"fire_type":"explosion","explosion_type":%s,"count":%r%s}\n')
_SENSOR = (',"kind":"fire","time":"%s","time_precision":"second","source_id":%s,'
           '"source_type":"sensor","observer_lon":%r,"observer_lat":%r,"fire_type":"explosion",'
           '"explosion_type":"undetermined","count":1,"arrival_time":"%s","temperature_c":%r,'
           '"wind_u_ms":%r,"wind_v_ms":%r}\n')
_SENSOR_NO_WIND = _SENSOR.replace(',"wind_u_ms":%r,"wind_v_ms":%r', "")
_CAMERA = (',"kind":"fire","time":"%s","time_precision":"second","source_id":%s,'
           '"source_type":"camera","observer_lon":%r,"observer_lat":%r,"bearing_deg":%r,'
           '"bearing_sd_deg":%r,"fire_type":"muzzle_flash","count":%r}\n')


def link_key(event: NDArray[Any], part: NDArray[Any],
             wild: NDArray[Any] | None = None) -> list[int]:
    """The link of a fire report to its event: ``event * 4 + part * 2 + wild``."""
    k = np.asarray(event, np.int64) * 4 + np.asarray(part, np.int64) * 2
    if wild is not None:
        k = k + np.asarray(wild, np.int64)
    return k.tolist()


def detect(scn: World, rng: Generator, day_ns: int, src: Sources, act_a: I64, act_b: I64,
           restricted: NDArray[np.bool_], evs: Events,
           batch: ObsBatch) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
    """Add the reports of ``evs`` to ``batch``; return, per event, whether it was observable
    (some source could detect it), observable without the day's restrictions, and whether its
    origin (the firing, which attribution needs) was observable."""
    p, n = scn.p, len(evs)
    wpn, rounds, airburst = evs.wpn, evs.rounds, evs.airburst
    hours = scn.local_hours(day_ns)
    # emissions: origins (outgoing, flash) then impacts
    ex, ey = np.concatenate([evs.ox, evs.ix]), np.concatenate([evs.oy, evs.iy])
    elon, elat = np.concatenate([evs.olon, evs.ilon]), np.concatenate([evs.olat, evs.ilat])
    et = np.concatenate([evs.t, evs.t_imp])
    epart = np.repeat(np.array([0, 1], np.int8), n)
    ev = np.concatenate([np.arange(n), np.arange(n)])
    lh = hours[np.clip((et - day_ns) // (3600 * S_NS), 0, 23)]
    night = (lh >= p.night_hours[0]) | (lh < p.night_hours[1])
    temp = temperature(scn, rng, lh)
    wind_u, wind_v = (float(v) for v in rng.normal(0.0, p.wind_sd_ms, 2))
    if scn.wind is not None:  # one steady wind for the run (the day's draw is still made)
        wind_u, wind_v = scn.wind
    reach_e = np.zeros(2 * n, bool)
    reach_all = np.zeros(2 * n, bool)
    hits_e, hits_s = [], []
    # only pairs within the longest detection range can have a chance; the uniform draws are
    # still made for every (emission, source) pair, so the stream does not depend on this
    far = 1.0 + 1e3 * max(max(max(w.audible_km) for w in scn.weapons),
                          max(w.sensor_km for w in scn.weapons), max(p.camera_range_km))
    tree = cKDTree(np.column_stack([src.x, src.y]))
    m_src = len(src.ids)
    for c0 in range(0, 2 * n, 2048):
        sl = slice(c0, min(2 * n, c0 + 2048))
        near = cKDTree(np.column_stack([ex[sl], ey[sl]])).sparse_distance_matrix(
            tree, far, output_type="coo_matrix")
        key = np.unique(near.row.astype(np.int64) * m_src + near.col)
        pe, ps = key // m_src, key % m_src
        e_abs = pe + c0
        P = probabilities(scn, ex[e_abs], ey[e_abs], night[e_abs], wpn[ev[e_abs]],
                          epart[e_abs], src, ps)
        P *= (et[e_abs] >= act_a[ps]) & (et[e_abs] < act_b[ps])
        reach_all[e_abs[P > 0]] = True
        P *= ~restricted[ps]
        reach_e[e_abs[P > 0]] = True
        u = rng.random((sl.stop - c0, m_src))
        hit = u[pe, ps] < P
        hits_e.append(e_abs[hit])
        hits_s.append(ps[hit])
    ei, sj = np.concatenate(hits_e), np.concatenate(hits_s)
    az, _, gd = GEOD.inv(src.lon[sj], src.lat[sj], elon[ei], elat[ei])
    az, gd = np.asarray(az) % 360.0, np.asarray(gd)
    role = src.role[sj]
    olon_r, olat_r = np.round(src.lon[sj], 6), np.round(src.lat[sj], 6)
    sid_json = [json_str(s) for s in src.ids]

    def sids(m: I64) -> list[str]:
        return [src.ids[i] for i in sj[m].tolist()]

    def sids_json(m: I64) -> list[str]:
        return [sid_json[i] for i in sj[m].tolist()]

    m = np.flatnonzero((role == POST) | (role == PATROL))
    if len(m):
        e = ev[ei[m]]
        f = monitor_fields(rng, p, gd[m], az[m], et[ei[m]], night[ei[m]], epart[ei[m]],
                           airburst[e], wpn[e], rounds[e], src.clock_s[sj[m]],
                           src.bias_deg[sj[m]])
        etype = {v: json_str(v) for v in set(f["etype"].tolist())}
        wcls = {v: (f',"weapon_class":{json_str(v)}' if v else "")
                for v in set(f["weapon"].tolist())}
        bodies = [_MONITOR % (tx, sid, ox_, oy_, br, sd, d0, d1, etype[et_], cnt, wcls[wc])
                  for tx, sid, ox_, oy_, br, sd, d0, d1, et_, cnt, wc in zip(
                      iso_ns(f["time_ns"]), sids_json(m), olon_r[m].tolist(),
                      olat_r[m].tolist(), f["bearing"].tolist(), f["sd"].tolist(),
                      f["dmin"].tolist(), f["dmax"].tolist(), f["etype"].tolist(),
                      f["count"].tolist(), f["weapon"].tolist(), strict=True)]
        batch.add("fire", "monitor", f["time_ns"], sids(m), bodies,
                  link_key(e, epart[ei[m]], f["wild"]))
    m = np.flatnonzero(role == SENSOR)
    if len(m):
        e = ev[ei[m]]
        f = sensor_fields(rng, p, gd[m], az[m], et[ei[m]], temp[ei[m]], wind_u, wind_v)
        cols = [iso_ns(f["time_ns"]), sids_json(m), olon_r[m].tolist(), olat_r[m].tolist(),
                iso_ns(f["arrival_ns"], "us"), f["temp"].tolist()]
        if p.sensor_reports_wind:
            bodies = [_SENSOR % row for row in zip(*cols, f["wu"].tolist(), f["wv"].tolist(),
                                                    strict=True)]
        else:
            bodies = [_SENSOR_NO_WIND % row for row in zip(*cols, strict=True)]
        batch.add("fire", "sensor", f["arrival_ns"], sids(m), bodies, link_key(e, epart[ei[m]]))
    m = np.flatnonzero(role == CAMERA)
    if len(m):
        e = ev[ei[m]]
        f = camera_fields(rng, p, az[m], et[ei[m]], rounds[e],
                          src.clock_s[sj[m]] if p.camera_clock_sd_s > 0 else None)
        sd = p.camera_bearing_sd_deg
        bodies = [_CAMERA % (tx, sid, ox_, oy_, br, sd, cnt) for tx, sid, ox_, oy_, br, cnt in zip(
            iso_ns(f["time_ns"]), sids_json(m), olon_r[m].tolist(), olat_r[m].tolist(),
            f["bearing"].tolist(), f["count"].tolist(), strict=True)]
        batch.add("fire", "camera", f["time_ns"], sids(m), bodies,
                  link_key(e, np.zeros(len(m), np.int64)))
    return reach_e[:n] | reach_e[n:], reach_all[:n] | reach_all[n:], reach_e[:n]


def probabilities(scn: World, ex: F64, ey: F64, night: NDArray[np.bool_], wpn: I64,
                  part: NDArray[np.int8], src: Sources, sj: I64) -> F64:
    """Detection probability of each emission by the source ``sj`` of the same index (before
    activity); one value per (emission, source) pair."""
    p, W = scn.p, scn.weapons
    D = np.hypot(ex - src.x[sj], ey - src.y[sj])
    P = np.zeros_like(D)
    ni = night.astype(np.intp)
    role = src.role[sj]
    mon = (role == POST) | (role == PATROL)
    aud = np.array([w.audible_km for w in W])[wpn, ni] * 1e3
    P[mon] = detection_probability(D[mon], aud[mon], p.detect_prob)
    sen = role == SENSOR
    rs = np.array([w.sensor_km for w in W])[wpn] * 1e3
    P[sen] = detection_probability(D[sen], rs[sen], p.sensor_detect_prob)
    cam = role == CAMERA
    if cam.any():
        rc = np.asarray(p.camera_range_km)[ni] * 1e3
        pc = np.asarray(p.camera_detect_prob)[ni]
        sc = sj[cam]
        az = np.degrees(np.arctan2(ex[cam] - src.x[sc], ey[cam] - src.y[sc]))
        off = np.abs((az - src.facing[sc] + 180.0) % 360.0 - 180.0)
        fov = (off <= p.camera_fov_deg / 2) & (part[cam] == 0)
        P[cam] = detection_probability(D[cam], rc[cam], pc[cam]) * fov
    return P


def temperature(scn: World, rng: Generator, local_hour: NDArray[np.int64]) -> F64:
    """Air temperature at each local hour of the day (a daily mean, plus a diurnal cycle)."""
    p = scn.p
    mean = p.temperature_mean_c + rng.normal(0.0, p.temperature_daily_sd_c)
    return np.asarray(mean + p.temperature_diurnal_c
                      * np.cos(2 * np.pi * (local_hour - 15) / 24.0), float)
