"""A group holding a firing and another sound's arrivals (its own burst's, at the same
arrays) parted by the group's typed bearings.

Such a group's fit rejects arrivals, and :attr:`.locate.Fixes.widen` states its ellipse
honestly but kilometres wide: the fit cannot tell which subset is the event, and shedding
every rejected arrival (:func:`.regroup.detach` keeps arrivals) let fits settle on the wrong
subset (BENCHMARKS.md, session 36, hT: 37 of 94 rejected rows were the firing's own). Here
the typed bearings choose: the fit of the group's rows but its arrivals (bearings, bands,
points) traces each arrival back to an emission time; the arrivals that agree on one (within
the anchor's error along their rays), and every subset leaving out up to ``max_left``, are
candidates, each fitted with the group's other rows. The candidate with the most arrivals
(``min_kept`` at least) whose fit rejects no row, the lowest RMS on a tie, is kept (a firing,
or as often a burst whose bearings' group held its launch's arrivals); the arrivals left over
go to a group of their own (the heard joins may hand them to the burst's part) where each
is ``min_gap_s`` or more off the kept sound's refit (another sound, not the kept one's own
off by a model error).
A group of exactly ``min_kept`` arrivals (a candidate of ``min_kept`` would leave none out)
is tried with candidates of ``small_kept``: the bearings alone parted a launch's two arrivals
from them too, and the heard joins handed one to its burst's part, whose tight fix then
missed (wild_bearings seed 2: two impacts; BENCHMARKS.md, session 39, h5a).
Where no candidate of ``min_kept`` fits (or the group holds too few arrivals to try one), a
group with two bearings or more, ``bare_typed`` of them typed, whose fit without its arrivals
rejects none of its rows is located by those rows alone and every arrival goes to a group of
its own: on the uncovered and all_conditions weeks such groups held one or two of the
firing's arrivals and its burst's, and ``widen`` stated fixes tens of metres off hundreds of
km wide (BENCHMARKS.md, session 38, h3d). Otherwise nothing changes and ``widen`` stays."""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_ANY, Candidates, FireBatch
from truceline.core.fusion.labels import first_seen
from truceline.core.fusion.locate import Fixes, LocateParams, locate

