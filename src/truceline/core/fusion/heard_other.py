"""An array that alone heard one sound of a shot whose other sound other arrays located.

Where one array alone heard a launch (or a burst), its arrivals cannot be located, and
:func:`.heard.join_heard` tests them only against *located* sounds: a shot whose burst other
arrays fixed and timed, but whose launch only this array heard, stays two incidents (issue
14, session 27: 66 launch and 30 burst groups of all_conditions seed 1, ~1,500 split pairs).
The arrivals still say much: their differences put the sound on a hyperbola from the array
(a bearing, far off), and each point of it, with the travel time to the sensors, an emission
time. The located part was emitted one flight time later (a launch heard) or earlier (a
burst heard), at a distance the flight allows: within a weapon class's range and at its
speeds (:meth:`.link.LinkParams.windows`).

So at the end of the pipeline (after the links, the arcs' launch regions of :mod:`.region`,
which place such a launch where they can, and the calibration), each vague arrival group left
(two to ``max_split`` arrivals of one array, unlocated or on three arrivals) is tested
against every located part not linked to another (``partner < 0``) within reach: some point
within hearing of the array must fit the arrivals' differences
(``chi2 <= chi2_dof(level)``, sensors' pooled air, timing error ``arrival_sd_s``) and, with
the emission time it implies (give or take three sds of the wind along the path), lie within
a class's range of the part with a flight time the class's speeds allow. An origin part takes
a burst heard after it, an impact a launch before it, an untyped fix either. The group joins
(its arrivals, no refit: they are not the part's sound) only where exactly one part passes,
that part's emission time is fixed by arrivals of its own (a window of minutes passes almost
anything), and no located sound fits the arrivals directly within the looser gate (the array
may have heard that one, fixed badly). A part whose reports name a weapon class is tested with
that class's flight only, and takes nothing if the link knows no flight of it (a drone, a
tank: as :func:`.region.arc_launches`). A shot has one other sound: two groups that would join
one part join neither, unless their arrivals together fit one point that passes (two arrays
heard that one sound; ``HeardParams.other_together``, session 34: all 12 such pairs of
all_conditions seeds 1 and 3 were one shot's).

One arrival (``HeardParams.other_one``; session 30) has no difference to test: every point
within hearing fits it, so the test is the flight alone, in closed form
(:func:`_one_arrival`), and the join rests on uniqueness, as above, and on no located part
being the sound it heard: a timed one fitting its time (the looser gate), or one no arrival
timed whose window, a clock's error wider, holds it (one arrival cannot test such a part).
Baseline seeds 1-2: 39 and 65 single arrivals that heard a lone timed part's other sound
were left apart, the largest kind of arrival fragment.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from scipy.stats import chi2 as chi2_dist

from truceline.core.fusion.batch import ROLE_IMPACT, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.heard import HeardParams, arrival_groups, bare_arrivals, part_tests
from truceline.core.fusion.heard_when import may_be_near
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import M_ARRIVAL, Fixes
from truceline.core.fusion.sound_grid import (
    SHORT,
    chi2_max,
    fits_blocked,
    fitting,
    fitting_array,
    grid,
    point_blocks,
)
from truceline.core.fusion.sound_parts import fits_parts

__all__ = ["arrivals_fit", "join_other_sound", "named_classes", "other_sound_apart"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Distances from the part :func:`_one_arrival` tests (to the class's range).
_N_ONE = 256


def _points(b: FireBatch, rows: I64, p: HeardParams) -> tuple[F64, F64, F64, F64]:
    """The points within hearing that fit the arrivals ``rows`` (their differences), each
    one's implied emission time and its sd (the wind along the path): a polar grid around
    the array, compiled (:func:`.sound_grid.fitting`; the array form was ~80 % of the 907k
    month's fusion) where the group has at most :data:`.sound_grid.SHORT` arrivals."""
    return (fitting if len(rows) <= SHORT else fitting_array)(*_search(b, rows, p))


def _points_array(b: FireBatch, rows: I64, p: HeardParams) -> tuple[F64, F64, F64, F64]:
    """:func:`_points` as arrays (points x sensors): any number of arrivals."""
    return fitting_array(*_search(b, rows, p))


def _one_arrival(b: FireBatch, row: int, p: HeardParams) -> Any:
    """:func:`.sound_grid.fits` for one arrival, in closed form: a point ``d`` from the part
    lies between ``|D - d|`` and ``min(D + d, hearing)`` from the sensor (``D`` the sensor's
    distance to the part), and every path length between is reached on that circle, so the
    heard sound's emission times form one interval per ``d`` (the speeds the pooled air
    allows, three sds of the wind either way); the flight, as in ``fits``, is tested on a
    grid of ``d`` to the class's range. Compiled (:func:`_one_fits`; the array form,
    :func:`_one_arrival_array`, was ~8 % of the 907k month's check), the same answer."""
    sx, sy, a = float(b.ox[row]), float(b.oy[row]), float(b.arr[row])
    c_lo, c_hi, s = _one_air(b, row, p)
    hearing = float(p.hearing_m)

    def fits(x: float, y: float, sig: float, lo: float, hi: float, role: int,
             windows: F64) -> bool:
        return bool(_one_fits(math.hypot(x - sx, y - sy), a, c_lo, c_hi, s, hearing, sig, lo,
                              hi, role, windows))

    return fits


def arrivals_fit(b: FireBatch, rows: I64, p: HeardParams) -> Any:
    """The test of each part against the arrivals ``rows`` (:func:`_grid_each`'s signature):
    in closed form for one arrival (:func:`_one_each`), over the grid's fitting points for
    more; what :func:`join_other_sound` and :mod:`.heard_after` ask of a group's arrivals."""
    return _one_each(b, int(rows[0]), p) if len(rows) == 1 else _grid_each(b, rows, p)


def _one_each(b: FireBatch, row: int, p: HeardParams) -> Any:
    """:func:`_one_arrival`'s test of each part ``c`` (arrays ``x``, ``y``, ... indexed by
    it), in one compiled call (:func:`_one_fits_each`), the parts after the ``most``-th that
    passes left untested (False); each part's distance to the sensor by Python's
    ``math.hypot``, as :func:`_one_arrival`'s."""
    sx, sy, a = float(b.ox[row]), float(b.oy[row]), float(b.arr[row])
    c_lo, c_hi, s = _one_air(b, row, p)
    hearing = float(p.hearing_m)

    def each(c: I64, x: F64, y: F64, sig: F64, lo: F64, hi: F64, role: I64, windows: F64,
             most: int) -> NDArray[np.bool_]:
        far = np.array([math.hypot(xc - sx, yc - sy)
                        for xc, yc in zip(x[c].tolist(), y[c].tolist(), strict=True)],
                       np.float64)
        return _one_fits_each(far, a, c_lo, c_hi, s, hearing, sig[c], lo[c], hi[c], role[c],
                              windows, most)

    return each


def _one_air(b: FireBatch, row: int, p: HeardParams) -> tuple[float, float, float]:
    """The slowest and fastest speeds of the sound to the arrival ``row`` (the pooled air,
    its wind and three sds of it either way) and three timing sds."""
    wsd = float(b.wind_sd[row]) if np.isfinite(b.wind_sd[row]) else (
        0.5 if b.wind_known[row] else p.wind_sd_ms)  # as join_heard's
    slack = float(np.hypot(b.wu[row], b.wv[row])) + 3.0 * wsd
    c = float(b.c[row]) * float(b.k[row])
    return max(c - slack, 1.0), c + slack, 3.0 * p.arrival_sd_s


@njit(cache=True, error_model="numpy")
def _one_fits(far: float, a: float, c_lo: float, c_hi: float, s: float, hearing: float,
              sig: float, lo: float, hi: float, role: int, windows: F64) -> bool:
    """:func:`_one_arrival`'s test, point by point of its grid of ``d`` (``np.linspace``'s
    operations: ``i * step``, the last the end itself), stopping at the first that passes:
    :func:`_one_arrival_array`'s operations on each (``max`` and ``min`` keep a NaN, as
    numpy's), so the same answer without its temporaries."""
    for w in range(windows.shape[0]):
        rng, v_lo, v_hi = windows[w, 0], windows[w, 1], windows[w, 2]
        stop = rng + 3.0 * sig
        step = stop / (_N_ONE - 1)
        for i in range(_N_ONE):
            if i == _N_ONE - 1:
                d = stop
            elif step == 0.0:
                d = i / (_N_ONE - 1) * stop + 0.0
            else:
                d = i * step + 0.0
            r_lo = abs(far - d)
            if r_lo < 1.0:
                r_lo = 1.0
            if not r_lo <= hearing:
                continue
            r_hi = far + d
            if r_hi > hearing:
                r_hi = hearing
            e_lo, e_hi = a - r_hi / c_lo - s, a - r_lo / c_hi + s
            f_lo = d - 3.0 * sig
            if f_lo < 0.0:
                f_lo = 0.0
            f_lo = f_lo / v_hi
            f_hi = (d + 3.0 * sig) / v_lo
            later = (hi - e_lo >= f_lo) and (lo - e_hi <= f_hi)
            earlier = (e_hi - lo >= f_lo) and (e_lo - hi <= f_hi)
            if (later if role == ROLE_IMPACT else earlier if role == ROLE_ORIGIN
                    else later or earlier):
                return True
    return False


@njit(cache=True, error_model="numpy")
def _one_fits_each(far: F64, a: float, c_lo: float, c_hi: float, s: float, hearing: float,
                   sig: F64, lo: F64, hi: F64, role: I64, windows: F64, most: int
                   ) -> NDArray[np.bool_]:
    """:func:`_one_fits` of each part (``far`` its distance to the sensor), stopping once
    ``most`` have passed."""
    out = np.zeros(len(far), np.bool_)
    n = 0
    for i in range(len(far)):
        if _one_fits(far[i], a, c_lo, c_hi, s, hearing, sig[i], lo[i], hi[i], role[i],
                     windows):
            out[i] = True
            n += 1
            if n >= most:
                break
    return out


def _one_arrival_array(b: FireBatch, row: int, p: HeardParams) -> Any:
    """:func:`_one_arrival` as arrays (the form it replaced, kept to pin it)."""
    sx, sy, a = float(b.ox[row]), float(b.oy[row]), float(b.arr[row])
    c_lo, c_hi, s = _one_air(b, row, p)

    def fits(x: float, y: float, sig: float, lo: float, hi: float, role: int,
             windows: F64) -> bool:
        far = math.hypot(x - sx, y - sy)
        for rng, v_lo, v_hi in windows:
            d = np.linspace(0.0, rng + 3.0 * sig, _N_ONE)
            r_lo = np.maximum(np.abs(far - d), 1.0)
            r_hi = np.minimum(far + d, p.hearing_m)
            ok = r_lo <= p.hearing_m
            e_lo, e_hi = a - r_hi / c_lo - s, a - r_lo / c_hi + s
            f_lo, f_hi = np.maximum(d - 3.0 * sig, 0.0) / v_hi, (d + 3.0 * sig) / v_lo
            later = (hi - e_lo >= f_lo) & (lo - e_hi <= f_hi)
            earlier = (e_hi - lo >= f_lo) & (e_lo - hi <= f_hi)
            hit = later if role == ROLE_IMPACT else earlier if role == ROLE_ORIGIN \
                else later | earlier
            if (ok & hit).any():
                return True
        return False

    return fits


def _search(b: FireBatch, rows: I64, p: HeardParams) -> tuple[Any, ...]:
    """The arguments of :func:`.sound_grid.fitting` for the arrivals ``rows``: the array's
    middle, the grid, the sensors, their arrivals and scale factors, the pooled air, the
    timing sd, the chi-square cut and the wind's sd."""
    sx, sy, a = b.ox[rows], b.oy[rows], b.arr[rows]
    c, wu, wv = (float(v[rows].mean()) for v in (b.c, b.wu, b.wv))
    wsd = b.wind_sd[rows]
    w = float(np.nanmax(wsd)) if np.isfinite(wsd).any() else p.wind_sd_ms
    return (float(sx.mean()), float(sy.mean()), *grid(p.hearing_m), sx, sy, a, b.k[rows], c,
            wu, wv, p.arrival_sd_s, chi2_max(p.level, len(rows) - 1), w)


def _grid_each(b: FireBatch, rows: I64, p: HeardParams) -> Any:
    """The test of each part ``c`` (arrays indexed by it) against the points that fit the
    arrivals ``rows``, the parts after the ``most``-th that passes left untested (False):
    :func:`.sound_parts.fits_parts` (one walk of the grid for all the parts) where
    :func:`.sound_grid.fitting` sums as it does, else the listed points
    (:func:`.sound_grid.fitting_array`) tested part by part."""
    search = _search(b, rows, p)
    if len(rows) > SHORT:
        pts = fitting_array(*search)
        blocks = point_blocks(*pts)

    def each(c: I64, x: F64, y: F64, sig: F64, lo: F64, hi: F64, role: I64, windows: F64,
             most: int, use: NDArray[np.bool_] | None = None) -> NDArray[np.bool_]:
        use = np.ones((len(c), len(windows)), np.bool_) if use is None else use
        if len(rows) <= SHORT:
            args: tuple[Any, ...] = (*search, x[c], y[c], sig[c], lo[c], hi[c], role[c],
                                     windows, use, most)
            return fits_parts(*args)
        out = np.zeros(len(c), np.bool_)
        for i, q in enumerate(c.tolist()):
            out[i] = fits_blocked(*pts, blocks, float(x[q]), float(y[q]), float(sig[q]),
                                  float(lo[q]), float(hi[q]), int(role[q]), windows[use[i]])
            if out.sum() >= most:
                break
        return out

    return each


def _nearby(cand: I64, x: F64, y: F64, lo: F64, hi: F64, reach: float, window: float) -> Any:
    """The parts ``cand`` (windows ``lo`` to ``hi`` at most ``window`` wide) within ``reach``
    of a point whose window overlaps ``[t0, t1]``: by time first (sorted starts, a slice),
    then by distance, as a tree over the month's parts returned thousands within reach (70
    km) of each group for the few in time. The distance test holds a hair more than the
    tree's (its rounding); a part that far passes no test of :func:`join_other_sound`."""
    o = cand[np.argsort(lo[cand], kind="stable")]
    lo_o = lo[o]
    far = reach * (1.0 + 1e-9) + 1e-6

    def near(cx: float, cy: float, t0: float, t1: float) -> I64:
        s = o[int(np.searchsorted(lo_o, t0 - window - 1.0)):
              int(np.searchsorted(lo_o, t1, side="right"))]
        s = s[(hi[s] >= t0) & (lo[s] <= t1)]
        return s[np.hypot(x[s] - cx, y[s] - cy) <= far]

    return near


def named_classes(b: FireBatch, labels: I64, G: int) -> Any:
    """The weapon classes the reports of a group (of ``G``) name (a set; empty where none),
    by a sort of the labels once, not a scan of the batch's labels per group asked."""
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(G + 1))

    def named(c: int) -> set[Any]:
        return {w for w in b.weapon_class[order[starts[c]:starts[c + 1]]]
                if isinstance(w, str) and w}

    return named


