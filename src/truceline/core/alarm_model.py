"""The in-control model of the escalation alarms: a sector's daily counts as negative binomial
around a coverage-scaled rate, fitted on a baseline period, and the NB-CUSUM statistic on it.

Split from :mod:`truceline.core.early_warning` (the detector) and
:mod:`truceline.core.alarm_threshold` (how high the chart's threshold stands); the
reasoning is in ``docs/early_warning.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from truceline.errors import ValidationError

F64 = NDArray[np.float64]
#: The in-control average run length asked of each sector: 15 months (365.25 * 1.25 days).
ARL0_DAYS = 456.0
#: Days of the baseline period by default (the first four weeks of the series).
BASELINE_DAYS = 28
#: Below this observed share a day says nothing (no step of the statistic).
MIN_COVERAGE = 0.05
RATIO = 2.0
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


def shrunk_dispersion(
    own: float,
    own_se: float,
    pooled: float,
    pooled_se: float,
    spread: float,
) -> tuple[float, float]:
    """A sector's dispersion shrunk toward its category's pool, and its standard error
    (empirical Bayes, the normal-normal model: the sectors' dispersions scatter around the
    pool with the random effect ``spread`` (:func:`dispersion_spread`), and a sector's own
    28-day estimate scatters around its dispersion with ``own_se``).

    ``D = D_pool + w (D_own - D_pool)`` with ``w = spread^2 / (spread^2 + own_se^2)``: the
    own estimate counts as much as it is more precise than the sectors differ. The pool
    alone made a burstier sector alarm 2.4 times as often as promised; its own 28 days alone
    are too skewed to trust (BENCHMARKS.md). The error: the posterior's ``w own_se^2`` plus
    the pool's own error carried with weight ``1 - w``.

    >>> shrunk_dispersion(6.0, 1.0, 3.0, 0.2, 1.0)
    (4.5, 0.714142842854285)
    """
    tau2 = spread**2
    if not tau2 > 0:
        return pooled, pooled_se
    w = tau2 / (tau2 + own_se**2)
    d = max(1.0, pooled + w * (own - pooled))
    return d, math.sqrt(w * own_se**2 + ((1.0 - w) * pooled_se) ** 2)


def sector_dispersion(
    counts: F64,
    coverage: F64,
    pool: list[tuple[F64, F64]],
    *,
    min_coverage: float = MIN_COVERAGE,
) -> tuple[float, float]:
    """One series' dispersion for its chart, and the error the threshold allows for: its own
    baseline's ``D`` shrunk toward its category's ``pool`` (every sector's baseline of that
    category, itself included) by :func:`shrunk_dispersion`.

    The own estimate's error is taken as the pool's times the root of the number of sectors
    (a sector's share of the pooled days), not from its own 28 days: those under-state their
    error exactly when they under-state the dispersion (a calm month of a bursty sector), and
    the shrinkage would trust them most when they are most wrong (the quiet sector's false
    alarms doubled). The error allowed is at least the pool's with the sectors' spread
    (``hypot(se, tau)``, what a sector without its own estimate would get)."""
    pooled = pooled_dispersion(pool, min_coverage=min_coverage)
    err = dispersion_error(pool, min_coverage=min_coverage)
    tau = dispersion_spread(pool, min_coverage=min_coverage)
    own = pooled_dispersion([(counts, coverage)], min_coverage=min_coverage)
    d, se = shrunk_dispersion(own, err * math.sqrt(len(pool)), pooled, err, tau)
    return d, max(se, math.hypot(err, tau))


def llr_coefficients(mu0: F64, size: float, ratio: float) -> tuple[F64, F64]:
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
    a, b = llr_coefficients(np.asarray(mu0, float), size, ratio)
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


def nb_draw(rng: np.random.Generator, mean: F64, size: float) -> F64:
    """Counts drawn from NB(mean, size) (Poisson for ``size = inf``): the in-control model."""
    mean = np.asarray(mean, float)
    if math.isinf(size):
        return rng.poisson(mean).astype(float)
    return rng.poisson(rng.gamma(size, mean / size)).astype(float)
