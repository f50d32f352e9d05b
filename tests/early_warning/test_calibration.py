"""The calibrated threshold keeps the promised false-alarm rate although the baseline is
estimated, and the long evaluation's memory stays bounded."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from truceline.core.early_warning import (
    Baseline,
    arl_markov,
    calibrated_threshold,
    dispersion_error,
    dispersion_spread,
    fit_baseline,
    llr,
    nb_draw,
    pooled_dispersion,
    threshold_for,
)
from truceline.simulation.alarms import SectorModel, evaluate_procedure, summarise

COVERAGE = np.linspace(0.5, 0.9, 28)


def _false_alarm_rates(
    rate: float, disp: float, arl0: float, reps: int, days: int, seed: int
) -> dict[str, float]:
    """The whole procedure ``reps`` times on NB counts (a 28-day baseline, the fit with the
    dispersion known, the threshold, ``days`` watched days with restarts): false alarms per
    ``arl0`` days, for the plain and the calibrated threshold on the same counts."""
    rng = np.random.default_rng(seed)
    size = rate * float(COVERAGE.mean()) / (disp - 1.0)
    charts: dict[str, list[tuple[Baseline, float]]] = {"plain": [], "calibrated": []}
    watched = []
    for _ in range(reps):
        c = np.concatenate([COVERAGE, rng.choice(COVERAGE, days)])
        y = nb_draw(rng, rate * c, size)
        b = fit_baseline(y[:28], c[:28], dispersion=disp)
        charts["plain"].append((b, threshold_for(b, arl0)))
        charts["calibrated"].append((b, calibrated_threshold(b, arl0, dispersion=disp)))
        watched.append((y[28:], c[28:]))
    out = {}
    for name, bh in charts.items():
        steps = np.array(
            [llr(y, b.rate * c, b.size) for (b, _), (y, c) in zip(bh, watched, strict=True)]
        )
        h = np.array([h for _, h in bh])
        s = np.zeros(reps)
        alarms = 0
        for t in range(days):  # every replicate at once, restarting after each alarm
            s = np.maximum(0.0, s + steps[:, t])
            hit = s >= h
            alarms += int(hit.sum())
            s[hit] = 0.0
        out[name] = alarms / (reps * days) * arl0
    return out


def test_the_calibrated_threshold_keeps_the_false_alarm_rate_with_a_28_day_baseline() -> None:
    """An over-dispersed, low-count series (3 a day at full coverage, variance 3 x the mean),
    where a 28-day baseline estimates the rate within ~20 %: the plain threshold of the
    estimates alarms far more often than promised; the calibrated one about as promised.
    120 baselines x 600 days, ~480 false alarms expected at the target (their spread over
    baselines, not days, makes the tolerance)."""
    got = _false_alarm_rates(3.0, 3.0, 150.0, reps=120, days=600, seed=4)
    assert got["plain"] > 1.45
    assert 0.75 < got["calibrated"] < 1.25


def test_the_calibration_expects_the_target_over_baselines() -> None:
    """The Markov chain's false-alarm rate of each fitted chart on the true model (no
    day-to-day noise), averaged over 150 baselines: the calibration's promise is about the
    mean over baselines, which it meets; the plain threshold's is several times too high."""
    rng = np.random.default_rng(9)
    rate, disp, arl0 = 10.0, 2.0, 2_000.0
    truth = Baseline(
        rate, rate * float(COVERAGE.mean()) / (disp - 1.0), 28, tuple(COVERAGE.tolist())
    )
    plain, calibrated = [], []
    for _ in range(150):
        b = fit_baseline(nb_draw(rng, rate * COVERAGE, truth.size), COVERAGE, dispersion=disp)
        plain.append(arl0 / arl_markov(b, threshold_for(b, arl0), truth=truth, states=120))
        h = calibrated_threshold(b, arl0, dispersion=disp)
        calibrated.append(arl0 / arl_markov(b, h, truth=truth, states=120))
    assert np.mean(plain) > 2.0
    assert 0.7 < np.mean(calibrated) < 1.3


def test_a_small_threshold_costs_no_more_memory() -> None:
    """The chain's table of moves was as long as the largest step over the grid's width: a
    chart whose steps are mostly down (designed for a higher rate than the counts') pushed
    the threshold's search to tiny ``h`` and gigabytes (1.8 GB at ``h = 0.001``)."""
    cov = tuple(COVERAGE.tolist())
    design, truth = Baseline(100.0, math.inf, 28, cov), Baseline(50.0, math.inf, 28, cov)
    tracemalloc.start()
    try:
        assert math.isinf(arl_markov(design, 0.001, truth=truth))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000


def _evaluation_peak(watch_days: int, reps: int) -> int:
    sector = SectorModel(
        "s", (("fire incidents", 8.0, 6.0), ("all fire", 30.0, 2.0)), tuple(COVERAGE.tolist())
    )
    tracemalloc.start()
    try:
        raw = evaluate_procedure(
            [sector], reps=reps, seed=1, watch_days=watch_days, methods=("calibrated",), horizon=20
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summarise(raw)["calibrated"]["all"]["sector_days"] == watch_days * reps
    return peak


@pytest.mark.parametrize("longer", ["days", "replicates"])
def test_the_long_evaluations_memory_does_not_grow(longer: str) -> None:
    """Four times the watched days, or the replicates: about the same peak (what grows is one
    replicate's few arrays and a list of counts per replicate, not the work's tables)."""
    small = _evaluation_peak(456, 1)
    big = _evaluation_peak(4 * 456, 1) if longer == "days" else _evaluation_peak(456, 4)
    assert big < 1.3 * small + 200_000


@pytest.mark.parametrize("rate,size", [(40.0, 30.0), (30.0, 1.0)])
def test_the_dispersions_standard_error_matches_its_spread(rate: float, size: float) -> None:
    """Over 400 pools of five 28-day baselines, the standard error each pool gives for its
    own dispersion is, at its median, within 25 % of the estimates' spread over the pools,
    also for heavy-tailed counts (size 1: D ~ 21), where the chi-square's ``D sqrt(2/n)``
    is a third too small."""
    rng = np.random.default_rng(2)
    d, se = [], []
    for _ in range(400):
        pool = [(nb_draw(rng, rate * COVERAGE, size), COVERAGE) for _ in range(5)]
        d.append(pooled_dispersion(pool))
        se.append(dispersion_error(pool))
    assert float(np.median(se)) == pytest.approx(float(np.std(d)), rel=0.25)


def test_the_dispersions_spread_over_sectors_is_told_from_its_noise() -> None:
    """40 series of 28 days at one dispersion: the random effect's spread comes out near 0;
    with the series' dispersions spread evenly over 2-6 (standard deviation 1.15), near that."""
    rng = np.random.default_rng(12)
    mean_mu = 10.0 * float(COVERAGE.mean())

    def pool(disps: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(nb_draw(rng, 10.0 * COVERAGE, mean_mu / (d - 1.0)), COVERAGE) for d in disps]

    assert dispersion_spread(pool(np.full(40, 3.0))) < 0.4
    assert 0.4 < dispersion_spread(pool(np.linspace(2.0, 6.0, 40))) < 1.8
