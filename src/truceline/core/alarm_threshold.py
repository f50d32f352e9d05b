"""How high an escalation chart's threshold stands: the in-control average run length of the
NB-CUSUM by a Markov chain, and thresholds chosen for it -- plain, bootstrap-guarded, and
calibrated for the baseline's estimation error (the one the detector uses).

Why a calibration: a threshold chosen for known parameters alarms several times too often
when the rate and dispersion come from 28 days (``docs/early_warning.md``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats
from threadpoolctl import ThreadpoolController

from truceline.core.alarm_model import (
    F64,
    MIN_COVERAGE,
    RATIO,
    Baseline,
    fit_baseline,
    llr_coefficients,
    nb_draw,
)
from truceline.errors import ValidationError

#: States of the Markov chain (accuracy of ARL0 within a few percent; tested by simulation).
STATES = 250
#: Bootstrap baselines for the guarded threshold, the chain's states there, and the share of
#: baselines whose chart must keep the promised ARL0 (:func:`guarded_threshold`).
BOOTSTRAP = 20
BOOT_STATES = 120
GUARANTEE = 0.8
#: Gauss-Hermite nodes over the baseline rate's estimation error, and bootstrap baselines
#: when the dispersion is the series' own (:func:`calibrated_threshold`).
NODES = 16
DISPERSION_NODES = 3
CALIBRATION_BOOT = 40
#: The posterior's truths are taken at most this many times the baseline's rate.
RATE_CAP = 30.0


def _pmf_table(mu0: float, size: float) -> tuple[F64, F64]:
    """Counts 0..n and their probabilities."""
    var = mu0 if math.isinf(size) else mu0 + mu0**2 / size
    n = int(mu0 + 40.0 * math.sqrt(var) + 30.0)  # the tail beyond: < 1e-10 for every r >= 0.1
    y = np.arange(n + 1, dtype=float)
    if math.isinf(size):
        return y, stats.poisson.pmf(y, mu0)
    return y, stats.nbinom.pmf(y, size, size / (size + mu0))


def _mixture(base: Baseline, bins: int = 4) -> list[tuple[float, float]]:
    """The baseline's coverage as at most ``bins`` (mean, weight) pairs (its quantile bins)."""
    c = np.sort(np.asarray(base.coverage, float))
    parts = np.array_split(c, min(bins, len(c)))
    return [(float(p.mean()), len(p) / len(c)) for p in parts if len(p)]


def _parts(
    design: Baseline, truth: Baseline, ratio: float, tables: list[tuple[F64, F64]] | None = None
) -> list[tuple[float, F64, F64, float, float]]:
    """Per coverage bin of the design: its weight, the counts 0..n and their probabilities
    under ``truth``, and the design's step coefficients ``(a, b)`` (``step = a y - b``).
    They do not depend on ``h``: a search over ``h`` computes them once."""
    out = []
    for k, (c, weight) in enumerate(_mixture(design)):
        y, p = tables[k] if tables else _pmf_table(truth.rate * c, truth.size)
        a, b = llr_coefficients(np.array([design.rate * c]), design.size, ratio)
        out.append((weight, y, p, float(a[0]), float(b[0])))
    return out


def _transitions(parts: list[tuple[float, F64, F64, float, float]], h: float, states: int) -> F64:
    """Transition matrix among the non-absorbing states ``S = i h / states``.

    From a grid state a step moves by ``rint(step / w)`` states (the state is on the grid),
    so the matrix is Toeplitz above the floor at 0: built from one distribution of moves.
    Moves are clipped to ``[-states, states]`` (beyond, every state is floored at 0 or
    absorbed alike), so memory is ``O(states^2)`` whatever ``h``: unclipped, a small ``h``
    (a tiny grid step) made the table of moves as long as ``a y_max / w`` — gigabytes for
    ``h = 0.001``, the defect that grew the long in-control run to 8 GB.
    """
    w = h / states
    q = np.zeros(2 * states + 1)  # P(move = m) at index m + states
    for weight, y, p, a, b in parts:
        d = np.clip(np.rint((a * y - b) / w), -states, states).astype(np.int64) + states
        q += weight * np.bincount(d, weights=p, minlength=2 * states + 1)
    # row i: P(move = j - i) for j = 0..states-1, i.e. q[states - i : 2 states - i]; the
    # floor gathers every move to 0 or below into column 0: P(move <= -i)
    out = sliding_window_view(q, states)[states:0:-1].copy()
    out[:, 0] = np.cumsum(q)[states - np.arange(states)]
    return out


