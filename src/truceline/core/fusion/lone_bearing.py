"""A lone bearing's fix beside its linked part: the one fix of its part its ray admits.

A monitor's one report (a bearing on a distance band) left alone is located on its own, along
its ray. Where its bearing is wild (the error model's tail: ``LocateParams.wild_bearing_rate``
of bearings off by tens of degrees) its fix lies kilometres from its shot's and past every
ellipse test of :mod:`.same_shot` (3 sd, then the lone ring of 5 sd), and the shot's linked
incident counts one report fewer while the lone fix stands as an incident of its own (issue 14:
on all_conditions seeds 1 and 3 the largest class of lost pairs, a linked incident and a fix of
one of its parts; past 3 sd the lone fix held a wild bearing in 13 / 34 cases). Its ellipse no
longer says where its shot is, but its report still does, with the wild tail: the range to the
shot within its band and the bearing off by at most ``lone_wild_z`` of the wild spread
(``lone_wild_deg``, the error model's 40 degrees). Such a fix joins the one fix there:

- ``u``: a located fix of one report, a bearing, linked to nothing, joined by no earlier rule,
  no looser than ``max_sd_m``;
- every located fix no looser than ``max_sd_m`` is a rival (typed or not, linked or not, either
  side) where its part may be ``u``'s, its emission window overlaps ``u``'s, it holds no report
  of ``u``'s source, and the report admits it: its range from the observer within the band
  (widened by 3 sd of that fix), its azimuth within ``lone_wild_z`` of the wild spread (with
  the fix's own angular sd) of the bearing;
- exactly one rival (two shots there: the report could be either's, it stays apart), and that
  one a typed part of a linked pair (a launch and its burst: a shot, not a fragment), not
  joined itself, of ``u``'s side where ``u`` is an origin attributed to one.

The replay of the end joins' input (issue 14, session 35) joined 12 / 13 such fixes on seeds
1 / 3, each to its own event's part; with two reports (a crossing) one of 4 joined another
event's report along (a crossing of two events' bearings), so one report only.
``u`` joins the linked part's group, which keeps its fix, time, reading and link.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_ANY, FireBatch
from truceline.core.fusion.group_join import (
    Sources,
    group_sides,
    group_sources,
    linked_target,
    take_apart,
)
from truceline.core.fusion.locate import Fixes
from truceline.core.fusion.same_shot import SameShotParams

__all__ = ["lone_bearings"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def lone_bearings(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], prob: F64,
                  partner: I64, lo: F64, hi: F64, own_side_max: float, joined: I64,
                  into: I64, p: SameShotParams, sources: Sources | None = None
                  ) -> tuple[I64, I64]:
    """``(u, g)``: each lone bearing's fix ``u`` joined to the one fix ``g`` of its part that
    its report admits with the wild tail, a linked part (module doc). ``lo``/``hi``: emission
    windows (s); ``joined`` into ``into``: the earlier rules' joins (neither takes part as
    ``u``; a ``joined`` group is no ``g``)."""
    G = len(role)
    none = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not p.lone_wild_deg or not G:
        return none
    tr = np.trace(fixes.cov, axis1=1, axis2=2)
    ok = (fixes.located & np.isfinite(tr) & np.isfinite(lo) & np.isfinite(hi)
          & (tr <= p.max_sd_m**2))
    bearing = np.isfinite(b.brg) & np.isfinite(b.ox) & np.isfinite(b.oy) & np.isfinite(
        b.brg_sd)
    n = np.bincount(labels, minlength=G)
    n_b = np.bincount(labels, bearing, minlength=G)
    busy = np.zeros(G, bool)
    busy[joined], busy[into] = True, True
    us = np.flatnonzero(ok & ~busy & (partner < 0) & (n == 1) & (n_b == 1))
    cand = np.flatnonzero(ok & (n > 0))
    if not len(us) or len(cand) < 2:
        return none
    rep = np.full(G, -1, np.int64)  # each lone group's one report
    r = np.flatnonzero(bearing)
    rep[labels[r]] = r
    side = group_sides(prob, own_side_max)
    src = group_sources(labels, b.source) if sources is None else sources
    wild = np.radians(p.lone_wild_deg)
    gone = np.zeros(G, bool)
    gone[joined] = True
    taken: dict[int, set[int]] = {}
    out_u, out_g = [], []
    for u in us.tolist():
        near = cand[(cand != u) & (lo[cand] <= hi[u]) & (hi[cand] >= lo[u])]
        if role[u] != ROLE_ANY:  # a rival of its part: typed alike or untyped
            near = near[(role[near] == role[u]) | (role[near] == ROLE_ANY)]
        k = int(rep[u])
        near = np.asarray([g for g in near.tolist() if int(b.source[k]) not in src[g]],
                          np.int64)
        if not len(near):
            continue
        dx, dy = fixes.x[near] - b.ox[k], fixes.y[near] - b.oy[k]
        rng = np.hypot(dx, dy)
        sd = np.sqrt(tr[near])
        miss = np.abs(np.angle(np.exp(1j * (np.arctan2(dx, dy) - b.brg[k]))))
        spread = np.hypot(max(float(b.brg_sd[k]), wild), sd / np.maximum(rng, 1.0))
        dmin = b.dmin[k] if np.isfinite(b.dmin[k]) else 0.0
        dmax = b.dmax[k] if np.isfinite(b.dmax[k]) else np.inf
        fit = near[(miss <= p.lone_wild_z * spread) & (rng >= dmin - 3.0 * sd)
                   & (rng <= dmax + 3.0 * sd)]
        if len(fit) != 1:  # none, or two shots the report could be either's
            continue
        g = int(fit[0])
        if not linked_target(u, g, partner, role, gone, side):
            continue
        if not take_apart(taken, src, u, g):  # a source that reported twice saw two shots
            continue
        out_u.append(u)
        out_g.append(g)
    return np.asarray(out_u, np.int64), np.asarray(out_g, np.int64)
