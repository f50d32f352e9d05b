"""How far the error model's standard deviations hold, measured on the batch's own fits.

Every fix's covariance takes the reports' stated standard deviations as exact. They are not:
the scale of the errors (the variance of unit weight ``σ²``, 1 if the model is right) is
itself uncertain, and a fix resting on few reports cannot show that its own reports were
worse than stated. The fits with spare reports can: for a group with ``ν`` degrees of freedom
and inlying residual sum of squares ``χ²``, ``χ²/ν`` scatters about ``σ²``. Taking ``σ²``
inverse-gamma across the batch's groups (prior scale ``s₀²``, ``ν₀`` pseudo degrees of
freedom: how well the stated errors hold), ``χ²/ν`` is ``s₀² F(ν, ν₀)``-distributed, and
``(s₀², ν₀)`` are estimated over the batch's redundant fits (empirical Bayes: the lowest ``ν₀``
their likelihood does not reject, :func:`_best`). Each fix then states its posterior
predictive region: a bivariate Student t with ``ν₀ + ν`` degrees of freedom and scale
``s² C``, ``s² = (ν₀ s₀² + χ²) / (ν₀ + ν)``, whose 95 % ellipse is
``m² ≤ 2 F₀.₉₅(2, ν₀ + ν) s²``. Where the batch's fits agree with the model (``ν₀`` large,
``s₀² = 1``) nothing changes; where they scatter more than it says, a fix with no spare
report states the batch's measured doubt and one with many states its own.
docs/fusion.md, "Ellipses": "The error model's scale, measured on the batch".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy.special import gammaln

from truceline.core.fusion.batch import FireBatch
from truceline.core.fusion.day_stats import LAG_S, DayStats, group_days
from truceline.core.fusion.locate import (
    CHI2_95_2DOF,
    Fixes,
    LocateParams,
    degrees_of_freedom,
    measurement_rows,
    normal_equations,
    residuals,
    unit_variance_factor,
)
from truceline.core.fusion.wild_left import wild_level

__all__ = ["Dispersion", "fit_dispersion", "group_chi2", "predictive_factor", "stated_by_day",
           "stated_factor"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: The grid the prior's degrees of freedom and scale are searched on (log-spaced); the top of
#: ``ν₀`` stands for "the model's errors hold exactly".
_NU0 = np.geomspace(0.5, 1e4, 49)
_S0 = np.geomspace(0.25, 16.0, 61)
#: How much log-likelihood the stated ``ν₀`` may give up to the grid's best: ``χ²₁(0.95) / 2``.
_SLACK = 1.92
#: Per day (``stats_by_day``), the lowest ``ν₀`` the fits allow is stated once the days up to
#: a fix's pool this many redundant fits; from 30 to this, the best fit (:func:`_best`'s
#: maximum, as the batch-wide path states it). With fewer, the low side of the profile is not
#: steep and the lowest ``ν₀`` allowed states the fits' number, not the errors: on
#: ``test_locate``'s model-exact sparse run (~12 fits a day) pools of 31 to 101 fits allowed
#: ``ν₀`` 6 to 9 (``s₀²`` 0.76-0.87: a fix without a spare row stated 1.15-1.5 times the
#: model's variance), 322 fits 31; the model itself in their place left bearings 1.5 times
#: worse than stated at 0.89 inside (``test_dispersion``), which the maximum shows. The
#: simulated weeks pool under 30 on their first day (two hours) and 175-221 by their
#: second, so none of their days changes. BENCHMARKS.md, session 20, helper hD.
MIN_DAY_FITS = 100


@dataclass(frozen=True)
class Dispersion:
    """The batch's prior on the variance of unit weight: scale ``s0sq``, ``nu0`` pseudo degrees
    of freedom, from ``groups`` redundant fits."""

    s0sq: float = 1.0
    nu0: float = float(_NU0[-1])
    groups: int = 0


def group_chi2(b: FireBatch, labels: I64, fixes: Fixes, p: LocateParams
               ) -> tuple[F64, I64, F64]:
    """Each group's least-squares sum of squared normalised residuals over its inlying rows,
    its degrees of freedom (rows, a band's only where it bites, minus the position and the
    emission time), as :func:`~truceline.core.fusion.locate.locate` counts them for its 99 %
    test, and the sum at the fix's own point, which that test read. The robust fit's point is
    not the least-squares one (its weights fall below 1 from 1.5 sigma), so the sum there is
    too large by ``vᵀA⁻¹v`` (one Gauss-Newton step over the inliers: 14 % on five bearings as
    modelled), which the first sum takes off."""
    G = len(fixes.x)
    if not len(labels) or not G:
        return np.zeros(G), np.zeros(G, np.int64), np.zeros(G)
    rw, _ = measurement_rows(b, labels)
    x, y, t0 = (np.nan_to_num(np.asarray(v, float)) for v in (fixes.x, fixes.y, fixes.t0))
    r, J = residuals(rw, p, x, y, t0)
    ok = np.isfinite(r) & np.isfinite(J).all(axis=1)
    r, J = np.where(ok, r, 0.0), np.where(ok[:, None], J, 0.0)
    inlier = ok & (np.abs(r) <= p.outlier_sigma)
    dof_f, has_t = degrees_of_freedom(rw, r, G)
    dof = dof_f.astype(np.int64)
    ssq = np.bincount(rw.g, np.where(inlier, r * r, 0.0), minlength=G)
    A, v = normal_equations(r, J, inlier.astype(float), rw.g, G)
    A[:, 2, 2] += np.where(has_t, 0.0, 1.0)  # no arrival: the emission time is no unknown
    A += np.eye(3) * 1e-12 * np.maximum(np.trace(A, axis1=1, axis2=2), 1e-300)[:, None, None]
    with np.errstate(all="ignore"):
        step = np.linalg.solve(A, v[:, :, None])[:, :, 0]
    drop = np.where(np.isfinite(step).all(axis=1), np.einsum("gi,gi->g", v, step), 0.0)
    return np.clip(ssq - drop, 0.0, ssq), np.maximum(dof, 0), np.asarray(ssq, float)


@njit(cache=True, error_model="numpy")
def _coupled(r: F64, d1: F64, nu0: F64, s0: F64) -> F64:  # pragma: no cover - compiled
    """``Σ_k (d1_k + ν₀) log(1 + d1_k r_k / (s₀² ν₀))`` at every ``(ν₀, s₀²)``: the one term
    of the F log-density that does not split into a fit's part plus the grid's, so the only
    one worth a pass over the fits per grid point. Its ``log ν₀`` is taken out (no large
    terms to cancel at large ``ν₀``, where it tends to ``d1 r / s₀²``); ``log(1 + z)``, not
    ``log1p``: as exact here (an absolute error ~1e-16 per fit) and 1.7x as fast compiled.
    Each point sums its fits in their order.
    Serial: most calls are a day's few hundred fits, where threads cost more than they save."""
    m = len(s0)
    out = np.empty(len(nu0) * m)
    for ij in range(len(nu0) * m):
        a, inv = nu0[ij // m], 1.0 / (s0[ij % m] * nu0[ij // m])
        acc = 0.0
        for k in range(len(r)):
            acc += (d1[k] + a) * np.log(1.0 + d1[k] * r[k] * inv)
        out[ij] = acc
    return out


def _loglik(chi2: F64, dof: I64) -> F64:
    """The log-likelihood of ``χ²/ν ~ s₀² F(ν, ν₀)`` summed over these fits (``ν ≥ 1``, as
    both callers select), at every point of the grid (``ν₀`` by rows, ``s₀²`` by columns,
    flattened): a sum over fits, so the days' grids add up to the pooled one
    (:mod:`.day_stats`).

    With ``r = χ²/ν`` and ``x = r / s₀²``, a fit's term is ``log f_F(x; ν, ν₀) − log s₀²``;
    every part but :func:`_coupled`'s is a sum over the fits times a function of the grid
    (the Jacobian's ``log s₀²`` cancels ``−log x``'s, and ``ν₀ log ν₀`` the coupled term's
    ``log ν₀`` but ``−ν log ν₀``), and the log-beta normaliser depends on the fit only
    through ``ν``, an integer with few values."""
    d1 = dof.astype(float)
    r = np.maximum(chi2 / np.maximum(dof, 1), 1e-9)
    nu, count = np.unique(d1, return_counts=True)
    beta = (count[None, :] * (gammaln(nu / 2)[None, :] + gammaln(_NU0 / 2)[:, None]
                              - gammaln((nu[None, :] + _NU0[:, None]) / 2))).sum(axis=1)
    per_nu0 = -0.5 * d1.sum() * np.log(_NU0) - beta
    per_s0 = -0.5 * d1.sum() * np.log(_S0)
    fits = 0.5 * float(np.sum(d1 * np.log(d1 * r))) - float(np.sum(np.log(r)))
    grid = per_nu0[:, None] + per_s0[None, :] + fits
    return grid.ravel() - 0.5 * _coupled(r, d1, _NU0, _S0)


def _best(ll: F64, n: int, min_groups: int, lowest: bool = True) -> Dispersion:
    """The lowest ``ν₀`` on the grid whose profile log-likelihood (over ``s₀²``) of the ``n``
    fits' summed ``ll`` is within :data:`_SLACK` of the grid's maximum, with its best ``s₀²``.

    Not the maximum itself: the likelihood is flat above a few tens of ``ν₀`` (on
    ``wild_bearings`` seed 1's week, 1,168 fits, it falls by 2.4 from ``ν₀ = 87`` to the
    grid's top, and by less than 0.3 on each of its first five days), so the argmax wanders
    between ~100 and "the model exact" with the fits pooled, most of all over a run's first
    days, and a large ``ν₀`` counts a fix's own residuals for nothing. The stated ellipse's
    coverage falls faster when its scale is too small than it rises when too large, so an
    uncertain ``ν₀`` is taken at the heaviest tails the fits do not reject at 95 %
    (``χ²₁(0.95)/2``): the low side of the profile is steep and is fixed by a day's fits
    (BENCHMARKS.md, session 19, hB). ``lowest`` off: the maximum itself, as a batch pooled
    whole states it (the per-day statistics, the default, are measured with ``lowest``; the
    batch-wide path, ``stats_by_day`` off, with the maximum: its change was not measured)."""
    if n < min_groups:
        return Dispersion()
    grid = ll.reshape(len(_NU0), len(_S0))
    k = np.argmax(grid, axis=1)
    prof = grid[np.arange(len(_NU0)), k]
    if not np.isfinite(prof).any():
        return Dispersion()
    i = int(np.flatnonzero(prof >= np.nanmax(prof) - (_SLACK if lowest else 0.0))[0])
    return Dispersion(float(_S0[k[i]]), float(_NU0[i]), n)


def fit_dispersion(chi2: F64, dof: I64, use: NDArray[np.bool_], min_groups: int = 30
                   ) -> Dispersion:
    """``(s₀², ν₀)`` of ``χ²/ν ~ s₀² F(ν, ν₀)`` over the groups ``use`` with ``ν ≥ 1``, as
    :func:`_best` states them; the model as stated (``s₀² = 1``, ``ν₀`` at the grid's top)
    where fewer than ``min_groups`` such fits say anything."""
    sel = use & (dof >= 1) & np.isfinite(chi2)
    if sel.sum() < min_groups:
        return Dispersion()
    return _best(_loglik(chi2[sel], dof[sel]), int(sel.sum()), min_groups)


def predictive_factor(chi2: F64, dof: I64, disp: Dispersion | tuple[F64, F64],
                      level: F64 | float = 0.95) -> F64:
    """By how much each fix's model covariance grows so that its 95 % ellipse is the posterior
    predictive's (bivariate t) at ``level``: ``s² · 2 F_level(2, ν₀ + ν) / χ²₂(0.95)``;
    ``disp`` one prior, or each fix's ``(s₀², ν₀)``."""
    from scipy.stats import f  # here: scipy.stats costs ~0.5 s to import for every command

    s0sq, nu0 = (disp.s0sq, disp.nu0) if isinstance(disp, Dispersion) else disp
    nu = nu0 + dof
    s2 = (nu0 * s0sq + chi2) / nu
    return np.asarray(s2 * 2.0 * f.ppf(level, 2, nu) / CHI2_95_2DOF, float)


def stated_factor(b: FireBatch, labels: I64, fixes: Fixes, p: LocateParams) -> F64:
    """:func:`stated_by_day` with the batch pooled whole, as one day."""
    return stated_by_day(b, labels, fixes, p)[0]


#: The columns of a day's row of statistics (:class:`~.day_stats.DayStats`): the redundant
#: fits, the arrivals and bearings they rejected and held, then the fits' log-likelihood grid.
_N, _A_REJ, _A_ALL, _B_REJ, _B_ALL, _GRID = range(6)
_WIDTH = _GRID + len(_NU0) * len(_S0)


def _day_rows(c2: F64, dof: I64, fit: NDArray[np.bool_], day: I64,
              counts: list[tuple[I64, NDArray[np.bool_]]]) -> DayStats:
    """Each day's row: the fits ``fit`` of the groups of that ``day``, their log-likelihood
    summed in a canonical order (by ``ν`` then ``χ²``), and the ``counts`` (rows' days, which
    rows count) in the columns after the fits' number."""
    days = np.unique(np.concatenate([day[fit], *(d[m] for d, m in counts)]))
    vals = np.zeros((len(days), _WIDTH))
    g = np.flatnonzero(fit)
    g = g[np.lexsort((c2[g], dof[g], day[g]))]
    at = np.searchsorted(days, day[g])
    for k in np.unique(at):
        s = g[at == k]
        vals[k, _N] = len(s)
        vals[k, _GRID:] = _loglik(c2[s], dof[s])
    for j, (d, m) in enumerate(counts, start=_A_REJ):
        np.add.at(vals[:, j], np.searchsorted(days, d[m]), 1.0)
    return DayStats(days, vals)


def stated_by_day(b: FireBatch, labels: I64, fixes: Fixes, p: LocateParams,
                  partner: I64 | None = None, prior: DayStats | None = None
                  ) -> tuple[F64, DayStats]:
    """By how much each located fix's covariance (as :func:`~truceline.core.fusion.locate.
    locate` left it, with ``fixes.widen`` still to apply) grows to state its posterior
    predictive 95 % ellipse; never below 1: residuals smaller than the prior's scale do not
    narrow it, since part of every covariance is in no residual (the air's common error, a
    joined arrival's, a second crossing, a lone bearing's chance of being wild). And the
    statistics it read, per day.

    Two things the batch measures and a fix cannot: the scale of the errors
    (:func:`fit_dispersion`), and how often a report is gross: an arrival another sound, a
    bearing wild or another event's (the share of each the redundant fits rejected; for
    bearings at least the error model's ``wild_bearing_rate``). A fix with no spare row
    cannot reject one, so its region is drawn at the level ``q`` at which it still covers
    95 % counting that chance, ``q (1 - ε_a)^arrivals (1 - ε_b)^bearings = 0.95`` (at most
    ``max_level``), as :func:`~truceline.core.fusion.locate.heavy_tail_factor` does for the
    fixes on one or two bearings alone (whose bearings are counted there, not here).

    Each fit counts in its group's day (:func:`~.day_stats.group_days`; the batch is one
    day without ``p.stats_by_day``) and states the estimate of its incident's day (its own,
    or its ``partner``'s if earlier: a day re-fused owns its incidents whole), each measured
    over the days up to it, ``prior``'s rows in place of the days it holds
    (:mod:`.day_stats`). That day is read :data:`~.day_stats.LAG_S` before the group's first
    report, as the wind and the lone bearings read theirs: a group in a day's first minutes
    is also fused in the day before's part, which sees only that day's first hours, so its
    own day's sums would differ between the parts and the whole run (a report at a day's
    first second joined in one part and left apart in the other, in no incident: BENCHMARKS.md,
    session 38, h4a). Returned with the factors: the days' rows it read."""
    G = len(fixes.x)
    out = np.ones(G)
    if not G or not p.dispersion:
        return out, prior or DayStats(np.zeros(0, np.int64), np.zeros((0, _WIDTH)))
    own = group_days(b, labels, G, p.stats_by_day)
    read = group_days(b, labels, G, p.stats_by_day, LAG_S)
    use = read if partner is None or len(partner) != G else \
        np.where(partner >= 0, np.minimum(read, read[np.maximum(partner, 0)]), read)
    c2, dof, at_fix = group_chi2(b, labels, fixes, p)
    located = np.asarray(fixes.located, bool)
    has_o = np.isfinite(b.ox) & np.isfinite(b.oy)
    is_a, is_b = np.isfinite(b.arr) & has_o, np.isfinite(b.brg) & has_o
    n_a, n_b = (np.bincount(labels, v, minlength=G) for v in (is_a, is_b))
    spare = (located & (dof >= 1))[labels]
    rd = own[labels]
    stats = _day_rows(c2, dof, located & (dof >= 1) & np.isfinite(c2), own,
                      [(rd, spare & is_a & fixes.outlier), (rd, spare & is_a),
                       (rd, spare & is_b & fixes.outlier), (rd, spare & is_b)])
    u_days, u_at = np.unique(use, return_inverse=True)
    pool = stats.merged(prior).pooled(u_days, _WIDTH)
    rate_a = (pool[:, _A_REJ] / np.maximum(pool[:, _A_ALL], 1.0))[u_at]
    # a bearing beside arrival times: no heavy_tail_factor in locate (that is for fixes on
    # bearings alone), so its chance of being gross is counted here, at the rate the
    # redundant fits reject bearings, at least the error model's
    rate_b = np.maximum(pool[:, _B_REJ] / np.maximum(pool[:, _B_ALL], 1.0),
                        p.wild_bearing_rate)[u_at]
    disp = [_best(row[_GRID:], int(row[_N]), 30, p.stats_by_day and row[_N] >= MIN_DAY_FITS)
            for row in pool]
    s0sq, nu0 = (np.array([getattr(d, a) for d in disp])[u_at] for a in ("s0sq", "nu0"))
    clean = (1.0 - rate_a) ** n_a * (1.0 - rate_b) ** np.where(n_a > 0, n_b, 0)
    # with spare rows: the chance a wild bearing is in the fit, unrejected and moving it
    # beyond its ellipse (not where heavy_tail_factor counted the bearings: on two alone), at
    # the rate such fits show (no floor: where they reject none, none is allowed for)
    shown = (pool[:, _B_REJ] / np.maximum(pool[:, _B_ALL], 1.0))[u_at]
    kept = wild_level(b, labels, fixes, p, shown, located & (dof >= 1) & ((n_a > 0) | (n_b > 2)))
    level = np.where(dof == 0, np.minimum(0.95 / clean, p.max_level), kept)
    pred = predictive_factor(c2, dof, (s0sq, nu0), level)
    # what locate already applied: the 99 % test's variance of unit weight, read (as locate
    # read it) at the fix's own point, not the smaller least-squares sum; and ``widen``
    applied = unit_variance_factor(at_fix, dof)
    widen = fixes.widen if len(fixes.widen) == G else np.ones(G)
    out[located] = np.maximum(1.0, pred / (applied * widen))[located]
    return np.where(np.isfinite(out), out, 1.0), stats.merged(prior)
