"""Fusion: one incident per real event, located with an uncertainty ellipse, attributed to a side.

Three columnar stages over a :class:`FireBatch` (fire reports in one projected frame):
:func:`~truceline.core.fusion.grouping.group` links the reports of one event,
:func:`~truceline.core.fusion.locate.locate` estimates every group's origin or impact with a
covariance, and :func:`~truceline.core.fusion.attribution.attribute` integrates that
uncertainty over the parties' areas of control. :func:`fuse` wraps them for
:class:`~truceline.core.observations.Observation` lists and returns
:class:`~truceline.core.incidents.Incident` values; :func:`fuse_partitioned` runs the same
stages tile by tile and period by period (with a halo), so each partition can go to a worker.

Examples
--------
>>> from datetime import UTC, datetime
>>> from truceline.core.observations import Observation
>>> def report(i, lon, brg):
...     return Observation(id=f"r{i}", kind="fire", fire_type="explosion",
...                        explosion_type="outgoing", source_id=f"post{i}",
...                        time=datetime(2025, 3, 27, 20, 15, tzinfo=UTC),
...                        observer_lon=lon, observer_lat=48.0, bearing_deg=brg,
...                        bearing_sd_deg=2.0)
>>> [inc] = fuse([report(1, 37.9, 45.0), report(2, 38.1, 315.0)], None, ())
>>> inc.evidence, round(inc.origin.lat, 2), round(inc.origin.lon, 2)
(('r1', 'r2'), 48.07, 38.0)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyproj
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams, attribute
from truceline.core.fusion.grouping import (
    ROLE_ANY,
    ROLE_IMPACT,
    ROLE_ORIGIN,
    FireBatch,
    GroupingParams,
    candidates,
    group,
)
from truceline.core.fusion.link import LinkParams, link_origin_impact
from truceline.core.fusion.locate import (
    CHI2_95_2DOF,
    M_ARRIVAL,
    M_BAND,
    M_BEARING,
    M_POINT,
    Fixes,
    LocateParams,
    ellipse,
    locate,
)
from truceline.core.geo import Projection, choose_projection
from truceline.core.incidents import Incident, Located, singleton
from truceline.core.observations import Observation
from truceline.core.taxonomy import TIME_PRECISION_SECONDS, Kind

__all__ = [
    "CHI2_95_2DOF",
    "AttributionParams",
    "FireBatch",
    "FusionParams",
    "FusionResult",
    "GroupingParams",
    "LinkParams",
    "LocateParams",
    "batch_from_observations",
    "fuse",
    "fuse_batch",
    "fuse_partitioned",
    "incidents_from",
    "partitions",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class FusionParams:
    """All fusion settings; the defaults are the documented error models (docs/fusion.md)."""

    grouping: GroupingParams = field(default_factory=GroupingParams)
    locate: LocateParams = field(default_factory=LocateParams)
    attribution: AttributionParams = field(default_factory=AttributionParams)
    link: LinkParams = field(default_factory=LinkParams)
    #: Join an origin group and its impact group into one incident (:mod:`.link`).
    link_events: bool = True
    #: Partitions for :func:`fuse_partitioned`: square tiles of the plane and time periods,
    #: each widened by a halo in which the neighbours' reports are read but not owned.
    tile_m: float = 100_000.0
    period_s: float = 86_400.0
    halo_m: float = 25_000.0
    halo_s: float = 900.0


@dataclass(frozen=True, eq=False)
class FusionResult:
    """Columnar output: a group per report, and per group its fix, role, time, probabilities."""

    batch: FireBatch
    labels: I64  #: (n,) group of each report
    fixes: Fixes  #: per group
    role: NDArray[np.int8]  #: per group: ROLE_ORIGIN, ROLE_IMPACT or ROLE_ANY
    time_s: F64  #: per group: event time, seconds since the batch epoch
    prob: F64  #: (G, parties) attribution probabilities (zeros where not attributed)
    parties: tuple[str, ...]
    #: per group: the impact group linked to this origin group (or the origin linked to this
    #: impact group), -1 when none
    partner: I64 = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def n_groups(self) -> int:
        return len(self.role)


# -- observations to columns -------------------------------------------------------------------


def _epoch(obs: Sequence[Observation]) -> np.datetime64:
    t = min(o.time for o in obs)
    return np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "s")


def _seconds(t: datetime | None, epoch: np.datetime64) -> float:
    if t is None:
        return float("nan")
    dt = np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "us") - epoch
    return float(dt / np.timedelta64(1, "us")) * 1e-6


def batch_from_observations(
    obs: Sequence[Observation], projection: Projection, params: GroupingParams | None = None
) -> FireBatch:
    """The fire reports as columns (a single pass over the list; the rest is vectorised)."""
    epoch = _epoch(obs) if obs else np.datetime64("1970-01-01T00:00:00", "s")

    def col(get: Callable[[Observation], Any]) -> list[Any]:
        return [get(o) for o in obs]

    def f(v: float | None) -> float:
        return float("nan") if v is None else float(v)

    cols: dict[str, Any] = {
        "id": col(lambda o: o.id),
        "source_id": col(lambda o: o.source_id),
        "source_type": col(lambda o: o.source_type.value),
        "time_s": col(lambda o: _seconds(o.time, epoch)),
        "arrival_s": col(lambda o: _seconds(o.arrival_time, epoch)),
        "time_precision_s": col(lambda o: TIME_PRECISION_SECONDS[o.time_precision]),
        "fire_type": col(lambda o: o.fire_type.value if o.fire_type else None),
        "explosion_type": col(lambda o: o.explosion_type.value if o.explosion_type else None),
        "weapon_class": col(lambda o: (lambda w: w.value if w else None)(o.resolved_weapon()[0])),
        "count": col(lambda o: o.count),
    }
    for name in ("observer_lon", "observer_lat", "bearing_deg", "bearing_sd_deg",
                 "distance_min_m", "distance_max_m", "lon", "lat", "temperature_c",
                 "wind_u_ms", "wind_v_ms"):
        cols[name] = [f(getattr(o, name)) for o in obs]
    cols["location_sd_m"] = col(lambda o: f(o.location_uncertainty_m))
    return FireBatch.from_columns(cols, projection, epoch, params)


# -- the pipeline --------------------------------------------------------------------------------


def _group_roles(b: FireBatch, labels: I64, G: int) -> NDArray[np.int8]:
    n_o = np.bincount(labels, (b.role == ROLE_ORIGIN).astype(float), minlength=G)
    n_i = np.bincount(labels, (b.role == ROLE_IMPACT).astype(float), minlength=G)
    return np.where(n_o > 0, ROLE_ORIGIN, np.where(n_i > 0, ROLE_IMPACT, ROLE_ANY)).astype(np.int8)


def _group_times(b: FireBatch, labels: I64, fixes: Fixes, G: int) -> F64:
    """Emission time from arrival times when located by them, else the median report time."""
    order = np.lexsort((b.t, labels))
    starts = np.searchsorted(labels[order], np.arange(G))
    size = np.bincount(labels, minlength=G)
    med = b.t[order][starts + (size - 1) // 2]
    return np.where(fixes.located & (fixes.method & M_ARRIVAL > 0), fixes.t0, med)


def _detach(b: FireBatch, labels: I64, outlier: NDArray[np.bool_]) -> I64:
    """Give an outlying report its own group when nothing else in its group shares its role.

    A monitor's 'outgoing' report that joined the arrival times of the *impact* (sensors
    cannot tell the two apart) is an outlier of the fix; left in, it would make the impact's
    position an origin and attribute it to the side that was hit. A wild bearing among other
    bearings of the same origin stays: the robust fix already ignores it, and it counts once.
    """
    if not outlier.any() or not len(labels):
        return labels
    G = int(labels.max()) + 1
    specific = b.role != ROLE_ANY
    inlier = ~outlier
    same = np.zeros(len(b), bool)
    for role in (ROLE_ORIGIN, ROLE_IMPACT):
        has = np.bincount(labels, inlier & (b.role == role), minlength=G) > 0
        same |= (b.role == role) & has[labels]
    size = np.bincount(labels, minlength=G)
    go = np.flatnonzero(outlier & specific & ~same & (size[labels] > 1))
    if not len(go):
        return labels
    out = labels.copy()
    out[go] = G + np.arange(len(go))
    _, first, inv = np.unique(out, return_index=True, return_inverse=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inv]


def _locate_attribute(
    b: FireBatch, labels: I64, geometry: CompiledGeometry | None, params: FusionParams
) -> FusionResult:
    cd = candidates(b, params.grouping)
    fixes = locate(b, labels, cd, params.locate)
    labels = _detach(b, labels, fixes.outlier)
    G = int(labels.max()) + 1 if len(labels) else 0
    if len(fixes.x) != G:
        fixes = locate(b, labels, cd, params.locate)
    role = _group_roles(b, labels, G)
    tg = _group_times(b, labels, fixes, G)
    parties: tuple[str, ...] = geometry.spec.parties if geometry is not None else ()
    prob = np.zeros((G, len(parties)))
    if geometry is not None and G:
        want = fixes.located & (role == ROLE_ORIGIN)
        w = np.flatnonzero(want)
        when = b.epoch + np.round(tg[w] * 1e6).astype("timedelta64[us]")
        prob[w] = attribute(geometry, fixes.x[w], fixes.y[w], fixes.cov[w],
                            when.astype("datetime64[ns]"), params.attribution)
    partner = np.full(G, -1, np.int64)
    if params.link_events and G:
        partner = _link(b, labels, fixes, role, prob, geometry, params)
    return FusionResult(b, labels, fixes, role, tg, prob, parties, partner)


def _windows(b: FireBatch, labels: I64, fixes: Fixes, G: int) -> tuple[F64, F64]:
    """Each group's emission-time window: where its reports' windows overlap (their hull
    where they do not), or the multilateration's emission time and its range uncertainty."""
    lo, hi = np.full(G, -np.inf), np.full(G, np.inf)
    np.maximum.at(lo, labels, b.t_lo)
    np.minimum.at(hi, labels, b.t_hi)
    hull_lo, hull_hi = np.full(G, np.inf), np.full(G, -np.inf)
    np.minimum.at(hull_lo, labels, b.t_lo)
    np.maximum.at(hull_hi, labels, b.t_hi)
    bad = ~(lo <= hi)
    lo, hi = np.where(bad, hull_lo, lo), np.where(bad, hull_hi, hi)
    by_t = fixes.located & (fixes.method & M_ARRIVAL > 0)
    spread = 2.0 + 3.0 * np.sqrt(np.nan_to_num(np.trace(fixes.cov, axis1=1, axis2=2))) / 330.0
    lo = np.where(by_t, fixes.t0 - spread, lo)
    hi = np.where(by_t, fixes.t0 + spread, hi)
    return lo, hi