class Fused(Protocol):
    """What :func:`join_other_sound` reads of a fusion pass."""

    @property
    def batch(self) -> FireBatch: ...
    @property
    def labels(self) -> I64: ...
    @property
    def fixes(self) -> Fixes: ...
    @property
    def role(self) -> NDArray[np.int8]: ...
    @property
    def partner(self) -> I64: ...


def join_other_sound(res: Fused, lo: F64, hi: F64, u: I64, g: I64, p: HeardParams,
                     link: LinkParams) -> tuple[I64, I64]:
    """``(u, g)`` (groups joined into parts: :func:`.same_shot.same_shots`' joins) with each
    vague arrival group that heard the other sound of exactly one located, unlinked, timed
    part joined to it. After the links and the arcs' launches (:mod:`.region`, which place
    such a launch where they can), and after the calibration, which must not read the
    arrivals against the part's fix."""
    b, labels, fixes, role, partner = res.batch, res.labels, res.fixes, res.role, res.partner
    x, y, cov, located = fixes.x, fixes.y, fixes.cov, fixes.located
    G = len(x)
    if not p.enabled or not p.other or not G:
        return u, g
    has, _, vague = bare_arrivals(b, labels, role, partner, located)
    timed = located & (fixes.method & M_ARRIVAL > 0)
    left = vague.copy()
    left[u] = False
    left[g] = False
    rows = np.flatnonzero(left[labels] & has)
    sig = np.sqrt(np.nan_to_num(np.trace(cov, axis1=1, axis2=2), nan=np.inf))
    part = (located & np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
            & (hi - lo <= p.max_window_s) & (sig <= link.max_sigma_m))
    part[u] = False
    cand = np.flatnonzero(part & (partner < 0))
    every = np.flatnonzero(part)
    if not len(rows) or not len(cand):
        return u, g
    order, ul, st, _, n_u, _, _, first, last = arrival_groups(b, labels, rows)
    reach = p.hearing_m + max(link.max_range_m.values()) + 3.0 * float(sig[cand].max())
    nearby = _nearby(cand, x, y, lo, hi, reach, p.max_window_s)
    tree_all = cKDTree(np.column_stack([x[every], y[every]]))
    travel = p.hearing_m / p.slowest_sound_ms
    flight = max(link.max_range_m.values()) / link.windows()[0][1]
    wsd = np.where(np.isfinite(b.wind_sd), b.wind_sd, p.wind_sd_ms)
    wsd = np.where(b.wind_known & ~np.isfinite(b.wind_sd), 0.5, wsd)
    src_max = int(b.source.max()) + 1
    have = np.unique(labels.astype(np.int64) * src_max + b.source)
    loose = chi2_dist.ppf(p.clear_level, np.arange(1, p.max_split + 2))
    windows = np.array(link.windows(), np.float64).reshape(-1, 3)
    by_class = dict(zip(link.max_range_m, link.windows(), strict=True))
    take_u, take_g, take_r = [], [], []
    lo_n = 1 if p.other_one else 2
    named_of = named_classes(b, labels, G)
    xf, yf, lof, hif = (np.asarray(v, np.float64) for v in (x, y, lo, hi))
    sigf, role_i = np.asarray(sig, np.float64), np.asarray(role, np.int64)
    for k in np.flatnonzero((n_u >= lo_n) & (n_u <= p.max_split)):
        r = order[st[k]:st[k] + n_u[k]]
        cx, cy = float(b.ox[r].mean()), float(b.oy[r].mean())
        if 2.0 * float(np.hypot(b.ox[r] - cx, b.oy[r] - cy).max()) > p.array_m:
            continue
        a0, a1 = float(first[k]), float(last[k])
        near = nearby(cx, cy, a0 - travel - flight, a1 + flight)
        near = near[near != ul[k]]
        if not timed[near].any():  # (or none): the one part that passes must be timed
            continue
        # one arrival fits every point within hearing: in closed form
        each = arrivals_fit(b, r, p)
        # the parts that pass (two at most: two passing join neither)
        passed = near[each(near, xf, yf, sigf, lof, hif, role_i, windows, 2)]
        if len(passed) != 1 or not timed[passed[0]]:
            continue
        # a part whose reports name a class: that class's flight (none known: no join)
        c = int(passed[0])
        named = named_of(c)
        if named and (not named <= set(link.max_range_m) or not each(
                passed, xf, yf, sigf, lof, hif, role_i,
                np.array([by_class[w] for w in sorted(named)], np.float64), 1)[0]):
            continue
        # a located sound the arrivals fit themselves: the array may have heard that one
        # (tested last, for the few groups that would join: each test is pure, so the
        # order does not change which join; first, it cost more than the search above)
        alt = every[tree_all.query_ball_point([cx, cy], p.hearing_m + 3.0 * float(
            sig[every].max()))]
        alt = alt[alt != ul[k]]
        alt = alt[may_be_near(b, r, alt, x, y, cov, lo, hi, wsd, p)]  # the rest fail in time
        if len(alt):
            idx = np.repeat(r[None, :], len(alt), axis=0)
            _, fa, dof, _, _, _ = part_tests(b, idx, alt, x, y, cov, lo, hi, timed, wsd,
                                             have, p)
            if ((dof >= 1) & (fa <= loose[np.minimum(dof, p.max_split) - 1])).any():
                continue
            # one arrival tests nothing against a part no arrival timed but its window (a
            # clock's error wider): any such part in time may be the sound it heard
            if len(r) == 1 and ((dof < 1) & np.isfinite(fa)).any():
                continue
        take_u.append(int(ul[k]))
        take_g.append(c)
        take_r.append(r)
    if not take_u:
        return u, g
    tu, tg = np.array(take_u, np.int64), np.array(take_g, np.int64)
    # a shot has one other sound: two groups that would join one part join neither (an
    # untyped fix may be heard as a launch by one, as a burst by the other), unless their
    # arrivals together, no sensor twice, fit one point that passes (two arrays heard it)
    _, inv, n_g = np.unique(tg, return_inverse=True, return_counts=True)
    keep = ~np.isin(tg, tu) & (n_g[inv] == 1)
    for c in np.unique(tg[(n_g[inv] > 1) & ~np.isin(tg, tu)]) if p.other_together else ():
        at = np.flatnonzero(tg == c)
        r = np.concatenate([take_r[i] for i in at])
        named = named_of(int(c))
        wins = np.array([by_class[w] for w in sorted(named)], np.float64) if named else windows
        if len(np.unique(b.source[r])) == len(r) and _grid_each(b, r, p)(
                np.array([c]), xf, yf, sigf, lof, hif, role_i, wins, 1)[0]:
            keep[at] = True
    return np.concatenate([u, tu[keep]]), np.concatenate([g, tg[keep]])



