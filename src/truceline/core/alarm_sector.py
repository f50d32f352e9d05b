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
its error, for a series calmer than the pool, the posterior of the pool's and its own. A sector
too thin to show a doubling within 4 days from 28 days of baseline learns longer
(:func:`design_sector`).

Pure: series in, charts and alarms out.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from truceline.core.alarm_bound import joint_calibrated_threshold, joint_run_length
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

__all__ = ["SectorDesign", "chart_dispersion", "design_sector", "detect_sector"]

WIDTH = 2.0
#: The issue's requirement: a doubling detected within this many days (median).
WITHIN_DAYS = 4
#: A thin sector's baseline grows a week at a time up to this many days (8 weeks).
LONGEST_BASELINE_DAYS = 56
STEP_DAYS = 7


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
    return _data_seed(
        [s.category for s in series], [s.counts for s in series], series[0].coverage, baseline_days
    )


def _data_seed(categories: Sequence[str], counts: Sequence[F64], coverage: F64, n: int) -> int:
    h = hashlib.sha256()
    for cat, y in zip(categories, counts, strict=True):
        h.update(cat.encode())
        h.update(np.asarray(y[:n], float).tobytes())
        h.update(np.asarray(coverage[:n], float).tobytes())
    return int.from_bytes(h.digest()[:8])


@dataclass(frozen=True)
class SectorDesign:
    """A sector's chart as :func:`design_sector` chose it: its baseline's length, each series'
    dispersion, its error and fit, the threshold, and the predicted share of doublings
    detected within :data:`WITHIN_DAYS` (from the zero state, at the fitted rates doubled).
    ``ready`` False: the baseline still grows and the days to decide it are not there yet."""

    baseline_days: int
    dispersions: tuple[float, ...]
    dispersion_ses: tuple[float, ...]
    bases: tuple[Baseline, ...]
    h: float
    within: float
    ready: bool = True


def design_sector(
    counts: Sequence[F64],
    coverage: F64,
    pools: Sequence[list[tuple[F64, F64]]],
    *,
    available: int,
    arl0: float = ARL0_DAYS,
    baseline_days: int = BASELINE_DAYS,
    longest: int = LONGEST_BASELINE_DAYS,
    within_days: int = WITHIN_DAYS,
    ratio: float = RATIO,
    min_coverage: float = MIN_COVERAGE,
    categories: Sequence[str] | None = None,
    seed: int | None = None,
) -> SectorDesign:
    """The sector's chart on the shortest baseline, from ``baseline_days`` on a week at a time
    up to ``longest``, whose own fit predicts the requirement met: a doubling of its fitted
    rates detected within ``within_days`` days at median by its calibrated threshold.

    Why: the threshold's margin over the known parameters' is paid for the baseline's error,
    and that error is set by the series' information, not by the calendar. 28 days of an
    ordinary sector (3-12 nats a day of evidence for a doubling) pin its rates within a few
    per cent of the shift; the quiet sector's thin, heavy-tailed counts (about 1 nat a day on
    the pooled models) leave its rates 15-37 % uncertain, and the threshold calibrated over
    that error put half its doublings past 4 days (``BENCHMARKS.md``, session 20, hA2). A series
    learns until its own evidence supports the requirement, as a sector with more evidence
    does in 28 days; sectors that meet it at 28 days are unchanged. The prediction is from the
    zero state, the CUSUM's worst case; each step is decided on the days up to it only, so an
    alarm once raised is not undone by later days. Capped at ``longest`` (the longer the
    wait, the later the sector's first alarm). ``pools``: per series, its category's
    baselines over the sectors (fixed, ``baseline_days`` long each), as for
    :func:`chart_dispersion`; ``available``: the days there are (the watch needs one more
    than the baseline). ``seed``: the calibration's (default: hashed from the data, as
    :func:`detect_sector`'s)."""
    c_all = np.asarray(coverage, float)
    cats = list(categories) if categories is not None else [str(i) for i in range(len(counts))]
    n = baseline_days
    while True:
        c = c_all[:n]
        disp = [
            chart_dispersion(np.asarray(y[:n], float), c, pool, min_coverage=min_coverage)
            for y, pool in zip(counts, pools, strict=True)
        ]
        bases = [
            fit_baseline(np.asarray(y[:n], float), c, min_coverage=min_coverage, dispersion=d)
            for y, (d, _) in zip(counts, disp, strict=True)
        ]
        h = joint_calibrated_threshold(
            bases,
            arl0,
            dispersions=[d for d, _ in disp],
            dispersion_ses=[se for _, se in disp],
            ratio=ratio,
            seed=_data_seed(cats, counts, c_all, n) if seed is None else seed,
        )
        _, cdf = joint_run_length(bases, h, shift=ratio, ratio=ratio, horizon=within_days + 1)
        design = SectorDesign(
            n,
            tuple(d for d, _ in disp),
            tuple(se for _, se in disp),
            tuple(bases),
            h,
            float(cdf[within_days]),
        )
        if design.within >= 0.5 or n + STEP_DAYS > longest:
            return design
        n += STEP_DAYS
        if n >= available:  # the next step's days are not there yet: still learning
            return SectorDesign(
                n,
                design.dispersions,
                design.dispersion_ses,
                design.bases,
                h,
                design.within,
                ready=False,
            )


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