def _link(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], prob: F64,
          geometry: CompiledGeometry | None, params: FusionParams) -> I64:
    """Partner of each group (origin <-> impact of one shot), -1 when none."""
    G = len(role)
    partner = np.full(G, -1, np.int64)
    og = np.flatnonzero(fixes.located & (role == ROLE_ORIGIN))
    ig = np.flatnonzero(fixes.located & (role == ROLE_IMPACT))
    if not len(og) or not len(ig):
        return partner
    lo, hi = _windows(b, labels, fixes, G)
    # weapon class per group: the most common one its reports name
    wc = np.full(G, None, object)
    named = np.flatnonzero(b.weapon_class != None)  # noqa: E711
    if len(named):
        key = np.char.add(labels[named].astype(str), np.asarray(b.weapon_class[named], str))
        _, at, cnt = np.unique(key, return_index=True, return_counts=True)
        gl = labels[named][at]
        cl = b.weapon_class[named][at]
        order = np.lexsort((-cnt, gl))
        firsts = order[np.r_[True, gl[order][1:] != gl[order][:-1]]]
        wc[gl[firsts]] = cl[firsts]
    nparty = prob.shape[1]
    o_party = np.full(len(og), -1, np.int64)
    i_prob = np.zeros((len(ig), nparty))
    if nparty and geometry is not None:
        top = prob[og].argmax(axis=1)
        o_party = np.where(prob[og].max(axis=1) > 0.5, top, -1)
        when = b.epoch + np.round((lo[ig] + hi[ig]) / 2 * 1e6).astype("timedelta64[us]")
        i_prob = attribute(geometry, fixes.x[ig], fixes.y[ig], fixes.cov[ig],
                           when.astype("datetime64[ns]"), params.attribution)
    po, pi = link_origin_impact(
        fixes.x[og], fixes.y[og], fixes.cov[og], lo[og], hi[og], wc[og], o_party,
        fixes.x[ig], fixes.y[ig], fixes.cov[ig], lo[ig], hi[ig], wc[ig], i_prob, params.link)
    partner[og[po]] = ig[pi]
    partner[ig[pi]] = og[po]
    return partner


