"""An array's too-few arrivals against an untyped fix: which of the two fired.

:func:`~truceline.core.fusion.region.arc_launches` takes an array's unlocated arrivals
(two or three of one array: a region, not a point) as the launch of a burst monitors *typed*.
Its mirror here pairs such a region with a located fix nobody typed (an array's own fix, or a
monitor's "undetermined" on its ray), which is the launch or the burst of some shot as much
as the region is. The two are one shot only in one order, and causality says which: the
burst comes one flight time after the launch, within the weapon's range, across the line.

* **the fix fired** (the region is its burst): some cells of the region lie within a class's
  range of the fix (the fix's named class, any known class when it names none, none when it
  names a class the link has no range and speeds for: a drone, a tank) and imply an
  emission time one flight time after the fix's window, and no cell could instead have fired
  at the fix (the reverse order, with :data:`~.region.T0_SLACK_S` and the fix's 2.5 sigma);
  the cells that fit lie with ``own_side_max`` on the other party's side. The fix is typed
  the origin, attributed by its own ellipse; the region becomes its impact (the fitting
  cells' weighted mean and spread).
* **the region fired** (the fix is its burst): the same with the roles swapped: some cells
  could have fired at the fix, none could be its burst (with slack), and the cells that fit
  lie with ``own_side_max`` on one side, not the fix's. The region is typed the origin and
  attributed by that mass (as :func:`~.region.arc_launches`); the fix its impact.

Which order fits is judged on the cells not on the fix's own side (``own_side_max``): fire
across the line, as every pairing rule of :mod:`.link` assumes. Where both orders fit (on a
long arm far cells imply earlier emissions than near ones), or the other order fits with
slack, the order is the one whose likelihood under the day's mix of weapon classes is
``mixture_margin`` higher (:func:`order_odds`, ``ArcParams.order_by_mixture``); else none.
Only unambiguous pairs besides: the region has one candidate fix in one order, the fix one
candidate region (a region that fits it in any order counts, whether or not it pairs); the
fix is no :func:`~.link.compatible_shots` partner of any located fix (in either role: else
another reading exists); no other located fix that may fire could have
fired at the region (:func:`~.region.could_be_hit`: it may be that fix's burst) and the region
could have fired at no other located fix (:func:`could_fire_at`: it may be a launch); and the
region does not pass through the fix at the fix's time (the array may have heard the fix
itself).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams
from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.link import LinkParams, compatible_shots
from truceline.core.fusion.locate import Fixes
from truceline.core.fusion.region import (
    T0_SLACK_S,
    ArcParams,
    Win,
    as_fix,
    cell_sides,
    class_mix,
    class_windows,
    could_be_hit,
    fit_cells,
    flight_likelihood,
    rows_region,
    unlocated_arrivals,
)

__all__ = ["could_fire_at", "order_odds", "region_pairs"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: What :func:`region_pairs` yields: group, fix, whether the fix fired, x, y, cov, t0, prob.
Pair = tuple[int, int, bool, float, float, F64, float, F64]


def could_fire_at(x: F64, y: F64, t0: F64, zx: F64, zy: F64, zsig: F64, zlo: F64, zhi: F64,
                  wins: list[Win], step_m: float) -> bool:
    """Could a shell fired from some point of the region ``(x, y)`` at the emission time
    ``t0`` that point implies have burst at some fix ``z`` (position, RMS error ``zsig``,
    emission window ``zlo``..``zhi``)? :func:`~.region.could_be_hit` with time reversed (the
    fix's window then ends the flight the region's cell begins): for some class ``(max range,
    min speed, max speed)``, within range (+ 2.5 sigma and a cell) and in time for its flight
    (+- :data:`~.region.T0_SLACK_S`)."""
    return could_be_hit(x, y, -t0, zx, zy, zsig, -zhi, -zlo, wins, step_m)


def order_odds(x: F64, y: F64, wt: F64, t0: F64, fx: float, fy: float, s: float, lo: float,
               hi: float, wins: list[Win], mix: F64, lp: LinkParams, step_m: float) -> float:
    """Natural log of how much likelier the region's cells ``(x, y, wt, t0)`` are the burst
    of a shot from the fix (at ``fx, fy``, 2.5 sigma ``s``, emission window ``lo..hi``) than
    its launch: the cells' weights times each one's :func:`~.region.flight_likelihood` under
    the classes ``wins`` (weights ``mix``), the flight from the fix's window's middle to the
    cell's emission time, against the same with time reversed. 0 where neither fits."""
    d = np.hypot(x - fx, y - fy)
    dt = t0 - (lo + hi) / 2
    fired = float((wt * flight_likelihood(d, dt, s, lo, hi, wins, mix, step_m)).sum())
    region = float((wt * flight_likelihood(d, -dt, s, lo, hi, wins, mix, step_m)).sum())
    if fired <= 0.0 or region <= 0.0:
        return 0.0 if fired == region else (np.inf if fired > 0.0 else -np.inf)
    return float(np.log(fired / region))


