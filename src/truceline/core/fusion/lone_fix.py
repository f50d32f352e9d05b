"""A lone fix of several bearings beside its linked part: its reports fit that part, one wild.

Two or three monitors' bearings of one shot left apart from the shot's linked incident are
located on their own; where one of the bearings is wild (the error model's tail,
``LocateParams.wild_bearing_rate``, off by tens of degrees) the fix is pulled kilometres off
and fails every ellipse test of :mod:`.same_shot` (issue 14: on all_conditions seeds 1 and 3
the largest class of lost pairs, a linked incident and a located fix of one of its parts,
lies mostly past 3 sd, a wild bearing in a third to a half of its cases). The fix's ellipse
no longer says where the shot is; its reports still do, one by one. So each report of ``u``
is read against each fix there, as :mod:`.lone_bearing` reads one report:

- ``u``: a located fix of two or more reports, bearings (one at least) and two arrivals at
  most (more fix a place of their own, which this test does not read), linked to nothing,
  joined by no earlier rule, no looser than ``max_sd_m``;
- a fix *admits* ``u`` where every bearing of ``u`` fits it at the usual level
  (``lone_fix_sigmas`` of the bearing's sd and the fix's spread across the ray) but at most
  one, and that one within the wild tail (``lone_wild_z`` of ``lone_wild_deg``, as in
  :mod:`.lone_bearing`), each report's range to the fix within its band (its soft wall,
  ``lone_fix_walls`` times, and 3 sd of the fix beyond either end: a distance judged to 25 %),
  and every arrival, less its travel from the fix, lies within 3 s (and 3 sd of the fix at
  330 m/s) of the fix's window, a fix timed by arrivals (a monitors' window of minutes tests
  nothing); one bearing at least fits at the usual level, or an arrival does: left out, that
  one bearing, the rest fit the fix as they stand;
- every located fix no looser than ``max_sd_m`` where ``u``'s part may be, its window within
  ``lone_fix_gap_s`` of ``u``'s and no source of ``u`` in it, is a rival (one joined to
  another before counts as that one): exactly one must admit ``u``, a typed part of a linked
  pair, not joined itself, of ``u``'s side where ``u`` is an origin, its incident (with its
  linked part) holding more reports than ``u`` (all_conditions seed 2: seven arrivals' sharp
  fix of a burst would have joined two reports of it that the link had paired with another
  shot's launch);
- the report left out (the wild one) must fit no other fix there at the usual level: a
  bearing of another event crossing the shot's (the false join two reports gave
  :mod:`.lone_bearing`) points at its own event's fix, a wild one at none.

``u`` joins the linked part's group, which keeps its fix, time, reading and link (its
reports fit it; ``u``'s fix, one wild bearing in it, says nothing more). Replayed on the end
joins' input of all_conditions seeds 1-3 (session 36): 5 / 1 / 12 joins, each of one event's
reports into that event's part; without the last test, one more on seed 1, the crossing of
two events' bearings :mod:`.lone_bearing` had seen.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_ANY, FireBatch
from truceline.core.fusion.group_join import (
    Sources,
    group_rows,
    group_sides,
    group_sizes,
    group_sources,
    linked_target,
    take_apart,
)
from truceline.core.fusion.locate import M_ARRIVAL, Fixes, LocateParams
from truceline.core.fusion.same_shot import SameShotParams

__all__ = ["lone_fixes"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
_WALL = LocateParams()


def _fits(b: FireBatch, k: I64, fixes: Fixes, sd: F64, near: I64, sigmas: float,
          wild: float, wild_z: float, walls: float) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """``(usual, tail)``: (reports ``k`` x fixes ``near``) whether each bearing fits each fix
    within ``sigmas`` of its sd and the fix's spread across the ray, and within ``wild_z``
    of the wild spread; both with the fix's range within the report's band (3 sd beyond)."""
    dx = fixes.x[near][None, :] - b.ox[k][:, None]
    dy = fixes.y[near][None, :] - b.oy[k][:, None]
    rng = np.hypot(dx, dy)
    across = sd[None, :] / np.maximum(rng, 1.0)
    miss = np.abs(np.angle(np.exp(1j * (np.arctan2(dx, dy) - b.brg[k][:, None]))))
    sd_k = b.brg_sd[k][:, None]
    dmin = np.where(np.isfinite(b.dmin[k]), b.dmin[k], 0.0)[:, None]
    dmax = np.where(np.isfinite(b.dmax[k]), b.dmax[k], np.inf)[:, None]
    # a distance judged to ~25 %: the band's soft wall (:class:`.LocateParams`) once beyond
    # either edge, and 3 sd of the fix
    wall_lo = walls * (_WALL.band_wall_frac * dmin + _WALL.band_wall_m)
    wall_hi = walls * (_WALL.band_wall_frac * np.where(np.isfinite(dmax), dmax, 0.0)
                       + _WALL.band_wall_m)
    band = ((rng >= dmin - wall_lo - 3.0 * sd[None, :])
            & (rng <= dmax + wall_hi + 3.0 * sd[None, :]))
    usual = band & (miss <= sigmas * np.hypot(sd_k, across))
    tail = band & (miss <= wild_z * np.hypot(np.maximum(sd_k, wild), across))
    return usual, tail


def _crossing(b: FireBatch, w: int, fixes: Fixes, sd: F64, cand: I64, skip: tuple[int, ...],
              lo: F64, hi: F64, src: Sources, p: SameShotParams) -> bool:
    """Whether report ``w`` (the one left out) fits another fix at the usual level, band
    aside (a distance judged to 25 %), in a window within ``gap_s`` of its own, its source
    not in it: a bearing of another event crossing the shot's, not a wild one."""
    near = cand[~np.isin(cand, skip) & (lo[cand] <= b.t_hi[w] + p.gap_s)
                & (hi[cand] >= b.t_lo[w] - p.gap_s)]
    near = np.asarray([c for c in near.tolist() if int(b.source[w]) not in src[c]], np.int64)
    if not len(near):
        return False
    dx, dy = fixes.x[near] - b.ox[w], fixes.y[near] - b.oy[w]
    rng = np.hypot(dx, dy)
    miss = np.abs(np.angle(np.exp(1j * (np.arctan2(dx, dy) - b.brg[w]))))
    spread = np.hypot(b.brg_sd[w], sd[near] / np.maximum(rng, 1.0))
    return bool(np.any(miss <= p.lone_fix_sigmas * spread))


