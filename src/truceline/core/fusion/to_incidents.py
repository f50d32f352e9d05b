"""Fusion results to :class:`~truceline.core.incidents.Incident` values, and :func:`fuse`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.batch import (
    ROLE_ANY,
    ROLE_IMPACT,
    ROLE_ORIGIN,
    batch_from_columns,
    report_columns,
)
from truceline.core.fusion.calibration import SourceCalibration
from truceline.core.fusion.calibration_days import Prior
from truceline.core.fusion.day_stats import ErrorStats
from truceline.core.fusion.locate import M_ARRIVAL, M_BAND, M_BEARING, M_POINT, ellipse
from truceline.core.fusion.pipeline import FusionParams, FusionResult, fuse_batch
from truceline.core.geo import Projection, choose_projection
from truceline.core.incidents import Incident, Located, singleton
from truceline.core.observations import Observation, from_micros
from truceline.core.taxonomy import Kind

__all__ = ["Reports", "fuse", "fuse_columns", "fuse_with_sources", "incidents_from",
           "source_records"]

F64 = NDArray[np.float64]
#: Lone reports read again (:func:`incidents_from`) this many at a time.
_READ_PART = 10_000
I64 = NDArray[np.int64]


def _iso(epoch: np.datetime64, s: float) -> str:
    t = epoch + np.timedelta64(round(s * 1e6), "us")
    return str(np.datetime_as_string(t, unit="s")) + "Z"


def _isos(epoch: np.datetime64, s: F64) -> list[str | None]:
    """:func:`_iso` of each of ``s`` in one call (one by one: ~0.02 ms each); None where
    ``s`` is not finite (:func:`_iso` says why)."""
    ok = np.isfinite(s)
    us = np.round(np.where(ok, s, 0.0) * 1e6).astype(np.int64)
    text = np.datetime_as_string(epoch + us.astype("timedelta64[us]"), unit="s")
    return [t + "Z" if k else None for t, k in zip(text.tolist(), ok.tolist(), strict=True)]


def _modes(values: NDArray[np.object_], key: I64, rows: I64, K: int) -> NDArray[np.object_]:
    """The mode of each of ``K`` sets of rows at once: of ``values[rows]``, where ``key``
    (sorted, ``rows`` in their order within each set) names each row's set, the most common
    value but None, the first seen of a tie (None when there is none); a Counter per
    incident was a quarter of making the month's incidents."""
    out = np.full(K, None, object)
    table: dict[Any, int] = {}
    code = np.fromiter((-1 if v is None else table.setdefault(v, len(table))
                        for v in values[rows].tolist()), np.int64, len(rows))
    named = np.flatnonzero(code >= 0)
    if not len(named):
        return out
    pos = np.arange(len(rows))
    k, c, p = key[named], code[named], pos[named]
    o = np.lexsort((p, c, k))  # each (set, value)'s run, its first position first
    k, c, p = k[o], c[o], p[o]
    head = np.r_[True, (k[1:] != k[:-1]) | (c[1:] != c[:-1])]
    at = np.flatnonzero(head)
    n = np.diff(np.r_[at, len(k)])
    rk, rc, rp = k[at], c[at], p[at]
    best = np.lexsort((rp, -n, rk))  # per set: the most rows, then the first seen
    first = best[np.r_[True, rk[best][1:] != rk[best][:-1]]]
    names = np.empty(len(table), object)
    names[:] = list(table)
    out[rk[first]] = names[rc[first]]
    return out


def _rows_of(reports: Sequence[Observation]) -> Reports:
    return lambda rows: [reports[k] for k in rows]


def _utc_text(us: int) -> str:
    """A report's own time from its microseconds, as ``Observation.time`` writes it (UTC)."""
    return from_micros(us).isoformat().replace("+00:00", "Z")


def _true_frame(proj: Projection, lon: F64, lat: F64, cov: F64) -> F64:
    """Grid covariance to true east/north metres: undo the convergence and the scale."""
    f = pyproj.Proj(proj.crs).get_factors(lon, lat)
    g = np.radians(np.asarray(f.meridian_convergence, float))
    k = np.asarray(f.meridional_scale, float)
    c, s = np.cos(g), np.sin(g)
    R = np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], -2) / k[:, None, None]
    return np.asarray(R @ cov @ np.swapaxes(R, -1, -2), float)