def region_pairs(
    b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], partner: I64, side: I64,
    lo: F64, hi: F64, cls: NDArray[np.object_], geometry: CompiledGeometry, lp: LinkParams,
    ap: ArcParams, attribution: AttributionParams, also: I64 | None = None,
) -> Iterator[Pair]:
    """``(group, fix, fix_fired, x, y, cov, t0, prob)`` for each group of arrivals of one
    array left unlocated (or in ``also``, still untyped: a fix no link could try) that forms
    one shot with an untyped located fix (module docstring): ``fix_fired`` says which fired;
    ``x, y, cov, t0`` place the group by its fitting cells; ``prob`` is the region's mass on
    each side (used when the group fired). ``side``: each fix's party (-1 when none is that
    likely); ``lo``/``hi``: emission-time windows (s)."""
    G = len(role)
    loc, cand = fixes.located, unlocated_arrivals(b, labels, fixes, role, partner)
    if also is not None:
        cand = np.union1d(cand, also[(role[also] == ROLE_ANY) & (partner[also] < 0)])
    sig = np.sqrt(np.nan_to_num(np.trace(fixes.cov, axis1=1, axis2=2), nan=np.inf))
    untyped = (loc & (role == ROLE_ANY) & (partner < 0) & (side >= 0) & (sig <= lp.max_sigma_m)
               & np.isfinite(lo) & np.isfinite(hi))
    if not len(cand) or not untyped.any():
        return
    # a fix another located fix could have fired at, or could have fired at, has another
    # reading than the region's
    may_fire = loc & (role != ROLE_IMPACT)
    may_burst = loc & (role != ROLE_ORIGIN)
    a, c = compatible_shots(fixes.x, fixes.y, fixes.cov, lo, hi, cls, side, may_fire,
                            may_burst, lp, among=untyped)
    busy = np.bincount(np.concatenate([a, c]), minlength=G) > 0
    free = np.flatnonzero(untyped & ~busy)
    if not len(free):
        return
    all_wins = lp.windows()
    by_name = dict(zip(lp.max_range_m, all_wins, strict=True))
    any_r = max(r for r, _, _ in all_wins)
    # the slowest, farthest flight (s), a fix's 2.5 sigma beyond the range: the search
    # window in time holds every fix either order could fit
    longest = max((r + 2.5 * lp.max_sigma_m) / v for r, v, _ in all_wins)
    by_lo = free[np.argsort(lo[free], kind="stable")]
    lo_sorted = lo[by_lo]
    width = float(np.max(hi[free] - lo[free]))
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(G + 1))
    mf = np.flatnonzero(may_fire & (sig <= lp.max_sigma_m))
    mb = np.flatnonzero(may_burst & (sig <= lp.max_sigma_m))
    mix = class_mix(b, loc, role, lo, hi, cls, lp) if ap.order_by_mixture else None
    found: list[Pair] = []
    fitted: list[int] = []  # each fix once per region that fits it, in either order
    for u in cand.tolist():
        rows = order[starts[u]:starts[u + 1]]
        cx, cy = float(b.ox[rows].mean()), float(b.oy[rows].mean())
        tu = float(b.arr[rows].min())
        early = tu - ap.hearing_m / 250.0
        f = by_lo[np.searchsorted(lo_sorted, early - longest - width - T0_SLACK_S, "left"):
                  np.searchsorted(lo_sorted, tu + longest + T0_SLACK_S, "right")]
        f = f[np.hypot(fixes.x[f] - cx, fixes.y[f] - cy) <= ap.hearing_m + any_r + 2.5 * sig[f]]
        if not len(f):
            continue
        x, y, wt, t0 = rows_region(b, rows, ap)
        if not len(x):
            continue
        pc: F64 | None = None  # the cells' sides, taken once some fix fits them in time
        hits: list[tuple[int, bool, NDArray[np.bool_]]] = []
        heard = False
        for k in f.tolist():
            s = 2.5 * float(sig[k])
            d = np.hypot(x - fixes.x[k], y - fixes.y[k])
            if ((d <= s + ap.step_m) & (t0 >= lo[k] - T0_SLACK_S)
                    & (t0 <= hi[k] + T0_SLACK_S)).any():
                heard = True  # the array may have heard the fix itself
                continue
            # its class's flight; any known class's when it names none; a class with no
            # range and speeds (a drone, a tank) no flight, as in arc_launches
            wins = class_windows(by_name, cls[k])
            if not wins:
                continue
            burst, launch = fit_cells(x, y, t0, float(fixes.x[k]), float(fixes.y[k]), s,
                                      float(lo[k]), float(hi[k]), wins)
            if not (burst.any() or launch.any()):
                continue
            if pc is None:  # most regions fit no fix: their cells' sides are not needed
                pc = cell_sides(geometry, x, y, tu, b.epoch, attribution)
            across = pc[:, side[k]] < lp.own_side_max  # which order: across the line only
            if (burst & across).any():
                hits.append((k, True, burst))
            if (launch & across).any():
                hits.append((k, False, launch))
        # a region that fits a fix is a candidate of that fix even when it pairs with none
        # (it fits another fix too, or both orders, or heard one): the fix has another
        # reading, perhaps the opposite order
        fitted.extend(sorted({h[0] for h in hits}))
        if heard or len({h[0] for h in hits}) != 1:
            continue
        k = hits[0][0]
        assert pc is not None  # a hit took the sides
        odds = None  # the day's mix of classes on the order, across the line
        if mix is not None:
            wins = class_windows(by_name, cls[k])
            cross = pc[:, side[k]] < lp.own_side_max
            odds = order_odds(x[cross], y[cross], wt[cross], t0[cross], float(fixes.x[k]),
                              float(fixes.y[k]), 2.5 * float(sig[k]), float(lo[k]),
                              float(hi[k]), wins, mix[k] if cls[k] is None else np.ones(1),
                              lp, ap.step_m)
        if len(hits) == 2:  # both orders fit: only a clear likelihood ratio decides
            if odds is None or abs(odds) < lp.mixture_margin:
                continue
            hits = [h for h in hits if h[1] == (odds > 0)]
        k, fired, ok = hits[0]
        pair = _judged(u, k, fired, ok, x, y, wt, t0, pc, fixes, sig, lo, hi, side, mf, mb,
                       all_wins, lp, ap, odds)
        if pair is not None:
            found.append(pair)
    n_f = np.bincount(np.asarray(fitted, np.int64), minlength=G)
    for pair in found:
        if n_f[pair[1]] == 1:
            yield pair