def fuse_batch(
    b: FireBatch, geometry: CompiledGeometry | None, params: FusionParams | None = None
) -> FusionResult:
    """Group, locate and attribute one batch in a single partition."""
    p = params or FusionParams()
    return _locate_attribute(b, group(b, p.grouping), geometry, p)


def partitions(b: FireBatch, params: FusionParams | None = None) -> list[tuple[I64, I64]]:
    """``(core, halo)`` rows of every partition (tile x period) that has reports.

    Every report is in exactly one core; a partition also reads the reports within
    ``halo_m`` / ``halo_s`` of its box, so that events on a border are grouped whole.
    """
    p = params or FusionParams()
    cd = candidates(b, p.grouping)
    x = np.where(cd.ok, cd.mx, 0.0)
    y = np.where(cd.ok, cd.my, 0.0)
    t = np.where(np.isfinite(b.t_lo + b.t_hi), (b.t_lo + b.t_hi) / 2, 0.0)
    ix, iy = np.floor(x / p.tile_m), np.floor(y / p.tile_m)
    it = np.floor(t / p.period_s)
    keys = np.stack([ix, iy, it], axis=1)
    uniq, key = np.unique(keys, axis=0, return_inverse=True)
    out = []
    for k, (kx, ky, kt) in enumerate(uniq):
        core = np.flatnonzero(key == k)
        near = ((x >= kx * p.tile_m - p.halo_m) & (x < (kx + 1) * p.tile_m + p.halo_m)
                & (y >= ky * p.tile_m - p.halo_m) & (y < (ky + 1) * p.tile_m + p.halo_m)
                & (t >= kt * p.period_s - p.halo_s) & (t < (kt + 1) * p.period_s + p.halo_s))
        near[core] = False
        out.append((core, np.flatnonzero(near)))
    return out


