"""A lone muzzle flash: the launch lies on the camera's ray, where it could have hit a burst.

A camera that alone saw a muzzle flash gives a bearing and a time, no range: the launch lies
somewhere on its ray, and nothing fixes it (:mod:`.locate` needs a second bearing or a
band). Yet a flash is typed by what it is (a launch, never a burst), its time is the
launch's own (light, a camera's clock), and a burst located across the line bounds the
rest: the launch lies within the burst's weapon class range of it (any known class's when it
names none), and its flight from the flash's time to the burst's fits that class's speeds.
So the *plausible segment* of the ray is what the class's range and flight allow, and where
it lies on one party's side, the launch is that party's, whatever the point on it.

The cells: the ray out to ``ArcParams.flash_range_m`` (the farthest a camera sees a flash,
by night), in ``step_m`` steps, on seven rows across it at -3..3 of the bearing's sigma,
each weighted by its row's Gaussian and its area (the radius: a uniform prior over the
area, as :func:`~.region.arc_region`), then by how likely its flight to the burst is under
the day's mix of classes (:func:`~.region.flight_likelihood`). The rules are those of the
arrays' launches (:func:`~.region.arc_launches`): the burst (typed, located, on one side
with ``own_side_max``) has no located candidate launch, not even an attributed origin too
wide to be linked (:data:`WIDE_SIGMA`), and no other lone flash fits it; the flash fits no
other such burst; the whole ray (not only its fitting cells) passes through no located
origin attributed with ``own_side_max`` at its time, the arrays' launches just placed
included (:func:`~.region.passes_through`: that launch is counted already). A ray through
the burst itself is no reason to refuse (as it is for arrivals, which cannot tell a launch
from a burst): were the flash the burst's own, the burst's place would be among the fitting
cells, on the burst's side, which the next rule refuses.
Stricter than the arrays' regions, whose mass need only reach ``own_side_max``: no fitting
cell may lie in another party's area than the one, nor may that be the burst's (a segment
that crosses the line is left alone however light its near part: that lightness is the
area prior's, which favours the far cells, not the evidence's, which allows either side).
The probability is
the side's mass (a cell in no party's area, or disputed, counts for none) less the base
rate of wild bearings (``LocateParams.wild_bearing_rate``: the flash may lie off its ray),
and must still reach ``own_side_max``. Nor is a burst that rests on one bearing and its band
taken where the ray crosses the line (:func:`lone_burst`): the side then rests on where that
one bearing put the burst, and a lone bearing is wild far more often than the base rate (the
weeks' 0.11-0.17, :func:`~.segment.lone_wild`), a chance its fix does not state (its stated
ellipse does; session 27's review: 8 of the weeks' flashes rested on such a burst, each ray
crossing the line). The flash is then located at the fitting cells' weighted mean and spread,
and linked to the burst.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams
from truceline.core.fusion.batch import ROLE_ORIGIN, FireBatch
from truceline.core.fusion.link import LinkParams, compatible_shots
from truceline.core.fusion.locate import M_ARRIVAL, M_BAND, M_BEARING, Fixes
from truceline.core.fusion.region import (
    ArcParams,
    Win,
    as_fix,
    cell_sides,
    class_mix,
    class_windows,
    flight_likelihood,
    open_bursts,
    passes_through,
)

__all__ = ["clock_shown_off", "flash_launches", "lone_burst", "lone_flashes", "ray_cells",
           "ray_fits"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The rows across the ray, in sigmas of the bearing.
ROWS = np.arange(-3.0, 4.0)
#: How much wider than ``LinkParams.max_sigma_m`` an attributed origin may be and still
#: have fired a burst (RMS 20 km: a lone band of 20-30 km states ~10 km).
WIDE_SIGMA = 4.0


#: How far outside a flash's window the emission time two arrivals set at its fix may lie
#: before the camera's clock is taken to err (s): that time's own error, ~1 s at a fix a few
#: hundred metres off, well within it.
CLOCK_MARGIN_S = 5.0


def clock_shown_off(b: FireBatch, labels: I64, fixes: Fixes) -> NDArray[np.bool_]:
    """Per source (:attr:`FireBatch.source`): its muzzle flashes grouped with a fix that two
    arrivals or more time (its emission time ``t0``, the arrivals', not the camera's) lie,
    at the median, more than :data:`CLOCK_MARGIN_S` outside their windows. Light is instant,
    so the camera's clock then errs by more than the window holds. The median, as
    :func:`.calibration.clock_offsets` reads a clock: one flash grouped with another shot's
    sound does not condemn a good clock (on clock_offsets 1 it did, and a right finding went)."""
    G = len(fixes.x)
    out = np.zeros(int(b.source.max()) + 1 if len(b) else 0, bool)
    n_a = np.bincount(labels, np.isfinite(b.arr), minlength=G)
    timed = (fixes.located & ((fixes.method & M_ARRIVAL) != 0) & np.isfinite(fixes.t0)
             & (n_a >= 2))
    rows = np.flatnonzero((b.fire_type == "muzzle_flash") & timed[labels]
                          & np.isfinite(b.t_lo) & np.isfinite(b.t_hi))
    t0 = fixes.t0[labels[rows]]
    past = t0 - np.clip(t0, b.t_lo[rows], b.t_hi[rows])  # 0 within the window
    src = b.source[rows]
    for s in np.unique(src).tolist():
        out[s] = abs(float(np.median(past[src == s]))) > CLOCK_MARGIN_S
    return out


def lone_flashes(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8],
                 partner: I64) -> I64:
    """The unlocated, unpaired groups of one report: a muzzle flash's bearing, no band."""
    G = len(role)
    one = np.bincount(labels, minlength=G) == 1
    ok = (b.fire_type == "muzzle_flash") & np.isfinite(b.brg) & np.isfinite(b.brg_sd) \
        & np.isfinite(b.ox) & np.isfinite(b.oy) & ~np.isfinite(b.dmax)
    flash = np.bincount(labels, ok, minlength=G) == 1
    return np.flatnonzero(one & flash & ~fixes.located & (role == ROLE_ORIGIN) & (partner < 0))