def _ellipse_details(lon: F64, lat: F64, cov: F64) -> list[dict[str, float]]:
    a, b, az = ellipse(cov)
    phi = np.radians(lat)
    m_lat = 111_132.954 - 559.822 * np.cos(2 * phi)
    m_lon = 111_412.84 * np.cos(phi)
    D = np.zeros_like(cov)
    D[:, 0, 0], D[:, 1, 1] = 1.0 / m_lon, 1.0 / m_lat
    ad, bd, azd = ellipse(D @ cov @ D)
    return [
        {"semi_major_m": round(float(a[i]), 1), "semi_minor_m": round(float(b[i]), 1),
         "angle_deg": round(float(az[i]), 2),
         "width_deg": float(2 * ad[i]), "height_deg": float(2 * bd[i]),
         "map_angle_deg": round(float(90.0 - azd[i]), 2), "confidence": 0.95}
        for i in range(len(a))
    ]


_METHODS = ((M_BEARING, "bearings"), (M_BAND, "distance_bands"), (M_POINT, "reported_locations"),
            (M_ARRIVAL, "arrival_times"))


#: The reports of some of a batch's rows, in the order of the rows asked for.
Reports = Callable[[Sequence[int]], Sequence[Observation]]


def incidents_from(r: FusionResult, reports: Reports | Sequence[Observation] | None = None,
                   time_us: NDArray[np.int64] | None = None) -> list[Incident]:
    """One :class:`Incident` per group, in order of each group's first report.

    With ``reports`` (the batch's rows as a list in the same order, or a function that reads
    the rows asked for: a check holds no object per report), a group of one report that could
    not be located keeps :func:`~truceline.core.incidents.singleton`'s answer. With
    ``time_us`` (each row's time in microseconds from the Unix epoch), a group of one report
    keeps that report's own time, to the microsecond, as its singleton would.
    """
    b, fx = r.batch, r.fixes
    G = r.n_groups
    lon, lat = np.full(G, np.nan), np.full(G, np.nan)
    loc = np.flatnonzero(fx.located)
    if len(loc):
        lon[loc], lat[loc] = b.projection.inverse(fx.x[loc], fx.y[loc])
    cov_t = np.full((G, 2, 2), np.nan)
    ell: dict[int, dict[str, float]] = {}
    if len(loc):
        cov_t[loc] = _true_frame(b.projection, lon[loc], lat[loc], fx.cov[loc])
        ell = dict(zip(loc.tolist(), _ellipse_details(lon[loc], lat[loc], cov_t[loc]),
                       strict=True))
    order = np.lexsort((np.arange(len(b)), r.labels))
    starts = np.searchsorted(r.labels[order], np.arange(G + 1))
    out = []
    partner = r.partner if len(r.partner) == G else np.full(G, -1, np.int64)
    lone = np.flatnonzero((np.diff(starts) == 1) & ~fx.located[:G] & (partner < 0))
    single: dict[int, Incident] = {}  # read and turned into incidents a part at a time
    rows1 = order[starts[lone]].tolist() if reports is not None else []
    read = reports if callable(reports) or reports is None else _rows_of(reports)
    for at in range(0, len(rows1), _READ_PART):
        part = rows1[at : at + _READ_PART]
        got = read(part) if read is not None else []
        single.update(zip(part, map(singleton, got), strict=True))
    told = np.flatnonzero(~((partner >= 0) & (r.role[:G] == ROLE_IMPACT)))
    col = _Told.of(r, told, order, starts, partner)
    for j, g in enumerate(told.tolist()):
        rows = order[starts[g]:starts[g + 1]]
        if partner[g] >= 0:
            h = int(partner[g])
            rows_i = order[starts[h]:starts[h + 1]]
            out.append(_linked(r, g, h, rows, rows_i, lon, lat, cov_t, ell, col, j))
            continue
        ids = [str(v) for v in b.ids[rows]]
        if len(rows) == 1 and int(rows[0]) in single:
            out.append(single.pop(int(rows[0])))
            continue
        where = None
        details: dict[str, Any] = {"n_reports": len(rows), "n_sources": int(col.sources[j])}
        if fx.located[g]:
            c = cov_t[g]
            where = Located(float(lon[g]), float(lat[g]),
                            (float(c[0, 0]), float(c[0, 1]), float(c[1, 1])))
            details["ellipse"] = ell[g]
            details["method"] = [name for bit, name in _METHODS if fx.method[g] & bit]
            details["residual_rms"] = round(float(fx.rms[g]), 3)
            bad = [str(v) for v in b.ids[rows[fx.outlier[rows]]]]
            if bad:
                details["outliers"] = sorted(bad)
        probs: dict[str, float] = {}
        if r.parties and r.role[g] == ROLE_ORIGIN and fx.located[g]:
            probs = {party: round(float(r.prob[g, k]), 4) for k, party in enumerate(r.parties)}
            details["attribution_unassigned"] = round(max(0.0, 1.0 - float(r.prob[g].sum())), 4)
        role = int(r.role[g])
        time = (_utc_text(int(time_us[rows[0]])) if len(rows) == 1 and time_us is not None
                else col.time[j] or _iso(b.epoch, r.time_s[g]))
        out.append(Incident(
            id="i-" + min(ids), kind=Kind.FIRE.value, time=time, evidence=tuple(sorted(ids)),
            fire_type=col.fire_type[j], explosion_type=col.explosion_type[j],
            weapon_class=col.weapon_class[j], count=int(col.count[j]),
            origin=where if role == ROLE_ORIGIN else None,
            impact=where if role == ROLE_IMPACT else None,
            location=where if role == ROLE_ANY else None,
            party_probability=probs, details=details,
        ))
    return out


