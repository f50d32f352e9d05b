"""Locate each group's event: position (and emission time) with a covariance and a 95 % ellipse.

Every report adds residuals, each already divided by its standard deviation:

* **bearing** — grid azimuth from observer to the estimate minus the reported grid azimuth
  (the true azimuth corrected for the meridian convergence in :class:`FireBatch`), wrapped;
* **distance band** — a flat-bottomed soft wall: zero inside ``[dmin, dmax]``, growing outside
  with a softness of ``band_wall_frac * edge + band_wall_m`` (distance judgement is ~25 %), so
  the band limits but does not pull a fix that bearings already pin down;
* **point** — a reported event location with its 1-sigma radius (used when no bearing is given:
  a location written next to a bearing is derived from it and not independent);
* **arrival time** — ``a_i - (t0 + r_i / c_eff)`` with the emission time ``t0`` unknown and
  ``c_eff = c(T) + wind . u`` the sound speed along the path (multilateration/TDOA).

All groups are solved at once: a damped Gauss-Newton (Levenberg-Marquardt) whose normal
equations are summed per group with ``bincount`` and solved as a stack of 3x3 systems, with
iteratively reweighted robust losses (Huber, then the redescending Cauchy loss from the Huber
solution, so one wild bearing is all but ignored). The start is a weighted linear least-squares
intersection of the bearing lines and points, or the linear (Bancroft-style) solution of the
arrival equations for four or more arrivals. The covariance is ``(J^T W J)^-1`` at the
solution, marginalised over ``t0``, widened by the variance of unit weight where the inliers
disagree beyond chance (chi-square test at 99 %); the 95 % ellipse scales it by
chi-square(2) = 5.991. A fix on exactly three arrival times, or on one bearing and two,
states both crossings of its curves (:func:`_two_roots`), once the groups are linked. Then
too, every fix states its posterior predictive ellipse, the errors' scale measured on the
batch's redundant fits (:mod:`.dispersion`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.core.fusion import locate_kernels as lk
from truceline.core.fusion.batch import Candidates, FireBatch
from truceline.core.fusion.crossings import Crossing, hyperbola_crossings, ray_crossings
from truceline.core.fusion.far_range import far_mode, far_stretch
from truceline.core.fusion.parallel import PARALLEL
from truceline.core.fusion.start import _bancroft, _best_crossing, _start

__all__ = ["CHI2_95_2DOF", "Fixes", "LocateParams", "covariance_rows", "ellipse",
           "heavy_tail_factor", "locate"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: chi-square quantile for a 95 % region in two dimensions.
CHI2_95_2DOF = 5.991464547107979

# measurement row types
_BRG, _BAND, _PX, _PY, _ARR = lk.BRG, lk.BAND, lk.PX, lk.PY, lk.ARR
#: method bits in :attr:`Fixes.method`
M_BEARING, M_BAND, M_POINT, M_ARRIVAL = 1, 2, 4, 8


@dataclass(frozen=True)
class LocateParams:
    """Error models and solver settings for :func:`locate`."""

    #: 1-sigma timing error of an acoustic arrival (s).
    arrival_sd_s: float = 0.01
    #: Softness of the distance band's walls: ``frac * edge + metres``. Monitors judge
    #: distance to about 25 % (log-normal) before naming a band, so a true distance outside
    #: the band is common and the wall grows with the edge.
    band_wall_frac: float = 0.25
    band_wall_m: float = 100.0
    #: Robust losses (in sigmas): Huber first, then Cauchy from the Huber solution.
    huber_k: float = 1.5
    cauchy_c: float = 2.385
    iterations: int = 24
    #: A step smaller than this (metres; seconds for the emission time) ends a group's
    #: iterations (or its Huber half): far below any location error, it changes no answer.
    converged_m: float = 0.001
    converged_s: float = 1e-6
    #: Bearing pairs per row for the robust start (all pairs in groups up to this size).
    crossing_pairs: int = 12
    #: Residual (sigmas) beyond which a bearing votes against a crossing in the robust start.
    inlier_sigma: float = 3.0
    #: A residual beyond this many sigmas flags its report as an outlier.
    outlier_sigma: float = 3.5
    #: A group whose 95 % semi-major axis exceeds this is left unlocated (m).
    max_semi_major_m: float = 30_000.0
    #: Error (1 sigma) of the temperature (deg C) and of each wind component (m/s) one sensor
    #: reports; the group's pooled sound speed and wind are off by these over sqrt(arrivals).
    #: Where a report gives no wind, the wind is unknown to ``wind_unknown_sd_ms`` (a day's
    #: wind, 1 sigma per component). The covariance is marginalised over these errors.
    #: Share of bearings that are gross errors (the error model's wild bearings, 2 %). With
    #: three or more bearings or arrival times the robust fit finds them; a fix resting on
    #: one or two bearings cannot, so its ellipse is drawn at the level ``q`` at which it
    #: still covers 95 % counting the chance that a bearing is wild: ``q (1 - rate)^k = 0.95``
    #: (at most ``max_level``).
    wild_bearing_rate: float = 0.02
    max_level: float = 0.999
    #: Spread (RMS, deg) of a wild bearing's error, and the fewest wild bearings a batch's
    #: groups must show before their own rate and spread replace ``wild_bearing_rate`` and
    #: this for lone reports (:func:`~truceline.core.fusion.segment.lone_wild`); a lone
    #: report is taken as wild with at most ``max_lone_wild``. The 40° stands in only where a
    #: batch's fits flag fewer than ``min_wild`` bearings (the simulated weeks' batches
    #: measured 35°); it lies between a normal 30° error and gross errors of 20-90° (59° RMS).
    wild_bearing_sd_deg: float = 40.0
    min_wild: int = 5
    max_lone_wild: float = 0.5
    #: Estimate the wind from the arrivals where reports give none (:mod:`.wind`): one wind
    #: per period of this many seconds, located again this many times.
    estimate_wind: bool = True
    wind_period_s: float = 86_400.0
    wind_iterations: int = 8
    #: Then group the batch again with that wind as if its sensors had read it
    #: (:func:`.wind.as_read`): grouping before it allows the unknown wind 2 % of each travel
    #: time, and its looser gates mixed a launch's arrivals into its burst's part.
    regroup_wind: bool = True
    #: The estimate's stated error (its normal equations' largest sd) times this: against
    #: the simulator's true wind it was off by 0.8-1.5 of it (RMS per component and week,
    #: six weeks; 1.16 pooled, z up to 3.2): the bound, not the mean (docs/fusion.md).
    wind_sd_scale: float = 1.5
    met_temperature_sd_c: float = 0.5
    met_wind_sd_ms: float = 0.5
    wind_unknown_sd_ms: float = 4.0
    #: Three arrival times and nothing else fix a source exactly, at one of (generally) two
    #: points (:func:`_two_roots`): state the covariance about the fit that counts both.
    two_roots: bool = True
    #: and its far side (the range Gaussian in its inverse: :mod:`.far_range`).
    far_range: bool = True
    #: and, for three arrivals alone whose far crossing the noise carried past ``1/r = 0``
    #: (emitted after it was heard), that far mode beside the crossing by the array.
    far_mode: bool = True
    #: State each fix's posterior predictive ellipse, the errors' scale measured on the
    #: batch's redundant fits (:mod:`.dispersion`), once the groups are linked.
    dispersion: bool = True
    #: Measure those errors (and the lone bearings' wild share: :mod:`.segment`) per day
    #: over the days up to it (:mod:`.day_stats`), so a day fused again reads what its run
    #: read; off, over the whole batch. With it ``ν₀`` is the lowest the fits allow
    #: (:func:`.dispersion._best`; BENCHMARKS.md, sessions 18-20), the model as stated under
    #: ``dispersion.MIN_DAY_FITS`` pooled fits. On by default: the check is incremental.
    stats_by_day: bool = True
    #: State a fix a distance band placed about its own point (:mod:`.bands`), once linked.
    band_step: bool = True
    #: Read each bearing across its ray at the range the fix is unsure of (:mod:`.wedge`).
    wedge: bool = True
    #: The air's share of the covariance by compiled 3x3 solves (LAPACK's numbers to a few
    #: ulps: :func:`.locate_kernels.consider`): grouping's arrival fits; stated fixes: LAPACK.
    compiled_air: bool = False


@dataclass(frozen=True)
class Fixes:
    """Per-group estimates (grid metres, seconds since the batch epoch) and per-row flags."""

    x: F64
    y: F64
    t0: F64
    cov: F64  #: (G, 2, 2) grid east/north covariance, m^2
    located: NDArray[np.bool_]
    method: I64  #: bit set of M_BEARING | M_BAND | M_POINT | M_ARRIVAL used
    rms: F64  #: root mean square of the normalised residuals at the solution
    outlier: NDArray[np.bool_]  #: per report: a residual beyond ``outlier_sigma``
    #: per group: by how much the stated covariance must grow for the sounds a mixed group
    #: rejected (1 where none; :func:`locate`)
    widen: F64 = field(default_factory=lambda: np.zeros(0))
    #: per group: the covariance to state once linked, where the fix rests on three arrival
    #: times (and bearings), or one bearing and two (both crossings, :func:`_two_roots`); NaN
    stated: F64 = field(default_factory=lambda: np.zeros((0, 2, 2)))
    #: per measurement row (:func:`measurement_rows`): its normalised residual at the fit
    residual: F64 = field(default_factory=lambda: np.zeros(0))


def ellipse(cov: F64, chi2: float = CHI2_95_2DOF) -> tuple[F64, F64, F64]:
    """Semi-major, semi-minor (m) and grid azimuth of the major axis (deg, [0, 180)).

    ``cov`` is ``(..., 2, 2)`` in (east, north); the azimuth is clockwise from north.

    Examples
    --------
    >>> a, b, ang = ellipse(np.array([[[4.0, 0.0], [0.0, 1.0]]]), chi2=1.0)
    >>> float(a[0]), float(b[0]), float(ang[0])
    (2.0, 1.0, 90.0)
    """
    sxx, sxy, syy = cov[..., 0, 0], cov[..., 0, 1], cov[..., 1, 1]
    tr, det = sxx + syy, sxx * syy - sxy * sxy
    disc = np.sqrt(np.maximum(tr * tr / 4 - det, 0.0))
    l1, l2 = tr / 2 + disc, np.maximum(tr / 2 - disc, 0.0)
    theta = 0.5 * np.arctan2(2 * sxy, sxx - syy)  # from the east axis, counter-clockwise
    az = np.mod(90.0 - np.degrees(theta), 180.0)
    return np.sqrt(chi2 * l1), np.sqrt(chi2 * l2), az


@dataclass(frozen=True)
class MeasurementRows:
    """One row per measurement, sorted by group, with everything the model reads of it
    (gathered once, not once per iteration): its report and type, its group, the observer,
    the measured value (bearing, coordinate or arrival time) and its sd, a band's edges, and
    for arrival times the group's pooled sound speed and wind (grid axes) and the
    projection's scale at the sensor (a grid distance is ``k`` true metres long). NaN where a
    row's type has no use for a value."""

    typ: NDArray[np.int8]
    obs: I64
    g: I64
    ox: F64
    oy: F64
    val: F64
    sd: F64
    lo: F64
    hi: F64
    c: F64
    wu: F64
    wv: F64
    k: F64