def _group_part(args: tuple[FireBatch, I64, I64, GroupingParams]) -> list[I64]:
    """One partition's groups (global rows) whose first row is one of its own reports."""
    b, core, halo, gp = args
    rows = np.concatenate([core, halo])
    lab = group(b.take(rows), gp)
    order = np.lexsort((rows, lab))
    starts = np.flatnonzero(np.r_[True, lab[order][1:] != lab[order][:-1]])
    own = set(core.tolist())
    groups = np.split(rows[order], starts[1:])
    return [g for g in groups if int(g[0]) in own]  # g is sorted: g[0] is its first row


def fuse_partitioned(
    b: FireBatch,
    geometry: CompiledGeometry | None,
    params: FusionParams | None = None,
    *,
    map_fn: Callable[..., Iterable[Any]] = map,
) -> FusionResult:
    """:func:`fuse_batch` by partition: ``map_fn`` may be a process pool's ``map``.

    A group belongs to the partition holding its first report. Where two partitions disagree
    about a border report (rare: only when their halos see different neighbours), the
    partition owning the report keeps it and the other group goes on without it.
    """
    p = params or FusionParams()
    parts = partitions(b, p)
    owner = np.empty(len(b), np.int64)
    for k, (core, _) in enumerate(parts):
        owner[core] = k
    labels = np.full(len(b), -1, np.int64)
    claimed_by_owner = np.zeros(len(b), bool)
    next_id = 0
    for k, groups in enumerate(map_fn(_group_part, [(b, c, h, p.grouping) for c, h in parts])):
        for g in groups:
            mine = owner[g] == k
            take = np.where(labels[g] < 0, True, mine & ~claimed_by_owner[g])
            if not take.any():
                continue
            labels[g[take]] = next_id
            claimed_by_owner[g[take & mine]] = True
            next_id += 1
    lone = np.flatnonzero(labels < 0)
    labels[lone] = next_id + np.arange(len(lone))
    _, labels = np.unique(labels, return_inverse=True)  # dense after any emptied group
    return _locate_attribute(b, labels.astype(np.int64), geometry, p)


