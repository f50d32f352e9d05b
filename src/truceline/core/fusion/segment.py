"""Lone bearing-and-band reports: a fix on a segment of the ray, and how wide to state it.

One monitor's "outgoing, 5-7 km at 95°" with no other report of its event places the event on
a segment of its ray. Inside the band the report says nothing about the distance, so the
least-squares fix (:mod:`.locate`) stays at its start; here it is a Gaussian centred on the
band's middle, along the ray the band blurred by the distance judgement and across it the
bearing's error *including the chance that the bearing is wild*, which a lone report cannot
show and which is far larger for lone reports than for bearings in general (docs/fusion.md,
"Lone bearings").
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion.batch import ROLE_IMPACT, FireBatch
from truceline.core.fusion.day_stats import LAG_S, DayStats, by_day, group_days
from truceline.core.fusion.locate import (
    CHI2_95_2DOF,
    M_BAND,
    M_BEARING,
    Fixes,
    LocateParams,
    ellipse,
    heavy_tail_factor,
)

__all__ = ["covered", "lone_wild", "mixture_sd", "segment_fixes"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def segment_fixes(b: FireBatch, labels: I64, fixes: Fixes, p: LocateParams,
                  prior: DayStats | None = None) -> tuple[Fixes, DayStats]:
    """Locate every unlocated group of one report that gives a bearing and a distance band,
    and state the ellipse of every such group (:attr:`Fixes.stated`, set once the groups are
    linked: :func:`~truceline.core.fusion.pipeline._widen`).

    The fix (used for grouping and linking): the band's middle, one sigma along the ray the
    band's half-width (at least ``band_wall_frac`` of the distance) and across it the
    bearing's sigma widened for the base rate of wild bearings
    (:func:`~.locate.heavy_tail_factor`); a group :func:`.locate` placed on its band keeps
    its fix.

    The stated covariance about that point:

    * **along the ray**: the band uniform, blurred by the distance judgement (25 %),
      ``s^2 = w^2 / 12 + (frac d)^2``, as :mod:`.locate` states a band's information;
    * **across**: the bearing's error is a mixture, ``(1 - w) N(0, s_b) + w N(0, s_wild)``,
      with ``w`` the share of wild bearings *among lone reports* and the wild spread from
      the batch (:func:`lone_wild`). With the base rate of 2 % alone, 73 % of lone fixes held
      the truth on baseline seed 1 (98 of 134; 20 of the 36 misses wild bearings): a bearing
      30° off does not join its event's other reports, so it is left alone far more often
      than a good one. The stated sd is the mixture's, ``√((1 - w) s_b² + w s_wild²)``, and
      for an impact at least the one whose Gaussian 95 % ellipse holds 95 % of the mixture
      (:func:`mixture_sd`): a Gaussian of the mixture's spread held nearly every good bearing
      and a third of the wild ones (lone impacts of the weeks out of the band 0.91-0.92
      inside). Not below the mixture's spread, which holds where ``w`` is underestimated
      (``all_conditions`` 2: 0.03-0.05 for 0.12 true). Origins keep the spread: wider, they
      moved the same-shot join (:mod:`.same_shot`) and attribution, ARI by event down
      0.0001-0.0004 in three of 27 weeks (BENCHMARKS.md, session 27, helper hD).

    Stated after linking, like the fixes on three arrivals: linked with it, the wider
    ellipses changed which origins and impacts were joined (ARI by event -0.002, the worst
    seed's origin error / CRLB under ``coarse_bands`` 1.244 -> 1.268). The origins among them
    are attributed again with it, so attribution near the line stays undecided rather than
    certain.

    ``prior``: the counts of the days already fused (:func:`lone_wild`, each group by its
    day: :func:`~.day_stats.group_days`); returned with the fixes, the counts per day it
    read, ``prior``'s in place of the days it holds."""
    G = len(fixes.x)
    size = np.bincount(labels, minlength=G)
    first = np.full(G, len(b), np.int64)
    first[labels[::-1]] = np.arange(len(b) - 1, -1, -1)
    # unlocated, or located by :func:`.locate` on its band alone
    g = np.flatnonzero((size == 1) & (~fixes.located | (fixes.method == (M_BEARING | M_BAND))))
    r = first[g]
    ok = (np.isfinite(b.ox[r]) & np.isfinite(b.brg[r]) & np.isfinite(b.dmin[r])
          & np.isfinite(b.dmax[r]) & (b.dmax[r] >= b.dmin[r]) & (b.dmin[r] >= 0))
    g, r = g[ok], r[ok]
    days = group_days(b, labels, G, p.stats_by_day)
    w, sd_wild, stats = lone_wild(b, labels, fixes, g, p, days, prior,
                                  group_days(b, labels, G, p.stats_by_day, LAG_S))
    stats = stats.merged(prior)
    if not len(g):
        return fixes, stats
    k = b.k[r]
    mid = (b.dmin[r] + b.dmax[r]) / 2 * k
    ux, uy = np.sin(b.brg[r]), np.cos(b.brg[r])  # along the ray (grid east, north)
    x, y, cv = fixes.x.copy(), fixes.y.copy(), fixes.cov.copy()
    located, method, t0 = fixes.located.copy(), fixes.method.copy(), fixes.t0.copy()
    new = ~located[g]
    s_along = np.maximum((b.dmax[r] - b.dmin[r]) / 2 * k, p.band_wall_frac * mid)
    s_across = np.maximum(mid * b.brg_sd[r], 1.0) * np.sqrt(heavy_tail_factor(1, p))
    cov = _ray_cov(s_along, s_across, ux, uy)
    a95, _, _ = ellipse(cov)
    fit = new & (a95 <= p.max_semi_major_m)
    gn, rn = g[fit], r[fit]
    x[gn] = b.ox[rn] + mid[fit] * ux[fit]
    y[gn] = b.oy[rn] + mid[fit] * uy[fit]
    cv[gn] = cov[fit]
    located[gn] = True
    method[gn] = M_BEARING | M_BAND
    t0[gn] = b.t[rn]
    s_along = np.sqrt(((b.dmax[r] - b.dmin[r]) * k) ** 2 / 12.0 + (p.band_wall_frac * mid) ** 2)
    spread = np.sqrt((1.0 - w) * b.brg_sd[r] ** 2 + w * sd_wild**2)
    level = np.where(b.role[r] == ROLE_IMPACT, mixture_sd(w, b.brg_sd[r], sd_wild), 0.0)
    s_across = np.maximum(mid * np.maximum(level, spread), 1.0)
    stated = fixes.stated.copy() if len(fixes.stated) == G else np.full((G, 2, 2), np.nan)
    stated[g] = _ray_cov(s_along, s_across, ux, uy)
    return Fixes(x, y, t0, cv, located, method, fixes.rms, fixes.outlier, fixes.widen,
                 stated), stats


#: ``r`` (an across error's sd over the stated one) at which :func:`covered` is tabulated
_R = np.geomspace(1e-3, 1e3, 601)


def covered(r: F64) -> F64:
    """The chance that a point whose error is a unit normal along one axis and normal of sd
    ``r`` across it lies in the unit circle's 95 % ellipse (``m² <= χ²₂(0.95)``):
    ``E_z[2 Φ(√(χ² - r² z²)) - 1]`` over the across error ``z``, 0.986 at ``r = 0`` (the
    along error alone), 0.95 at ``r = 1``.

    >>> [round(float(v), 3) for v in covered(np.array([0.0, 1.0, 4.0]))]
    [0.986, 0.95, 0.417]
    """
    from scipy.special import ndtr

    z = np.linspace(0.0, 8.0, 801)
    wz = np.exp(-z * z / 2) * np.sqrt(2 / np.pi) * (z[1] - z[0])
    wz[0] /= 2
    wz[-1] /= 2
    rem = CHI2_95_2DOF - (np.asarray(r, float)[..., None] * z) ** 2
    inside = np.where(rem > 0, 2 * ndtr(np.sqrt(np.maximum(rem, 0.0))) - 1, 0.0)
    return np.asarray(inside @ wz, float)


_COVERED, _LOG_R = covered(_R), np.log(_R)


def mixture_sd(w: F64, s_core: F64, s_wild: F64, level: float = 0.95) -> F64:
    """The sd across a ray whose Gaussian 95 % ellipse holds ``level`` of the across error
    ``(1 - w) N(0, s_core) + w N(0, s_wild)`` (the along error as stated):
    ``(1 - w) covered(s_core / s) + w covered(s_wild / s) = level``, solved by bisection on
    ``log s`` (:func:`covered` tabulated). Not the mixture's own sd: a Gaussian of that
    spread holds nearly every good bearing and few wild ones.

    >>> round(float(mixture_sd(np.array([0.0]), np.array([2.0]), np.array([40.0]))[0]), 3)
    2.0
    """
    w, s_core, s_wild = np.broadcast_arrays(*(np.asarray(v, float) for v in (w, s_core, s_wild)))
    lo = np.log(np.maximum(np.minimum(s_core, s_wild), 1e-12)) - np.log(20.0)
    hi = np.log(np.maximum(s_core, s_wild)) + np.log(1e3)

    l_core, l_wild = np.log(s_core), np.log(s_wild)

    def cover(ls: F64) -> F64:
        a = np.interp(l_core - ls, _LOG_R, _COVERED)
        b = np.interp(l_wild - ls, _LOG_R, _COVERED)
        return np.asarray((1.0 - w) * a + w * b, float)

    for _ in range(60):
        mid = (lo + hi) / 2
        low = cover(mid) < level
        lo, hi = np.where(low, mid, lo), np.where(low, hi, mid)
    return np.asarray(np.exp((lo + hi) / 2), float)


def _ray_cov(s_along: F64, s_across: F64, ux: F64, uy: F64) -> F64:
    """(n, 2, 2) grid covariances with these sigmas along and across the rays ``(ux, uy)``."""
    cov = np.empty((len(ux), 2, 2))
    cov[:, 0, 0] = s_along**2 * ux * ux + s_across**2 * uy * uy
    cov[:, 1, 1] = s_along**2 * uy * uy + s_across**2 * ux * ux
    cov[:, 0, 1] = cov[:, 1, 0] = (s_along**2 - s_across**2) * ux * uy
    return cov


def lone_wild(b: FireBatch, labels: I64, fixes: Fixes, lone: I64, p: LocateParams,
              days: I64 | None = None, prior: DayStats | None = None,
              read: I64 | None = None) -> tuple[F64, F64, DayStats]:
    """The share ``w`` of wild bearings among the lone reports (the groups ``lone``) and the
    wild bearings' spread (radians, RMS), both from the batch itself: for each lone group,
    from the days up to its own (``days``: each group's; without them the batch is one day),
    with ``prior``'s rows in place of the days it holds (:mod:`.day_stats`); and the counts
    per day they read. ``read``: each group's day it reads up to, if not its own (its first
    report's less :data:`~.day_stats.LAG_S`: a lone bearing after midnight, perhaps of an
    incident begun before it, reads the days before; not before the first day counted).

    Where a group has three or more bearings the robust fit finds its wild ones (flagged
    outliers, beyond ``outlier_sigma``): their share there estimates the wild rate ``q`` of
    all bearings (at least ``wild_bearing_rate``), and the angular residuals of every flagged
    bearing the wild spread. Of the ``q N`` wild bearings expected among the batch's ``N``,
    those no group flagged are, as far as the batch shows, among the lone reports (a wild
    bearing is either found by a fit or left out of its event's group):
    ``w = (q N - flagged) / n_lone``, between ``q`` and ``max_lone_wild``. Where fewer than
    ``min_wild`` bearings are flagged (in groups of three or more for the rate, in any group
    for the spread), the error model's ``wild_bearing_rate`` or ``wild_bearing_sd_deg`` stands
    in: the fits find few (baseline, three days: 4 of 861 bearings in such groups, 6 in all,
    where 2 % of 1,602 were wild), so most wild bearings are among the lone ones."""
    has = np.isfinite(b.brg) & np.isfinite(b.ox) & np.isfinite(b.oy)
    G = len(fixes.x)
    day = np.zeros(G, np.int64) if days is None else days
    n_brg = np.bincount(labels, has, minlength=G)
    in_fix = has & fixes.located[labels]
    in3 = in_fix & (n_brg[labels] >= 3)
    f3 = in3 & fixes.outlier
    flag = in_fix & fixes.outlier & (n_brg[labels] >= 2)
    sq = np.zeros(len(b))
    gi = labels[flag]
    az = np.arctan2(fixes.x[gi] - b.ox[flag], fixes.y[gi] - b.oy[flag])
    sq[flag] = np.angle(np.exp(1j * (az - b.brg[flag]))) ** 2
    rows = np.flatnonzero(has)
    cols = np.zeros((len(rows) + len(lone), 6))
    cols[:len(rows), :5] = np.column_stack([f3[rows], in3[rows], flag[rows], sq[rows],
                                            np.ones(len(rows))])
    cols[len(rows):, 5] = 1.0
    stats = by_day(np.concatenate([day[labels[rows]], day[lone]]), cols)
    if not len(lone):
        return np.zeros(0), np.zeros(0), stats
    pool = stats.merged(prior)
    upto = day[lone] if read is None or not len(pool.days) else \
        np.maximum(read[lone], pool.days[0])
    u_days, u_at = np.unique(upto, return_inverse=True)
    n_f3, n_in3, n_flag, ssq, n_has, n_lone = pool.pooled(u_days, 6).T
    rate = np.where(n_f3 >= p.min_wild,
                    np.maximum(n_f3 / np.maximum(n_in3, 1.0), p.wild_bearing_rate),
                    p.wild_bearing_rate)
    sd = np.where(n_flag >= p.min_wild, np.sqrt(ssq / np.maximum(n_flag, 1.0)),
                  np.radians(p.wild_bearing_sd_deg))
    w = np.clip((rate * n_has - n_flag) / np.maximum(n_lone, 1.0), rate, p.max_lone_wild)
    return w[u_at], sd[u_at], stats
