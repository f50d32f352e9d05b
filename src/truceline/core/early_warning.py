"""Early warning: escalation alarms per sector and category from coverage-normalised daily counts.

The model (also in ``docs/early_warning.md``). For one sector and one category, ``y_t`` is the
count of reporting day ``t`` (monitors' units: each explosion, flash, burst once) and ``c_t``
the share of the sector the mission could observe that day (:mod:`truceline.core.coverage`,
kind ``fire``). In control,

    y_t ~ NegBin(mean = lam * c_t, size = r)        (variance mean + mean**2 / r)

so a sector observed half as much is expected to show half the counts, and looks no quieter
for it. ``lam`` (counts per day at full coverage) and ``r`` are learned from a baseline period
(:func:`fit_baseline`: ``lam = (sum y + 1/2) / sum c``, ``1/r`` by the method of moments; no
excess variance gives the Poisson limit ``r = inf``). The negative binomial, not the Poisson,
because a firing event brings several rounds and fighting comes in bursts: counts are
over-dispersed, and a Poisson detector would read that ordinary variance as escalation.

The detector is the CUSUM of the log-likelihood ratio of "the rate has doubled" against "in
control" (Page 1954; Hawkins & Olwell 1998, ch. 5, the NB-CUSUM):

    llr_t = y_t log(mu1 (r + mu0) / (mu0 (r + mu1))) + r log((r + mu0) / (r + mu1)),
    mu0 = lam c_t, mu1 = ratio * mu0 (ratio 2),     S_t = max(0, S_{t-1} + llr_t),

alarm when ``S_t >= h``; the shift is estimated to have started the day after ``S`` last was
0, and ``S`` restarts at 0 after an alarm. CUSUM is the optimal sequential test for a step
shift of the stated size (Moustakides 1986: least worst-case delay for a given in-control
average run length); a smaller or larger shift is still detected, less quickly than by its own
optimal CUSUM. A day observed less than ``min_coverage`` carries no evidence either way
(``S`` is kept, no alarm that day): "no coverage" is not "no violations".

``h`` is chosen for an in-control average run length (ARL0: days between false alarms) by a
Markov-chain approximation (Brook & Evans 1972): ``S`` on a grid of ``h / states`` in
``[0, h)``, the day's step drawn from the fitted model with ``c_t`` drawn from the baseline's
coverage days, ARL0 = the mean absorption time from 0. The target is per sector: a sector's
``K`` category series share it (each gets ``K x`` the sector's ARL0, so that the false alarm
rates, ~1/ARL0 each, add up to at most the sector's). Because the baseline is estimated, the
threshold is calibrated (:func:`calibrated_threshold`) so that the false-alarm rate averaged
over the estimation error of the rate and the pooled dispersion meets the target; the plain
threshold of the estimates gave 4-7 false alarms per sector per 15 months instead of one.

Pure and columnar: numpy arrays in, values out.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray
from scipy import stats
from threadpoolctl import ThreadpoolController

from truceline.errors import ValidationError

__all__ = [
    "ARL0_DAYS",
    "BASELINE_DAYS",
    "Alarm",
    "Baseline",
    "Series",
    "arl_markov",
    "calibrated_threshold",
    "cusum",
    "detect",
    "dispersion_error",
    "dispersion_spread",
    "fit_baseline",
    "guarded_threshold",
    "llr",
    "nb_draw",
    "pooled_dispersion",
    "threshold_for",
]

F64 = NDArray[np.float64]
#: The in-control average run length asked of each sector: 15 months (365.25 * 1.25 days).
ARL0_DAYS = 456.0
#: Days of the baseline period by default (the first four weeks of the series).
BASELINE_DAYS = 28
#: Below this observed share a day says nothing (no step of the statistic).
MIN_COVERAGE = 0.05
RATIO = 2.0
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
#: Sizes above this are treated as the Poisson limit.
POISSON_SIZE = 1e6


@dataclass(frozen=True)
class Baseline:
    """In-control parameters of one series, learned from its baseline period."""

    rate: float
    """Counts per day at full coverage (``lam``)."""
    size: float
    """Negative binomial size ``r`` (``inf``: Poisson)."""
    days: int
    """Baseline days used (those observed at least ``MIN_COVERAGE``)."""
    coverage: tuple[float, ...]
    """The baseline days' observed shares: the coverage the threshold is computed over."""

    def to_json(self) -> dict[str, Any]:
        return {
            "rate_per_day": round(self.rate, 4),
            "size": None if math.isinf(self.size) else round(self.size, 4),
            "days": self.days,
            "mean_coverage": round(float(np.mean(self.coverage)), 4) if self.coverage else None,
        }