def measurement_rows(b: FireBatch, labels: I64) -> tuple[MeasurementRows, NDArray[np.bool_]]:
    has_o = np.isfinite(b.ox) & np.isfinite(b.oy)
    use_b = has_o & np.isfinite(b.brg)
    use_band = use_b & (np.isfinite(b.dmin) | np.isfinite(b.dmax))
    use_pt = ~use_b & np.isfinite(b.ex)
    use_a = has_o & np.isfinite(b.arr)
    parts = [(np.flatnonzero(m), t) for m, t in
             ((use_b, _BRG), (use_band, _BAND), (use_pt, _PX), (use_pt, _PY), (use_a, _ARR))]
    obs = np.concatenate([ix for ix, _ in parts]).astype(np.int64)
    typ = np.concatenate([np.full(len(ix), t, np.int8) for ix, t in parts])
    by_group = np.argsort(labels[obs], kind="stable")  # each group's rows together
    o, typ = obs[by_group], typ[by_group]
    g = labels[o]
    # The air is the same along every path of one event: each sensor's reported temperature
    # and wind carry their own error (~0.5 degC, 0.5 m/s, i.e. ~0.1 % of c: 40 ms over 15 km,
    # four times the timing jitter), so the group's mean is used for all its arrivals. A
    # common error left in c only scales the ranges, which the emission time mostly absorbs.
    G = int(labels.max()) + 1 if len(labels) else 0
    ia = np.flatnonzero(use_a)
    na = np.maximum(np.bincount(labels[ia], minlength=G), 1)
    pooled = [np.bincount(labels[ia], v[ia], minlength=G) / na for v in (b.c, b.wu, b.wv)]
    c, wu, wv = (v[g] for v in pooled)
    val = np.select([typ == _BRG, typ == _PX, typ == _PY, typ == _ARR],
                    [b.brg[o], b.ex[o], b.ey[o], b.arr[o]], np.nan)
    sd = np.select([typ == _BRG, (typ == _PX) | (typ == _PY)], [b.brg_sd[o], b.esd[o]], np.nan)
    band = typ == _BAND
    lo = np.where(band, np.where(np.isfinite(b.dmin[o]), b.dmin[o], 0.0), np.nan)
    hi = np.where(band, np.where(np.isfinite(b.dmax[o]), b.dmax[o], np.inf), np.nan)
    rows = MeasurementRows(typ, o, g, b.ox[o], b.oy[o], val, sd, lo, hi, c, wu, wv, b.k[o])
    return rows, use_band


