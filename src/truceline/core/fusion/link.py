"""Link an origin group to its impact group: one shot, one incident.

Monitors report outgoing fire at the origin and the burst at the target; sensors hear both.
Grouping keeps the two places apart (they are kilometres away from each other); this stage
pairs a located origin with a located impact when the physics allows it:

* **range** — the distance between the two fixes is within the maximum range of the weapon
  class the reports name, allowing for both ellipses (when neither names one, or the two name
  different ones, the class mixture below decides);
* **time** — the impact's emission window overlaps the origin's shifted by the flight time,
  ``range / speed`` for speeds between half and twice the class's mean (any speed between
  100 and 1,100 m/s when the class is unknown);
* **direction** — the impact is not confidently in the area of the party the origin is
  attributed to (fire across the line), when both sides are known.

Among the compatible pairs, each origin takes at most one impact and vice versa: the pairs
whose timing fits best are taken first (mutual best matches, repeated). A pair without a
(consistent) class is then scored against every known class, weighted, and taken only when
it is clearly the best of both its fixes (:func:`_class_mixture_pairs`): a barrage of
unnamed shots stays apart rather than merge two of them.

:func:`pair_by_arrival_order` then types what sensors alone located (an array hears the launch
and the burst alike) by causality: the launch first, the burst one flight time later across
the line. Only a pair clearly better than any other candidate of either fix, in either role,
is taken: a barrage, where launches and bursts interleave, stays undetermined.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

__all__ = ["LinkParams", "best_timed_pairs", "compatible_shots", "in_flight",
           "link_origin_impact", "pair_by_arrival_order",
           "sides_apart"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class LinkParams:
    """Physical limits of one shot (public reference figures, docs/simulation.md)."""

    #: Maximum range (m) and mean projectile speed (m/s) per weapon class.
    max_range_m: Mapping[str, float] = field(default_factory=lambda: {
        "mortar": 8_000.0, "tube_artillery": 30_000.0, "mlrs": 45_000.0})
    speed_ms: Mapping[str, float] = field(default_factory=lambda: {
        "mortar": 150.0, "tube_artillery": 350.0, "mlrs": 550.0})
    default_range_m: float = 45_000.0
    default_speed_ms: tuple[float, float] = (100.0, 1_100.0)
    #: Speeds allowed around a class's mean: ``[mean * lo, mean * hi]``.
    speed_factor: tuple[float, float] = (0.5, 2.0)
    #: An impact this likely in the origin party's own area is not its target.
    own_side_max: float = 0.9
    #: Link also when neither group names a weapon class, with the default range and speeds
    #: in the same best-first matching as named classes (the old rule; off: it paired
    #: barrages wrongly). The class mixture below is the guarded way.
    link_unknown_class: bool = False
    #: When neither group names a class (:func:`_class_mixture_pairs`): test the pair against
    #: every known class, each weighted by its share of the day's named groups, and link
    #: only a pair that is the best of both its fixes by ``mixture_margin`` (natural log of
    #: the likelihood ratio) over every other candidate of either.
    class_mixture: bool = True
    mixture_margin: float = 2.3
    #: ... also when the two name different classes (observers misname them).
    mixture_on_conflict: bool = True
    #: A fix with more than this many candidates within reach in space and time is in a
    #: barrage: it is not linked by the mixture (this bounds the search).
    mixture_neighbours: int = 16
    #: ... within reach in a space-time whose time scale allows emission windows this wide
    #: (s; a monitor's report to the minute: 60 s either side, its clock's 60 s and 120 s of
    #: lag), not the batch's widest, so that a fix's neighbours do not depend on what else
    #: the batch holds (a day fused alone: docs/partitions.md, blocker 6). Pairs whose
    #: windows average up to this plus half the longest flight (418 s) are within reach.
    mixture_window_s: float = 360.0
    #: Weights of the classes (None: each class's share of the day's named groups, plus
    #: one).
    class_weights: Mapping[str, float] | None = None
    #: Fixes less certain than this (RMS of the covariance, m) are not linked.
    max_sigma_m: float = 5_000.0
    #: Rounds of mutual-best matching.
    rounds: int = 4
    #: :func:`pair_by_arrival_order`: fixes whose emission times are known to this (s), and
    #: which lie on one party's side with at least ``own_side_max``.
    timed_sd_s: float = 5.0
    #: ... and whose pair fits better than any other candidate of either fix by this many
    #: octaves of implied projectile speed.
    pair_margin: float = 0.5
    #: Type as the burst of a launch monitors saw the one untyped fix it could have hit
    #: (:mod:`.launch_bursts`; :func:`.launch_bursts.pair_launch_to_burst`'s mirror).
    burst_of_launch: bool = True
    #: :func:`.launch_bursts.pair_launch_to_burst` also for a burst near the line (on no side with
    #: ``own_side_max``), the untyped fix on a side as its launch.
    launch_of_near_burst: bool = True
    #: ... and type, unlinked, a fix that is the only launch of each of two bursts or more
    #: and that nothing could have fired at (:func:`.launch_bursts.launches_of_bursts`).
    launch_of_bursts: bool = True

    def windows(self) -> list[tuple[float, float, float]]:
        """``(max range, min speed, max speed)`` of each known weapon class."""
        lo, hi = self.speed_factor
        return [(r, self.speed_ms[name] * lo, self.speed_ms[name] * hi)
                for name, r in self.max_range_m.items()]


def _space_time(ox: F64, oy: F64, o_lo: F64, o_hi: F64, ix: F64, iy: F64, i_lo: F64,
                i_hi: F64, reach: float, v_min: float, window: float | None = None
                ) -> tuple[F64, F64]:
    """Origins and impacts as points of one space-time in which a Chebyshev ball of radius
    ``reach`` holds every pair within range whose timing could fit (the impact's window
    after the origin's by up to ``reach / v_min``): time scaled so that the widest windows
    (or windows ``window`` wide) plus the longest flight span ``reach``."""
    wide = (float(np.max(o_hi - o_lo)) + float(np.max(i_hi - i_lo))) / 2 if window is None \
        else window
    span = wide + reach / v_min
    k = reach / span
    zo = np.column_stack([ox, oy, ((o_lo + o_hi) / 2 + reach / v_min / 2) * k])
    zi = np.column_stack([ix, iy, (i_lo + i_hi) / 2 * k])
    return zo, zi


def link_origin_impact(
    ox: F64, oy: F64, o_cov: F64, o_lo: F64, o_hi: F64, o_class: NDArray[np.object_],
    o_party: I64,
    ix: F64, iy: F64, i_cov: F64, i_lo: F64, i_hi: F64, i_class: NDArray[np.object_],
    i_prob: F64,
    params: LinkParams | None = None,
    o_day: I64 | None = None, i_day: I64 | None = None,
) -> tuple[I64, I64]:
    """Matched ``(origin index, impact index)`` pairs.

    ``*_lo``/``*_hi`` bound each emission time (s); ``o_party`` is the origin's attributed
    party (index into the columns of ``i_prob``, or -1), ``i_prob`` the probability that each
    impact lies in each party's area. ``o_day``/``i_day``: each fix's day (any integer
    label of a day), so that the class-free pass weighs the classes by the day's own mix of
    weapons and a day fused alone pairs as in its month; without them, the batch is one day.
    """
    p = params or LinkParams()
    no, ni = len(ox), len(ix)
    empty = np.zeros(0, np.int64)
    if not no or not ni:
        return empty, empty
    # candidate pairs in space-time (Chebyshev balls: both the range and the timing bound)
    o_ok = np.sqrt(np.trace(o_cov, axis1=1, axis2=2)) <= p.max_sigma_m
    i_ok = np.sqrt(np.trace(i_cov, axis1=1, axis2=2)) <= p.max_sigma_m
    og, ig = np.flatnonzero(o_ok), np.flatnonzero(i_ok)
    if not len(og) or not len(ig):
        return empty, empty
    reach = max(*p.max_range_m.values(), p.default_range_m) + 2.5 * np.sqrt(2) \
        * p.max_sigma_m
    v_min = min([v * p.speed_factor[0] for v in p.speed_ms.values()] + [p.default_speed_ms[0]])
    zo, zi = _space_time(ox[og], oy[og], o_lo[og], o_hi[og], ix[ig], iy[ig], i_lo[ig],
                         i_hi[ig], reach, v_min)
    # candidate pairs as arrays (not per-origin lists), in (origin, impact) order; without a
    # weapon class on either side there is no range to test, so such pairs are not looked for
    # (in a week of unclassed reports they were millions)
    sides = [(np.arange(len(og)), np.arange(len(ig)))]
    conflict = _conflict(o_class, i_class)
    if not p.link_unknown_class:
        oc = np.flatnonzero(o_class[og] != None)  # noqa: E711
        nc = np.flatnonzero(o_class[og] == None)  # noqa: E711
        sides = [(oc, np.arange(len(ig))), (nc, np.flatnonzero(i_class[ig] != None))]  # noqa: E711
    po, pi = [], []
    mix = _class_mixture_pairs(ox, oy, o_cov, o_lo, o_hi, o_class, o_party, ix, iy, i_cov, i_lo,
                               i_hi, i_class, i_prob, og, ig, p, o_day, i_day)
    for a, b in sides:
        if len(a) and len(b):
            pr = cKDTree(zo[a]).sparse_distance_matrix(cKDTree(zi[b]), float(reach), p=np.inf,
                                                       output_type="ndarray")
            po.append(a[pr["i"]])
            pi.append(b[pr["j"]])
    if not po:
        return mix(np.ones(no, bool), np.ones(ni, bool))
    po_, pi_ = np.concatenate(po), np.concatenate(pi)
    srt = np.lexsort((pi_, po_))
    oi, ii = og[po_[srt]], ig[pi_[srt]]
    if p.mixture_on_conflict:  # named differently: the mixture's, not the origin's class
        keep = ~conflict(oi, ii)
        oi, ii = oi[keep], ii[keep]
    if not len(oi):
        return mix(np.ones(no, bool), np.ones(ni, bool))
    d = np.hypot(ox[oi] - ix[ii], oy[oi] - iy[ii])
    sig = np.sqrt(np.trace(o_cov[oi], axis1=1, axis2=2) + np.trace(i_cov[ii], axis1=1, axis2=2))
    # class: the origin's, else the impact's
    cls = np.where(o_class[oi] != None, o_class[oi], i_class[ii])  # noqa: E711
    rmax = np.full(len(oi), p.default_range_m)
    vlo = np.full(len(oi), p.default_speed_ms[0])
    vhi = np.full(len(oi), p.default_speed_ms[1])
    for name, r in p.max_range_m.items():
        m = cls == name
        rmax[m] = r
        v = p.speed_ms.get(name)
        if v is not None:
            vlo[m], vhi[m] = v * p.speed_factor[0], v * p.speed_factor[1]
    ok = d <= rmax + 2.5 * sig
    if not p.link_unknown_class:
        ok &= cls != None  # noqa: E711
    dd = np.maximum(d - 2.5 * sig, 0.0)
    fmin, fmax = dd / vhi, (d + 2.5 * sig) / vlo
    ok &= (i_lo[ii] - o_hi[oi] <= fmax) & (i_hi[ii] - o_lo[oi] >= fmin)
    own = np.where(o_party[oi] >= 0,
                   i_prob[ii, np.maximum(o_party[oi], 0)] if i_prob.shape[1] else 0.0, 0.0)
    ok &= own < p.own_side_max
    oi, ii, d = oi[ok], ii[ok], d[ok]
    if not len(oi):
        return mix(np.ones(no, bool), np.ones(ni, bool))
    # timing mismatch: the impact window's middle against the origin's + the expected flight
    v_mid = np.sqrt(vlo[ok] * vhi[ok])
    mid_o, mid_i = (o_lo[oi] + o_hi[oi]) / 2, (i_lo[ii] + i_hi[ii]) / 2
    half = (o_hi[oi] - o_lo[oi] + i_hi[ii] - i_lo[ii]) / 2 + d / v_mid + 1.0
    cost = np.abs(mid_i - mid_o - d / v_mid) / half + d / rmax[ok] * 0.1
    take_o, take_i = [], []
    used_o, used_i = np.zeros(no, bool), np.zeros(ni, bool)
    for _ in range(p.rounds):
        live = ~used_o[oi] & ~used_i[ii]
        if not live.any():
            break
        c = np.where(live, cost, np.inf)
        best_o = np.full(no, np.inf)
        np.minimum.at(best_o, oi, c)
        best_i = np.full(ni, np.inf)
        np.minimum.at(best_i, ii, c)
        mutual = live & (c == best_o[oi]) & (c == best_i[ii])
        # one pair per origin and impact even on exact ties
        sel = np.flatnonzero(mutual)
        _, first_o = np.unique(oi[sel], return_index=True)
        sel = sel[first_o]
        _, first_i = np.unique(ii[sel], return_index=True)
        sel = sel[first_i]
        used_o[oi[sel]] = True
        used_i[ii[sel]] = True
        take_o.append(oi[sel])
        take_i.append(ii[sel])
    mo_, mi_ = mix(~used_o, ~used_i)
    return (np.concatenate([*take_o, mo_]).astype(np.int64),
            np.concatenate([*take_i, mi_]).astype(np.int64))


def _conflict(o_class: NDArray[np.object_], i_class: NDArray[np.object_]
              ) -> Callable[[I64, I64], NDArray[np.bool_]]:
    """Whether pairs name two different classes."""
    def f(oi: I64, ii: I64) -> NDArray[np.bool_]:
        a, b = o_class[oi], i_class[ii]
        return np.asarray((a != None) & (b != None) & (a != b), bool)  # noqa: E711
    return f


def _class_mixture_pairs(
    ox: F64, oy: F64, o_cov: F64, o_lo: F64, o_hi: F64, o_class: NDArray[np.object_],
    o_party: I64, ix: F64, iy: F64, i_cov: F64, i_lo: F64, i_hi: F64,
    i_class: NDArray[np.object_], i_prob: F64, og: I64, ig: I64, p: LinkParams,
    o_day: I64 | None = None, i_day: I64 | None = None,
) -> Callable[[NDArray[np.bool_], NDArray[np.bool_]], tuple[I64, I64]]:
    """The class-free pass, to run on the fixes the named classes left ``free``.

    A pair whose class is unknown is scored by its likelihood under a mixture of the known
    classes: each class ``k`` (weight ``w_k``) that reaches that far (``d - 2.5 sigma <= r_k``)
    and whose flight time fits both emission windows contributes ``w_k / r_k`` (the distance
    uniform up to its range) times the Gaussian density of the timing mismatch (the impact's
    window middle minus the origin's minus ``d / v_k``, with the windows' and the speed
    window's spread). The misfit is minus its log. A pair is taken only when it is the best
    candidate of both its fixes and every other candidate of either, used or free, named or
    not, is ``mixture_margin`` worse: in a barrage, where several fit alike, nothing is taken.
    The candidates of each fix are its ``mixture_neighbours`` nearest in a Chebyshev ball in
    space and time (time scaled by ``mixture_window_s``, a parameter: a nearest-k query is
    no superset, so a scale set by the batch would pick other neighbours in a day alone);
    a fix with more is crowded and not taken (the search stays ``O(n k)``).
    """
    empty = np.zeros(0, np.int64)
    no, ni = len(ox), len(ix)
    names = list(p.max_range_m)
    if not p.class_mixture or not len(og) or not len(ig) or not names:
        return lambda fo, fi: (empty, empty)
    # the weights of the classes, one row per day; each pair takes its origin's day's row
    row_o = np.zeros(no, np.int64)
    if p.class_weights is not None:
        W = np.array([[p.class_weights.get(n, 0.0) for n in names]], float)
    else:  # the day's own mix of weapons: unnamed shots come from the same mix. Per day,
        # not per batch, so that a day fused alone weighs as its month does (docs/partitions.md,
        # blocker 6)
        od = np.zeros(no, np.int64) if o_day is None else np.asarray(o_day, np.int64)
        idy = np.zeros(ni, np.int64) if i_day is None else np.asarray(i_day, np.int64)
        days, inv = np.unique(np.concatenate([od[og], idy[ig]]), return_inverse=True)
        named = np.concatenate([o_class[og], i_class[ig]])
        W = np.ones((len(days), len(names)))
        for k, n in enumerate(names):
            np.add.at(W[:, k], inv[named == n], 1.0)
        row_o[og] = np.searchsorted(days, od[og])
    W = W / W.sum(axis=1, keepdims=True)
    lo_f, hi_f = p.speed_factor
    rng = np.array([p.max_range_m[n] for n in names])
    vlo = np.array([p.speed_ms.get(n, p.default_speed_ms[0] / lo_f) * lo_f for n in names])
    vhi = np.array([p.speed_ms.get(n, p.default_speed_ms[1] / hi_f) * hi_f for n in names])
    reach = float(rng.max()) + 2.5 * np.sqrt(2) * p.max_sigma_m
    v_min = float(vlo.min())
    zo, zi = _space_time(ox[og], oy[og], o_lo[og], o_hi[og], ix[ig], iy[ig], i_lo[ig],
                         i_hi[ig], reach, v_min, p.mixture_window_s)
    K = p.mixture_neighbours

    def near(src: F64, dst: F64) -> tuple[I64, I64, NDArray[np.bool_]]:
        _, j = cKDTree(dst).query(src, k=K + 1, p=np.inf, distance_upper_bound=reach)
        j = j.reshape(len(src), K + 1)
        hit = j < len(dst)
        a = np.repeat(np.arange(len(src)), K + 1)[hit.ravel()]
        return a, j[hit], hit.all(axis=1)

    def pairs(free_o: NDArray[np.bool_], free_i: NDArray[np.bool_]) -> tuple[I64, I64]:
        o_un = (o_class[og] == None) | p.mixture_on_conflict  # noqa: E711
        i_un = (i_class[ig] == None) | p.mixture_on_conflict  # noqa: E711
        ao, ai = og[free_o[og] & o_un], ig[free_i[ig] & i_un]
        if not len(ao) or not len(ai):
            return empty, empty
        pos_o = np.searchsorted(og, ao)
        pos_i = np.searchsorted(ig, ai)
        a1, b1, crowd_o = near(zo[pos_o], zi)
        b2, a2, crowd_i = near(zi[pos_i], zo)
        crowded_o, crowded_i = np.zeros(no, bool), np.zeros(ni, bool)
        crowded_o[ao[crowd_o]] = True
        crowded_i[ai[crowd_i]] = True
        oi = np.concatenate([ao[a1], og[a2]])
        ii = np.concatenate([ig[b1], ai[b2]])
        key = np.unique(oi * ni + ii)
        oi, ii = key // ni, key % ni
        d = np.hypot(ox[oi] - ix[ii], oy[oi] - iy[ii])
        sig = np.sqrt(np.trace(o_cov[oi], axis1=1, axis2=2)
                      + np.trace(i_cov[ii], axis1=1, axis2=2))
        dt = (i_lo[ii] + i_hi[ii]) / 2 - (o_lo[oi] + o_hi[oi]) / 2
        win2 = ((o_hi[oi] - o_lo[oi]) ** 2 + (i_hi[ii] - i_lo[ii]) ** 2) / 12.0
        like = np.zeros(len(oi))
        for k in range(len(names)):
            fmin, fmax = np.maximum(d - 2.5 * sig, 0.0) / vhi[k], (d + 2.5 * sig) / vlo[k]
            fits = (d - 2.5 * sig <= rng[k]) & (i_lo[ii] - o_hi[oi] <= fmax) \
                & (i_hi[ii] - o_lo[oi] >= fmin)
            tof = d / np.sqrt(vlo[k] * vhi[k])
            sd = np.sqrt(win2 + ((d / vlo[k] - d / vhi[k]) / 4.0) ** 2 + 1.0)
            like += np.where(fits, W[row_o[oi], k] / rng[k]
                             * np.exp(-0.5 * ((dt - tof) / sd) ** 2) / sd,
                             0.0)
        own = np.where(o_party[oi] >= 0,
                       i_prob[ii, np.maximum(o_party[oi], 0)] if i_prob.shape[1] else 0.0, 0.0)
        with np.errstate(divide="ignore"):
            mis = np.where(own < p.own_side_max, -np.log(like), np.inf)
        fin = np.isfinite(mis)
        oi, ii, mis = oi[fin], ii[fin], mis[fin]
        if not len(oi):
            return empty, empty
        b_o, s_o = _best_two(oi, mis, no)
        b_i, s_i = _best_two(ii, mis, ni)
        unknown = (o_class[oi] == None) & (i_class[ii] == None)  # noqa: E711
        if p.mixture_on_conflict:
            unknown |= _conflict(o_class, i_class)(oi, ii)
        take = (unknown & free_o[oi] & free_i[ii] & ~crowded_o[oi] & ~crowded_i[ii]
                & (mis == b_o[oi]) & (mis == b_i[ii])
                & (s_o[oi] >= mis + p.mixture_margin) & (s_i[ii] >= mis + p.mixture_margin))
        return oi[take].astype(np.int64), ii[take].astype(np.int64)

    return pairs


def _best_two(f: I64, mis: F64, n: int) -> tuple[F64, F64]:
    """The lowest and second-lowest misfit of each fix's candidates (inf when none)."""
    order = np.lexsort((mis, f))
    fs, ms = f[order], mis[order]
    first = np.r_[True, fs[1:] != fs[:-1]]
    best, second = np.full(n, np.inf), np.full(n, np.inf)
    best[fs[first]] = ms[first]
    nxt = np.flatnonzero(first) + 1
    has = nxt < len(fs)
    nxt = nxt[has]
    same = fs[nxt] == fs[nxt - 1]
    second[fs[nxt[same]]] = ms[nxt[same]]
    return best, second


def pair_by_arrival_order(
    x: F64, y: F64, cov: F64, t0: F64, t_sd: F64, can_origin: NDArray[np.bool_],
    can_impact: NDArray[np.bool_], side: I64,
    params: LinkParams | None = None,
) -> tuple[I64, I64]:
    """Unambiguous ``(origin, impact)`` pairs among precisely timed fixes.

    ``t0``/``t_sd``: each fix's emission time and its 1-sigma (s); ``can_origin`` /
    ``can_impact``: which role each fix may take (an acoustic-only fix may take either);
    ``side``: the party whose area holds the fix with probability ``own_side_max`` or more
    (-1 when none does). A pair is a candidate when the later fix follows the earlier by the
    flight time of a known weapon class that reaches that far, and the two lie on different
    parties' sides. A pair is taken only when it is the best fit of both fixes, in either
    role, by a margin over every other candidate.
    """
    p = params or LinkParams()
    empty = np.zeros(0, np.int64)
    sig = np.sqrt(np.trace(cov, axis1=1, axis2=2)) if len(x) else np.zeros(0)
    ok = (np.isfinite(x) & np.isfinite(t0) & (t_sd <= p.timed_sd_s) & (side >= 0)
          & (sig <= p.max_sigma_m))
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return empty, empty
    reach = max(p.max_range_m.values()) + 2.5 * np.sqrt(2) * p.max_sigma_m
    pr = cKDTree(np.column_stack([x[idx], y[idx]])).query_pairs(float(reach),
                                                                output_type="ndarray")
    return best_timed_pairs(idx[pr[:, 0]], idx[pr[:, 1]], x, y, t0, t_sd, sig, can_origin,
                            can_impact, side, p)


def best_timed_pairs(
    i: I64, j: I64, x: F64, y: F64, t0: F64, t_sd: F64, sig: F64,
    can_origin: NDArray[np.bool_], can_impact: NDArray[np.bool_], side: I64, p: LinkParams,
) -> tuple[I64, I64]:
    """:func:`pair_by_arrival_order` given candidate pairs ``(i, j)`` of usable fixes (any
    order, each pair once) that include every pair within a weapon's reach in the plane and
    a flight time in time; ``sig`` is each fix's RMS spread. Any superset gives the same
    pairs: a candidate's test and each fix's best and second fits depend only on the pairs
    that fit a class."""
    empty = np.zeros(0, np.int64)
    if not len(i):
        return empty, empty
    first = t0[i] <= t0[j]
    a, b = np.where(first, i, j), np.where(first, j, i)  # a fires first
    keep = can_origin[a] & can_impact[b] & (side[a] != side[b])
    a, b = a[keep], b[keep]
    if not len(a):
        return empty, empty
    d = np.hypot(x[a] - x[b], y[a] - y[b])
    s = 2.5 * np.sqrt(sig[a] ** 2 + sig[b] ** 2)
    dt = t0[b] - t0[a]
    dts = 3.0 * np.hypot(t_sd[a], t_sd[b])
    # misfit: how far the implied speed is from a class's mean, in octaves (a fit is within
    # the class's speed factor); the best-fitting class counts, whatever the reports named:
    # observers misname classes often enough (a mortar called MLRS) that a named class would
    # veto true pairs, and a wrong class here types no report, it only orders two fixes
    misfit = np.full(len(a), np.inf)
    v_obs = d / np.maximum(dt, 1e-9)
    for rmax, vlo, vhi in p.windows():
        fmin, fmax = np.maximum(d - s, 0.0) / vhi, (d + s) / vlo
        fits = (d - s <= rmax) & (dt + dts >= fmin) & (dt - dts <= fmax) & (dt > 0)
        mid = np.sqrt(vlo * vhi)
        misfit = np.where(fits, np.minimum(misfit, np.abs(np.log2(v_obs / mid))), misfit)
    keep = np.isfinite(misfit)
    a, b, misfit = a[keep], b[keep], misfit[keep]
    if not len(a):
        return empty, empty
    # unambiguous: the pair fits best for both of its fixes (in either role), and every other
    # candidate of either fits worse by at least ``pair_margin`` octaves
    n = len(x)
    best, second = np.full(n, np.inf), np.full(n, np.inf)
    for k in np.argsort(misfit, kind="stable"):
        for f in (a[k], b[k]):
            if misfit[k] < best[f]:
                best[f], second[f] = misfit[k], best[f]
            elif misfit[k] < second[f]:
                second[f] = misfit[k]
    alone = ((misfit == best[a]) & (misfit == best[b])
             & (second[a] >= misfit + p.pair_margin) & (second[b] >= misfit + p.pair_margin))
    return a[alone].astype(np.int64), b[alone].astype(np.int64)


def in_flight(d: Any, s: Any, o_lo: Any, o_hi: Any, i_lo: Any, i_hi: Any, rmax: float,
              vlo: float, vhi: float) -> Any:
    """One weapon class's test of a launch and a burst ``d`` apart (``s``: the slack of both
    fixes): within its range, and the burst's window after the launch's by a flight at its
    speeds over ``d`` +- ``s`` (scalars or arrays)."""
    return ((d - s <= rmax) & (i_hi - o_lo >= np.maximum(d - s, 0.0) / vhi)
            & (i_lo - o_hi <= (d + s) / vlo))


def compatible_shots(
    x: F64, y: F64, cov: F64, lo: F64, hi: F64, cls: NDArray[np.object_], side: I64,
    fires: NDArray[np.bool_], hit: NDArray[np.bool_], params: LinkParams | None = None,
    among: NDArray[np.bool_] | None = None,
) -> tuple[I64, I64]:
    """Every ``(firer, target)`` pair that one shot across the line could make: the firer
    (``fires``) and the target (``hit``) on different sides (-1, unknown, differs from every
    known side; two unknowns count as one, unless given apart by :func:`sides_apart`),
    within the range of the target's named weapon class (any known class when it names none)
    and in time for that class's flight, given both emission-time windows ``lo``/``hi`` (s).
    ``among``: only the pairs with a member among these (searched from them alone: at a
    month's density every pair of the batch is tens of millions, ~0.3 GB at 907k reports)."""
    p = params or LinkParams()
    empty = np.zeros(0, np.int64)
    sig = np.sqrt(np.nan_to_num(np.trace(cov, axis1=1, axis2=2), nan=np.inf)) if len(x) \
        else np.zeros(0)
    good = np.isfinite(x) & np.isfinite(y) & (sig <= p.max_sigma_m) & np.isfinite(lo) \
        & np.isfinite(hi)
    fires, hit = fires & good, hit & good
    idx = np.flatnonzero(fires | hit)
    if not fires.any() or not hit.any():
        return empty, empty
    wins = p.windows()
    reach = max(r for r, _, _ in wins) + 2.5 * np.sqrt(2) * p.max_sigma_m
    v_min = min(v for _, v, _ in wins)
    mid = (lo + hi) / 2
    span = float(np.max(hi[idx] - lo[idx])) + reach / v_min
    k = reach / span  # a Chebyshev ball of ``reach`` bounds both the range and the time
    pts = np.column_stack([x[idx], y[idx], mid[idx] * k])
    if among is None:
        pr = cKDTree(pts).query_pairs(float(reach), p=np.inf, output_type="ndarray")
        i, j = idx[pr[:, 0]], idx[pr[:, 1]]
    else:  # the same pairs (distance <= reach) that hold a member of ``among``, each once
        q = np.flatnonzero(among[idx])
        near = cKDTree(pts).query_ball_point(pts[q], float(reach), p=np.inf)
        n = np.fromiter(map(len, near), np.int64, len(q))
        i = np.repeat(q, n)
        j = np.concatenate(near).astype(np.int64) if len(q) else np.zeros(0, np.int64)
        once = (i < j) | ~among[idx][j]  # a pair of two members: from the lower one only
        i, j = idx[i[once]], idx[j[once]]
    if not len(i):
        return empty, empty
    a, b = np.concatenate([i, j]), np.concatenate([j, i])  # a fires, b is hit: both orders
    keep = fires[a] & hit[b] & (side[a] != side[b])
    a, b = a[keep], b[keep]
    d = np.hypot(x[a] - x[b], y[a] - y[b])
    s = 2.5 * np.sqrt(sig[a] ** 2 + sig[b] ** 2)
    fits = np.zeros(len(a), bool)
    named = cls[b] != None  # noqa: E711
    for name, win in zip(p.max_range_m, wins, strict=True):
        fits |= in_flight(d, s, lo[a], hi[a], lo[b], hi[b], *win) & (~named | (cls[b] == name))
    return a[fits].astype(np.int64), b[fits].astype(np.int64)


def sides_apart(side: I64) -> I64:
    """``side`` with each fix near the line (-1) on a side of its own: it may have fired at
    or been hit from any other fix, one near the line too (for the rules whose uniqueness
    must count such a rival)."""
    return np.where(side >= 0, side, -2 - np.arange(len(side)))