def _checked(counts: F64, coverage: F64, min_coverage: float) -> tuple[F64, F64]:
    y = np.asarray(counts, float)
    c = np.asarray(coverage, float)
    if y.shape != c.shape:
        raise ValidationError("counts and coverage must have the same length", field="coverage")
    if (y < 0).any() or not np.isfinite(y).all():
        raise ValidationError("counts must be finite and not negative", field="counts")
    if ((c < 0) | (c > 1)).any() or not np.isfinite(c).all():
        raise ValidationError("must be shares between 0 and 1", field="coverage")
    ok = c >= min_coverage
    if ok.sum() < 2:
        raise ValidationError(
            f"the baseline needs at least 2 days observed at least "
            f"{min_coverage:.0%}; it has {int(ok.sum())}",
            field="baseline",
        )
    return y[ok], c[ok]


def fit_baseline(
    counts: F64,
    coverage: F64,
    *,
    min_coverage: float = MIN_COVERAGE,
    dispersion: float | None = None,
) -> Baseline:
    """``lam`` and ``r`` from the baseline days (method of moments on ``mu_t = lam c_t``).

    ``lam = (sum y + 1/2) / sum c``: the half count keeps a category never seen in the baseline
    at a small positive rate (so that its first counts can raise an alarm) instead of zero.
    ``1/r = sum((y - mu)^2 - mu) / sum(mu^2)``, capped below at 0 (Poisson). With
    ``dispersion`` (the variance-to-mean ratio ``D``, pooled over many series by
    :func:`pooled_dispersion`), ``r = mean(mu) / (D - 1)`` instead: the negative binomial
    whose variance is ``D`` times its mean at the series' typical mean.

    >>> b = fit_baseline(np.array([4., 6., 5., 5.]), np.array([1., 1., .5, .5]))
    >>> round(b.rate, 3), b.size
    (6.833, inf)
    """
    y, c = _checked(counts, coverage, min_coverage)
    lam = (y.sum() + 0.5) / c.sum()
    mu = lam * c
    if dispersion is not None:
        size = float(mu.mean()) / (dispersion - 1.0) if dispersion > 1.0 else math.inf
        return Baseline(float(lam), size, len(y), tuple(float(v) for v in c))
    excess = float(((y - mu) ** 2 - mu).sum() * len(y) / max(len(y) - 1, 1))
    inv_r = excess / float((mu**2).sum())
    size = 1.0 / inv_r if inv_r > 1.0 / POISSON_SIZE else math.inf
    return Baseline(float(lam), size, len(y), tuple(float(v) for v in c))


def pooled_dispersion(
    baselines: list[tuple[F64, F64]], *, min_coverage: float = MIN_COVERAGE
) -> float:
    """The variance-to-mean ratio ``D`` (Pearson's, each series at its own ``lam c_t``) over
    the baseline days of several series of one kind (one category, every sector).

    Over-dispersion comes from how fire comes (rounds per incident, bursts), which sectors
    share; 28 days of one series estimate it loosely (a variance from 28 values), and a
    dispersion under-estimated gives a threshold too low and false alarms. Pooled over the
    sectors it rests on several times as many days.
    """
    num = 0.0
    dof = 0
    for counts, coverage in baselines:
        y, c = _checked(counts, coverage, min_coverage)
        mu = (y.sum() + 0.5) / c.sum() * c
        num += float(((y - mu) ** 2 / mu).sum())
        dof += len(y) - 1
    if dof <= 0:
        raise ValidationError("no baseline days to pool", field="baseline")
    return max(1.0, num / dof)