def residuals(
    rw: MeasurementRows, p: LocateParams, x: F64, y: F64, t0: F64, for_cov: bool = False,
    jac: bool = True,
) -> tuple[F64, F64]:
    """Normalised residuals ``r`` (M,) and Jacobian ``J`` (M, 3) w.r.t. (x, y, t0)
    (:func:`.locate_kernels.residuals`); ``jac=False`` skips ``J`` (returned empty)."""
    with PARALLEL:
        r, J = lk.residuals(rw.typ, rw.g, rw.ox, rw.oy, rw.val, rw.sd, rw.lo, rw.hi, rw.c, rw.wu,
                            rw.wv, rw.k, np.asarray(x, float), np.asarray(y, float),
                            np.asarray(t0, float), for_cov, jac, p.band_wall_frac, p.band_wall_m,
                            p.arrival_sd_s)
    return np.asarray(r), np.asarray(J)


def degrees_of_freedom(rw: MeasurementRows, r: F64, G: int) -> tuple[F64, NDArray[np.bool_]]:
    """Each group's degrees of freedom (its rows, a band's only where it bites, less the
    position and, where an arrival time informs it, the emission time) and whether it has
    an arrival time."""
    has_t = np.bincount(rw.g, rw.typ == _ARR, minlength=G) > 0
    nrow = np.asarray(np.bincount(rw.g, (rw.typ != _BAND) | (r != 0.0), minlength=G), float)
    return nrow - 2 - has_t, has_t


