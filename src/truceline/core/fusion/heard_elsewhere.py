"""An arrival that another located sound explains, taken out of a firing's group before the
ellipse is stated.

A launch heard by one array near the line of fire is often grouped with one of its own
burst's arrivals (the burst reaches the array a flight later, within the grouping's window):
a bearing and three arrivals, one of them the burst's. The fit rejects that arrival, and
:attr:`.locate.Fixes.widen` (the variance of unit weight with the rejected row) grows the
ellipse by up to 1e7 (e-1-004-00017: RMS 2,519, P 0.01), while the real ambiguity, a bearing
and two arrivals (:func:`.locate._two_roots`' two crossings), is never stated because the
rejected row counts as a third arrival (BENCHMARKS.md, session 41, h9a: 38 typed
supportable misses; :mod:`.sound_split` needs two typed bearings to choose a subset).

Here the other sound chooses. In a widened group whose typed bearings are all a launch's (or
all a burst's), an arrival (kept by the fit or not: a mixed fit bends to the other
sound) is taken out where exactly one *other* located group timed by arrivals of its
own explains it: the arrival's emission time implied at that group's point lies within
``slack_s`` plus ``sigmas`` sds of its ``t0`` (the sd from its ellipse along the ray, at most
``max_sd_s``), and that group holds no arrival of the same sensor (a sensor hears a sound
once). The group's other rows are fitted again, and the arrivals leave only where that fit
rejects none, each is ``min_gap_s`` or more off it (another sound, not a model error), and
the explaining sound is ``min_gap_s`` to ``max_flight_s`` *after* the rest's refit (before
it, for a burst's bearings): without that order a launch's own arrival, explained by the
launch's other fragment, left a launch bearing with two burst arrivals whose exactly
determined fit claimed P 0.98 for the wrong party (all_conditions 2, e-2-005-00042). Each
arrival taken becomes a group of its own (the heard joins may hand it to that part).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import (
    ROLE_ANY,
    ROLE_IMPACT,
    ROLE_ORIGIN,
    Candidates,
    FireBatch,
)
from truceline.core.fusion.labels import first_seen
from truceline.core.fusion.locate import M_ARRIVAL, Fixes, LocateParams, locate

__all__ = ["HeardElsewhereParams", "shed_heard_elsewhere"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class HeardElsewhereParams:
    """How tightly another sound must explain an arrival to take it out."""

    enabled: bool = True
    #: the arrival's emission time at the other part within ``slack_s`` plus ``sigmas``
    #: times that part's sd along the ray (over the sound speed) of its ``t0``
    slack_s: float = 0.3
    sigmas: float = 3.0
    #: the most that sd may be (a part placed to kilometres times nothing)
    max_sd_s: float = 1.0
    #: the arrival this far (s) or more off its own group's fix (as :mod:`.sound_split`)
    min_gap_s: float = 0.6
    #: the farthest a sound is heard (m)
    hearing_m: float = 25_000.0
    slowest_sound_ms: float = 300.0
    #: the longest flight between the two sounds (s)
    max_flight_s: float = 200.0


def _emit(b: FireBatch, i: I64, x: F64, y: F64, C: F64 | None = None) -> tuple[F64, F64]:
    """Each arrival ``i``'s emission time implied at ``(x, y)`` and, with ``C``, the sd of
    that time from the point's covariance along the ray."""
    dx, dy = b.ox[i] - x, b.oy[i] - y
    d = np.maximum(np.hypot(dx, dy), 1.0)
    ux, uy = dx / d, dy / d
    c = b.c[i] + b.wu[i] * ux + b.wv[i] * uy
    t = b.arr[i] - d / b.k[i] / c
    if C is None:
        return t, np.zeros_like(t)
    u = np.stack([ux, uy], 1)
    sd = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", u, C, u), 0.0)) / c
    return t, sd