_BLAS: list[Any] = []


def _one_blas_thread() -> Any:
    """A context keeping BLAS to one thread: on a busy 2-core machine OpenBLAS's threads make
    these small solves 100 times slower. The controller (a scan of the loaded libraries,
    ~10 ms) is made once per process."""
    if not _BLAS:
        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def _run_length(parts: list[tuple[float, F64, F64, float, float]], h: float, states: int) -> float:
    r_mat = _transitions(parts, h, states)
    try:
        run = np.linalg.solve(np.eye(states) - r_mat, np.ones(states))
    except np.linalg.LinAlgError:
        return math.inf
    return float(run[0]) if run[0] > 0 else math.inf


def arl_markov(
    base: Baseline,
    h: float,
    *,
    ratio: float = RATIO,
    states: int = STATES,
    shift: float = 1.0,
    truth: Baseline | None = None,
) -> float:
    """Average run length from ``S = 0`` of the chart designed with ``base`` and threshold
    ``h`` when the counts come from ``truth`` (default: ``base``) at ``shift`` times its rate
    (1: in control, ARL0; 2: the delay to detect a doubling)."""
    if not h > 0:
        raise ValidationError("must be positive", field="h")
    t = truth or base
    t = Baseline(t.rate * shift, t.size, t.days, t.coverage)
    with _one_blas_thread():
        return _run_length(_parts(base, t, ratio), h, states)


def _smallest_h(f: Any, start: float | None, goal: float) -> float:
    """The smallest ``h`` (to 0.5 %) with ``f(h) >= 0``, ``f`` increasing (a log run length
    minus its goal). log ARL0 grows almost linearly in ``h`` (Siegmund's approximation), so
    a safeguarded secant on it needs a handful of chain solutions instead of a bisection's
    dozen. The bracket stays above ``0.01``: a chart that alarms at less has no use."""
    lo = 0.8 * start if start else 0.5
    hi = 1.25 * start if start else max(1.0, goal)
    f_lo, f_hi = f(lo), f(hi)
    while f_lo >= 0:  # bracket: f(lo) < 0 <= f(hi)
        lo, hi, f_hi = lo / 2, lo, f_lo
        if lo < 1e-2:
            return hi
        f_lo = f(lo)
    while f_hi < 0:
        lo, f_lo, hi = hi, f_hi, hi * 2
        if hi > 1e4:
            raise ValidationError("no threshold reaches that run length", field="arl0")
        f_hi = f(hi)
    while hi - lo > 0.005 * hi:
        mid = lo - f_lo * (hi - lo) / (f_hi - f_lo)
        mid = min(max(mid, lo + 0.1 * (hi - lo)), hi - 0.1 * (hi - lo))
        f_mid = f(mid)
        if f_mid >= 0:
            hi, f_hi = mid, f_mid
        else:
            lo, f_lo = mid, f_mid
    return hi


def threshold_for(
    base: Baseline,
    arl0: float,
    *,
    ratio: float = RATIO,
    states: int = STATES,
    truth: Baseline | None = None,
    start: float | None = None,
) -> float:
    """The smallest ``h`` (to 0.5 %) whose in-control ARL (Markov chain; counts from
    ``truth``, default ``base``) is at least ``arl0``: the plain threshold, which takes the
    estimates for the truth."""
    if not arl0 > 1:
        raise ValidationError("must be more than 1 day", field="arl0")
    goal = math.log(arl0)
    parts = _parts(base, truth or base, ratio)
    with _one_blas_thread():
        return _smallest_h(lambda h: math.log(_run_length(parts, h, states)) - goal, start, goal)


def _rate_nodes(base: Baseline, dispersion: float, nodes: int) -> list[tuple[float, Baseline]]:
    """The baselines the fit could have given, as (weight, baseline) quadrature nodes, when
    ``base`` is the truth and the dispersion is pooled (only the rate is re-estimated).

    The fit's ``lam* = (S + 1/2) / sum c`` with ``S`` the baseline's total count: mean
    ``M = lam sum c``, variance ``V = sum(mu + mu^2 / r)``. ``S`` is taken gamma with those
    moments (a sum of negative binomials is skewed, with a long lower tail on the log scale;
    a log-normal put the 0.1 % quantile up to 50 % above the simulated one for an
    over-dispersed series, under-weighting the low rates that cause the false alarms), by the
    Wilson-Hilferty cube root, ``S = M (1 - 1/(9k) + z/(3 sqrt k))^3``
    with ``k = M^2 / V`` and ``z`` standard normal, integrated by Gauss-Hermite."""
    c = np.asarray(base.coverage, float)
    mu = base.rate * c
    total = float(mu.sum())
    var = float((mu if math.isinf(base.size) else mu + mu**2 / base.size).sum())
    k = total**2 / var
    x, w = np.polynomial.hermite.hermgauss(nodes)
    out = []
    for xi, wi in zip(x.tolist(), w.tolist(), strict=True):
        z = math.sqrt(2.0) * xi
        s = total * max(1.0 - 1.0 / (9.0 * k) + z / (3.0 * math.sqrt(k)), 1e-3) ** 3
        lam = (s + 0.5) / float(c.sum())
        mean_mu = lam * float(c.mean())
        size = mean_mu / (dispersion - 1.0) if dispersion > 1.0 else math.inf
        out.append((wi / math.sqrt(math.pi), Baseline(lam, size, base.days, base.coverage)))
    return out


