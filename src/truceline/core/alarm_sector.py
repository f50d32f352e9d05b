"""Early warning per sector: one CUSUM over the sum of the sector's series' log-likelihood
ratios, the alarm naming the category that drove it.

A sector's day is one observation of all its series (its fire incidents and each category it
has often enough). The sum of their llrs is the log-likelihood ratio of the whole day (the
series taken independent), and one CUSUM of it at the sector's ARL0 is the optimal detector of
the sector's doubling (Moustakides 1986), where ``K`` charts at ``K x ARL0`` each split the
false-alarm budget and each sees only its own series. Measured on the whole procedure: a
doubling in 1 day (median) instead of 3, the quiet sector's 34 days down to 8, the false-alarm
rate unchanged (``docs/early_warning.md``).

The threshold is calibrated over the models the sector may truly have given its baseline
(:func:`~truceline.core.alarm_bound.joint_calibrated_threshold`); each series' dispersion is
:func:`chart_dispersion`: shrunk toward its category's pool, never below its own baseline's;
its error, for a series calmer than the pool, the posterior of the pool's and its own.

Pure: series in, charts and alarms out.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import numpy as np

from truceline.core.alarm_bound import joint_calibrated_threshold
from truceline.core.alarm_model import (
    ARL0_DAYS,
    BASELINE_DAYS,
    F64,
    MIN_COVERAGE,
    RATIO,
    Baseline,
    cusum,
    fit_baseline,
    llr,
    pooled_dispersion,
    sector_dispersion,
)
from truceline.core.early_warning import Alarm, Series
from truceline.errors import ValidationError

__all__ = ["chart_dispersion", "detect_sector"]

WIDTH = 2.0


def chart_dispersion(
    counts: F64,
    coverage: F64,
    pool: list[tuple[F64, F64]],
    *,
    min_coverage: float = MIN_COVERAGE,
) -> tuple[float, float]:
    """One series' dispersion for its sector's chart and the error its threshold allows for:
    the own baseline's ``D`` shrunk toward the category's ``pool``
    (:func:`~truceline.core.alarm_model.sector_dispersion`), floored at the own ``D``.

    The floor is for a sector burstier than the pool: 28 days of bursty counts mostly
    under-state their variance (the estimate is skewed low), so shrinking a high own estimate
    toward a calmer pool moves it further from the truth, and the sector alarms more often than
    promised (2.25 per 15 months in the busiest sector with the shrunk value alone). Its error
    is at least ``WIDTH`` times the chi-square's of its own ``D``.

    A series calmer than the pool keeps the shrunk (higher) value, and two sources tell how
    far its truth may lie above it: the pool, within the sectors' spread (``hypot(err, tau)``,
    what a sector without its own estimate would get), and its own baseline, which says lower,
    within ``WIDTH`` times the chi-square's error of the chart's ``D``. Their precisions add
    (the normal posterior's ``1/se^2 = 1/prior^2 + 1/own^2``): taking the larger of the two
    errors instead, as until 2026-12-05, gave a calm sector's chart a threshold for
    dispersions its own evidence rules out (the quiet sector's ``h`` 8.3 where 4.3 would do
    with the parameters known, ``docs/early_warning.md``)."""
    d, se = sector_dispersion(counts, coverage, pool, min_coverage=min_coverage)
    own = pooled_dispersion([(counts, coverage)], min_coverage=min_coverage)
    d = max(d, own)
    n = int((np.asarray(coverage, float) >= min_coverage).sum())
    # a variance from n days errs by about sqrt(2 / (n - 1)) of itself (chi-square), more for
    # bursty counts: WIDTH times that, at most the excess itself (a log-normal excess wider
    # than that asks for counts tables without end)
    chi = min(WIDTH * d * math.sqrt(2.0 / max(n - 1, 1)), d - 1.0)
    if own >= d or chi <= 0.0 or se <= 0.0:
        return d, max(se, chi)
    return d, 1.0 / math.sqrt(1.0 / se**2 + 1.0 / chi**2)


def _seed(series: Sequence[Series], baseline_days: int) -> int:
    h = hashlib.sha256()
    for s in series:
        h.update(s.category.encode())
        h.update(np.asarray(s.counts[:baseline_days], float).tobytes())
        h.update(np.asarray(s.coverage[:baseline_days], float).tobytes())
    return int.from_bytes(h.digest()[:8])


def detect_sector(
    series: Sequence[Series],
    *,
    dispersions: Sequence[float],
    dispersion_ses: Sequence[float],
    arl0: float = ARL0_DAYS,
    baseline_days: int = BASELINE_DAYS,
    ratio: float = RATIO,
    min_coverage: float = MIN_COVERAGE,
    h: float | None = None,
) -> tuple[list[Baseline], float, list[Alarm]]:
    """Fit each of one sector's series on its first ``baseline_days`` (with its chart's
    ``dispersions``), choose the sector's ``h`` for ``arl0`` (unless given), and run one CUSUM
    over the sum of the series' llrs after the baseline. Returns the baselines, ``h`` and the
    alarms in day order.

    Each alarm names the category whose llrs added most from the shift's estimated start to
    the alarm day (``category``), gives every category's share of the rise
    (``contributions``), and per day every category's count, expected count and llr."""
    if not series:
        raise ValidationError("a sector needs at least one series", field="series")
    sector, days = series[0].sector, series[0].days
    c = np.asarray(series[0].coverage, float)
    for s in series:
        if s.sector != sector or s.days != days or not np.array_equal(s.coverage, c):
            raise ValidationError(
                "a sector's series share its sector, days and coverage", field="series"
            )
        if len(s.counts) != len(days):
            raise ValidationError("counts and days must have the same length", field="series")
    if len(c) != len(days):
        raise ValidationError("coverage and days must have the same length", field="series")
    if not 2 <= baseline_days < len(days):
        raise ValidationError(
            f"must be at least 2 and less than the series' {len(days)} days", field="baseline_days"
        )
    ys = [np.asarray(s.counts, float) for s in series]
    bases = [
        fit_baseline(y[:baseline_days], c[:baseline_days], min_coverage=min_coverage, dispersion=d)
        for y, d in zip(ys, dispersions, strict=True)
    ]
    if h is None:
        h = joint_calibrated_threshold(
            bases,
            arl0,
            dispersions=list(dispersions),
            dispersion_ses=list(dispersion_ses),
            ratio=ratio,
            seed=_seed(series, baseline_days),
        )
    watch = c[baseline_days:]
    mu0 = [np.maximum(b.rate * watch, 1e-12) for b in bases]
    steps = np.array(
        [llr(y[baseline_days:], m, b.size, ratio) for y, m, b in zip(ys, mu0, bases, strict=True)]
    )
    steps[:, watch < min_coverage] = 0.0  # no evidence either way (the statistic is kept)
    total = steps.sum(axis=0)
    total[watch < min_coverage] = np.nan
    path, hits = cusum(total, h)
    cats = [s.category for s in series]
    out = []
    for start, t in hits:
        rise = steps[:, start : t + 1].sum(axis=1)
        top = int(np.argmax(rise))
        rows = []
        for k in range(start, t + 1):
            d = baseline_days + k
            rows.append(
                {
                    "day": days[d],
                    "count": float(ys[top][d]),
                    "coverage": round(float(c[d]), 4),
                    "expected": round(float(mu0[top][k]), 3),
                    "cusum": round(float(path[k]), 4),
                    "categories": {
                        cat: {
                            "count": float(ys[i][d]),
                            "expected": round(float(mu0[i][k]), 3),
                            "llr": round(float(steps[i, k]), 4),
                        }
                        for i, cat in enumerate(cats)
                    },
                }
            )
        out.append(
            Alarm(
                sector,
                cats[top],
                days[baseline_days + start],
                days[baseline_days + t],
                float(path[t]),
                h,
                arl0,
                bases[top].to_json(),
                rows,
                contributions={
                    cat: round(float(v), 4) for cat, v in zip(cats, rise.tolist(), strict=True)
                },
            )
        )
    return bases, h, out