def _judged(u: int, k: int, fired: bool, ok: NDArray[np.bool_], x: F64, y: F64, wt: F64,
            t0: F64, pc: F64, fixes: Fixes, sig: F64, lo: F64, hi: F64, side: I64, mf: I64,
            mb: I64, all_wins: list[Win], lp: LinkParams, ap: ArcParams,
            odds: float | None = None) -> Pair | None:
    """Region ``u`` with fix ``k`` in the one order that fits, unless the other order fits
    with slack and ``odds`` (:func:`order_odds`; None: not weighed) do not favour this one by
    ``mixture_margin``, another located fix could have fired at the region or the region at one, or
    the fitting cells' mass is not across the line: the pair as :func:`region_pairs` yields
    it. Judged as each region is made, so that only the pairs are held until every region
    has been counted against its fix (at 907k reports the regions held whole were ~0.3 GB)."""
    one = np.asarray([k])
    # the other order across the line, with slack: the region could have fired at the
    # fix / the fix at the region
    cross = pc[:, side[k]] < lp.own_side_max
    xc, yc, tc = x[cross], y[cross], t0[cross]
    clear = odds is not None and (odds if fired else -odds) >= lp.mixture_margin
    if not clear and (could_fire_at(xc, yc, tc, fixes.x[one], fixes.y[one], sig[one],
                                    lo[one], hi[one], all_wins, ap.step_m) if fired else
                      could_be_hit(xc, yc, tc, fixes.x[one], fixes.y[one], sig[one], lo[one],
                                   hi[one], all_wins, ap.step_m)):
        return None
    others = mf[mf != k]
    # another located fix could have fired at the region, or the region at one
    if could_be_hit(x, y, t0, fixes.x[others], fixes.y[others], sig[others], lo[others],
                    hi[others], all_wins, ap.step_m):
        return None
    tgt = mb[mb != k]
    if could_fire_at(x, y, t0, fixes.x[tgt], fixes.y[tgt], sig[tgt], lo[tgt], hi[tgt],
                     all_wins, ap.step_m):
        return None
    xs, ys, ws, ts = x[ok], y[ok], wt[ok], t0[ok]
    tm = float(np.average(ts, weights=ws))
    pr = (pc[ok] * ws[:, None]).sum(axis=0) / ws.sum()
    top = int(pr.argmax())
    if pr[top] < lp.own_side_max or top == side[k]:
        return None
    mx, my, cov = as_fix(xs, ys, ws, ap.step_m)
    return (u, k, fired, mx, my, cov, tm, pr)