def unit_variance_factor(ssq: NDArray[Any], dof: NDArray[Any]) -> F64:
    """The variance of unit weight ``ssq / dof`` where the chi-square test at 99 % fails
    (evidence that disagrees beyond chance), else 1: what a fix's covariance is widened by."""
    at = np.maximum(dof, 1).astype(np.int64)
    limit = _chi2_99(int(at.max(initial=1)))  # by degrees of freedom
    fail = (dof >= 1) & (ssq > limit[at - 1])
    return np.where(fail, ssq / np.maximum(dof, 1), 1.0)


@lru_cache(maxsize=64)
def _chi2_99(n: int) -> F64:
    """The chi-square 99 % quantiles of 1..``n`` degrees of freedom (read-only): scipy's
    ``ppf`` took ~0.2 ms a call, each fit of grouping's arrays paying it."""
    from scipy.stats import chi2  # here: scipy.stats costs ~0.5 s to import for every command

    out = np.asarray(chi2.ppf(0.99, np.arange(1, n + 1)), float)
    out.setflags(write=False)
    return out


def normal_equations(r: F64, J: F64, w: F64, g: I64, G: int) -> tuple[F64, F64]:
    """Per-group ``A = sum w J J^T`` (G, 3, 3) and ``v = sum w J r`` (G, 3)."""
    A, v = lk.normal(r, J, np.asarray(w, float), g, G)
    return np.asarray(A), np.asarray(v)


def covariance_rows(rw: MeasurementRows, p: LocateParams, x: F64, y: F64, t0: F64, has_t: Any,
                    G: int) -> tuple[F64, Any, F64, F64, F64, F64]:
    """At a fit: residuals, rejected rows, and the rows, Jacobian, weights (a lone bearing's
    lowered: :func:`heavy_tail_factor`) and ``JᵀWJ`` the covariance reads (:mod:`.bands` too)."""
    rc, Jc = residuals(rw, p, x, y, t0, for_cov=True)
    # only a band's row differs for the covariance: without bands, the same residuals
    r = residuals(rw, p, x, y, t0, jac=False)[0] if (rw.typ == _BAND).any() else rc.copy()
    with PARALLEL:
        _, w = lk.robust(r, np.ones(len(r), bool), p.huber_k, p.cauchy_c)  # Cauchy weights
    bad_row = np.abs(r) > p.outlier_sigma
    n_brg = np.bincount(rw.g[rw.typ == _BRG], minlength=G)
    lone = np.where((n_brg <= 2) & ~has_t, n_brg, 0)
    wc = np.where(bad_row, w, 1.0) / np.where(rw.typ == _BRG, heavy_tail_factor(lone, p)[rw.g], 1.0)
    A, _ = normal_equations(rc, Jc, wc, rw.g, G)
    return r, bad_row, rc, Jc, wc, A