def lone_burst(labels: I64, fixes: Fixes) -> NDArray[np.bool_]:
    """The groups located by one bearing and its band alone (:func:`~.segment.segment_fixes`):
    a burst whose place a single, possibly wild, bearing says."""
    G = len(fixes.x)
    one = np.bincount(labels, minlength=G) == 1
    return np.asarray(one & (fixes.method == (M_BEARING | M_BAND)))


def ray_cells(ox: float, oy: float, brg: float, sd: float, ap: ArcParams,
              step_m: float | None = None) -> tuple[F64, F64, F64]:
    """The cells of a ray from ``(ox, oy)`` at grid azimuth ``brg`` (radians, sigma ``sd``):
    ``(x, y, weight)``, out to ``ap.flash_range_m`` every ``step_m`` (``ap.step_m`` when
    None), weight the row's Gaussian times the radius (a uniform prior over the area the
    rows sweep)."""
    step = ap.step_m if step_m is None else step_m
    r = np.arange(0.5, ap.flash_range_m / step) * step
    th = brg + ROWS[:, None] * sd
    x = (ox + r[None, :] * np.sin(th)).ravel()
    y = (oy + r[None, :] * np.cos(th)).ravel()
    w = (np.exp(-0.5 * ROWS**2)[:, None] * r[None, :]).ravel()
    return x, y, w


def ray_fits(x: F64, y: F64, t_lo: float, t_hi: float, fx: float, fy: float, s: float,
             lo: float, hi: float, wins: list[Win]) -> NDArray[np.bool_]:
    """Which cells could have fired, within the flash's window ``t_lo..t_hi``, a shell that
    burst at the fix (2.5 sigma ``s``, emission window ``lo..hi``): within a class's range and
    flight time, no slack (as :func:`~.region.fit_cells`)."""
    d = np.hypot(x - fx, y - fy)
    ok = np.zeros(len(x), bool)
    for rmax, vlo, vhi in wins:
        ok |= (d - s <= rmax) & (t_lo + np.maximum(d - s, 0.0) / vhi <= hi) \
            & (t_hi + (d + s) / vlo >= lo)
    return ok


