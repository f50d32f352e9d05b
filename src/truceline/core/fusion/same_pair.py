"""One shot linked twice is one incident: two launch-burst pairs whose launches and bursts agree.

Grouping can split a shot's reports so that two groups fix its launch and two its burst, and
the link then pairs each launch with a burst: two incidents, each holding both parts of the
one shot, and the check counts its violation twice (issue 14: on all_conditions seeds 1 and 3,
100 and 325 of the wrong pairs left). :mod:`.same_shot` joins one part fixed twice only where
the looser fix is linked to nothing (a linked fix moving into another shot's pair took the
wrong party's link on coarse_bands seed 2); here both parts speak: the two launches agree
(the Mahalanobis distance of their fixes' difference under the sum of their covariances
within ``max_mahalanobis``), the two bursts agree, each pair's emission windows lie within
``gap_s`` of the other's (part by part), the origins are attributed to the same party with
``own_side_max`` (or the looser to neither), no source reported in both pairs (a source that
reported twice saw two shots), and each pair agrees so with no other linked pair (two guns
firing at one target at once, a barrage, leave their pairs apart). The pair of fewer reports
(on a tie the looser launch) joins the other part by part; the larger pair keeps its fixes,
times, reading and link. A fix looser than ``max_sd_m`` agrees with anything near it, so one
part's two fixes must both be sharper than that and the other part must hold one such fix
(all_conditions seed 3: a launch 20 km wide whose burst, one report 5 km wide, lay 2.7 sigma
from the shot's sharp burst, its launch 0.3 sigma from the shot's 7 km-wide launch). A pair
whose group another join took takes no part, but is a rival.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_IMPACT, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.group_join import Sources, group_sides, group_sizes, group_sources
from truceline.core.fusion.locate import Fixes
from truceline.core.fusion.same_shot import SameShotParams, _m2

__all__ = ["same_pairs"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def same_pairs(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], prob: F64,
               partner: I64, lo: F64, hi: F64, own_side_max: float, joined: I64, into: I64,
               p: SameShotParams, src: Sources | None = None) -> tuple[I64, I64]:
    """``(u, g)``: the launch and burst groups of each pair taken as the same shot as another
    linked pair (the module's rules), and that pair's launch and burst. ``lo``/``hi``:
    emission windows (s); ``joined`` into ``into``: the joins already made (their groups
    take no part here, but are rivals)."""
    G = len(role)
    none = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not p.pairs or not G:
        return none
    tr = np.trace(fixes.cov, axis1=1, axis2=2)
    ok = fixes.located & np.isfinite(tr) & np.isfinite(lo) & np.isfinite(hi)
    sharp = tr <= p.max_sd_m**2
    free = np.ones(G, bool)  # a group another join took takes no part (but is a rival)
    free[joined] = False
    free[into] = False
    mate = np.maximum(partner, 0)
    o = np.flatnonzero(ok & (role == ROLE_ORIGIN) & (partner >= 0))
    o = o[ok[mate[o]] & (role[mate[o]] == ROLE_IMPACT) & (partner[mate[o]] == o)]
    if len(o) < 2:
        return none
    side = group_sides(prob, own_side_max)
    _, own = group_sizes(labels, partner, G)
    src = group_sources(labels, b.source) if src is None else src
    order = o[np.argsort(lo[o], kind="stable")]
    los = lo[order]
    width = float(np.max(hi[o] - lo[o]))
    agree: dict[int, list[int]] = {}
    for a in order.tolist():
        at = np.searchsorted(los, lo[a] - width - p.gap_s, "left")
        to = np.searchsorted(los, hi[a] + p.gap_s, "right")
        near = order[at:to]
        near = near[(near != a) & (lo[near] <= hi[a] + p.gap_s) & (hi[near] >= lo[a] - p.gap_s)]
        if not len(near):
            continue
        ia, inear = int(mate[a]), mate[near]
        fit = ((_m2(fixes, a, near) <= p.max_mahalanobis**2)
               & (_m2(fixes, ia, inear) <= p.max_mahalanobis**2)
               & (lo[inear] <= hi[ia] + p.gap_s) & (hi[inear] >= lo[ia] - p.gap_s))
        # a source in both launches (or both bursts) saw two shots
        agree[a] = [c for c in near[fit].tolist()
                    if not src[a] & src[c] and not src[ia] & src[int(mate[c])]]
    u_out, g_out = [], []
    for a, cs in agree.items():
        if len(cs) != 1 or agree.get(cs[0]) != [a]:
            continue  # none, or rivals: two guns on one target
        c = cs[0]
        ia, ic = int(mate[a]), int(mate[c])
        if not (free[a] and free[ia] and free[c] and free[ic]):
            continue
        # a fix looser than the pair search agrees with anything near: one part's two fixes
        # both sharp, and a sharp fix on each part
        if not ((sharp[a] and sharp[c]) or (sharp[ia] and sharp[ic])) or not (
                (sharp[a] or sharp[c]) and (sharp[ia] or sharp[ic])):
            continue
        # the smaller pair joins (a tie: the looser launch); each pair is seen from both sides
        if (own[a], -tr[a], a) > (own[c], -tr[c], c):
            continue
        sa, sc = side[a], side[c]
        if sa != sc and not (sa < 0 and tr[a] >= tr[c]):
            continue  # launches read to two parties, or a sure side into an unsure one
        u_out += [a, int(mate[a])]
        g_out += [c, int(mate[c])]
    return np.asarray(u_out, np.int64), np.asarray(g_out, np.int64)
