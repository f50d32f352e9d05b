"""The launches placed by their feasible regions, in one pass, in place.

Three stages, in this order: the groups of a few arrivals of one array that no fix placed
(:func:`.region.arc_launches`; with them, :func:`loose_fixes`), the lone muzzle flashes
(:func:`.flash_launches.flash_launches`), then the arrival groups left, paired with an
untyped fix in the order causality allows (:func:`.region_pairs.region_pairs`). Each stage
reads the fixes' sides and emission windows as the stage before left them: a launch just
placed is an attributed origin, and a later stage must see it as one (its own bang, or
another view of its gun, is not a second shot).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from numpy.typing import NDArray

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams, attribute
from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.flash_launches import flash_launches, lone_flashes
from truceline.core.fusion.group_join import emission_windows
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import M_ARRIVAL, M_BEARING, Fixes
from truceline.core.fusion.region import ArcParams, arc_launches
from truceline.core.fusion.region_pairs import region_pairs

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def pair_arcs(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], prob: F64,
              partner: I64, tg: F64, geometry: CompiledGeometry, cls: NDArray[np.object_],
              lp: LinkParams, ap: ArcParams, attribution: AttributionParams,
              wild_rate: float) -> I64:
    """Place, type and attribute (by the region's likelihood mass on each side) the arcs'
    launches and pairs, writing ``fixes``, ``role``, ``prob``, ``partner`` and ``tg`` in
    place; ``cls``: each group's weapon class (None if none), ``wild_rate``: the share of
    wild bearings a flash's camera may have. Returns the groups so placed."""
    G = len(role)
    loc = fixes.located
    has_a = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy)
    n_a = np.bincount(labels, has_a, minlength=G)
    heard = ~loc & (n_a >= 2) & (n_a == np.bincount(labels, minlength=G)) & (role == ROLE_ANY)
    loose = loose_fixes(b, labels, fixes, role, partner, lp, ap) if ap.loose_launches else None
    if loose is not None:
        heard[loose] = True
    flash = ap.flash_launches and len(lone_flashes(b, labels, fixes, role, partner))
    if not prob.shape[1] or not ((heard & (partner < 0)).any() or flash):
        return np.zeros(0, np.int64)
    pw = prob.copy()
    w = np.flatnonzero(loc & (role != ROLE_ORIGIN))
    when = (b.epoch + np.round(tg[w] * 1e6).astype("timedelta64[us]")).astype("datetime64[ns]")
    pw[w] = attribute(geometry, fixes.x[w], fixes.y[w], fixes.cov[w], when, attribution)
    side = np.where(pw.max(axis=1) >= lp.own_side_max, pw.argmax(axis=1), -1).astype(np.int64)
    lo, hi = emission_windows(b, labels, fixes, G)
    done: list[int] = []

    def launches(placed: Iterator[tuple[int, int, float, float, F64, float, F64]]) -> None:
        for u, yb, x, y, cov, t0, pr in placed:
            fixes.x[u], fixes.y[u], fixes.cov[u], fixes.t0[u] = x, y, cov, t0
            fixes.located[u], fixes.method[u] = True, M_ARRIVAL if n_a[u] else M_BEARING
            if len(fixes.stated) == G:  # a loose fix's own stated ellipse: the region's now
                fixes.stated[u] = np.nan
            tg[u], role[u], prob[u] = t0, ROLE_ORIGIN, pr
            partner[u], partner[yb] = yb, u
            done.append(u)

    def settle(before: int) -> tuple[F64, F64]:
        """The sides and windows of the launches placed since ``before``, as placed."""
        new = done[before:]
        if not new:
            return lo, hi
        pw[new] = prob[new]
        side[new] = np.where(prob[new].max(axis=1) >= lp.own_side_max,
                             prob[new].argmax(axis=1), -1)
        return emission_windows(b, labels, fixes, G)

    if (loc & (role == ROLE_IMPACT) & (partner < 0)).any():
        launches(arc_launches(b, labels, fixes, role, partner, side, lo, hi, cls, geometry, lp,
                              ap, attribution, loose))
        lo, hi = settle(0)
        if flash and (loc & (role == ROLE_IMPACT) & (partner < 0)).any():
            n = len(done)
            launches(flash_launches(b, labels, fixes, role, partner, side, lo, hi, cls,
                                    geometry, lp, ap, attribution, wild_rate))
            lo, hi = settle(n)
    if not ap.pair_untyped:
        return np.asarray(done, np.int64)
    for u, k, fired, x, y, cov, t0, pr in region_pairs(
            b, labels, fixes, role, partner, side, lo, hi, cls, geometry, lp, ap, attribution,
            loose):
        fixes.x[u], fixes.y[u], fixes.cov[u], fixes.t0[u] = x, y, cov, t0
        fixes.located[u], fixes.method[u], tg[u] = True, M_ARRIVAL, t0
        if len(fixes.stated) == G:
            fixes.stated[u] = np.nan
        o, i = (k, u) if fired else (u, k)
        role[o], role[i] = ROLE_ORIGIN, ROLE_IMPACT
        prob[o] = pw[k] if fired else pr
        partner[u], partner[k] = k, u
        done.append(u)
    return np.asarray(done, np.int64)


def loose_fixes(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], partner: I64,
                lp: LinkParams, ap: ArcParams) -> I64:
    """The untyped, unpaired groups of three or more arrivals of one array (every sensor
    within ``ap.array_radius_m`` of their centre), no bearing among them, whose fix is looser
    than the link's ``max_sigma_m``: a bang far along the array's direction, its range
    unknown to tens of kilometres. No pairing can try such a fix
    (:func:`~truceline.core.fusion.link.compatible_shots` leaves it out, as a launch and as a
    rival), so it is as unplaced as a group no fix located, and its arrivals are a region
    (:func:`.region.arc_region`) the same way: a thin arm along that direction, on one side
    of the line however far it reaches, where the fix's symmetric ellipse straddles it."""
    G = len(role)
    n = np.bincount(labels, minlength=G)
    has_a = np.isfinite(b.arr) & np.isfinite(b.ox) & np.isfinite(b.oy) & ~np.isfinite(b.brg)
    n_a = np.bincount(labels, has_a, minlength=G)
    sig = np.sqrt(np.nan_to_num(np.trace(fixes.cov, axis1=1, axis2=2), nan=np.inf))
    cand = fixes.located & (role == ROLE_ANY) & (partner < 0) & (n_a >= 3) & (n_a == n) \
        & (sig > lp.max_sigma_m)
    if not cand.any():
        return np.zeros(0, np.int64)
    rows = np.flatnonzero(cand[labels])
    g = labels[rows]
    cx = np.bincount(g, b.ox[rows], minlength=G) / np.maximum(n, 1)
    cy = np.bincount(g, b.oy[rows], minlength=G) / np.maximum(n, 1)
    far = np.hypot(b.ox[rows] - cx[g], b.oy[rows] - cy[g]) > ap.array_radius_m
    cand[g[far]] = False
    return np.flatnonzero(cand).astype(np.int64)
