"""Where an array's too-few arrivals put a launch: the feasible region, not a point.

Two or three arrival times of one acoustic array do not fix a bang: they put it on a
hyperbola (with its mirror image about the sensors' baseline) at an unknown range, and an array
cannot tell a launch from a burst. Such a group becomes the launch of a burst monitors saw
across the line only under the rules of :func:`.launch_bursts.pair_launch_to_burst`
(the only candidate either way), and its region is then what the arrivals, the hearing range
and the burst's weapon class allow together: the points of a polar grid around the array whose
arrival-time differences fit (Gaussian likelihood, uniform prior over the area), that lie
within the class's range of the burst and whose emission time fits a flight time to it,
each weighted by how likely that flight is under the day's mix of classes
(:func:`flight_likelihood`). Attribution is the region's mass on each side, not a point's;
its mean and covariance are reported as the fix, so the ellipse shows the whole region.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams, attribute
from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.link import LinkParams, compatible_shots
from truceline.core.fusion.locate import Fixes

__all__ = ["ArcParams", "Win", "arc_launches", "arc_region", "as_fix", "cell_sides",
           "class_mix", "class_windows", "could_be_hit", "fit_cells", "flight_likelihood",
           "passes_through", "rows_region", "spread"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
#: A weapon class's flight: (max range m, min speed m/s, max speed m/s).
Win = tuple[float, float, float]


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
    #: Pair such groups with an untyped located fix too, in the order causality allows
    #: (:func:`~truceline.core.fusion.region_pairs.region_pairs`).
    pair_untyped: bool = True
    #: ... and where both orders fit (or the other with slack), take the one the day's mix of
    #: weapon classes makes ``LinkParams.mixture_margin`` likelier
    #: (:func:`~truceline.core.fusion.region_pairs.order_odds`); off: type neither.
    order_by_mixture: bool = True
    #: Weigh a launch region's cells (:func:`arc_launches`) by how likely each one's flight to
    #: the burst is under the day's mix of classes (:func:`flight_likelihood`), not only
    #: whether it fits the class's speed window; off: every fitting cell by its arrivals alone.
    launch_by_flight: bool = True
    #: State and attribute the origins that one array's three or more arrivals alone placed
    #: by their region, not their fix's ellipse (:mod:`.array_origins`) ...
    array_origins: bool = True
    #: ... an array's sensors lying within this of their centre (m).
    array_radius_m: float = 3_000.0
    #: Try as a launch region (:func:`arc_launches`) one array's three or more arrivals whose
    #: fix is looser than the link's ``max_sigma_m`` too (:func:`.arcs.loose_fixes`).
    loose_launches: bool = True
    #: Take a lone camera's muzzle flash as the launch of a burst across the line where the
    #: plausible segment of its ray lies on one side (:mod:`.flash_launches`) ...
    flash_launches: bool = True
    #: ... the ray out to the farthest a camera sees a flash (m: 20 km by night).
    flash_range_m: float = 20_000.0
    #: Place the launch an array's three or more arrivals heard of a burst they would join
    #: as its other sound (:mod:`.heard_launch`).
    heard_launches: bool = True
    #: Join one array's arrivals left apart to the lone muzzle flash whose time they fit,
    #: located by them (:mod:`.flash_heard`; with ``heard_launches``, at the end joins).
    flash_heard: bool = True


#: The grid's pruning, coarse to fine (bearing rows x range columns): super-blocks of 16 deg
#: x 6.4 km, blocks of 4 deg x 1.6 km, then one range column of 1 deg; a block is tested only
#: inside a super-block that passed, and its cells only inside a small block that passed.
SUPER_ROWS, SUPER_COLS = 64, 16
BLOCK_ROWS, BLOCK_COLS = 16, 4
SUB_ROWS = 4


@njit(cache=True)
def _bearings(nt: int, step_deg: float) -> tuple[F64, F64, F64, F64]:
    """Sine and cosine of each grid row's bearing (the cells' points) and of each half-row
    bearing (a block's middle), computed once per grid."""
    s, c = np.empty(nt), np.empty(nt)
    hs, hc = np.empty(2 * nt), np.empty(2 * nt)
    for i in range(nt):
        th = math.radians(i * step_deg)
        s[i], c[i] = math.sin(th), math.cos(th)
    for k in range(2 * nt):
        th = math.radians(0.5 * k * step_deg)
        hs[k], hc[k] = math.sin(th), math.cos(th)
    return s, c, hs, hc


@functools.lru_cache(maxsize=4)
def _bearing_table(nt: int, step_deg: float) -> tuple[F64, F64, F64, F64]:
    return _bearings(nt, step_deg)


@njit(cache=True, error_model="numpy")
def _block_passes(cx: float, cy: float, sx: F64, sy: F64, arr: F64, c: F64, wu: float,
                  wv: float, hs: F64, hc: F64, e: F64, i0: int, i1: int, j0: int, j1: int,
                  step_deg: float, step_m: float, sd: float, chi2_max: float,
                  reach: float) -> bool:
    """Can any cell of bearing rows ``i0:i1`` and range columns ``j0:j1`` have a chi-square
    at most ``chi2_max``? A lower bound over the block, from its middle point (bearing
    ``hs``/``hc`` at half-row ``i0 + i1 - 1``; ``e`` is scratch, one value per sensor).

    The chi-square is ``(1/m) sum over pairs (e_q - e_p)^2 / sd^2``, ``e_q = arr_q - d_q /
    c_q``. From the middle, any cell is reached along the middle bearing, then along an arc:
    ``g = d_q / c_q - d_p / c_p`` changes by at most the radial move times ``|r.grad g|``
    plus the arc's length times ``|t.grad g|``. Seen from a point at least ``near`` beyond
    the array's reach, each sensor's direction is within ``asin(reach / near)`` of the
    radial one, so ``|r.(u_q - u_p)| <= s^2`` and ``|t.(u_q - u_p)| <= 2 s`` (``s = reach /
    near``), plus ``|1/c_q - 1/c_p|`` for unequal sound speeds: far from the array a
    block of kilometres in range moves the differences by milliseconds, and the bearings
    away from the hyperbola's arms fall out whole. The wind ``w`` (one for the group) makes
    each path's speed ``c_q + w.u_q``: the speeds then differ by up to ``|w| |u_q - u_p|``
    more, and ``grad(d_q / c'_q)`` gains ``w_perp / c'^2``, whose pair difference is at most
    ``|w| |u_q - u_p| / c'^2`` plus ``|w| |1/c'_q^2 - 1/c'_p^2|``. Only a bound: the cells
    that pass are computed exactly (:func:`_grid_fit_blocks`), so its last bits do not
    matter.
    """
    m = len(sx)
    th0, th1 = math.radians(i0 * step_deg), math.radians((i1 - 1) * step_deg)
    r0, r1 = (j0 + 0.5) * step_m, (j1 - 0.5) * step_m
    rm = 0.5 * (r0 + r1)
    px, py = cx + rm * hs[i0 + i1 - 1], cy + rm * hc[i0 + i1 - 1]
    near = r0 - reach
    s = reach / near if near > 0.0 else 2.0
    radial, tangential = (s * s, 2.0 * s) if s < 1.0 else (2.0, 2.0)
    move_r, move_t = 0.5 * (r1 - r0), 0.5 * r1 * (th1 - th0)
    w = math.hypot(wu, wv)
    du = min(tangential, 2.0)  # |u_q - u_p| seen from any point of the block
    for q in range(m):  # each sensor's distance once (sqrt: a bound needs no last bit)
        dx, dy = sx[q] - px, sy[q] - py
        d = math.sqrt(dx * dx + dy * dy)
        e[q] = arr[q] - d / (c[q] + (wu * dx + wv * dy) / max(d, 1.0))
    lb = 0.0
    for q in range(m):
        for p in range(q + 1, m):
            cmin = min(c[q], c[p]) - w
            dc = (abs(c[q] - c[p]) + w * du) / (cmin * cmin)
            dw = w * du / (cmin * cmin) + 2.0 * w * dc / cmin  # the wind's own gradient
            slack = (move_r * (radial / cmin + dc + dw) + move_t * (tangential / cmin + dc + dw))
            gap = abs(e[q] - e[p]) - slack * (1.0 + 1e-9) - 1e-12
            if gap > 0.0:
                lb += (gap / sd) ** 2
    return lb / m <= chi2_max * (1.0 + 1e-9) + 1e-9


@njit(cache=True, error_model="numpy")
def _grid_fit_blocks(cx: float, cy: float, sx: F64, sy: F64, arr: F64, c: F64, wu: float,
                     wv: float, sin_t: F64, cos_t: F64, hs: F64, hc: F64, nr: int,
                     step_deg: float, step_m: float, sd: float, chi2_max: float
                     ) -> tuple[I64, F64, F64]:
    """The cells of the polar grid around ``(cx, cy)`` whose chi-square of the
    arrival-time differences is at most ``chi2_max``: their index (row-major, ascending),
    chi-square and implied emission time. Blocks whose lower bound (:func:`_block_passes`)
    exceeds ``chi2_max`` are skipped whole, coarse to fine (:data:`SUPER_ROWS` ...); every
    cell that can fit is computed, so the region is that of the full grid at a fraction of
    its cost (the check's largest single cost on a month of a dense line before). One
    thread: most calls are a few hundred cells, and numba's threads spent more waiting than
    working on them."""
    m, nt = len(sx), len(sin_t)
    reach = 0.0
    for q in range(m):
        reach = max(reach, math.hypot(sx[q] - cx, sy[q] - cy))
    idx = np.empty(nt * nr, np.int64)
    chi2 = np.empty(nt * nr)
    t0 = np.empty(nt * nr)
    n = 0
    e = np.empty(m)
    eb = np.empty(m)
    for si0 in range(0, nt, SUPER_ROWS):
        si1 = min(nt, si0 + SUPER_ROWS)
        for sj0 in range(0, nr, SUPER_COLS):
            sj1 = min(nr, sj0 + SUPER_COLS)
            if not _block_passes(cx, cy, sx, sy, arr, c, wu, wv, hs, hc, eb, si0, si1, sj0, sj1,
                                 step_deg, step_m, sd, chi2_max, reach):
                continue
            for i0 in range(si0, si1, BLOCK_ROWS):
                i1 = min(si1, i0 + BLOCK_ROWS)
                for j0 in range(sj0, sj1, BLOCK_COLS):
                    j1 = min(sj1, j0 + BLOCK_COLS)
                    if not _block_passes(cx, cy, sx, sy, arr, c, wu, wv, hs, hc, eb, i0, i1, j0, j1,
                                         step_deg, step_m, sd, chi2_max, reach):
                        continue
                    for k0 in range(i0, i1, SUB_ROWS):
                        k1 = min(i1, k0 + SUB_ROWS)
                        for j in range(j0, j1):
                            if not _block_passes(cx, cy, sx, sy, arr, c, wu, wv, hs, hc, eb, k0, k1,
                                                 j, j + 1, step_deg, step_m, sd, chi2_max,
                                                 reach):
                                continue
                            r = (j + 0.5) * step_m
                            for i in range(k0, k1):
                                x, y = cx + r * sin_t[i], cy + r * cos_t[i]
                                mean = 0.0
                                for q in range(m):
                                    dx, dy = sx[q] - x, sy[q] - y
                                    d = math.hypot(dx, dy)
                                    e[q] = arr[q] - d / (c[q] + (wu * dx + wv * dy)
                                                         / max(d, 1.0))
                                    mean += e[q]
                                mean /= m
                                s2 = 0.0
                                for q in range(m):
                                    s2 += ((e[q] - mean) / sd) ** 2
                                if s2 <= chi2_max:
                                    idx[n], chi2[n], t0[n] = i * nr + j, s2, mean
                                    n += 1
    order = np.argsort(idx[:n])
    return idx[:n][order], chi2[:n][order], t0[:n][order]


def arc_region(sx: F64, sy: F64, arr: F64, c: F64, params: ArcParams | None = None,
               wind: tuple[float, float] = (0.0, 0.0)) -> tuple[F64, F64, F64, F64]:
    """The grid points whose arrival-time differences fit ``arr`` at sensors ``(sx, sy)``:
    ``(x, y, weight, t0)``, weight the likelihood times the area each point stands for,
    ``t0`` the emission time each implies (s). ``c`` is each path's sound speed and
    ``wind`` the group's wind (grid m/s): a path's speed is ``c + wind . u``, ``u`` its
    direction (a steady 6 m/s along a 1.5 km baseline moves an arrival difference by
    ~80 ms, four of ``tdoa_sd_s``; left out, the far arm of a bang along the array's axis
    fell out of its region: BENCHMARKS.md, session 25)."""
    p = params or ArcParams()
    sx, sy = np.asarray(sx, float), np.asarray(sy, float)
    cx, cy = float(sx.mean()), float(sy.mean())
    nt, nr = round(360.0 / p.step_deg), int(p.hearing_m // p.step_m)
    keep, chi2, t0 = _grid_fit_blocks(cx, cy, sx, sy, np.asarray(arr, float),
                                      np.asarray(c, float), float(wind[0]), float(wind[1]),
                                      *_bearing_table(nt, p.step_deg),
                                      nr, p.step_deg, p.step_m, p.tdoa_sd_s, p.chi2_max)
    th = np.radians(keep // nr * p.step_deg)
    r = (keep % nr + 0.5) * p.step_m
    w = np.exp(-0.5 * chi2) * r  # a polar cell's area grows with its radius
    return cx + r * np.sin(th), cy + r * np.cos(th), w, t0


def rows_region(b: FireBatch, rows: I64, params: ArcParams) -> tuple[F64, F64, F64, F64]:
    """:func:`arc_region` of a group's arrival ``rows`` in the group's air, as
    :mod:`.locate` pools it (one air on every path of one sound: each sensor's own reading
    is off by ~0.5 °C and 0.5 m/s, ~30 ms over 12 km, more than the region's differences
    allow): the mean of the rows' sound speeds and of their reported or estimated wind,
    each path's speed its grid metres per second."""
    k = b.k[rows]
    c = float(np.mean(b.c[rows]))
    wind = (float(np.mean(b.wu[rows] * k)), float(np.mean(b.wv[rows] * k)))
    return arc_region(b.ox[rows], b.oy[rows], b.arr[rows], c * k, params, wind)


#: Slack of a grid point's implied emission time (s): its 400 m cell and the air.
T0_SLACK_S = 3.0


def could_be_hit(x: F64, y: F64, t0: F64, zx: F64, zy: F64, zsig: F64, zlo: F64, zhi: F64,
                 wins: list[Win], step_m: float) -> bool:
    """Could any fix ``z`` (position, RMS error ``zsig``, emission window ``zlo``..``zhi``)
    have fired a shell that burst at a point of the region ``(x, y)`` at the emission time
    ``t0`` that point implies? For some class ``(max range, min speed, max speed)``: within
    range (+ 2.5 sigma and a cell), and the flight from the fix's window to ``t0`` neither
    shorter than at the highest speed nor longer than at the lowest. The whole region
    counts, both arms: as a burst, the arrivals could come from anywhere on it."""
    if not len(zx) or not len(x):
        return False
    v_min = min(v for _, v, _ in wins)
    r_max = max(r for r, _, _ in wins)
    t_lo, t_hi = float(t0.min()) - T0_SLACK_S, float(t0.max()) + T0_SLACK_S
    z = np.flatnonzero((zlo <= t_hi) & (zhi + (r_max + 2.5 * zsig + step_m) / v_min >= t_lo))
    z = z[_reaches(x, y, zx[z], zy[z], 2.5 * zsig[z] + step_m + r_max)]
    for k in z.tolist():
        s = 2.5 * float(zsig[k]) + step_m
        d = np.hypot(x - zx[k], y - zy[k])
        near = d - s <= r_max
        if not near.any():
            continue
        dn, tn = d[near], t0[near]
        for rmax, vlo, vhi in wins:
            if ((dn - s <= rmax) & (zlo[k] + np.maximum(dn - s, 0.0) / vhi <= tn + T0_SLACK_S)
                    & (tn - T0_SLACK_S <= zhi[k] + (dn + s) / vlo)).any():
                return True
    return False


def _reaches(x: F64, y: F64, zx: F64, zy: F64, reach: F64) -> NDArray[np.bool_]:
    """Which points ``z`` may lie within ``reach`` of some cell ``(x, y)``: not beyond it
    from the cells' bounding box (with a metre to spare for the rounding of each cell's
    own distance), so that a fix too far from the whole region costs no distance per cell."""
    dx = np.maximum(np.maximum(float(x.min()) - zx, zx - float(x.max())), 0.0)
    dy = np.maximum(np.maximum(float(y.min()) - zy, zy - float(y.max())), 0.0)
    return np.asarray(np.hypot(dx, dy) <= reach + 1.0)


def passes_through(x: F64, y: F64, t0: F64, zx: F64, zy: F64, zsig: F64, zlo: F64, zhi: F64,
                   step_m: float) -> bool:
    """Does the region ``(x, y)`` pass within 2.5 sigma and a cell of some fix ``z`` at a
    time its emission window allows (``t0`` within ``zlo..zhi`` +- :data:`T0_SLACK_S`)? Then
    the array may have heard that fix's own bang, and the region is no other sound."""
    if not len(zx) or not len(x):
        return False
    t_lo, t_hi = float(t0.min()) - T0_SLACK_S, float(t0.max()) + T0_SLACK_S
    for k in np.flatnonzero((zlo <= t_hi) & (zhi >= t_lo)).tolist():
        near = np.hypot(x - zx[k], y - zy[k]) <= 2.5 * float(zsig[k]) + step_m
        if (near & (t0 >= zlo[k] - T0_SLACK_S) & (t0 <= zhi[k] + T0_SLACK_S)).any():
            return True
    return False


def spread(x: F64, y: F64, w: F64) -> F64:
    """The weighted covariance of the cells' centres (``np.cov`` with ``aweights``, its
    reliability-weighted n - 1 correction); where the weights leave that correction no
    degrees of freedom (one cell: ``np.cov`` divided by zero, and a NaN covariance stopped
    the check at writing the incident), the population one: zero for one cell, whose region
    is then the cell's own spread, which the caller adds to every region."""
    v1 = w.sum()
    dof = v1 - (w * w).sum() / v1  # np.cov's own divisor for ddof=1 and aweights
    return np.asarray(np.cov(np.vstack([x, y]), aweights=w, bias=not dof > 0), float)



def class_windows(wins: dict[str, Win], cls: str | None) -> list[Win]:
    """The flights ``(max range, min speed, max speed)`` a fix of weapon class ``cls`` may
    have: its class's, every known class's when it names none, none for a class with no
    range and speeds (a drone, a tank)."""
    if cls is None:
        return list(wins.values())
    return [wins[cls]] if cls in wins else []


def fit_cells(x: F64, y: F64, t0: F64, fx: float, fy: float, s: float, lo: float, hi: float,
              wins: list[Win]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Which cells could be the burst of a shot from the fix (``burst``), and which could
    have fired a shell that burst at the fix (``launch``): within a class's range (the fix's
    ``s`` = 2.5 sigma) and flight time from emission times ``t0``, without slack."""
    d = np.hypot(x - fx, y - fy)
    burst = np.zeros(len(x), bool)
    launch = np.zeros(len(x), bool)
    for rmax, vlo, vhi in wins:
        inr = d - s <= rmax
        burst |= inr & (lo + np.maximum(d - s, 0.0) / vhi <= t0) & (t0 <= hi + (d + s) / vlo)
        launch |= inr & (t0 + np.maximum(d - s, 0.0) / vhi <= hi) & (t0 + (d + s) / vlo >= lo)
    return burst, launch


def class_mix(b: FireBatch, located: NDArray[np.bool_], role: NDArray[np.int8], lo: F64,
              hi: F64, cls: NDArray[np.object_], lp: LinkParams) -> F64:
    """Each group's weights of the known classes (``lp.max_range_m``'s order): as the link's
    class mixture (:func:`~.link.link_origin_impact`), each class's share of the located
    origins and impacts of the group's day that name one, plus one (``class_weights``
    where given), so that a day fused alone weighs as its month does."""
    names = list(lp.max_range_m)
    if lp.class_weights is not None:
        w = np.array([lp.class_weights.get(n, 0.0) for n in names], float)
        return np.tile(w / w.sum(), (len(role), 1))
    with np.errstate(invalid="ignore"):  # a group with no window: its day is any
        day = b.days(np.nan_to_num((lo + hi) / 2))
    days, inv = np.unique(day, return_inverse=True)
    W = np.ones((len(days), len(names)))
    typed = located & (role != ROLE_ANY)
    for k, n in enumerate(names):
        np.add.at(W[:, k], inv[typed & (cls == n)], 1.0)
    return np.asarray((W / W.sum(axis=1, keepdims=True))[inv], float)


def flight_likelihood(d: F64, dt: F64, s: float, lo: float, hi: float, wins: list[Win],
                      mix: F64, step_m: float) -> F64:
    """How likely a shot flew ``d`` (m) in ``dt`` (s, the burst's emission time less the
    launch's) between a cell and a fix (2.5 sigma ``s``, emission window ``lo..hi``), under
    the classes ``wins`` weighted ``mix``: as the link's class mixture scores a pair, each
    class that reaches that far gives ``mix[k] / r_k`` (the distance uniform up to its range)
    times the Gaussian density of ``dt`` less the flight at the class's middle speed, its
    spread the window's, the speed window's, the fix's and a cell's (and the air's second)."""
    base = (hi - lo) ** 2 / 12.0 + 1.0 + (T0_SLACK_S / 2) ** 2
    out = np.zeros(len(d))
    for (rmax, vlo, vhi), wk in zip(wins, mix, strict=True):
        vm = np.sqrt(vlo * vhi)
        sd = np.sqrt(base + ((d / vlo - d / vhi) / 4.0) ** 2 + ((s + step_m) / vm) ** 2)
        out += np.where(d - s <= rmax, wk / rmax / sd * np.exp(-0.5 * ((dt - d / vm) / sd) ** 2),
                        0.0)
    return out


def cell_sides(geometry: CompiledGeometry, x: F64, y: F64, t_s: float, epoch: np.datetime64,
               attribution: AttributionParams) -> F64:
    """Each cell's party probabilities at ``t_s`` (seconds from ``epoch``), a cell as a point."""
    when = np.full(len(x), epoch + np.round(t_s * 1e6).astype("timedelta64[us]"))
    return attribute(geometry, x, y, np.tile(np.eye(2), (len(x), 1, 1)),
                     when.astype("datetime64[ns]"), attribution)


def as_fix(x: F64, y: F64, wt: F64, step_m: float) -> tuple[float, float, F64]:
    """A region stated as a fix: its cells' weighted mean and :func:`spread`, plus a cell's
    own spread (``step_m`` wide)."""
    return (float(np.average(x, weights=wt)), float(np.average(y, weights=wt)),
            spread(x, y, wt) + np.eye(2) * step_m**2 / 12)


def unlocated_arrivals(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8],
                       partner: I64) -> I64:
    """The groups made only of two or more arrivals (of one array) that no fix located and
    nothing typed or paired: each a region, not a point (:func:`arc_region`)."""
    G = len(role)
    has_a = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    n_a = np.bincount(labels, has_a, minlength=G)
    return np.flatnonzero(~fixes.located & (n_a >= 2) & (n_a == np.bincount(labels, minlength=G))
                          & (role == ROLE_ANY) & (partner < 0))


def open_bursts(fixes: Fixes, role: NDArray[np.int8], partner: I64, side: I64, lo: F64,
                hi: F64, cls: NDArray[np.object_], lp: LinkParams) -> tuple[NDArray[np.bool_], I64]:
    """The located bursts on one side with no launch paired (``burst``), and the bursts a
    located fix could have fired (``hb``, one per such pair; a burst not in it has no
    candidate launch): where the regions of an array's arrivals or of a lone flash look for
    a launch nobody placed."""
    loc = fixes.located
    burst = loc & (role == ROLE_IMPACT) & (partner < 0) & (side >= 0)
    if not burst.any():
        return burst, np.zeros(0, np.int64)
    _, hb = compatible_shots(fixes.x, fixes.y, fixes.cov, lo, hi, cls, side,
                             loc & (role != ROLE_IMPACT), burst, lp, among=burst)
    return burst, hb


def arc_launches(
    b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], partner: I64, side: I64,
    lo: F64, hi: F64, cls: NDArray[np.object_], geometry: CompiledGeometry, lp: LinkParams,
    ap: ArcParams, attribution: AttributionParams, also: I64 | None = None,
) -> Iterator[tuple[int, int, float, float, F64, float, F64]]:
    """``(group, burst, x, y, cov, t0, prob)`` for each group of arrivals of one array left
    unlocated (or in ``also``: a fix no link could try) that is taken as the launch of a
    burst monitors saw: the burst (typed, located, on one side with ``own_side_max``) has no
    located candidate launch (:func:`~truceline.core.fusion.link.compatible_shots`) and no
    other such group; the group's region (:func:`arc_region`) reaches no other burst in range
    and time and does not pass through the burst itself (the array may have heard the burst);
    no located fix could have fired at the region (the group may be a burst), nor does it
    pass through a located origin attributed with ``own_side_max`` at its time
    (:func:`passes_through`: the group may be that launch's own bang, counted already); and
    the region within the burst's range, its cells weighted by their flight to it
    (``ap.launch_by_flight``), lies on one party's side with ``own_side_max``, not the
    burst's. ``side``: each fix's party (-1 when none is that likely); ``lo``/``hi``:
    emission-time windows (s)."""
    G = len(role)
    loc, cand = fixes.located, unlocated_arrivals(b, labels, fixes, role, partner)
    cand = cand if also is None else np.union1d(cand, also)
    if not len(cand):
        return
    burst, hb = open_bursts(fixes, role, partner, side, lo, hi, cls, lp)
    if not burst.any():
        return
    free = np.flatnonzero(burst & (np.bincount(hb, minlength=G) == 0))
    if not len(free):
        return
    wins = dict(zip(lp.max_range_m, lp.windows(), strict=True))
    any_r = max(r for r, _, _ in wins.values())
    # how far from the region each free burst can be and still matter: its class's range
    # (any class's when it has none), or, of a class with no window, only as near as a burst
    # the array heard (a cell within 2.5 sigma and a cell's size of it)
    reach_of = {name: r for name, (r, _, _) in wins.items()}
    cls_r = np.array([any_r if k is None else reach_of.get(k, ap.step_m) for k in cls[free]],
                     float)
    reach = np.full(G, np.nan)
    reach[free] = cls_r
    sig = np.sqrt(np.nan_to_num(np.trace(fixes.cov, axis1=1, axis2=2), nan=np.inf))
    mf = np.flatnonzero(loc & (role != ROLE_IMPACT) & (sig <= lp.max_sigma_m))  # may fire
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(G + 1))
    # the free bursts by the start of their window: a group's candidates are a run of them
    # (a window ending after ``early`` starts after ``early - width``); NaN sorts last, out
    by_lo = free[np.argsort(lo[free], kind="stable")]
    lo_sorted = lo[by_lo]
    span = hi[free] - lo[free]
    width = float(np.max(np.where(np.isnan(span), np.inf, span)))
    found: list[tuple[int, int, tuple[F64, F64, F64, F64], tuple[F64, F64, F64]]] = []
    mix = class_mix(b, loc, role, lo, hi, cls, lp) if ap.launch_by_flight else None
    for u in cand.tolist():
        rows = order[starts[u]:starts[u + 1]]
        cx, cy = float(b.ox[rows].mean()), float(b.oy[rows].mean())
        tu = float(b.arr[rows].min())
        early = tu - ap.hearing_m / 250.0
        f = np.sort(by_lo[np.searchsorted(lo_sorted, early - width, "left"):
                          np.searchsorted(lo_sorted, tu + 600.0, "right")])
        dist = np.hypot(fixes.x[f] - cx, fixes.y[f] - cy)
        near = f[(dist <= ap.hearing_m + reach[f] + 2.5 * sig[f])
                 & (hi[f] >= early) & (lo[f] <= tu + 600.0)]
        if not len(near):
            continue
        x, y, wt, t0 = rows_region(b, rows, ap)
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
            _, ok = fit_cells(x, y, t0, float(fixes.x[yb]), float(fixes.y[yb]), s,
                              float(lo[yb]), float(hi[yb]), class_windows(wins, cls[yb]))
            if ok.any():
                fits.append((yb, ok))
        if len(fits) == 1 and not heard_burst:
            yb, ok = fits[0]
            w = wt[ok]
            if mix is not None:  # the cells' flights to the burst, by the day's mix
                cw = class_windows(wins, cls[yb])
                w = w * flight_likelihood(
                    np.hypot(x[ok] - fixes.x[yb], y[ok] - fixes.y[yb]),
                    0.5 * (lo[yb] + hi[yb]) - t0[ok], 2.5 * float(sig[yb]), float(lo[yb]),
                    float(hi[yb]), cw, mix[yb] if cls[yb] is None else np.ones(len(cw)),
                    ap.step_m)
            if w.sum() > 0.0:
                found.append((u, yb, (x[ok], y[ok], w, t0[ok]), (x, y, t0)))
    n_u = np.bincount(np.asarray([f[1] for f in found], np.int64), minlength=G)
    zx, zy, zsig, zlo, zhi = fixes.x[mf], fixes.y[mf], sig[mf], lo[mf], hi[mf]  # once
    # the located origins that are attributed, however wide (a monitor's "outgoing" on a
    # 20-30 km band): arrivals through one may be its own bang, already counted
    wide = np.flatnonzero(loc & (role == ROLE_ORIGIN) & np.isfinite(sig) & (side >= 0))
    all_wins = list(wins.values())
    for u, yb, (x, y, wt, t0), whole in found:
        if n_u[yb] != 1:
            continue
        if could_be_hit(*whole, zx, zy, zsig, zlo, zhi, all_wins, ap.step_m):
            continue  # the arrivals may be the burst of a shot from a located fix
        if passes_through(*whole, fixes.x[wide], fixes.y[wide], sig[wide], lo[wide], hi[wide],
                          ap.step_m):
            continue  # ... or an attributed launch's own bang: one shot counted once
        tm = float(np.average(t0, weights=wt))
        one = cell_sides(geometry, x, y, tm, b.epoch, attribution)
        pr = (one * wt[:, None]).sum(axis=0) / wt.sum()
        k = int(pr.argmax())
        if pr[k] < lp.own_side_max or k == side[yb]:
            continue
        mx, my, cov = as_fix(x, y, wt, ap.step_m)
        yield (u, yb, mx, my, cov, tm, pr)