def dispersion_error(
    baselines: list[tuple[F64, F64]], *, min_coverage: float = MIN_COVERAGE
) -> float:
    """The standard error of :func:`pooled_dispersion`'s ``D``: the spread of the days'
    Pearson terms ``(y - mu)^2 / mu`` over the root of their number. Empirical, so it holds
    for counts with heavy tails (a barrage day), where the chi-square's ``D sqrt(2 / n)``
    would be several times too small."""
    terms = []
    dof = 0
    for counts, coverage in baselines:
        y, c = _checked(counts, coverage, min_coverage)
        mu = (y.sum() + 0.5) / c.sum() * c
        terms.append((y - mu) ** 2 / mu)
        dof += len(y) - 1
    if dof <= 0:
        raise ValidationError("no baseline days to pool", field="baseline")
    z = np.concatenate(terms)
    return float(math.sqrt(len(z) * float(z.var())) / dof)


def dispersion_spread(
    baselines: list[tuple[F64, F64]], *, min_coverage: float = MIN_COVERAGE
) -> float:
    """How far the series' own dispersions scatter around the pooled one beyond their own
    estimation error (the standard deviation ``tau`` of a random effect, by the method of
    moments: ``tau^2 = mean((D_s - D)^2) - mean(se_s^2)``, at least 0).

    Sectors of one category need not share one dispersion (a sector with bursts of fighting
    is burstier); where a sector's exceeds the pool's, its chart alarms more often than
    promised. :func:`calibrated_threshold` takes ``sqrt(se^2 + tau^2)`` as the dispersion's
    uncertainty, so that the promise holds on average over such sectors."""
    usable = [b for b in baselines if (np.asarray(b[1]) >= min_coverage).sum() >= 3]
    if len(usable) < 2:
        return 0.0
    pooled = pooled_dispersion(usable, min_coverage=min_coverage)
    dev = [(pooled_dispersion([b], min_coverage=min_coverage) - pooled) ** 2 for b in usable]
    err = [dispersion_error([b], min_coverage=min_coverage) ** 2 for b in usable]
    return math.sqrt(max(0.0, float(np.mean(dev)) - float(np.mean(err))))


def _coefficients(mu0: F64, size: float, ratio: float) -> tuple[F64, F64]:
    """``llr = a y - b`` for each day's in-control mean (NB with size r, or Poisson)."""
    mu1 = ratio * mu0
    if math.isinf(size):
        return np.full_like(mu0, math.log(ratio)), mu1 - mu0
    r = size
    a = np.log(ratio) + np.log(r + mu0) - np.log(r + mu1)
    b = r * (np.log(r + mu1) - np.log(r + mu0))
    return a, b


def llr(counts: F64, mu0: F64, size: float, ratio: float = RATIO) -> F64:
    """Per day, log P(y | mean ratio * mu0) - log P(y | mean mu0) under NB(size) (or Poisson).

    >>> float(llr(np.array([3.0]), np.array([1.0]), math.inf)[0]) == 3 * math.log(2) - 1
    True
    """
    a, b = _coefficients(np.asarray(mu0, float), size, ratio)
    return a * np.asarray(counts, float) - b


def cusum(steps: F64, h: float) -> tuple[F64, list[tuple[int, int]]]:
    """The CUSUM path of ``steps`` with threshold ``h`` and restarts after each alarm.

    Returns the statistic per day and, per alarm, ``(start, day)``: the day the shift is
    estimated to have begun (after the last zero of the statistic) and the alarm day. NaN
    steps (days without coverage) keep the statistic.
    """
    s, last_zero = 0.0, -1
    path = np.zeros(len(steps))
    alarms: list[tuple[int, int]] = []
    for t, x in enumerate(np.asarray(steps, float).tolist()):
        if x == x:  # not NaN
            s = max(0.0, s + x)
            if s == 0.0:
                last_zero = t
        path[t] = s
        if s >= h:
            alarms.append((last_zero + 1, t))
            s, last_zero = 0.0, t
    return path, alarms


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
        a, b = _coefficients(np.array([design.rate * c]), design.size, ratio)
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


@dataclass(frozen=True)
class Series:
    """One sector's and category's daily counts and observed shares, day by day."""

    sector: str
    category: str
    days: tuple[str, ...]
    """The reporting days (ISO dates of the day each period ends on)."""
    counts: F64
    coverage: F64


