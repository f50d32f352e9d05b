"""Arrivals too far apart in time to be one sound, the later ones (after a launch's typed
bearings) taken out of the group before the fit.

One sound reaches two sensors at most their distance over the slowest sound apart. A group
whose typed bearings are all a launch's, holding an arrival that came later than another of
its arrivals by more than that, holds two sounds, and the later one is not the launch's: the
burst is heard a flight after its launch (and the launch before its burst, for a group whose
typed bearings are all a burst's). The commonest shape (BENCHMARKS.md, session 41, h9a): a
monitor's ``outgoing`` bearing, the launch's arrivals at two arrays and its burst's arrival at
one of them 30 s later. Fitted whole, the fit rejects the burst's row (and one of the launch's),
:func:`.locate._two_roots` counts the rejected row as a third arrival so the bearing and two
arrivals' two crossings are never stated, and :attr:`.locate.Fixes.widen` grows the ellipse
by ~1e6 (e-1-001-00102: P 0.04). :mod:`.heard_elsewhere` needs another located part to
explain the arrival and :mod:`.sound_split` two typed bearings; here the order alone tells
them apart, located or not.

"One sound" is bounded by the sound's speed at either sensor less the wind (less three sds
of an estimated wind; ``slowest_sound_ms`` where it is unknown). Where an arrival left in the
group could be one sound with a row taken, which sound it is is unknown and nothing moves:
otherwise a launch bearing, its arrival and its burst's far arrival stayed, an exactly
determined fit at the wrong place (all_conditions 2, e-2-005-00042: P(UA) for an RU firing).
The later rows leave only where the group's rest is then located rejecting none of its rows,
its emission time lies within every typed bearing's own time window (the rest is the bearing's
sound), and each row taken is ``min_gap_s`` to ``max_flight_s`` after the rest's refit at its
point (another sound, a flight later; before it for a burst's bearings). The rows taken become
one group where they can be one sound (pairwise, by the same test), else a group each; the
heard joins may hand them to the burst's part.

A group of arrivals alone (``untyped``) holding two sounds is parted too: the pairings after
this step (:func:`.pipeline._finish`) type such groups origins with both sounds in their fit
(BENCHMARKS.md, session 43, h12a). Which sound is the group's, nothing says: the one fewer of
its arrivals heard leaves (the later, as from a launch's group, or the earlier, as from a
burst's; neither on a tie), where the guards above pass. With an untyped bearing in the group,
nothing moves: it may be either sound's. Kept with the bearing, a burst's untyped bearing and
its launch's arrivals were placed wrongly and typed a launch (baseline 1, e-1-002-00058;
all_conditions 3, e-3-002-00050).
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
from truceline.core.fusion.locate import Fixes, LocateParams, locate

__all__ = ["SoundOrderParams", "shed_later_sound"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class SoundOrderParams:
    """How far apart two arrivals must come to be two sounds."""

    enabled: bool = True
    #: one sound crosses the distance between two sensors at no less than this (m/s) ...
    slowest_sound_ms: float = 300.0
    #: ... give or take this much of the two sensors' timing and clock errors (s)
    slack_s: float = 1.0
    #: each row taken this far (s) or more after the rest's refit, at most ``max_flight_s``
    min_gap_s: float = 0.6
    max_flight_s: float = 200.0
    #: the most arrivals a group may hold to be tested (pairs grow as its square)
    max_arrivals: int = 32
    #: also groups with no typed bearing (the later sound out, as a launch's): the pairings
    #: type them after this step, with the burst's arrivals in the fit
    untyped: bool = True


def _pairs(rows: I64, labels: I64) -> tuple[I64, I64]:
    """Every ordered pair ``(i, j)``, ``i != j``, of ``rows`` in one group."""
    o = rows[np.argsort(labels[rows], kind="stable")]
    lab = labels[o]
    starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
    size = np.diff(np.r_[starts, len(o)])
    per = np.repeat(size, size)  # each row's group size
    first = np.repeat(starts, size)
    i = np.repeat(np.arange(len(o)), per)
    off = np.arange(len(i)) - np.repeat(np.cumsum(per) - per, per)
    j = first[i] + off
    keep = i != j
    return o[i[keep]], o[j[keep]]


def shed_later_sound(
    b: FireBatch,
    labels: I64,
    fixes: Fixes,
    cd: Candidates,
    p: LocateParams,
    sp: SoundOrderParams | None = None,
) -> I64:
    """New labels: the arrivals of a group with typed bearings of one role that came too late
    (too early, for a burst's) after another of its arrivals to be its sound, out (module doc)."""
    sp = sp or SoundOrderParams()
    G = len(fixes.x)
    if not sp.enabled or not G or not len(labels):
        return labels
    is_arr = np.isfinite(b.arr) & np.isfinite(b.ox)
    typed = np.isfinite(b.brg) & np.isfinite(b.ox) & (b.role != ROLE_ANY)
    n_o = np.bincount(labels, typed & (b.role == ROLE_ORIGIN), minlength=G)
    n_i = np.bincount(labels, typed & (b.role == ROLE_IMPACT), minlength=G)
    n_a = np.bincount(labels, is_arr, minlength=G)
    # the other sound comes after a launch's typed bearings, before a burst's
    after = np.where(n_i == 0, 1.0, np.where(n_o == 0, -1.0, 0.0))
    tried = ((n_o + n_i > 0) | sp.untyped) & (after != 0.0) & (n_a >= 2) & (n_a <= sp.max_arrivals)
    rows = np.flatnonzero(is_arr & tried[labels])
    if not len(rows):
        return labels
    i, j = _pairs(rows, labels)
    d = np.hypot(b.ox[i] - b.ox[j], b.oy[i] - b.oy[j]) / b.k[i]  # (true metres)
    # the slowest the sound crosses between them: its speed at either less the wind (and
    # three sds of an estimated one); ``slowest_sound_ms`` where the wind is unknown
    sd = np.where(np.isnan(b.wind_sd), 0.0, b.wind_sd)
    v = b.c - np.hypot(b.wu, b.wv) - 3.0 * np.hypot(sd, sd)
    v = np.where(np.isfinite(v) & (v > 0.0), v, sp.slowest_sound_ms)
    one = d / np.minimum(v[i], v[j]) + sp.slack_s  # the most one sound's arrivals differ
    lag = after[labels[i]] * (b.arr[j] - b.arr[i])
    two = lag > one
    if sp.untyped:  # a group no report types: the sound fewer of its arrivals heard leaves
        n_late = np.bincount(labels[np.unique(j[two])], minlength=G)
        n_early = np.bincount(labels[np.unique(i[two])], minlength=G)
        free = n_o + n_i == 0
        after = np.where(free & (n_late > n_early), -1.0,
                         np.where(free & (n_late == n_early), 0.0, after))
        # (arrivals only: an untyped bearing may be either sound's)
        n_b = np.bincount(labels, np.isfinite(b.brg) & np.isfinite(b.ox), minlength=G)
        after = np.where(free & (n_b > 0), 0.0, after)
        lag = after[labels[i]] * (b.arr[j] - b.arr[i])
        two = lag > one
    late = np.unique(j[two])  # later than one of its group's arrivals by more than a sound
    if not len(late):
        return labels
    taken = np.zeros(len(b), bool)
    taken[late] = True
    # an arrival left that could be a taken one's sound: which sound it is, unknown
    unsure = np.unique(labels[i[taken[i] & ~taken[j] & (np.abs(lag) <= one)]])
    late = late[~np.isin(labels[late], unsure)]
    taken[:] = False
    taken[late] = True
    if not len(late):
        return labels
    gs = np.unique(labels[late])
    keep_rows = np.flatnonzero(np.isin(labels, gs) & ~taken)
    sub = np.full(G, -1, np.int64)
    sub[gs] = np.arange(len(gs))
    kg = sub[labels[keep_rows]]
    fit = locate(b.take(keep_rows), kg, cd.take(keep_rows), p)
    if len(fit.x) != len(gs):  # (every group keeps its typed bearings and first arrival)
        return labels
    clean = fit.located & (np.bincount(kg, fit.outlier, minlength=len(gs)) == 0)
    # the rest is the typed bearings' sound: its time within each one's own window
    tb = keep_rows[typed[keep_rows]]
    tg = fit.t0[sub[labels[tb]]]
    with np.errstate(invalid="ignore"):
        off = ~((tg >= b.t_lo[tb]) & (tg <= b.t_hi[tb]))
    clean &= np.isfinite(fit.t0) & (np.bincount(sub[labels[tb]], off, minlength=len(gs)) == 0)
    # each row taken a flight after the rest's refit (before, for a burst's bearings)
    gi = sub[labels[late]]
    dx, dy = b.ox[late] - fit.x[gi], b.oy[late] - fit.y[gi]
    dd = np.maximum(np.hypot(dx, dy), 1.0)
    c = b.c[late] + (b.wu[late] * dx + b.wv[late] * dy) / dd
    gap = after[labels[late]] * (b.arr[late] - dd / b.k[late] / c - fit.t0[gi])
    with np.errstate(invalid="ignore"):
        far = clean[gi] & (gap >= sp.min_gap_s) & (gap <= sp.max_flight_s)
    ok_g = clean & (np.bincount(gi, ~far, minlength=len(gs)) == 0)
    late = late[ok_g[gi]]
    if not len(late):
        return labels
    out = labels.copy()
    # the rows taken from one group: one sound where every pair of them can be, else apart
    taken[:] = False
    taken[late] = True
    whole = ~np.isin(labels[late], labels[j[two & taken[i] & taken[j]]])
    _, grp = np.unique(labels[late], return_inverse=True)
    out[late] = np.where(whole, G + grp, G + len(gs) + np.arange(len(late)))
    return first_seen(out)
