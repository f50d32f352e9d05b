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
(:func:`posterior_threshold` with :func:`sector_dispersion` was measured against it.) The
service runs one chart per sector over these series' llrs instead
(:mod:`truceline.core.alarm_sector`); :func:`detect` is the per-series chart it replaced, kept
for the evaluator's comparison: ``docs/early_warning.md``.

Pure and columnar: numpy arrays in, values out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from truceline.core.alarm_model import (
    ARL0_DAYS,
    BASELINE_DAYS,
    F64,
    MIN_COVERAGE,
    RATIO,
    Baseline,
    cusum,
    dispersion_error,
    dispersion_spread,
    fit_baseline,
    llr,
    nb_draw,
    pooled_dispersion,
    sector_dispersion,
    shrunk_dispersion,
)
from truceline.core.alarm_threshold import (
    arl_markov,
    calibrated_threshold,
    guarded_threshold,
    posterior_threshold,
    threshold_for,
)
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
    "posterior_threshold",
    "sector_dispersion",
    "shrunk_dispersion",
    "threshold_for",
]


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
    contributions: dict[str, float] = field(default_factory=dict)
    """A sector's joint chart: each category's sum of llrs from ``start`` to ``day`` (its share
    of the rise; ``category`` is the largest)."""

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
            **({"contributions": self.contributions} if self.contributions else {}),
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