def locate(
    b: FireBatch, labels: I64, cd: Candidates, params: LocateParams | None = None,
    rows: tuple[MeasurementRows, NDArray[np.bool_]] | None = None, fits_only: bool = False,
) -> Fixes:
    """Estimate every group's position at once; see the module docstring for the model.

    ``rows``: :func:`measurement_rows` of ``b`` and ``labels``, where the caller needs them
    too (not built twice). ``fits_only``: the fixes, covariances, whether located and the
    residuals alone (``method``, ``rms``, ``outlier``, ``widen`` and ``stated`` empty), for
    grouping's fits of the arrays, which read nothing else."""
    p = params or LocateParams()
    G = int(labels.max()) + 1 if len(labels) else 0
    rw, use_band = rows if rows is not None else measurement_rows(b, labels)
    x, y = _start(b, cd, labels, G, use_band)
    x, y = _bancroft(b, labels, G, x, y)
    mx, my, robust = _best_crossing(b, labels, G, p.crossing_pairs, p.inlier_sigma)
    x, y = np.where(robust, mx, x), np.where(robust, my, y)
    is_arr = rw.typ == _ARR
    has_t = np.bincount(rw.g[is_arr], minlength=G) > 0
    oa = rw.obs[is_arr]
    rng0 = np.hypot(x[rw.g[is_arr]] - b.ox[oa], y[rw.g[is_arr]] - b.oy[oa])
    na = np.maximum(np.bincount(rw.g[is_arr], minlength=G), 1)
    t0 = np.bincount(rw.g[is_arr], b.arr[oa] - rng0 / b.c[oa], minlength=G) / na
    t0 = np.where(has_t, t0, 0.0)
    prior_t = np.where(has_t, 0.0, 1.0)  # pins t0 where no arrival time informs it
    # Huber first (convex: safe from a least-squares start), then Cauchy; groups with a
    # robust start (the best crossing) go straight to Cauchy.
    with PARALLEL:
        x, y, t0 = lk.levenberg_marquardt(
            rw.typ, np.searchsorted(rw.g, np.arange(G + 1)), rw.ox, rw.oy, rw.val, rw.sd, rw.lo,
            rw.hi, rw.c, rw.wu, rw.wv, rw.k, np.asarray(x, float), np.asarray(y, float),
            np.asarray(t0, float), np.asarray(prior_t, float),
            np.ascontiguousarray(robust[rw.g]), p.iterations, p.band_wall_frac, p.band_wall_m,
            p.arrival_sd_s, p.huber_k, p.cauchy_c, p.converged_m, p.converged_s)
    r, bad_row, _, Jc, wc, A = covariance_rows(rw, p, x, y, t0, has_t, G)
    cov = _marginal_xy(A, has_t) + _air_cov(A, b, rw, p, x, y, Jc, wc, G)
    # Evidence that disagrees beyond chance (chi-square test at 99 %) widens the ellipse by
    # the variance of unit weight, so an undetected bad report makes the fix less certain.
    dof, _ = degrees_of_freedom(rw, r, G)
    ssq = np.bincount(rw.g, np.where(bad_row, 0.0, r * r), minlength=G)
    cov = np.multiply(cov, unit_variance_factor(ssq, dof)[:, None, None])
    a95, _, _ = ellipse(cov)
    located = (np.isfinite(x) & np.isfinite(y) & np.isfinite(cov).all(axis=(1, 2))
               & (a95 <= p.max_semi_major_m) & (np.bincount(rw.g, minlength=G) > 0))
    if fits_only:
        return Fixes(x, y, t0, cov, located, np.zeros(0, np.int64), np.zeros(0),
                     np.zeros(0, bool), residual=r)
    stated = _two_roots(b, rw, p, x, y) if p.two_roots else np.full((G, 2, 2), np.nan)
    # An arrival the fit rejects is no wild reading (the error model has none: 10 ms of
    # jitter) but another sound, typically the launch among the burst's arrivals: the group
    # mixes sounds, and the fit cannot tell which subset is the event. Its stated ellipse
    # grows by the variance of unit weight of all its rows, the rejected ones included
    # (``widen``; applied by the pipeline once the groups are linked into incidents, since
    # linking rests on timing and the fix's own ellipse). Not where the wind is unknown and
    # not yet estimated: there a day's wind explains the misfit.
    air = (rw.typ == _ARR) & (b.wind_known | np.isfinite(b.wind_sd))[rw.obs]
    n_arr = np.bincount(rw.g, rw.typ == _ARR, minlength=G)
    arr_out = (np.bincount(rw.g, bad_row & (rw.typ == _ARR), minlength=G) > 0) & (
        np.bincount(rw.g, air, minlength=G) == n_arr)
    rr = np.bincount(rw.g, r * r, minlength=G)
    widen = np.where(arr_out, np.maximum(1.0, rr / np.maximum(dof, 1)), 1.0)
    method = np.zeros(G, np.int64)
    for typ, bit in ((_BRG, M_BEARING), (_BAND, M_BAND), (_PX, M_POINT), (_ARR, M_ARRIVAL)):
        method |= np.where(np.bincount(rw.g[rw.typ == typ], minlength=G) > 0, bit, 0)
    rms = np.sqrt(rr / np.maximum(np.bincount(rw.g, minlength=G), 1))
    outlier = np.zeros(len(b), bool)
    outlier[rw.obs[bad_row]] = True
    return Fixes(x, y, t0, cov, located, method, rms, outlier, widen, stated, r)