def other_sound_apart(res: Fused, lo: F64, hi: F64, u: I64, g: I64, n0: int, p: HeardParams,
                      link: LinkParams) -> tuple[I64, I64]:
    """``(u, g)`` without the joins past ``n0`` (:func:`.heard.join_untested`'s) whose arrivals
    could be the other sound of a located part of another event not linked to its own other
    part. Those joins rest on the part being the only event the arrivals could be of, but
    their test reads only the located sounds, and the unlocated launch of a burst that other
    arrays fixed is heard a flight time *before* it (baseline seed 3: the MLRS launch 24 km
    behind the line, heard by one sensor, joined a mortar's lone bearing of the other party,
    so the mortar's finding held the rocket's report). The test is :func:`join_other_sound`'s
    (some point within hearing that fits the arrivals, within a class's range and flight of
    the part; one arrival fits every point), timed or not, over the part's named classes
    where the link knows their flight, else over every class.

    Such a part is no rival (``HeardParams.apart_mate``) where its other sound may be the
    target's own event's and two arrivals or more fit the target by their differences: the
    target unlinked, the part and it could be one shot and each is the other's only such
    part; the target linked, the part could be one shot with it or its partner (a second fix
    of one of the event's sounds). All-conditions seeds 1 / 3 (session 34): of 24 / 31 joins
    undone, 23 / 29 were right; replayed, this gives +88 / +60 true pairs and no false one."""
    if len(u) <= n0:
        return u, g
    b, labels, fixes, role, partner = res.batch, res.labels, res.fixes, res.role, res.partner
    x, y, cov, located = fixes.x, fixes.y, fixes.cov, fixes.located
    sig = np.sqrt(np.nan_to_num(np.trace(cov, axis1=1, axis2=2), nan=np.inf))
    part = (located & np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
            & (hi - lo <= p.max_window_s) & (sig <= link.max_sigma_m) & (partner < 0))
    part[u] = False  # joined elsewhere: no part of its own
    cand = np.flatnonzero(part)
    if not len(cand):
        return u, g
    has = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    order, ul, st, _, n_u, ucx, ucy, first, last = arrival_groups(
        b, labels, np.flatnonzero(np.isin(labels, u[n0:]) & has))
    reach = p.hearing_m + max(link.max_range_m.values()) + 3.0 * float(sig[cand].max())
    nearby = _nearby(cand, x, y, lo, hi, reach, p.max_window_s)
    travel = p.hearing_m / p.slowest_sound_ms
    flight = max(link.max_range_m.values()) / link.windows()[0][1]
    windows = np.array(link.windows(), np.float64).reshape(-1, 3)
    by_class = dict(zip(link.max_range_m, link.windows(), strict=True))
    at = {int(v): k for k, v in enumerate(ul.tolist())}
    named_of = named_classes(b, labels, len(x))
    xf, yf, lof, hif = (np.asarray(v, np.float64) for v in (x, y, lo, hi))
    sigf, role_i = np.asarray(sig, np.float64), np.asarray(role, np.int64)
    keep = np.ones(len(u), bool)

    def mates(c: int, among: I64) -> list[int]:
        return _mates(c, among, xf, yf, lof, hif, role_i, by_class, named_of)

    for j in range(n0, len(u)):
        k = at[int(u[j])]
        own = {int(g[j]), int(partner[g[j]])}
        near = nearby(float(ucx[k]), float(ucy[k]), first[k] - travel - flight,
                      last[k] + flight)
        near = near[~np.isin(near, [*own, int(u[j])])]
        if not len(near):
            continue
        rows = order[st[k]:st[k] + n_u[k]]
        # a part's named classes where the link knows their flight, else every class
        use = np.ones((len(near), len(windows)), np.bool_)
        for i, c in enumerate(near.tolist()):
            named = named_of(c)
            if named and named <= set(by_class):
                use[i] = [name in named for name in by_class]
        # one arrival fits every point of the grid: the parts tested against the grid itself
        hit = near[_grid_each(b, rows, p)(near, xf, yf, sigf, lof, hif, role_i, windows,
                                          2 if p.apart_mate else 1, use)]
        if not len(hit):
            continue
        # two arrivals or more (their differences fit the target) and one such part: it is
        # no rival where its other sound may be the target's own event's. Target unlinked:
        # the part and the target could be one shot, and each is the other's only such part
        # (its other sound, located, is the target). Target linked: the part could be one
        # shot with the target or its partner (a second fix of one of the event's sounds,
        # whose other sound is located)
        c, t = int(hit[0]), int(g[j])
        if not (p.apart_mate and len(hit) == 1 and n_u[k] >= 2):
            keep[j] = False
        elif partner[t] < 0:
            keep[j] = (mates(c, cand) == [t] and mates(t, cand) == [c])
        else:
            keep[j] = bool(len(mates(c, np.array([t, int(partner[t])], np.int64))))
    return u[keep], g[keep]