def lone_fixes(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], prob: F64,
               partner: I64, lo: F64, hi: F64, own_side_max: float, joined: I64, into: I64,
               p: SameShotParams, sources: Sources | None = None) -> tuple[I64, I64]:
    """``(u, g)``: each lone fix ``u`` of several bearings joined to the one linked part ``g``
    that its reports fit, one of them wild at most (module doc). ``lo``/``hi``: emission
    windows (s); ``joined`` into ``into``: the earlier rules' joins (neither takes part as
    ``u``; a ``joined`` group is no ``g``)."""
    G = len(role)
    none = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not p.lone_fix_sigmas or not p.lone_wild_deg or not G:
        return none
    tr = np.trace(fixes.cov, axis1=1, axis2=2)
    ok = (fixes.located & np.isfinite(tr) & np.isfinite(lo) & np.isfinite(hi)
          & (tr <= p.max_sd_m**2))
    bearing = (np.isfinite(b.brg) & np.isfinite(b.ox) & np.isfinite(b.oy)
               & np.isfinite(b.brg_sd) & ~np.isfinite(b.arr))
    n = np.bincount(labels, minlength=G)
    n_b = np.bincount(labels, bearing, minlength=G)
    arrival = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy) & np.isfinite(b.c)
    n_a = np.bincount(labels, arrival, minlength=G)
    busy = np.zeros(G, bool)
    busy[joined], busy[into] = True, True
    us = np.flatnonzero(ok & ~busy & (partner < 0) & (n >= 2) & (n_b >= 1)
                        & (n_b + n_a == n) & (n_a <= 2))
    timed = fixes.located & (fixes.method & M_ARRIVAL > 0)
    cand = np.flatnonzero(ok & (n > 0))
    if not len(us) or len(cand) < 2:
        return none
    rows = group_rows(labels, G)
    own = group_sizes(labels, partner, G)[1]  # the shot's reports: more than ``u``'s
    side = group_sides(prob, own_side_max)
    src = group_sources(labels, b.source) if sources is None else sources
    sd = np.sqrt(tr)
    wild = np.radians(p.lone_wild_deg)
    gone = np.zeros(G, bool)
    gone[joined] = True
    to = np.arange(G)
    to[joined] = into
    taken: dict[int, set[int]] = {}
    out_u, out_g = [], []
    for u in us.tolist():
        near = cand[(cand != u) & (lo[cand] <= hi[u] + p.lone_fix_gap_s)
                    & (hi[cand] >= lo[u] - p.lone_fix_gap_s)]
        if role[u] != ROLE_ANY:  # a rival of its part: typed alike or untyped
            near = near[(role[near] == role[u]) | (role[near] == ROLE_ANY)]
        near = np.asarray([g for g in near.tolist() if not src[g] & src[u]], np.int64)
        if not len(near):
            continue
        k = rows[u][bearing[rows[u]]]
        usual, tail = _fits(b, k, fixes, sd[near], near, p.lone_fix_sigmas, wild,
                            p.lone_wild_z, p.lone_fix_walls)
        a = rows[u][arrival[rows[u]]]
        # one bearing left out at most, and one at least left to fit, or an arrival
        admit = (np.all(usual | tail, axis=0) & ((~usual).sum(axis=0) <= 1)
                 & (usual.any(axis=0) | (len(a) > 0)))
        if len(a):  # each arrival traced back from the fix into its window, timed by arrivals
            admit &= timed[near]
            tol = 3.0 + 3.0 * sd[near] / 330.0
            te = b.arr[a][:, None] - np.hypot(b.ox[a][:, None] - fixes.x[near],
                                               b.oy[a][:, None] - fixes.y[near]) / b.c[a][:, None]
            admit &= np.all((te >= lo[near] - tol) & (te <= hi[near] + tol), axis=0)
        # a fix joined to another before is that one's: one rival with it
        at = np.unique(to[near[admit]])
        if len(at) != 1:  # none, or two shots its reports could be either's
            continue
        g = int(at[0])
        j = int(np.flatnonzero(near == g)[0]) if g in near else -1
        if j < 0 or not admit[j]:
            continue
        if own[g] <= n[u] or not linked_target(u, g, partner, role, gone, side):
            continue
        off = np.flatnonzero(~usual[:, j])
        if len(off) and _crossing(b, int(k[off[0]]), fixes, sd, cand[to[cand] != g],
                                  (u, int(partner[g])), lo, hi, src, p):
            continue
        if not take_apart(taken, src, u, g):  # a source that reported twice saw two shots
            continue
        out_u.append(u)
        out_g.append(g)
    return np.asarray(out_u, np.int64), np.asarray(out_g, np.int64)