def _two_roots(b: FireBatch, rw: MeasurementRows, p: LocateParams, x: F64, y: F64) -> F64:
    """The covariance to state (:attr:`Fixes.stated`; NaN where none) of fixes that are
    exactly determined by a curve crossing another twice: exactly three arrival times and
    nothing else (two hyperbolas), or one bearing (with or without its band) and two arrival
    times (a ray and a hyperbola, :func:`ray_crossings`); and three arrivals beside bearings
    (a bearing along the array's ray fits both crossings: docs/fusion.md, :mod:`.far_range`).

    No degree of freedom is left to tell the crossings apart: both fit with no residual. With
    three arrivals, ``p = s_1 + P + Q t`` from the two differenced equations, and ``|p - s_1|^2
    = c^2 (a_1 - t)^2`` is a quadratic in the emission time ``t``; a root is physical when
    the sound is emitted before every arrival. For a small array the fit often lands on the
    crossing near the array while the source is the far one, or, far out where the two
    crossings nearly meet, between them (baseline seed 1: 35 origins, 24 impacts; 29 % / 33 %
    inside their ellipses). Each physical root is refined by the same fit; those that
    explain the reports (every residual, a band's included, within ``outlier_sigma``) are, as
    far as the data go, equally likely places of the source, so the stated covariance is the
    mean squared error about the fit's point: ``mean_i (C_i + d_i d_i^T)``, ``d_i`` from the
    fit to root ``i`` and ``C_i`` its own covariance. It is stated once the groups are linked
    (as :attr:`Fixes.widen`): linked with it, the wide ellipses split origin-impact incidents
    apart."""
    G = len(x)
    out = np.full((G, 2, 2), np.nan)
    start = np.searchsorted(rw.g, np.arange(G + 1))
    n = np.diff(start)
    n_arr = np.bincount(rw.g, rw.typ == _ARR, minlength=G)
    n_brg = np.bincount(rw.g, rw.typ == _BRG, minlength=G)
    n_band = np.bincount(rw.g, rw.typ == _BAND, minlength=G)
    fin = np.isfinite(x) & np.isfinite(y)
    for sel, crossings in (((n_arr == 3) & ((n == 3) | (n_brg > 0)), hyperbola_crossings),
                           ((n_brg == 1) & (n_arr == 2) & (n == 3 + n_band), ray_crossings)):
        tg = np.flatnonzero(sel & fin)
        if not len(tg):
            continue
        K = len(tg)
        sums = np.zeros((K, 2, 2))
        count = np.zeros(K)
        cr = crossings(rw, start[tg], n[tg])
        three = crossings is hyperbola_crossings and p.far_range
        fitted = [(*_refit(b, rw, p, tg, rx, ry, t0), use) for rx, ry, t0, use in cr]
        if three and p.far_mode:  # the far crossing lost past 1/r = 0: placed, not refitted
            fitted.append(_lost(b, rw, p, tg, start, cr))
        for C, fx, fy, fits, use in fitted:
            if three:  # one array's far side
                C = far_stretch(C, fx, fy, rw.ox, rw.oy, start[tg + 1] - 3, p.max_semi_major_m)
            d = np.stack([fx - x[tg], fy - y[tg]], axis=1)
            term = C + d[:, :, None] * d[:, None, :]
            use = use & fits & np.isfinite(term).all(axis=(1, 2))
            sums[use] += term[use]
            count[use] += 1
        has = count > 0
        out[tg[has]] = sums[has] / count[has][:, None, None]
    return out