def calibrated_threshold(
    base: Baseline,
    arl0: float,
    *,
    ratio: float = RATIO,
    dispersion: float | None = None,
    dispersion_se: float = 0.0,
    nodes: int = NODES,
    dispersion_nodes: int = DISPERSION_NODES,
    boot: int = CALIBRATION_BOOT,
    states: int = BOOT_STATES,
    min_coverage: float = MIN_COVERAGE,
    seed: int = 0,
) -> float:
    """``h`` whose false-alarm rate, averaged over the baseline's estimation error, is at most
    ``1 / arl0``: the procedure (fit a baseline, then watch with ``h``) keeps its promise of
    one false alarm per ``arl0`` days in the long run, over sectors and baselines.

    With a plain threshold the chart of an under-estimated rate reads ordinary days as
    escalation; the false-alarm rate ``1 / ARL0`` is convex in the estimation error (nearly
    exponential in it), so errors of either sign do not cancel: a 28-day baseline gave 1.6-7
    times the promised rate. Here the rate is ``E[1 / ARL(h; lam*, lam)]``: the chart
    designed from ``lam*`` (what the fit could have given) with counts from the fitted model
    (the parametric bootstrap's substitution, Gandy & Kvaloy 2013, who bound a quantile of the
    ARL; the mean of its reciprocal is what "one false alarm per sector per 15 months" means
    over many sectors and baselines). With the dispersion pooled (or Poisson: 1) the
    expectation is a quadrature: over ``lam*`` (:func:`_rate_nodes`: gamma by
    Wilson-Hilferty) and, given ``dispersion_se``, over ``D*`` (normal, 3 Gauss-Hermite
    nodes, at least 1); the service passes the pooled estimate's error
    (:func:`dispersion_error`) combined with the sectors' spread around it
    (:func:`dispersion_spread`), the uncertainty about this sector's own dispersion. With
    each series' own dispersion, ``boot`` seeded bootstrap baselines over ``(lam, r)``.

    The procedure's own threshold moves with its estimates (a chart of a lower rate, or of a
    smaller dispersion, needs a lower ``h`` for the same run length), so the baselines that
    under-estimate — the ones that cause false alarms — also get a lower ``h``; one ``h`` for
    every node missed that and gave ~10-20 % more false alarms than promised. In the pooled
    case each node's chart therefore runs with ``h + s (log lam* - log lam) + t (D* - D)``,
    ``s`` and ``t`` the slopes of the plain threshold (each from one more plain threshold,
    one standard error lower): the bootstrap world then does what the procedure does.
    """
    if not arl0 > 1:
        raise ValidationError("must be more than 1 day", field="arl0")
    goal = math.log(arl0)
    # the designs share the baseline's coverage days, so the truth's count tables too
    tables = [_pmf_table(base.rate * c, base.size) for c, _ in _mixture(base)]
    c = np.asarray(base.coverage, float)

    def plain(b: Baseline, start: float | None) -> float:
        p = _parts(b, b, ratio)
        return _smallest_h(lambda h: math.log(_run_length(p, h, states)) - goal, start, goal)

    with _one_blas_thread():
        h0 = plain(base, None)
        designs: list[tuple[float, float, Baseline]] = []  # weight, shift of h, design
        if dispersion is not None:
            mu = base.rate * c
            var = float((mu if math.isinf(base.size) else mu + mu**2 / base.size).sum())
            step = min(math.sqrt(var) / float(mu.sum()), 0.5)
            lam_low = base.rate * math.exp(-step)
            s = (
                h0
                - plain(
                    Baseline(
                        lam_low,
                        _pooled_size(lam_low * float(c.mean()), dispersion),
                        base.days,
                        base.coverage,
                    ),
                    h0,
                )
            ) / step
            d_nodes = [(1.0, dispersion)]
            t = 0.0
            if dispersion_se > 0 and dispersion > 1.0:
                d_low = max(1.0, dispersion - dispersion_se)
                low = Baseline(
                    base.rate,
                    _pooled_size(base.rate * float(c.mean()), d_low),
                    base.days,
                    base.coverage,
                )
                t = (h0 - plain(low, h0)) / (dispersion - d_low)
                xd, wdd = np.polynomial.hermite.hermgauss(dispersion_nodes)
                d_nodes = [
                    (
                        wd / math.sqrt(math.pi),
                        max(1.0, dispersion + dispersion_se * math.sqrt(2) * z),
                    )
                    for z, wd in zip(xd.tolist(), wdd.tolist(), strict=True)
                ]
            for wd, d_star in d_nodes:
                for wr, node in _rate_nodes(base, d_star, nodes):
                    # nodes so far out that, alarming every day, they add < 0.1 % of the target
                    if wd * wr * arl0 * nodes * len(d_nodes) >= 1e-3:
                        shift = s * math.log(node.rate / base.rate) + t * (d_star - dispersion)
                        designs.append((wd * wr, shift, node))
        else:
            rng = np.random.default_rng(seed)
            designs = [
                (
                    1.0 / boot,
                    0.0,
                    fit_baseline(
                        nb_draw(rng, base.rate * c, base.size), c, min_coverage=min_coverage
                    ),
                )
                for _ in range(boot)
            ]
        parts = [(wt, shift, _parts(d, base, ratio, tables)) for wt, shift, d in designs]

        def f(h: float) -> float:
            rate = sum(wt / _run_length(p, max(h + shift, 1e-2), states) for wt, shift, p in parts)
            return -math.log(rate) - goal if rate > 0 else math.inf

        return _smallest_h(f, h0, goal)