def _mates(c: int, among: I64, x: F64, y: F64, lo: F64, hi: F64, role: I64,
           by_class: dict[str, tuple[float, float, float]], named_of: Any) -> list[int]:
    """The parts of ``among`` (but ``c``) that could be one shot's other part with ``c``: the
    launch not typed an impact nor the burst an origin, the burst's window after the
    launch's by a flight some weapon class allows over their distance (``by_class``: max
    range, min and max speed; the classes both parts' reports name where they name known
    ones), each window's half-width of slack."""
    known = set(by_class)
    mine = named_of(c)
    mine = mine if mine and mine <= known else known
    out = []
    # first, in one pass, the parts no class could pass: farther than every range, or their
    # middles further apart than both half-widths and every class's longest flight (among
    # is every located unlinked part; a loop over all was a fifth of the end joins)
    among = among[among != c]
    rng = max(w[0] for w in by_class.values())
    longest = max(w[0] / w[1] for w in by_class.values())
    with np.errstate(invalid="ignore"):
        gap = np.abs((lo[among] + hi[among]) / 2 - (lo[c] + hi[c]) / 2) - (
            (hi[among] - lo[among]) / 2 + (hi[c] - lo[c]) / 2)
        among = among[~((np.hypot(x[among] - x[c], y[among] - y[c]) > rng * (1 + 1e-9) + 1e-6)
                        | (gap > longest * (1 + 1e-9) + 1e-6))]
    for o in among.tolist():
        theirs = named_of(o)
        classes = mine & (theirs if theirs and theirs <= known else known)
        dist = float(np.hypot(x[o] - x[c], y[o] - y[c]))
        slack = (hi[o] - lo[o]) / 2 + (hi[c] - lo[c]) / 2
        for a, z in ((c, o), (o, c)):  # (launch, burst)
            dt = (lo[z] + hi[z]) / 2 - (lo[a] + hi[a]) / 2
            if role[a] == ROLE_IMPACT or role[z] == ROLE_ORIGIN or not dt > -slack:
                continue
            if any(dist <= by_class[k][0] and dt + slack >= dist / by_class[k][2]
                   and dt - slack <= dist / by_class[k][1] for k in classes):
                out.append(int(o))
                break
    return out