@dataclass(frozen=True)
class Alarm:
    """An escalation alarm, findings-like: what, where, since when, how sure, on what evidence."""

    sector: str
    category: str
    start: str
    """The day the shift is estimated to have begun (after the statistic's last zero)."""
    day: str
    """The day the statistic reached the threshold."""
    statistic: float
    threshold: float
    arl0_days: float
    """The in-control average run length the threshold was chosen for (this series')."""
    baseline: dict[str, Any]
    evidence: list[dict[str, Any]] = field(default_factory=list)
    """Per day from ``start`` to ``day``: count, observed share, expected count, CUSUM."""

    @property
    def id(self) -> str:
        key = f"{self.sector}|{self.category}|{self.start}|{self.day}"
        return "a-" + hashlib.sha256(key.encode()).hexdigest()[:16]

    def to_record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sector": self.sector,
            "category": self.category,
            "start": self.start,
            "day": self.day,
            "statistic": round(self.statistic, 4),
            "threshold": round(self.threshold, 4),
            "arl0_days": round(self.arl0_days, 1),
            "baseline": self.baseline,
            "evidence": self.evidence,
        }


def detect(
    series: Series,
    *,
    arl0: float = ARL0_DAYS,
    baseline_days: int = BASELINE_DAYS,
    ratio: float = RATIO,
    min_coverage: float = MIN_COVERAGE,
    h: float | None = None,
    poisson: bool = False,
    dispersion: float | None = None,
    dispersion_se: float = 0.0,
) -> tuple[Baseline, float, list[Alarm]]:
    """Fit the baseline on the first ``baseline_days``, choose ``h`` for ``arl0`` (unless
    given), and run the CUSUM over the days after the baseline. Returns the baseline, ``h``
    and the alarms in day order. ``poisson``: ignore the over-dispersion (the Poisson CUSUM,
    kept as the benchmark's baseline to show what that costs). ``dispersion``: the pooled
    variance-to-mean ratio of the series' kind (:func:`pooled_dispersion`), and its standard
    error (:func:`dispersion_error`), which the calibrated threshold accounts for."""
    y, c = np.asarray(series.counts, float), np.asarray(series.coverage, float)
    if len(y) != len(series.days) or len(c) != len(series.days):
        raise ValidationError("counts, coverage and days must have the same length", field="series")
    if not 2 <= baseline_days < len(y):
        raise ValidationError(
            f"must be at least 2 and less than the series' {len(y)} days", field="baseline_days"
        )
    if poisson:
        dispersion, dispersion_se = 1.0, 0.0
    base = fit_baseline(
        y[:baseline_days], c[:baseline_days], min_coverage=min_coverage, dispersion=dispersion
    )
    if h is None:
        seed = int.from_bytes(
            hashlib.sha256(y[:baseline_days].tobytes() + c[:baseline_days].tobytes()).digest()[:8]
        )
        h = calibrated_threshold(
            base,
            arl0,
            ratio=ratio,
            min_coverage=min_coverage,
            seed=seed,
            dispersion=dispersion,
            dispersion_se=dispersion_se,
        )
    mu0 = base.rate * c[baseline_days:]
    steps = llr(y[baseline_days:], np.maximum(mu0, 1e-12), base.size, ratio)
    steps[c[baseline_days:] < min_coverage] = np.nan
    path, hits = cusum(steps, h)
    out = []
    for s, t in hits:
        rows = [
            {
                "day": series.days[baseline_days + k],
                "count": float(y[baseline_days + k]),
                "coverage": round(float(c[baseline_days + k]), 4),
                "expected": round(float(mu0[k]), 3),
                "cusum": round(float(path[k]), 4),
            }
            for k in range(s, t + 1)
        ]
        out.append(
            Alarm(
                series.sector,
                series.category,
                series.days[baseline_days + s],
                series.days[baseline_days + t],
                float(path[t]),
                h,
                arl0,
                base.to_json(),
                rows,
            )
        )
    return base, h, out


def nb_draw(rng: np.random.Generator, mean: F64, size: float) -> F64:
    """Counts drawn from NB(mean, size) (Poisson for ``size = inf``): the in-control model."""
    mean = np.asarray(mean, float)
    if math.isinf(size):
        return rng.poisson(mean).astype(float)
    return rng.poisson(rng.gamma(size, mean / size)).astype(float)