def _lost(b: FireBatch, rw: MeasurementRows, p: LocateParams, tg: I64, start: I64,
          cr: list[Crossing]) -> tuple[F64, F64, F64, NDArray[np.bool_], NDArray[np.bool_]]:
    """The far mode (:func:`.far_range.far_mode`) of the fixes on three arrivals alone whose
    one crossing is physical and the other was emitted after it was heard (the far crossing
    past ``1/r = 0``), as :func:`_two_roots` reads a refitted crossing: covariance, point,
    and whether it counts (not elsewhere, nor where the lost crossing lies within the
    sensors' spread or nearer than the kept one: the kept one is then the far mode)."""
    (ax, ay, at, au), (bx, by, bt, bu) = cr
    i1 = start[tg + 1] - 3
    heard = np.minimum(np.minimum(rw.val[i1], rw.val[i1 + 1]), rw.val[i1 + 2])
    mx, my = np.where(au, bx, ax), np.where(au, by, ay)
    one = (np.diff(start)[tg] == 3) & (au ^ bu) & (np.where(au, bt, at) > heard + 1e-3)
    at3 = i1[:, None] + np.arange(3)
    cx, cy = rw.ox[at3].mean(axis=1), rw.oy[at3].mean(axis=1)
    spread = np.hypot(rw.ox[at3] - cx[:, None], rw.oy[at3] - cy[:, None]).max(axis=1)
    rm = np.hypot(mx - cx, my - cy)  # the lost crossing beyond the spread and the kept one
    one &= np.isfinite(rm) & (rm > spread) & (np.hypot(np.where(au, ax, bx) - cx,
                                                        np.where(au, ay, by) - cy) < rm)
    r = np.where(one, np.hypot(mx - cx, my - cy), 1.0)
    px = cx + np.where(one, cx - mx, 1.0) / r * p.max_semi_major_m  # far out on the ray
    py = cy + np.where(one, cy - my, 0.0) / r * p.max_semi_major_m
    C, sx, sy, _ = _refit(b, rw, p, tg, px, py, np.where(au, at, bt), move=False)
    fx, fy, Cf, ok = far_mode(C, px, py, sx, sy, cx, cy)
    return np.nan_to_num(Cf), fx, fy, one & ok, one & ok


def _refit(b: FireBatch, rw: MeasurementRows, p: LocateParams, tg: I64, x0: F64, y0: F64, t0: F64,
           move: bool = True) -> tuple[F64, F64, F64, NDArray[np.bool_]]:
    """The groups ``tg`` fitted again from ``(x0, y0, t0)`` on their rows alone: each one's
    (x, y) covariance, position, and whether every residual is within ``outlier_sigma``.
    ``move=False``: the covariance at ``(x0, y0)`` and the point one Gauss-Newton step on."""
    K = len(tg)
    new = np.full(int(rw.g.max(initial=-1)) + 1, -1, np.int64)
    new[tg] = np.arange(K)
    sel = np.flatnonzero(new[rw.g] >= 0)
    fields = MeasurementRows.__dataclass_fields__
    sub = replace(MeasurementRows(**{f: getattr(rw, f)[sel] for f in fields}), g=new[rw.g[sel]])
    x0, y0, t0 = (np.nan_to_num(np.asarray(v, float)) for v in (x0, y0, t0))
    x, y, t = x0, y0, t0
    if move:
        with PARALLEL:
            x, y, t = lk.levenberg_marquardt(
                sub.typ, np.searchsorted(sub.g, np.arange(K + 1)), sub.ox, sub.oy, sub.val,
                sub.sd, sub.lo, sub.hi, sub.c, sub.wu, sub.wv, sub.k, x0, y0, t0, np.zeros(K),
                np.zeros(len(sel), bool), p.iterations, p.band_wall_frac, p.band_wall_m,
                p.arrival_sd_s, p.huber_k, p.cauchy_c, p.converged_m, p.converged_s)
    r, _ = residuals(sub, p, x, y, t, jac=False)
    fits = np.bincount(sub.g, np.abs(r) > p.outlier_sigma, minlength=K) == 0
    rc, J = residuals(sub, p, x, y, t, for_cov=True)
    ones = np.ones(len(sel))
    A, v = normal_equations(rc, J, ones, sub.g, K)
    C = _marginal_xy(A, np.ones(K, bool)) + _air_cov(A, b, sub, p, x, y, J, ones, K)
    if not move:  # the point one Gauss-Newton step on (:func:`_lost` reads it)
        s = -np.einsum("kij,kj->ki", np.linalg.pinv(A), v)
        x, y = x + s[:, 0], y + s[:, 1]
    return C, x, y, fits