def flash_launches(
    b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], partner: I64, side: I64,
    lo: F64, hi: F64, cls: NDArray[np.object_], geometry: CompiledGeometry, lp: LinkParams,
    ap: ArcParams, attribution: AttributionParams, wild_rate: float,
) -> Iterator[tuple[int, int, float, float, F64, float, F64]]:
    """``(group, burst, x, y, cov, t0, prob)`` for each lone flash taken as the launch of a
    burst across the line, under the module's rules. ``side``: each fix's party (-1 when
    none is that likely); ``lo``/``hi``: emission-time windows (s); ``wild_rate``: the share
    of bearings that are gross errors."""
    G = len(role)
    loc, cand = fixes.located, lone_flashes(b, labels, fixes, role, partner)
    if not len(cand):
        return
    burst, hb = open_bursts(fixes, role, partner, side, lo, hi, cls, lp)
    if not burst.any():
        return
    sig = np.sqrt(np.nan_to_num(np.trace(fixes.cov, axis1=1, axis2=2), nan=np.inf))
    # and the origins attributed however wide (a monitor's lone 20-30 km band): a burst one
    # of them could have fired has a launch already, and a flash is no better a candidate
    # (searched from those few origins: from every burst, the wide reach meets many)
    loose = loc & (role == ROLE_ORIGIN) & (side >= 0) & (sig > lp.max_sigma_m)
    _, hw = compatible_shots(fixes.x, fixes.y, fixes.cov, lo, hi, cls, side, loose, burst,
                             replace(lp, max_sigma_m=WIDE_SIGMA * lp.max_sigma_m), among=loose)
    free = np.flatnonzero(burst & (np.bincount(np.concatenate([hb, hw]), minlength=G) == 0))
    if not len(free):
        return
    wins = dict(zip(lp.max_range_m, lp.windows(), strict=True))
    mix = class_mix(b, loc, role, lo, hi, cls, lp)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(G + 1))
    reach = ap.flash_range_m + max(r for r, _, _ in wins.values())
    found: list[tuple[int, int, F64, F64, F64, float, tuple[F64, F64]]] = []
    off = clock_shown_off(b, labels, fixes)
    for u in cand.tolist():
        (row,) = order[starts[u]:starts[u + 1]]
        if off[b.source[row]]:
            continue  # a clock shown off times no flight (:func:`clock_shown_off`)
        t_lo, t_hi = float(b.t_lo[row]), float(b.t_hi[row])
        near = free[(np.hypot(fixes.x[free] - b.ox[row], fixes.y[free] - b.oy[row])
                     <= reach + 2.5 * sig[free]) & (hi[free] >= t_lo) & (lo[free] <= t_hi + 600.0)]
        if not len(near):
            continue
        x, y, wt = ray_cells(float(b.ox[row]), float(b.oy[row]), float(b.brg[row]),
                             float(b.brg_sd[row]), ap)
        fits: list[tuple[int, NDArray[np.bool_]]] = []
        for yb in near.tolist():
            ok = ray_fits(x, y, t_lo, t_hi, float(fixes.x[yb]), float(fixes.y[yb]),
                          2.5 * float(sig[yb]), float(lo[yb]), float(hi[yb]),
                          class_windows(wins, cls[yb]))
            if ok.any():
                fits.append((yb, ok))
        if len(fits) != 1:
            continue
        yb, ok = fits[0]
        cw = class_windows(wins, cls[yb])
        t0 = float(b.t[row])
        w = wt[ok] * flight_likelihood(
            np.hypot(x[ok] - fixes.x[yb], y[ok] - fixes.y[yb]), 0.5 * (lo[yb] + hi[yb]) - t0,
            2.5 * float(sig[yb]), float(lo[yb]), float(hi[yb]), cw,
            mix[yb] if cls[yb] is None else np.ones(len(cw)), ap.step_m)
        if w.sum() > 0.0:
            found.append((u, yb, x[ok], y[ok], w, t0, (x, y)))
    n_u = np.bincount(np.asarray([f[1] for f in found], np.int64), minlength=G)
    wide = np.flatnonzero(loc & (role == ROLE_ORIGIN) & np.isfinite(sig) & (side >= 0))
    lone = lone_burst(labels, fixes)
    for u, yb, x, y, w, t0, ray in found:
        if n_u[yb] != 1:
            continue  # two lone flashes fit the burst: which fired it is not known
        if lone[yb] and (cell_sides(geometry, ray[0], ray[1], t0, b.epoch, attribution)
                         > 0.0).any(axis=0).sum() > 1:
            continue  # the side rests on where one, maybe wild, bearing put the burst
        if passes_through(ray[0], ray[1], np.full(len(ray[0]), t0), fixes.x[wide],
                          fixes.y[wide], sig[wide], lo[wide], hi[wide], ap.step_m):
            continue  # the flash (anywhere on its ray) may be an attributed launch's own
        one = cell_sides(geometry, x, y, t0, b.epoch, attribution)
        k = int(one.sum(axis=0).argmax())
        if np.delete(one, k, axis=1).any() or k == side[yb]:
            continue  # the plausible segment crosses the line, or the flash is the burst's side
        pr = (one * w[:, None]).sum(axis=0) / w.sum() * (1.0 - wild_rate)
        if pr[k] < lp.own_side_max:
            continue
        mx, my, cov = as_fix(x, y, w, ap.step_m)
        yield (u, yb, mx, my, cov, t0, pr)