def shed_heard_elsewhere(
    b: FireBatch,
    labels: I64,
    fixes: Fixes,
    cd: Candidates,
    p: LocateParams,
    hp: HeardElsewhereParams | None = None,
) -> I64:
    """New labels: each arrival of a widened group that one other timed part explains a
    flight later (module doc) in a group of its own, where the group's rest then fits clean."""
    hp = hp or HeardElsewhereParams()
    G = len(fixes.x)
    if not hp.enabled or len(fixes.widen) != G or not G or len(fixes.outlier) != len(b):
        return labels
    is_arr = np.isfinite(b.arr) & np.isfinite(b.ox)
    # a group whose fit rests on a typed bearing (a firing's or a burst's sound stated):
    # an arrivals-only group's rejected rows may be the explaining part's own fragment
    typed = np.isfinite(b.brg) & np.isfinite(b.ox) & (b.role != ROLE_ANY)
    n_o = np.bincount(labels, typed & (b.role == ROLE_ORIGIN), minlength=G)
    n_i = np.bincount(labels, typed & (b.role == ROLE_IMPACT), minlength=G)
    # the other sound comes a flight after a launch's typed bearings, before a burst's
    after = np.where(n_i == 0, 1.0, np.where(n_o == 0, -1.0, 0.0))
    widened = fixes.located & (fixes.widen > 1.0) & (n_o + n_i > 0) & (after != 0.0)
    cand = np.flatnonzero(is_arr & widened[labels])
    if not len(cand):
        return labels
    timed = fixes.located & (fixes.method & M_ARRIVAL > 0) & np.isfinite(fixes.t0)
    tg = np.flatnonzero(timed)
    order = np.argsort(fixes.t0[tg], kind="stable")
    tg, ts = tg[order], fixes.t0[tg[order]]
    travel = hp.hearing_m / hp.slowest_sound_ms
    src_max = int(b.source.max()) + 1
    held = np.unique(labels[is_arr] * src_max + b.source[is_arr])
    take: list[int] = []
    t_part: list[float] = []
    for i in cand:
        lo, hi = np.searchsorted(ts, [b.arr[i] - travel, b.arr[i]])
        g = tg[lo:hi]
        g = g[(g != labels[i]) & (np.hypot(fixes.x[g] - b.ox[i], fixes.y[g] - b.oy[i])
                                  <= hp.hearing_m)]
        if not len(g):
            continue
        ii = np.full(len(g), i)
        t, sd = _emit(b, ii, fixes.x[g], fixes.y[g], fixes.cov[g])
        ok = (np.abs(t - fixes.t0[g]) <= hp.slack_s + hp.sigmas * sd) & (sd <= hp.max_sd_s)
        keys = g * src_max + b.source[i]  # ``held`` is sorted: a search, not ``np.isin``'s sort
        at = np.minimum(np.searchsorted(held, keys), len(held) - 1)
        ok &= held[at] != keys
        if ok.sum() == 1:
            take.append(int(i))
            t_part.append(float(fixes.t0[g[ok][0]]))
    if not take:
        return labels
    rows, tp = np.asarray(take, np.int64), np.asarray(t_part)
    gs = np.unique(labels[rows])
    # the groups' rest fitted alone: only where it rejects none
    keep_rows = np.flatnonzero(np.isin(labels, gs) & ~np.isin(np.arange(len(b)), rows))
    sub = np.full(G, -1, np.int64)
    sub[gs] = np.arange(len(gs))
    kg = sub[labels[keep_rows]]
    fit = locate(b.take(keep_rows), kg, cd.take(keep_rows), p)
    n = len(fit.x)  # (a group whose every row was taken has none left: not clean)
    clean = np.zeros(len(gs), bool)
    clean[:n] = fit.located & (np.bincount(kg, fit.outlier, minlength=n)[:n] == 0)
    # each arrival taken out another sound than the rest's refit, not a model error off it
    # (a mixed fit bends to the other sound's arrival: its own fix proves nothing)
    keep = clean[sub[labels[rows]]]
    rows, tp = rows[keep], tp[keep]
    gi = sub[labels[rows]]
    t_rest, _ = _emit(b, rows, fit.x[gi], fit.y[gi])
    # another sound than the rest's refit, a flight after a launch (before a burst)
    lag = after[labels[rows]] * (tp - fit.t0[gi])
    far = ((np.abs(t_rest - fit.t0[gi]) >= hp.min_gap_s) & (lag >= hp.min_gap_s)
           & (lag <= hp.max_flight_s))
    ok_g = clean & (np.bincount(gi, ~far, minlength=len(gs)) == 0)
    rows = rows[ok_g[gi]]
    if not len(rows):
        return labels
    out = labels.copy()
    out[rows] = G + np.arange(len(rows))
    return first_seen(out)