def heavy_tail_factor(k: I64 | int, p: LocateParams) -> F64:
    """By how much to widen a Gaussian covariance so that its stated 95 % ellipse covers the
    truth 95 % of the time when it rests on ``k`` bearings none of which the fit could find
    wild: the ellipse at level ``q = 0.95 / (1 - rate)^k`` (capped at ``max_level``),
    ``chi2_2(q) / chi2_2(0.95) = ln(1 - q) / ln(0.05)``.

    >>> p = LocateParams()
    >>> round(float(heavy_tail_factor(0, p)), 3), round(float(heavy_tail_factor(1, p)), 3)
    (1.0, 1.164)
    """
    q = np.minimum(0.95 / (1.0 - p.wild_bearing_rate) ** np.asarray(k, float), p.max_level)
    return np.asarray(np.log1p(-q) / np.log(0.05), float)


def _air_cov(A: F64, b: FireBatch, rw: MeasurementRows, p: LocateParams, x: F64, y: F64, Jc: F64,
             w: F64, G: int) -> F64:
    """What the air's errors add to each group's (x, y) covariance (G, 2, 2).

    The group's arrivals share one sound speed and wind (pooled from the sensors' own
    readings), so their errors are common to every arrival and do not average out with the
    timing jitter: a speed error stretches every range alike, a wind error stretches them by
    direction. The fix takes the pooled values as they are, so an error ``dn`` in them moves
    it by ``-A^-1 B dn`` (``B`` the arrivals' sensitivity to the speed and the wind's two
    components); with ``dn`` of covariance ``S`` (the readings' stated error over the square
    root of their number, or ``wind_unknown_sd_ms`` where a report gave no wind) that adds
    ``A^-1 B S B^T A^-1`` (a 'consider' covariance). Without it, fixes of many arrivals
    claimed ellipses a few metres wide and missed by tens (docs/fusion.md, "Ellipses")."""
    ia = np.flatnonzero(rw.typ == _ARR)
    if not len(ia):
        return np.zeros((G, 2, 2))
    o = rw.obs[ia]
    B, n, n_known, dcdt, est = lk.air_sums(
        rw.g[ia], rw.ox[ia], rw.oy[ia], rw.c[ia], rw.wu[ia], rw.wv[ia], rw.k[ia],
        np.ascontiguousarray(Jc[ia]), np.asarray(w, float)[ia], b.wind_known[o], b.wind_sd[o],
        np.asarray(x, float), np.asarray(y, float), p.arrival_sd_s, G)
    n_a = np.maximum(n, 1)
    known = n_known == n_a
    s_c = (dcdt / n_a * p.met_temperature_sd_c) ** 2 / n_a
    # where the wind was estimated from the arrivals, its error is common to every arrival
    unknown_var = np.minimum(est, p.wind_unknown_sd_ms) ** 2
    s_w = np.where(known, p.met_wind_sd_ms**2 / n_a, unknown_var)
    return lk.consider(A, B, s_c, s_w, n > 0, p.compiled_air)


def _marginal_xy(A: F64, has_t: NDArray[np.bool_]) -> F64:
    """The (x, y) block of ``A^-1``; NaN where the information matrix is singular."""
    G = len(A)
    a, bb, c = A[:, 0, 0], A[:, 0, 1], A[:, 1, 1]
    # Schur complement eliminates t0 for groups with arrival times
    t = np.where(has_t, A[:, 2, 2], 1.0)
    e, f = np.where(has_t, A[:, 0, 2], 0.0), np.where(has_t, A[:, 1, 2], 0.0)
    a, bb, c = a - e * e / t, bb - e * f / t, c - f * f / t
    det = a * c - bb * bb
    scale = np.maximum(a * c, 1e-300)
    ok = (det > 1e-9 * scale) & (a > 0) & (c > 0)
    cov = np.full((G, 2, 2), np.nan)
    d = np.where(ok, det, 1.0)
    cov[:, 0, 0] = np.where(ok, c / d, np.nan)
    cov[:, 1, 1] = np.where(ok, a / d, np.nan)
    cov[:, 0, 1] = cov[:, 1, 0] = np.where(ok, -bb / d, np.nan)
    return cov