def _pooled_size(mean_mu: float, dispersion: float) -> float:
    """The NB size whose variance is ``dispersion`` times the mean at ``mean_mu``."""
    return mean_mu / (dispersion - 1.0) if dispersion > 1.0 else math.inf


def guarded_threshold(
    base: Baseline,
    arl0: float,
    *,
    ratio: float = RATIO,
    boot: int = BOOTSTRAP,
    level: float = GUARANTEE,
    min_coverage: float = MIN_COVERAGE,
    seed: int = 0,
    dispersion: float | None = None,
) -> float:
    """``h`` such that the chart's in-control ARL is at least ``arl0`` with probability
    ``level`` over the baseline's estimation error (Gandy & Kvaloy 2013).

    A baseline of a few weeks estimates ``lam`` and, worse, ``r`` loosely; the plain threshold
    of the estimates then gives many more false alarms than promised whenever the dispersion
    came out low. Parametric bootstrap: baselines drawn from the fitted model over the same
    coverage days, refitted; for each, the ``h`` its chart needs for ``arl0`` when the fitted
    model is the truth; the ``level`` quantile of those. ``seed`` makes it reproducible (the
    service derives it from the data, so the same store gives the same bytes). With a pooled
    ``dispersion`` the bootstrap refits the rate only (the pooled ratio rests on several
    times the days; its own error is left out).
    """
    h0 = threshold_for(base, arl0, ratio=ratio, states=BOOT_STATES)
    rng = np.random.default_rng(seed)
    c = np.asarray(base.coverage, float)
    hs = []
    for _ in range(boot):
        y = nb_draw(rng, base.rate * c, base.size)
        b = fit_baseline(y, c, min_coverage=min_coverage, dispersion=dispersion)
        # the chart designed from b, its counts from the fitted model: the h it needs
        hs.append(threshold_for(b, arl0, ratio=ratio, states=BOOT_STATES, truth=base, start=h0))
    plain = threshold_for(base, arl0, ratio=ratio, start=h0)
    return max(plain, float(np.quantile(hs, level)))


def excess_node(dispersion: float, se: float, z: float) -> float:
    """The dispersion at the standard normal quantile ``z`` when its excess ``D - 1`` is
    log-normal with median ``dispersion - 1`` and relative error ``se / (dispersion - 1)``.
    A variance from 28 days of bursty counts is skewed: mostly below the truth, now and then
    far above; a normal error around it put the truth of a burstier sector 4-5 standard
    errors up, where its top node (1.7) never reached. The log scale's upper tail does.

    >>> round(excess_node(3.0, 1.0, 1.0), 3), excess_node(1.0, 1.0, 2.0)
    (4.297, 1.0)
    """
    if not dispersion > 1.0:
        return 1.0
    return 1.0 + (dispersion - 1.0) * math.exp(se / (dispersion - 1.0) * z)


