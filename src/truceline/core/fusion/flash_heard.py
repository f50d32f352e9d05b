"""A lone muzzle flash and one array's arrivals: the flash's time turns them into ranges.

A camera that alone saw a flash gives a bearing and a time, the launch's own (light is
instant; a camera on GPS time errs by a few seconds, which its window holds, and one whose
clock errs more is caught below). Two or three
arrivals of one array alone put a bang on a hyperbola at no known range and cannot say launch
or burst, so both stayed unlocated, apart (on the six scenarios' 18 weeks, 24 of 27 supportable
violations seen by a flash and one array's two arrivals were missed so). Together they fix
the launch: along the ray, the time the arrivals imply (each arrival less its travel) must
be the flash's, within its window, and their differences the array's
(:func:`.heard.part_tests` at each cell of the ray, the same test, the same air). Where a
sound of another shot reached the array, its implied time is the flash's only by chance: its
hyperbola must cross the ray where the travel cancels the shot's flight, within the clock's
seconds.

So the arrivals join the flash where exactly one such group fits the flash, the group fits
exactly one lone flash and no located part (of any role: it may be that part's sound), no
located, attributed origin sits among the fitting cells (the flash may be that launch, a
second view of one shot), and no fitting cell lies in another party's area than the one
that holds their mass (a fit that crosses the line decides nothing, as for
:mod:`.flash_launches`). The flash is then located at the fitting cells' weighted mean and
spread, a launch by its type, attributed by that mass less the base rate of wild bearings
(the flash may lie off its ray).

The flash's time is the only range here, so a camera whose clock is shown to err beyond its
window times nothing (:func:`clock_shown_off`): late by about a shot's flight, its window
holds the burst's sound, fitting where the ray passes over the burst, and the flash would be
placed there, on the other side (the camera behind the burst, looking along the line of
fire; session 41, h10c). Neither joins the lone flash nor, grouped whole, spares its fix the
either-sound widening (:func:`flash_timed`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.stats import chi2 as chi2_dist

from truceline.core.classify import CompiledGeometry
from truceline.core.fusion.attribution import AttributionParams
from truceline.core.fusion.batch import ROLE_ORIGIN, FireBatch
from truceline.core.fusion.flash_launches import clock_shown_off, lone_flashes, ray_cells
from truceline.core.fusion.heard import (
    HeardParams,
    arrival_groups,
    bare_arrivals,
    part_tests,
)
from truceline.core.fusion.heard_when import may_be_near
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import M_ARRIVAL, M_BEARING, Fixes
from truceline.core.fusion.region import ArcParams, as_fix, cell_sides, passes_through

__all__ = ["flash_heard", "flash_timed"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The ray's step (m) where arrivals test it: fine enough that a cell lies within ~0.04 s of
#: any difference the array's sensors can give (the 400 m of the regions would step over it).
STEP_M = 25.0


def _wind_sd(b: FireBatch, hp: HeardParams) -> F64:
    wsd = np.where(np.isfinite(b.wind_sd), b.wind_sd, hp.wind_sd_ms)
    return np.where(b.wind_known & ~np.isfinite(b.wind_sd), 0.5, wsd)


def _test(b: FireBatch, idx: I64, x: F64, y: F64, cov: F64, lo: F64, hi: F64, wsd: F64,
          hp: HeardParams, slack: bool) -> F64:
    """The arrivals' rows ``idx`` ``(m,)`` against each point ``x``, ``y`` (covariance
    ``cov``, window ``lo..hi``): the chi-square where the implied time lies in the window
    (within a clock's slack with ``slack``), else inf."""
    n = len(x)
    if not n:
        return np.zeros(0)
    rows = np.broadcast_to(idx, (n, len(idx)))
    chi, alt, *_ = part_tests(b, np.ascontiguousarray(rows), np.arange(n), x, y, cov, lo, hi,
                              np.zeros(n, bool), wsd, np.full(1, -1, np.int64), hp)
    return alt if slack else chi


def _may_fit(b: FireBatch, idx: I64, x: F64, y: F64, cov: F64, wsd: F64, hp: HeardParams,
             chi2_max: float) -> NDArray[np.bool_]:
    """Which points ``x``, ``y`` (covariance ``cov``) may fit the differences of the arrivals'
    rows ``idx`` within ``chi2_max``: False only where a lower bound of
    :func:`.heard.heard_chi2`'s chi-square exceeds it. With ``e`` each arrival less its
    travel and ``C = D S D'`` the differences' covariance, ``de' C^-1 de >= |de|^2 /
    tr(C)``, and ``C_kk <= (sqrt(S_00) + sqrt(S_kk))^2`` (``S`` positive semi-definite);
    each ``S_ii`` is computed as the test does, by its terms (the timing, ``J_i P J_i'``,
    the wind along the path, the speed), the air pooled as :func:`.heard.part_tests` pools
    it; a relative margin for the rounding. Along the ray only the cells near the arrivals'
    hyperbola pass, so the test's matrices run on a few of them."""
    dx, dy = b.ox[idx][None, :] - x[:, None], b.oy[idx][None, :] - y[:, None]
    r = np.maximum(np.hypot(dx, dy), 1.0)
    ux, uy = dx / r, dy / r
    if hp.pool_air:
        ce = (b.c[idx].mean() + b.wu[idx].mean() * ux + b.wv[idx].mean() * uy) * b.k[idx]
    else:
        ce = (b.c[idx] + b.wu[idx] * ux + b.wv[idx] * uy) * b.k[idx]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tau = r / ce
        e = b.arr[idx][None, :] - tau
        jx, jy = ux / ce, uy / ce
        s_ii = (cov[:, 0, 0, None] * jx * jx + (cov[:, 0, 1, None] + cov[:, 1, 0, None]) * jx * jy
                + cov[:, 1, 1, None] * jy * jy + hp.arrival_sd_s**2
                + float(wsd[idx].max()) ** 2 * (tau / ce) ** 2 + hp.speed_frac_sd**2 * tau**2)
        root = np.sqrt(np.maximum(s_ii, 0.0))
        tr = ((root[:, :1] + root[:, 1:]) ** 2).sum(axis=1)
        de2 = ((e[:, 1:] - e[:, :1]) ** 2).sum(axis=1)
        out = de2 > (chi2_max * (1.0 + 1e-6) + 1e-9) * tr * (1.0 + 1e-6)
    return np.asarray(~out)


def flash_heard(b: FireBatch, labels: I64, fixes: Fixes, role: NDArray[np.int8], prob: F64,
                partner: I64, tg: F64, lo: F64, hi: F64, u: I64, g: I64,
                geometry: CompiledGeometry, lp: LinkParams, ap: ArcParams, hp: HeardParams,
                attribution: AttributionParams, wild_rate: float) -> tuple[I64, I64]:
    """``(u, g)`` with the joins of arrivals into the lone flash they time (module doc); each
    such flash located, typed and attributed in place (``fixes``, ``role``, ``prob``,
    ``tg``). Groups already in ``u`` or ``g`` are left alone. ``lo``/``hi``: each group's
    emission-time window (s); ``wild_rate``: the share of bearings that are gross errors."""
    G = len(role)
    if not G or not prob.shape[1]:
        return u, g
    used = np.zeros(G, bool)
    used[u] = True
    used[g] = True
    flashes = lone_flashes(b, labels, fixes, role, partner)
    flashes = flashes[~used[flashes]]
    has, bare, _ = bare_arrivals(b, labels, role, partner, fixes.located)
    vague = bare & ~fixes.located & ~used & (np.bincount(labels, has, minlength=G) >= 2)
    rows = np.flatnonzero(has & vague[labels])
    if not len(flashes) or not len(rows):
        return u, g
    order, ul, st, grp, n_u, ucx, ucy, ua, _ = arrival_groups(b, labels, rows)
    far = np.zeros(len(ul))
    np.maximum.at(far, grp, np.hypot(b.ox[order] - ucx[grp], b.oy[order] - ucy[grp]))
    ok_group = (2.0 * far <= hp.array_m) & (n_u <= 3)
    wsd = _wind_sd(b, hp)
    travel = hp.hearing_m / hp.slowest_sound_ms
    reach = ap.flash_range_m + hp.hearing_m
    f_order = np.argsort(labels, kind="stable")
    f_starts = np.searchsorted(labels[f_order], np.arange(G + 1))
    # the located parts (any role) a group's arrivals might be the sound of
    sig = np.sqrt(np.nan_to_num(np.trace(fixes.cov, axis1=1, axis2=2), nan=np.inf))
    parts = np.flatnonzero(fixes.located & np.isfinite(fixes.x) & np.isfinite(lo)
                           & np.isfinite(hi) & (sig <= hp.hearing_m))
    side = np.where(prob.max(axis=1) >= lp.own_side_max, prob.argmax(axis=1), -1)
    origins = np.flatnonzero(fixes.located & (role == ROLE_ORIGIN) & (side >= 0)
                             & np.isfinite(sig))
    fits: list[tuple[int, int, F64, F64, F64]] = []
    off = clock_shown_off(b, labels, fixes)
    for f in flashes.tolist():
        (row,) = f_order[f_starts[f]:f_starts[f + 1]]
        if off[b.source[row]]:
            continue  # its time places nothing
        ox, oy, t_lo, t_hi = (float(v[row]) for v in (b.ox, b.oy, b.t_lo, b.t_hi))
        near = np.flatnonzero(ok_group & (np.hypot(ucx - ox, ucy - oy) <= reach)
                              & (ua >= t_lo) & (ua <= t_hi + travel))
        if not len(near):
            continue
        x, y, wt = ray_cells(ox, oy, float(b.brg[row]), float(b.brg_sd[row]), ap, STEP_M)
        cov = np.tile(np.eye(2) * STEP_M**2 / 12.0, (len(x), 1, 1))
        clo, chi_ = np.full(len(x), t_lo), np.full(len(x), t_hi)
        for k in near.tolist():
            m = int(n_u[k])
            idx = order[st[k]:st[k] + m]
            inside = np.hypot(x - ucx[k], y - ucy[k]) <= hp.hearing_m
            # the cells whose implied time misses the window test inf: not tested (the
            # test's matrices on every cell of the ray were ~3 % of the 907k month's check)
            at = np.flatnonzero(inside)
            inside[at] = may_be_near(b, idx, at, x, y, cov, clo, chi_, wsd, hp, slack=0.0)
            cut = chi2_dist.ppf(hp.level, m - 1)
            at = np.flatnonzero(inside)
            inside[at] = _may_fit(b, idx, x[at], y[at], cov[at], wsd, hp, cut)
            c2 = np.full(len(x), np.inf)
            c2[inside] = _test(b, idx, x[inside], y[inside], cov[inside], clo[inside],
                               chi_[inside], wsd, hp, False)
            ok = c2 <= cut
            if ok.any():
                fits.append((f, k, x[ok], y[ok], wt[ok] * np.exp(-0.5 * c2[ok])))
    if not fits:
        return u, g
    n_f = np.bincount(np.asarray([k for _, k, *_ in fits], np.int64), minlength=len(ul))
    n_k = np.bincount(np.asarray([f for f, *_ in fits], np.int64), minlength=G)
    new_u: list[int] = []
    new_g: list[int] = []
    for f, k, x, y, w in fits:
        if n_f[k] != 1 or n_k[f] != 1 or not w.sum() > 0.0:
            continue  # which flash the array heard, or which sound the flash's, is not known
        m = int(n_u[k])
        idx = order[st[k]:st[k] + m]
        cand = parts[(np.hypot(fixes.x[parts] - ucx[k], fixes.y[parts] - ucy[k])
                      <= hp.hearing_m + 3.0 * sig[parts])
                     & (hi[parts] >= ua[k] - travel - hp.alt_slack_s)
                     & (lo[parts] <= ua[k] + hp.alt_slack_s)]
        if len(cand):
            alt = _test(b, idx, fixes.x[cand], fixes.y[cand], fixes.cov[cand], lo[cand],
                        hi[cand], wsd, hp, True)
            if (alt <= chi2_dist.ppf(hp.clear_level, m - 1)).any():
                continue  # the arrivals may be a located part's sound
        (row,) = f_order[f_starts[f]:f_starts[f + 1]]
        t0 = float(b.t[row])
        if passes_through(x, y, np.full(len(x), t0), fixes.x[origins], fixes.y[origins],
                          sig[origins], lo[origins], hi[origins], STEP_M):
            continue  # the flash may be an attributed launch's own
        one = cell_sides(geometry, x, y, t0, b.epoch, attribution)
        p = int(one.sum(axis=0).argmax())
        if np.delete(one, p, axis=1).any():
            continue  # the fitting cells reach into another party's area
        pr = (one * w[:, None]).sum(axis=0) / w.sum() * (1.0 - wild_rate)
        if pr[p] < lp.own_side_max:
            continue
        mx, my, c = as_fix(x, y, w, STEP_M)
        fixes.x[f], fixes.y[f], fixes.cov[f], fixes.t0[f] = mx, my, c, t0
        fixes.located[f], fixes.method[f] = True, M_BEARING | M_ARRIVAL
        role[f], prob[f], tg[f] = ROLE_ORIGIN, pr, t0
        new_u.append(int(ul[k]))
        new_g.append(f)
    if not new_u:
        return u, g
    return (np.concatenate([u, np.asarray(new_u, np.int64)]),
            np.concatenate([g, np.asarray(new_g, np.int64)]))


def flash_timed(b: FireBatch, labels: I64, fixes: Fixes, groups: I64, hp: HeardParams
                ) -> NDArray[np.bool_]:
    """Which of ``groups`` (each a located fix on one bearing and one array's two arrivals,
    :mod:`.either_sound`) the flash's time shows heard the flash's own sound: the bearing is a
    camera's muzzle flash and the time the arrivals imply at the fix lies in its window (the
    test of :func:`.heard.part_tests`). The other sound, a flight later, fits there only by
    chance, so such a fix need not be stated for either sound; not where the camera's clock
    is shown to err (:func:`clock_shown_off`)."""
    out = np.zeros(len(groups), bool)
    if not len(groups):
        return out
    off = clock_shown_off(b, labels, fixes)
    wsd = _wind_sd(b, hp)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(len(fixes.x) + 1))
    for j, g in enumerate(groups.tolist()):
        rows = order[starts[g]:starts[g + 1]]
        flash = rows[(b.fire_type[rows] == "muzzle_flash") & np.isfinite(b.brg[rows])]
        idx = rows[np.isfinite(b.arr[rows]) & ~np.isfinite(b.brg[rows])]
        if len(flash) != 1 or len(idx) != 2 or off[b.source[flash[0]]]:
            continue
        (f,) = flash
        c2 = _test(b, idx, fixes.x[g:g + 1], fixes.y[g:g + 1], fixes.cov[g:g + 1],
                   b.t_lo[f:f + 1], b.t_hi[f:f + 1], wsd, hp, False)
        out[j] = bool(c2[0] <= chi2_dist.ppf(hp.level, 1))
    return out
