"""A report with no fix of its own joins the one fix on its ray.

A post's bearing with no distance (a camera's muzzle flash) fixes nothing alone, nor does one
whose band the fit could not use (a "20-50 km" for a gun 17 km off), and grouping keeps such a
report apart where its window misses the shot's fix (a camera's clock tens of seconds off):
one incident more, unlocated, beside the shot's. What the report does say is a ray and a
time. At the end of the pipeline (after calibration, so the bearing is the corrected one)
an unlocated group of such reports, linked to nothing, joins the located fix that every one
of its bearings points at (the angle to the fix within ``ray_sigmas`` of the bearing's sd
and the fix's own spread across the ray), whose emission window lies within ``gap_s`` of
each report's window, no farther than the report's band (or ``ray_reach_m`` without one),
of its part (an untyped report joins either part; a typed one a fix of its own type), with
no source in common; and that fix must be the only located fix there: every fix on the ray
within those windows is a rival (the fix's linked other part aside), so two shots on one
line of sight leave the report apart. The fix keeps its location, reading and link (no
ellipse moves: the report only joins the evidence).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_ANY, FireBatch
from truceline.core.fusion.group_join import Sources, group_rows, group_sources, take_apart
from truceline.core.fusion.locate import Fixes

__all__ = ["join_on_ray"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def join_on_ray(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8],
                partner: I64, lo: F64, hi: F64, joined: I64, into: I64, sigmas: float,
                gap_s: float, reach_m: float, max_sd_m: float, sources: Sources | None = None
                ) -> tuple[I64, I64]:
    """``(u, g)``: each unlocated group ``u`` of bearing reports alone (no arrival), linked
    to nothing and not in ``joined``/``into`` (the joins before), joined to the one located
    fix ``g`` (sd at most ``max_sd_m``) on all of its rays (module doc); ``lo``/``hi``: the
    groups' emission windows (s)."""
    G = len(role)
    none = np.zeros(0, np.int64), np.zeros(0, np.int64)
    if not sigmas or not G:
        return none
    arrival = np.isfinite(b.arr)
    bearing = np.isfinite(b.brg) & np.isfinite(b.ox) & np.isfinite(b.oy) & ~arrival
    n = np.bincount(labels, minlength=G)
    n_b = np.bincount(labels, bearing, minlength=G)
    busy = np.zeros(G, bool)
    busy[joined], busy[into] = True, True
    us = np.flatnonzero(~fixes.located & (n_b == n) & (n > 0) & (partner < 0) & ~busy)
    tr = np.trace(fixes.cov, axis1=1, axis2=2)
    sharp = np.flatnonzero(fixes.located & np.isfinite(tr) & (tr <= max_sd_m**2)
                           & np.isfinite(lo) & np.isfinite(hi) & ~np.isin(np.arange(G), joined))
    if not len(us) or not len(sharp):
        return none
    rows = group_rows(labels, G)
    src = group_sources(labels, b.source) if sources is None else sources
    taken: dict[int, set[int]] = {}
    out_u, out_g = [], []
    for u in us.tolist():
        r = rows[u]
        near = sharp[(lo[sharp] <= np.min(b.t_hi[r]) + gap_s)
                     & (hi[sharp] >= np.max(b.t_lo[r]) - gap_s)]
        on = np.ones(len(near), bool)
        for q in r.tolist():
            on &= _on_ray(b, q, fixes, near, sigmas, reach_m)
        on_ray = near[on]
        if not len(on_ray):
            continue
        g = int(on_ray[np.argmin(tr[on_ray])])
        rivals = on_ray[(on_ray != g) & (on_ray != partner[g])]
        if len(rivals) or (role[u] != ROLE_ANY and role[g] != role[u]):
            continue
        if not take_apart(taken, src, u, g):
            continue
        out_u.append(u)
        out_g.append(g)
    return np.asarray(out_u, np.int64), np.asarray(out_g, np.int64)


def _on_ray(b: FireBatch, q: int, fixes: Fixes, g: I64, sigmas: float, reach_m: float
            ) -> NDArray[np.bool_]:
    """Whether each fix ``g`` lies on report ``q``'s ray: the angle from the observer to the
    fix within ``sigmas`` of the bearing's sd and the fix's spread across the ray, ahead of
    the observer and no farther than the report's band (``reach_m`` without one)."""
    dx, dy = fixes.x[g] - b.ox[q], fixes.y[g] - b.oy[q]
    d = np.hypot(dx, dy)
    off = (np.arctan2(dx, dy) - b.brg[q] + np.pi) % (2 * np.pi) - np.pi
    # the fix's variance across the ray, as an angle seen from the observer
    ux, uy = np.cos(b.brg[q]), -np.sin(b.brg[q])  # unit vector across the ray (grid azimuth)
    c = fixes.cov[g]
    across = (ux * ux * c[:, 0, 0] + 2 * ux * uy * c[:, 0, 1] + uy * uy * c[:, 1, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        var = b.brg_sd[q] ** 2 + across / np.maximum(d, 1.0) ** 2
        far = b.dmax[q] if np.isfinite(b.dmax[q]) else reach_m
        return (off**2 <= sigmas**2 * var) & (np.abs(off) < np.pi / 2) & (d <= far)