def _truth_nodes(
    base: Baseline, dispersion: float, dispersion_se: float, nodes: int, dispersion_nodes: int
) -> list[tuple[float, Baseline]]:
    """The in-control models the sector may truly have, given its baseline, as (weight,
    model) quadrature nodes: the rate's posterior and the dispersion's.

    The baseline's total ``S`` is about gamma with shape ``k = M^2 / V`` (the moments of a sum
    of negative binomials) and scale ``lam sum c / k``; under the scale-free prior ``1 / lam``
    the rate's posterior is ``lam = lam* k / G`` with ``G`` gamma of shape ``k``: inverse
    gamma, its long tail on the high side (a truth busier than the baseline showed: the
    side of the false alarms), at most ``RATE_CAP`` times ``lam*``. The dispersion's excess
    ``D - 1`` is log-normal around its (shrunk) estimate with its standard error
    (:func:`excess_node`)."""
    c = np.asarray(base.coverage, float)
    mu = base.rate * c
    var = float((mu if math.isinf(base.size) else mu + mu**2 / base.size).sum())
    k = float(mu.sum()) ** 2 / var
    x, w = np.polynomial.hermite.hermgauss(nodes)
    d_nodes = [(1.0, dispersion)]
    if dispersion_se > 0 and dispersion > 1.0:
        xd, wdd = np.polynomial.hermite.hermgauss(dispersion_nodes)
        d_nodes = [
            (wd / math.sqrt(math.pi), excess_node(dispersion, dispersion_se, math.sqrt(2) * z))
            for z, wd in zip(xd.tolist(), wdd.tolist(), strict=True)
        ]
    out = []
    for wd, d in d_nodes:
        for xi, wi in zip(x.tolist(), w.tolist(), strict=True):
            z = math.sqrt(2.0) * xi
            g = float(stats.gamma.ppf(stats.norm.cdf(-z), k)) / k
            # a truth past RATE_CAP times the design alarms within days under either; capped,
            # its count table stays small (uncapped, a node of a very bursty series asked for
            # a table of 10^9 counts)
            lam = base.rate / max(g, 1.0 / RATE_CAP)
            size = _pooled_size(lam * float(c.mean()), d)
            out.append(
                (wd * wi / math.sqrt(math.pi), Baseline(lam, size, base.days, base.coverage))
            )
    return out


def posterior_threshold(
    base: Baseline,
    arl0: float,
    *,
    ratio: float = RATIO,
    dispersion: float,
    dispersion_se: float = 0.0,
    nodes: int = NODES,
    dispersion_nodes: int = DISPERSION_NODES,
    states: int = BOOT_STATES,
) -> float:
    """``h`` whose false-alarm rate, averaged over the models this sector may truly have
    given its baseline (:func:`_truth_nodes`), is at most ``1 / arl0``, for the chart
    actually designed (``base``, with the sector's ``dispersion``, e.g. shrunk toward the
    pool by :func:`~truceline.core.alarm_model.shrunk_dispersion`).

    :func:`calibrated_threshold` takes the estimate for the truth and averages over the
    designs the fit could have given: right on average over sectors, but the false-alarm
    rate is convex in the truth, so a sector whose estimate is low stays under-protected
    (1.22 times the target in the busiest sector, by the chain). Here the design is what it
    is (known), and the unknown is the truth: the average is conditional on this sector's
    baseline, the promise per sector."""
    if not arl0 > 1:
        raise ValidationError("must be more than 1 day", field="arl0")
    goal = math.log(arl0)
    truths = _truth_nodes(base, dispersion, dispersion_se, nodes, dispersion_nodes)
    with _one_blas_thread():
        own = _parts(base, base, ratio)
        h0 = _smallest_h(lambda h: math.log(_run_length(own, h, states)) - goal, None, goal)
        # nodes so far out that, alarming every day, they add < 0.1 % of the target: skipped
        parts = [
            (wt, _parts(base, t, ratio)) for wt, t in truths if wt * arl0 * len(truths) >= 1e-3
        ]

        def f(h: float) -> float:
            rate = sum(wt / _run_length(p, h, states) for wt, p in parts)
            return -math.log(rate) - goal if rate > 0 else math.inf

        return _smallest_h(f, h0, goal)