__all__ = ["SoundSplitParams", "split_sounds"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class SoundSplitParams:
    """Which groups are parted, and how far an arrival's emission time may stray."""

    enabled: bool = True
    #: typed bearings the anchor needs, and the most arrivals a group may hold to be tried
    min_bearings: int = 2
    max_arrivals: int = 16
    #: an arrival agrees with a seed's emission time within ``slack_s`` plus ``sigmas``
    #: times the anchor's error along the two rays (over the sound speed)
    slack_s: float = 0.3
    sigmas: float = 3.0
    #: the fewest arrivals the firing's part must keep, the most a subset may leave out
    min_kept: int = 3
    max_left: int = 3
    #: in a group of exactly ``min_kept`` arrivals, the fewest its firing's part keeps (two,
    #: with the bearings a fit with a spare row; one arrival tells nothing)
    small_kept: int = 2
    #: each arrival left out at least this far (s) off the firing's refit: another sound
    #: (the firing's own arrivals a fit rejected were 0.03-0.52 s off, other sounds' mostly
    #: seconds: all_conditions 1 and baseline 1, BENCHMARKS.md session 37, hU)
    min_gap_s: float = 0.6
    #: where no candidate keeps ``min_kept`` arrivals, the bearings alone: at least this
    #: many typed among two bearings or more, their fix rejecting none of its rows
    bare_typed: int = 1


def split_sounds(
    b: FireBatch,
    labels: I64,
    fixes: Fixes,
    cd: Candidates,
    p: LocateParams,
    sp: SoundSplitParams | None = None,
) -> I64:
    """New labels: each widened group with ``min_bearings`` typed bearings whose best
    anchored candidate fits (module doc) keeps those arrivals; the rest become one new group."""
    sp = sp or SoundSplitParams()
    G = len(fixes.x)
    if not sp.enabled or len(fixes.widen) != G or not G:
        return labels
    is_arr = np.isfinite(b.arr) & np.isfinite(b.ox)
    typed = np.isfinite(b.brg) & np.isfinite(b.ox) & (b.role != ROLE_ANY)
    n_arr = np.bincount(labels, is_arr, minlength=G)
    n_brg = np.bincount(labels, typed, minlength=G)
    n_any = np.bincount(labels, np.isfinite(b.brg) & np.isfinite(b.ox), minlength=G)
    widened = fixes.located & (fixes.widen > 1.0) & (n_arr <= sp.max_arrivals)
    kept_min = np.where(n_arr <= sp.min_kept, sp.small_kept, sp.min_kept)
    tried = widened & (n_brg >= sp.min_bearings) & (n_arr > kept_min)
    bare = widened & (n_brg >= sp.bare_typed) & (n_any >= 2) & (n_arr >= 1)
    cand = tried | bare
    gs = np.flatnonzero(cand)
    if not len(gs):
        return labels
    rows = np.flatnonzero(cand[labels])
    sub = np.full(G, -1, np.int64)
    sub[gs] = np.arange(len(gs))
    # the anchor: each group's fix without its arrivals
    bb = b.take(rows)
    anchor = locate(
        replace(bb, arr=np.full(len(rows), np.nan)), sub[labels[rows]], cd.take(rows), p
    )
    g_rows = sub[labels[rows]]
    clean_anchor = anchor.located & (np.bincount(g_rows, anchor.outlier, minlength=len(gs)) == 0)
    a_rows = rows[is_arr[rows]]
    ag = sub[labels[a_rows]]
    ok = anchor.located[ag] & tried[gs[ag]]
    a_rows, ag = a_rows[ok], ag[ok]
    ax, ay, C = anchor.x[ag], anchor.y[ag], anchor.cov[ag]
    dx, dy = b.ox[a_rows] - ax, b.oy[a_rows] - ay
    d = np.maximum(np.hypot(dx, dy), 1.0)
    ux, uy = dx / d, dy / d
    c = b.c[a_rows] + b.wu[a_rows] * ux + b.wv[a_rows] * uy
    emit = b.arr[a_rows] - d / b.k[a_rows] / c
    sd = (
        np.sqrt(
            np.maximum(
                np.einsum("ni,nij,nj->n", np.stack([ux, uy], 1), C, np.stack([ux, uy], 1)), 0.0
            )
        )
        / c
    )
    # candidates: per seed arrival, the group's arrivals agreeing with its emission time;
    # and every subset that leaves out up to ``max_left`` arrivals (a burst heard by a few)
    groups_i, members = [], []
    for gi in np.unique(ag):
        k = np.flatnonzero(ag == gi)
        tol = sp.slack_s + sp.sigmas * (sd[k][:, None] + sd[k][None, :])
        agree = np.abs(emit[k][:, None] - emit[k][None, :]) <= tol
        n, mk = len(k), kept_min[gs[gi]]
        subsets = [agree]
        for m in range(1, min(sp.max_left, n - mk) + 1):
            for drop in combinations(range(n), m):
                left = np.ones((1, n), bool)
                left[0, list(drop)] = False
                subsets.append(left)
        for row in np.unique(np.vstack(subsets), axis=0):
            if row.sum() >= mk and not row.all():
                groups_i.append(gi)
                members.append(a_rows[k[row]])
    best = np.full(len(gs), -1, np.int64)
    if members:
        fit = _best(b, cd, p, labels, rows, is_arr, sub, groups_i, members, best)
    out = labels.copy()
    nxt = G
    for gi in np.flatnonzero((best < 0) & bare[gs] & clean_anchor):
        # no subset kept: the bearings alone locate the firing, every arrival another sound
        idx = np.flatnonzero((labels == gs[gi]) & is_arr)
        out[idx] = nxt + np.arange(len(idx))
        nxt += len(idx)
    for gi in np.flatnonzero(best >= 0):
        g, ci = gs[gi], best[gi]
        leave = np.flatnonzero((labels == g) & is_arr)
        leave = leave[~np.isin(leave, members[ci])]
        # the arrivals left must be another sound, not the firing's own off its fit by a
        # model error (a same-sound arrival the fit rejected: its refit would claim too much)
        dx, dy = b.ox[leave] - fit.x[ci], b.oy[leave] - fit.y[ci]
        d = np.maximum(np.hypot(dx, dy), 1.0)
        c = b.c[leave] + (b.wu[leave] * dx + b.wv[leave] * dy) / d
        gap = np.abs(b.arr[leave] - fit.t0[ci] - d / b.k[leave] / c)
        if not (gap >= sp.min_gap_s).all():  # (a NaN gap proves nothing: no split)
            continue
        out[leave] = nxt
        nxt += 1
    if nxt == G:
        return labels
    return first_seen(out)


def _best(
    b: FireBatch,
    cd: Candidates,
    p: LocateParams,
    labels: I64,
    rows: I64,
    is_arr: NDArray[np.bool_],
    sub: I64,
    groups_i: list[int],
    members: list[I64],
    best: I64,
) -> Fixes:
    """Each candidate fitted alone with its group's other rows; ``best`` (per tried group)
    set to the candidate with the most arrivals whose fit rejects no row, lowest RMS on a tie."""
    # each candidate: its group's other rows and its arrivals, fitted alone
    other = rows[~is_arr[rows]]
    idx, lab = [], []
    for ci, (gi, m) in enumerate(zip(groups_i, members, strict=True)):
        r = np.sort(np.concatenate([other[sub[labels[other]] == gi], m]))
        idx.append(r)
        lab.append(np.full(len(r), ci, np.int64))
    ix, lb = np.concatenate(idx), np.concatenate(lab)
    fit = locate(b.take(ix), lb, cd.take(ix), p)
    K = len(members)
    clean = fit.located & (np.bincount(lb, fit.outlier, minlength=K) == 0)
    n_kept = np.array([len(m) for m in members])
    gi_arr = np.asarray(groups_i, np.int64)
    for ci in np.lexsort((fit.rms, -n_kept, gi_arr)):
        if clean[ci] and best[gi_arr[ci]] < 0:
            best[gi_arr[ci]] = ci
    return fit