# -- columns to incidents ------------------------------------------------------------------------


def _iso(epoch: np.datetime64, s: float) -> str:
    t = epoch + np.timedelta64(round(s * 1e6), "us")
    return str(np.datetime_as_string(t, unit="s")) + "Z"


def _mode(values: Iterable[Any]) -> Any:
    c = Counter(v for v in values if v is not None)
    return c.most_common(1)[0][0] if c else None


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


def incidents_from(r: FusionResult, observations: Sequence[Observation] | None = None
                   ) -> list[Incident]:
    """One :class:`Incident` per group, in order of each group's first report.

    With ``observations`` (the batch's rows, same order), a group of one report that could not
    be located keeps :func:`~truceline.core.incidents.singleton`'s answer.
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
    for g in range(G):
        if partner[g] >= 0 and r.role[g] == ROLE_IMPACT:
            continue  # told with its origin
        rows = order[starts[g]:starts[g + 1]]
        if partner[g] >= 0:
            h = int(partner[g])
            rows_i = order[starts[h]:starts[h + 1]]
            out.append(_linked(r, g, h, rows, rows_i, lon, lat, cov_t, ell))
            continue
        ids = [str(v) for v in b.ids[rows]]
        if len(rows) == 1 and not fx.located[g] and observations is not None:
            out.append(singleton(observations[int(rows[0])]))
            continue
        where = None
        details: dict[str, Any] = {"n_reports": len(rows),
                                   "n_sources": len(set(b.source[rows].tolist()))}
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
        time = (observations[int(rows[0])].time.isoformat().replace("+00:00", "Z")
                if len(rows) == 1 and observations is not None else _iso(b.epoch, r.time_s[g]))
        out.append(Incident(
            id="i-" + min(ids), kind=Kind.FIRE.value, time=time, evidence=tuple(sorted(ids)),
            fire_type=_mode(b.fire_type[rows]), explosion_type=_mode(b.explosion_type[rows]),
            weapon_class=_mode(b.weapon_class[rows]), count=int(b.count[rows].max()),
            origin=where if role == ROLE_ORIGIN else None,
            impact=where if role == ROLE_IMPACT else None,
            location=where if role == ROLE_ANY else None,
            party_probability=probs, details=details,
        ))
    return out


def _linked(r: FusionResult, g: int, h: int, rows_o: I64, rows_i: I64, lon: F64, lat: F64,
            cov_t: F64, ell: dict[int, dict[str, float]]) -> Incident:
    """One incident for an origin group ``g`` and its impact group ``h``."""
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
        "n_reports": len(rows), "n_sources": len(set(b.source[rows].tolist())),
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
        id="i-" + min(ids), kind=Kind.FIRE.value, time=_iso(b.epoch, r.time_s[g]),
        evidence=tuple(sorted(ids)), fire_type=_mode(b.fire_type[rows]),
        explosion_type="outgoing" if _mode(b.explosion_type[rows_o]) == "outgoing"
        else _mode(b.explosion_type[rows]),
        weapon_class=_mode(b.weapon_class[rows]), count=int(b.count[rows].max()),
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
    p = params or FusionParams()
    fire = [o for o in observations if o.kind is Kind.FIRE]
    if not fire:
        return []
    if geometry is not None:
        proj = geometry.projection
    else:
        pts = [(o.observer_lon, o.observer_lat) for o in fire if o.observer_lon is not None]
        pts += [(o.lon, o.lat) for o in fire if o.lon is not None]
        if not pts:
            return [singleton(o) for o in fire]
        a = np.asarray(pts, float)
        proj = choose_projection((a[:, 0].min(), a[:, 1].min(), a[:, 0].max(), a[:, 1].max()))
    b = batch_from_observations(fire, proj, p.grouping)
    out = incidents_from(fuse_batch(b, geometry, p), fire)
    if parties:
        keep = set(parties)
        out = [inc if not inc.party_probability else Incident(**{
            **inc.__dict__,
            "party_probability": {k: v for k, v in inc.party_probability.items() if k in keep}})
            for inc in out]
    return out