@dataclass(frozen=True)
class _Told:
    """What each incident takes of its reports, for every incident at once (the groups
    ``told``, each with its partner's reports after its own): its time, the most common
    fire type, explosion type and weapon class (:func:`_modes`), the largest count and how
    many sources; per-incident numpy calls and Counters were a third of making them."""

    time: list[str | None]
    fire_type: NDArray[np.object_]
    explosion_type: NDArray[np.object_]
    weapon_class: NDArray[np.object_]
    count: I64
    sources: I64

    @classmethod
    def of(cls, r: FusionResult, told: I64, order: I64, starts: I64, partner: I64) -> _Told:
        b = r.batch
        J = len(told)
        size = np.diff(starts)

        def spans(groups: I64, at: I64) -> tuple[I64, I64]:
            n = size[groups]
            within = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
            return np.repeat(at, n), order[np.repeat(starts[groups], n) + within]

        linked = np.flatnonzero(partner[told] >= 0)
        key_o, rows_o = spans(told, np.arange(J))
        key_i, rows_i = spans(partner[told[linked]], linked)
        o = np.lexsort((np.r_[np.zeros(len(key_o), np.int8), np.ones(len(key_i), np.int8)],
                        np.r_[key_o, key_i]))  # stable: each part's rows in their order
        key, rows = np.r_[key_o, key_i][o], np.r_[rows_o, rows_i][o]
        explosion = _modes(b.explosion_type, key, rows, J)
        out_o = _modes(b.explosion_type, key_o, rows_o, J)[linked] == "outgoing"
        explosion[linked[out_o]] = "outgoing"
        count = np.full(J, np.iinfo(np.int64).min, np.int64)
        np.maximum.at(count, key, np.asarray(b.count, np.int64)[rows])
        S = int(b.source.max()) + 1 if len(b.source) else 1
        pairs = np.unique(key * S + np.asarray(b.source, np.int64)[rows])
        return cls(_isos(b.epoch, r.time_s[told]), _modes(b.fire_type, key, rows, J),
                   explosion, _modes(b.weapon_class, key, rows, J), count,
                   np.bincount(pairs // S, minlength=J))


def _linked(r: FusionResult, g: int, h: int, rows_o: I64, rows_i: I64, lon: F64, lat: F64,
            cov_t: F64, ell: dict[int, dict[str, float]], col: _Told, j: int) -> Incident:
    """One incident (``col``'s ``j``) for an origin group ``g`` and its impact group ``h``."""
    b, fx = r.batch, r.fixes
    rows = np.concatenate([rows_o, rows_i])
    ids = [str(v) for v in b.ids[rows]]

    def where(k: int) -> Located:
        c = cov_t[k]
        return Located(float(lon[k]), float(lat[k]), (float(c[0, 0]), float(c[0, 1]),
                                                      float(c[1, 1])))

    def methods(k: int) -> list[str]:
        return [name for bit, name in _METHODS if fx.method[k] & bit]

    details: dict[str, Any] = {
        "n_reports": len(rows), "n_sources": int(col.sources[j]),
        "ellipse": ell[g], "impact_ellipse": ell[h], "method": methods(g),
        "impact_method": methods(h), "residual_rms": round(float(fx.rms[g]), 3),
        "origin_evidence": sorted(str(v) for v in b.ids[rows_o]),
        "impact_evidence": sorted(str(v) for v in b.ids[rows_i]),
    }
    bad = [str(v) for v in b.ids[rows[fx.outlier[rows]]]]
    if bad:
        details["outliers"] = sorted(bad)
    probs: dict[str, float] = {}
    if r.parties:
        probs = {party: round(float(r.prob[g, k]), 4) for k, party in enumerate(r.parties)}
        details["attribution_unassigned"] = round(max(0.0, 1.0 - float(r.prob[g].sum())), 4)
    return Incident(
        id="i-" + min(ids), kind=Kind.FIRE.value, time=col.time[j] or _iso(b.epoch, r.time_s[g]),
        evidence=tuple(sorted(ids)), fire_type=col.fire_type[j],
        explosion_type=col.explosion_type[j], weapon_class=col.weapon_class[j],
        count=int(col.count[j]),
        origin=where(g), impact=where(h), location=None,
        party_probability=probs, details=details,
    )


def fuse(
    observations: Sequence[Observation],
    geometry: CompiledGeometry | None,
    parties: Sequence[str],
    *,
    params: FusionParams | None = None,
) -> list[Incident]:
    """Fire observations to incidents: grouped, located (95 % ellipse) and attributed.

    ``parties`` limits the probabilities reported (all of the geometry's parties when empty).
    Observations of other kinds are ignored. Without ``geometry`` a projection is chosen for
    the reports' own area and no attribution is made.
    """
    return fuse_with_sources(observations, geometry, parties, params=params)[0]


def fuse_with_sources(
    observations: Sequence[Observation],
    geometry: CompiledGeometry | None,
    parties: Sequence[str],
    *,
    params: FusionParams | None = None,
) -> tuple[list[Incident], list[dict[str, Any]]]:
    """:func:`fuse`, and what the shared events say about each source that reported a
    bearing or was timed by the acoustic arrays (:func:`source_records`)."""
    fire = [o for o in observations if o.kind is Kind.FIRE]
    return fuse_columns(report_columns(fire), geometry, parties,
                        lambda rows: [fire[k] for k in rows], params=params)


def fuse_columns(
    cols: Mapping[str, NDArray[Any]],
    geometry: CompiledGeometry | None,
    parties: Sequence[str],
    reports: Reports,
    *,
    params: FusionParams | None = None,
    fused: Callable[[], object] | None = None,
    settle: Callable[[], object] | None = None,
    prior_samples: Prior | None = None,
    prior_errors: ErrorStats | None = None,
    kept: Callable[[FusionResult], object] | None = None,
    given: bool = False,
    report: bool = True,
) -> tuple[list[Incident], list[dict[str, Any]]]:
    """:func:`fuse_with_sources` of fire reports given as columns
    (:func:`~truceline.core.fusion.batch.report_columns`); ``reports`` reads the few rows
    that stay alone and unlocated (:func:`incidents_from`). ``fused`` is called once the
    fusion's working arrays are freed, before the incidents are made (where a check gives
    the memory they held back to the system); ``settle`` once the batch is made (what making
    it freed: ~0.2 GB at 907k reports) and after each grouping
    (:func:`~truceline.core.fusion.pipeline.fuse_batch`). ``prior_samples``,
    ``prior_errors``: :func:`~truceline.core.fusion.pipeline.fuse_batch`'s (the days before
    the batch's, for a check that fuses only new days); ``kept`` is called with the
    fusion's result before the incidents are made (what such a check keeps of each day).
    ``given``: ``cols`` (a dict) is the caller's to give up: once the batch is made, every
    column but ``id`` and ``time_us`` (what the incidents read) is taken out of it, so that
    none is held through fusion beside the batch's own (~0.1 GB at 907k reports, at the
    check's peak). ``report`` False: no per-source records (``[]``, where fusion makes them
    per day: :func:`~truceline.core.fusion.pipeline.fuse_batch`)."""
    p = params or FusionParams()
    n = len(cols["id"])
    if not n:
        return [], []
    if geometry is not None:
        proj = geometry.projection
    else:
        has_o, has_e = np.isfinite(cols["observer_lon"]), np.isfinite(cols["lon"])
        if not (has_o.any() or has_e.any()):
            return [singleton(o) for o in reports(range(n))], []
        a = np.concatenate([np.stack([cols["observer_lon"][has_o], cols["observer_lat"][has_o]], 1),
                            np.stack([cols["lon"][has_e], cols["lat"][has_e]], 1)])
        proj = choose_projection((a[:, 0].min(), a[:, 1].min(), a[:, 0].max(), a[:, 1].max()))
    b = batch_from_columns(cols, proj, p.grouping, p.days)
    names = np.unique(np.asarray(cols["source_id"]).astype(str))
    if given and isinstance(cols, dict):
        for k in [k for k in cols if k not in ("id", "time_us")]:
            del cols[k]
    if settle is not None:
        settle()
    res = fuse_batch(b, geometry, p, settle=settle, names=names,
                     prior_samples=prior_samples, prior_errors=prior_errors, report=report)
    if kept is not None:
        kept(res)
    if fused is not None:
        fused()
    out = incidents_from(res, reports, cols["time_us"])
    if parties:  # in place: a second list of the month's incidents cost ~0.13 GB at 907k
        keep = set(parties)
        for k, inc in enumerate(out):
            if not keep.issuperset(inc.party_probability):  # else the same dict
                out[k] = Incident(**{**inc.__dict__, "party_probability": {
                    p: v for p, v in inc.party_probability.items() if p in keep}})
    return out, source_records(res.calibration, names)


def source_records(cal: SourceCalibration | None, names: NDArray[Any]) -> list[dict[str, Any]]:
    """One plain record per source with something to estimate from, in source-id order:
    ``source_id``, ``bearings``, ``reports_used`` (bearings with a leave-one-out reference),
    ``bias_deg`` +- ``bias_se_deg``, ``flagged``, ``corrected_deg`` (what fusion subtracted),
    ``wild_rate``, ``timed`` and ``clock_offset_s`` +- ``clock_se_s`` (None where unknown).
    ``names``: the batch's sources, unless ``cal`` names its own (a day fused again reports
    the earlier days' sources too)."""
    if cal is None:
        return []
    ids = np.asarray(names if cal.names is None else cal.names).astype(str)

    def num(v: float, nd: int) -> float | None:
        return round(float(v), nd) if np.isfinite(v) else None

    out = []
    have = np.flatnonzero((cal.bearings > 0) | (cal.timed > 0))
    for i in have[np.argsort(ids[have], kind="stable")].tolist():
        out.append({
            "source_id": str(ids[i]), "bearings": int(cal.bearings[i]),
            "reports_used": int(cal.used[i]), "bias_deg": num(cal.bias_deg[i], 2),
            "bias_se_deg": num(cal.bias_se_deg[i], 2), "flagged": bool(cal.flagged[i]),
            "corrected_deg": num(cal.correction_deg[i], 2),
            "wild_rate": num(cal.wild_rate[i], 3), "timed": int(cal.timed[i]),
            "clock_offset_s": num(cal.clock_offset_s[i], 1),
            "clock_se_s": num(cal.clock_se_s[i], 1),
        })
    return out
