"""Where an array's too-few arrivals put a launch: the feasible region, not a point.

Two or three arrival times of one acoustic array do not fix a bang: they put it on a
hyperbola (with its mirror image about the sensors' baseline) at an unknown range, and an array
cannot tell a launch from a burst. Such a group becomes the launch of a burst monitors saw
across the line only under the rules of :func:`~truceline.core.fusion.link.pair_launch_to_burst`
(the only candidate either way), and its region is then what the arrivals, the hearing range
and the burst's weapon class allow together: the points of a polar grid around the array whose
arrival-time differences fit (Gaussian likelihood, uniform prior over the area), that lie
within the class's range of the burst and whose emission time fits a flight time to it.
Attribution is the region's likelihood mass on each side, not a point's; its mean and
covariance are reported as the fix, so the ellipse shows the whole region.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams, attribute
from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT, FireBatch
from truceline.core.fusion.link import LinkParams, compatible_shots
from truceline.core.fusion.locate import Fixes
from truceline.core.fusion.parallel import PARALLEL

__all__ = ["ArcParams", "arc_launches", "arc_region"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class ArcParams:
    """The grid and error model of :func:`arc_region`."""

    #: Bearing and range steps of the polar grid around the array (deg, m): a quarter degree
    #: moves an arrival-time difference across a 1.5 km baseline by ~20 ms, one sigma.
    step_deg: float = 0.25
    step_m: float = 400.0
    #: Farthest an array hears a gun or a rocket (m): the region's outer edge.
    hearing_m: float = 25_000.0
    #: 1-sigma of an arrival-time difference (s): timing jitter and the two paths' air.
    tdoa_sd_s: float = 0.02
    #: Grid points beyond this chi-square are outside the region.
    chi2_max: float = 16.0


@njit(cache=True, error_model="numpy", parallel=True)
def _grid_fit(cx: float, cy: float, sx: F64, sy: F64, arr: F64, c: F64, nt: int, nr: int,
              step_deg: float, step_m: float, sd: float) -> tuple[F64, F64]:
    """Chi-square of the arrival-time differences and the implied emission time at every
    cell of the polar grid around ``(cx, cy)`` (bearing rows in parallel)."""
    m = len(sx)
    chi2 = np.empty(nt * nr)
    t0 = np.empty(nt * nr)
    for i in prange(nt):
        th = math.radians(i * step_deg)
        st, ct = math.sin(th), math.cos(th)
        e = np.empty(m)
        for j in range(nr):
            r = (j + 0.5) * step_m
            x, y = cx + r * st, cy + r * ct
            mean = 0.0
            for q in range(m):
                e[q] = arr[q] - math.hypot(x - sx[q], y - sy[q]) / c[q]
                mean += e[q]
            mean /= m
            s2 = 0.0
            for q in range(m):
                s2 += ((e[q] - mean) / sd) ** 2
            chi2[i * nr + j] = s2
            t0[i * nr + j] = mean
    return chi2, t0


def arc_region(sx: F64, sy: F64, arr: F64, c: F64,
               params: ArcParams | None = None) -> tuple[F64, F64, F64, F64]:
    """The grid points whose arrival-time differences fit ``arr`` at sensors ``(sx, sy)``:
    ``(x, y, weight, t0)``, weight the likelihood times the area each point stands for,
    ``t0`` the emission time each implies (s). ``c`` is each path's sound speed (grid m/s)."""
    p = params or ArcParams()
    sx, sy = np.asarray(sx, float), np.asarray(sy, float)
    cx, cy = float(sx.mean()), float(sy.mean())
    nt, nr = round(360.0 / p.step_deg), int(p.hearing_m // p.step_m)
    with PARALLEL:
        chi2, t0 = _grid_fit(cx, cy, sx, sy, np.asarray(arr, float), np.asarray(c, float),
                             nt, nr, p.step_deg, p.step_m, p.tdoa_sd_s)
    keep = np.flatnonzero(np.asarray(chi2) <= p.chi2_max)
    th = np.radians(keep // nr * p.step_deg)
    r = (keep % nr + 0.5) * p.step_m
    w = np.exp(-0.5 * np.asarray(chi2)[keep]) * r  # a polar cell's area grows with its radius
    return cx + r * np.sin(th), cy + r * np.cos(th), w, np.asarray(t0)[keep]


def arc_launches(
    b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], partner: I64, side: I64,
    lo: F64, hi: F64, cls: NDArray[np.object_], geometry: CompiledGeometry, lp: LinkParams,
    ap: ArcParams, attribution: AttributionParams,
) -> Iterator[tuple[int, int, float, float, F64, float, F64]]:
    """``(group, burst, x, y, cov, t0, prob)`` for each group of arrivals of one array left
    unlocated that is taken as the launch of a burst monitors saw: the burst (typed, located,
    on one side with ``own_side_max``) has no located candidate launch
    (:func:`~truceline.core.fusion.link.compatible_shots`) and no other such group; the
    group's region (:func:`arc_region`) reaches no other burst in range and time and does not
    pass through the burst itself (the array may have heard the burst); no located fix could
    have fired at the region (the group may be a burst); and the region within the burst's
    range lies on one party's side with ``own_side_max``, not the burst's. ``side``: each
    fix's party (-1 when none is that likely); ``lo``/``hi``: emission-time windows (s)."""
    G = len(role)
    has_a = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    n_a = np.bincount(labels, has_a, minlength=G)
    loc = fixes.located
    cand = np.flatnonzero(~loc & (n_a >= 2) & (n_a == np.bincount(labels, minlength=G))
                          & (role == ROLE_ANY) & (partner < 0))
    burst = loc & (role == ROLE_IMPACT) & (partner < 0) & (side >= 0)
    if not len(cand) or not burst.any():
        return
    may_fire = loc & (role != ROLE_IMPACT)
    _, hb = compatible_shots(fixes.x, fixes.y, fixes.cov, lo, hi, cls, side, may_fire, burst,
                             lp)
    free = np.flatnonzero(burst & (np.bincount(hb, minlength=G) == 0))
    if not len(free):
        return
    wins = dict(zip(lp.max_range_m, lp.windows(), strict=True))
    any_r = max(r for r, _, _ in wins.values())
    sig = np.sqrt(np.nan_to_num(np.trace(fixes.cov, axis1=1, axis2=2), nan=np.inf))
    mf = np.flatnonzero(may_fire & (sig <= lp.max_sigma_m))
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(G + 1))
    found: list[tuple[int, int, tuple[F64, F64, F64, F64]]] = []
    for u in cand.tolist():
        rows = order[starts[u]:starts[u + 1]]
        cx, cy = float(b.ox[rows].mean()), float(b.oy[rows].mean())
        tu = float(b.arr[rows].min())
        near = free[(np.hypot(fixes.x[free] - cx, fixes.y[free] - cy)
                     <= ap.hearing_m + any_r + 2.5 * sig[free])
                    & (hi[free] >= tu - ap.hearing_m / 250.0) & (lo[free] <= tu + 600.0)]
        if not len(near):
            continue
        x, y, wt, t0 = arc_region(b.ox[rows], b.oy[rows], b.arr[rows], b.c[rows] * b.k[rows],
                                  ap)
        if not len(x):
            continue
        fits: list[tuple[int, NDArray[np.bool_]]] = []
        heard_burst = False
        for yb in near.tolist():
            d = np.hypot(x - fixes.x[yb], y - fixes.y[yb])
            s = 2.5 * sig[yb]
            if (d <= s + ap.step_m).any():
                heard_burst = True
                break
            ok = np.zeros(len(x), bool)
            for name, (rmax, vlo, vhi) in wins.items():
                if cls[yb] is None or cls[yb] == name:
                    ok |= ((d - s <= rmax) & (t0 + np.maximum(d - s, 0.0) / vhi <= hi[yb])
                           & (t0 + (d + s) / vlo >= lo[yb]))
            if ok.any():
                fits.append((yb, ok))
        if len(fits) == 1 and not heard_burst:
            yb, ok = fits[0]
            found.append((u, yb, (x[ok], y[ok], wt[ok], t0[ok])))
    n_u = np.bincount(np.asarray([f[1] for f in found], np.int64), minlength=G)
    for u, yb, (x, y, wt, t0) in found:
        if n_u[yb] != 1:
            continue
        tm = float(np.average(t0, weights=wt))
        z = mf[np.abs((lo[mf] + hi[mf]) / 2 - tm) <= 600.0]
        if len(z) and (np.hypot(fixes.x[z, None] - x[None, ::50],
                                fixes.y[z, None] - y[None, ::50]).min(axis=1) <= any_r).any():
            continue
        when = np.full(len(x), b.epoch + np.round(tm * 1e6).astype("timedelta64[us]"))
        one = attribute(geometry, x, y, np.tile(np.eye(2), (len(x), 1, 1)),
                        when.astype("datetime64[ns]"), attribution)
        pr = (one * wt[:, None]).sum(axis=0) / wt.sum()
        k = int(pr.argmax())
        if pr[k] < lp.own_side_max or k == side[yb]:
            continue
        cov = np.cov(np.vstack([x, y]), aweights=wt) + np.eye(2) * ap.step_m**2 / 12
        yield (u, yb, float(np.average(x, weights=wt)), float(np.average(y, weights=wt)),
               cov, tm, pr)
