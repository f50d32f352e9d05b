"""The NB-CUSUM: its arithmetic, its threshold's run length, and a planted shift found."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from truceline.core.early_warning import (
    Baseline,
    Series,
    arl_markov,
    cusum,
    detect,
    dispersion_error,
    fit_baseline,
    guarded_threshold,
    llr,
    nb_draw,
    pooled_dispersion,
    threshold_for,
)
from truceline.errors import ValidationError


@pytest.mark.parametrize("mu0,size", [(0.4, 0.7), (5.0, 3.0), (80.0, 12.0), (3.0, math.inf)])
def test_llr_is_the_log_likelihood_ratio_of_a_doubling(mu0: float, size: float) -> None:
    y = np.arange(0, int(4 * mu0) + 6, dtype=float)
    mu = np.full(len(y), mu0)
    if math.isinf(size):
        want = stats.poisson.logpmf(y, 2 * mu0) - stats.poisson.logpmf(y, mu0)
    else:
        p = lambda m: size / (size + m)  # noqa: E731
        want = stats.nbinom.logpmf(y, size, p(2 * mu0)) - stats.nbinom.logpmf(y, size, p(mu0))
    np.testing.assert_allclose(llr(y, mu, size), want, rtol=1e-9, atol=1e-9)


def test_cusum_path_restart_and_start_of_the_shift() -> None:
    steps = np.array([-1.0, 0.5, -2.0, 1.0, 1.5, np.nan, 0.8, -0.1, 4.0, 0.2])
    path, alarms = cusum(steps, 3.0)
    np.testing.assert_allclose(path, [0, 0.5, 0, 1.0, 2.5, 2.5, 3.3, 0.0, 4.0, 0.2])
    # first alarm on day 6: the statistic was last 0 on day 2, so the shift began on day 3;
    # after the restart it stays 0 through day 7 (0 - 0.1), then 4 >= 3 on day 8
    assert alarms == [(3, 6), (8, 8)]


def test_baseline_rate_and_dispersion_are_recovered_through_coverage() -> None:
    rng = np.random.default_rng(7)
    c = rng.uniform(0.2, 1.0, 20_000)
    y = nb_draw(rng, 30.0 * c, 4.0)
    b = fit_baseline(y, c)
    assert b.rate == pytest.approx(30.0, rel=0.01)
    assert b.size == pytest.approx(4.0, rel=0.05)
    poisson = fit_baseline(rng.poisson(10.0 * c).astype(float), c)
    assert poisson.size > 200 or math.isinf(poisson.size)  # no excess variance found


def test_bad_baselines_name_the_field() -> None:
    with pytest.raises(ValidationError) as e:
        fit_baseline(np.array([1.0, 2.0]), np.array([0.5]))
    assert e.value.field == "coverage"
    with pytest.raises(ValidationError) as e:
        fit_baseline(np.array([1.0, -2.0]), np.array([0.5, 0.5]))
    assert e.value.field == "counts"
    with pytest.raises(ValidationError) as e:  # never observed: nothing to learn from
        fit_baseline(np.array([0.0, 3.0, 1.0]), np.array([0.0, 0.01, 0.0]))
    assert e.value.field == "baseline"


@pytest.mark.parametrize("rate,size", [(12.0, 3.0), (2.0, math.inf)])
def test_the_thresholds_run_length_holds_by_simulation(rate: float, size: float) -> None:
    """The Markov chain's in-control ARL of the chosen h, against 3,000 simulated runs (the
    standard error of their mean is ~2 %), within 10 %."""
    rng = np.random.default_rng(11)
    cov = tuple(rng.uniform(0.4, 0.9, 28).tolist())
    base = Baseline(rate, size, 28, cov)
    h = threshold_for(base, 80.0)
    assert arl_markov(base, h) >= 80.0 > arl_markov(base, 0.97 * h)
    n, days = 3_000, 2_000
    c = rng.choice(np.array(cov), (n, days))
    mu = rate * c
    steps = llr(nb_draw(rng, mu, size), mu, size)
    s = np.zeros(n)
    run = np.full(n, days)
    alive = np.ones(n, bool)
    for t in range(days):
        s = np.maximum(0.0, s + steps[:, t])
        hit = alive & (s >= h)
        run[hit] = t + 1
        alive &= ~hit
    assert not alive.any()
    assert run.mean() == pytest.approx(arl_markov(base, h), rel=0.10)


def _series(
    rng: np.random.Generator,
    days: int,
    start: int,
    factor: float,
    coverage: np.ndarray,
    rate: float = 40.0,
    size: float = 30.0,
) -> Series:
    mu = rate * coverage * np.where(np.arange(days) >= start, factor, 1.0)
    return Series(
        "s1", "all fire", tuple(f"d{i:03d}" for i in range(days)), nb_draw(rng, mu, size), coverage
    )


def test_a_planted_doubling_is_found_soon_after_it_began() -> None:
    """With the dispersion pooled as over five sectors' baselines (140 days)."""
    delays, starts, early = [], [], 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        s = _series(rng, 80, 60, 2.0, rng.uniform(0.5, 0.9, 80))
        pool = [
            (_series(rng, 28, 99, 1.0, s.coverage[:28]).counts, s.coverage[:28]) for _ in range(4)
        ] + [(s.counts[:28], s.coverage[:28])]
        _, _, alarms = detect(
            s, arl0=456.0, dispersion=pooled_dispersion(pool), dispersion_se=dispersion_error(pool)
        )
        early += sum(1 for a in alarms if a.day < "d060")
        late = [a for a in alarms if a.day >= "d060"]
        assert late, seed
        delays.append(int(late[0].day[1:]) - 60)
        starts.append(int(late[0].start[1:]))
    assert np.median(delays) <= 4
    assert abs(np.median(starts) - 60) <= 2  # the start of the shift is estimated near it
    # 20 runs x 32 in-control days = 640 days: 1.4 expected at the ARL0 asked (456 days),
    # with the calibrated threshold also over the baselines' estimation error (6 in these
    # seeds; over 200 such baselines the chain's expectation is 0.98 of the target, and
    # test_calibration.py measures it on many more days)
    assert early <= 6


def test_coverage_normalisation_sees_a_doubling_that_raw_counts_hide() -> None:
    """The rate doubles on day 60 while the mission observes half as much: the counts stay
    level. The detector on counts per coverage alarms; the same counts read as if the
    coverage had stayed full do not."""
    found_norm = found_raw = 0
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        cov = np.where(np.arange(80) >= 60, 0.4, 0.8)
        s = _series(rng, 80, 60, 2.0, cov)
        raw = Series(s.sector, s.category, s.days, s.counts, np.full(80, 0.8))
        found_norm += any(a.day >= "d060" for a in detect(s)[2])
        found_raw += any(a.day >= "d060" for a in detect(raw)[2])
    assert found_norm >= 11 and found_raw <= 1


def test_an_unobserved_day_says_nothing() -> None:
    rng = np.random.default_rng(3)
    cov = np.full(40, 0.8)
    cov[30:] = 0.0  # nobody there after the baseline: counts of 0 are not "quiet"
    s = _series(rng, 40, 30, 1.0, cov)
    alarms = detect(s, baseline_days=28)[2]
    assert alarms == []
    loud = Series(s.sector, s.category, s.days, np.where(cov > 0, s.counts, 500.0), cov)
    assert detect(loud, baseline_days=28)[2] == []  # nor does a count where none observed


def test_the_guarded_threshold_keeps_its_promise_despite_a_short_baseline() -> None:
    """Charts built from 28-day baselines of a known model: with the plain threshold of the
    estimates, far fewer than half keep the promised ARL0 (the dispersion is often
    under-estimated); with the guarded one, about ``level`` of them (here 0.8) do."""
    truth = Baseline(30.0, 5.0, 28, tuple(np.linspace(0.5, 0.9, 28).tolist()))
    c = np.asarray(truth.coverage)
    rng = np.random.default_rng(5)
    kept_plain = kept_guarded = 0
    n = 16
    for k in range(n):
        b = fit_baseline(nb_draw(rng, truth.rate * c, truth.size), c)
        plain = threshold_for(b, 200.0)
        guarded = guarded_threshold(b, 200.0, seed=k)
        assert guarded >= plain
        kept_plain += arl_markov(b, plain, truth=truth) >= 200.0
        kept_guarded += arl_markov(b, guarded, truth=truth) >= 200.0
    assert kept_plain <= 0.5 * n
    assert kept_guarded >= 0.6 * n


def test_the_pooled_dispersion_is_the_variance_to_mean_ratio() -> None:
    rng = np.random.default_rng(8)
    c = rng.uniform(0.5, 1.0, 400)
    # compound Poisson: incidents ~ Poisson(10 c), each 1 + Poisson(2) rounds: D = E[R^2]/E[R]
    n = rng.poisson(10.0 * c)
    y = np.array([(1 + rng.poisson(2.0, k)).sum() for k in n], float)
    d = pooled_dispersion([(y[:200], c[:200]), (y[200:], c[200:])])
    assert d == pytest.approx((2.0 + 9.0) / 3.0, rel=0.15)  # E[R^2] = 2 + 9, E[R] = 3
    b = fit_baseline(y, c, dispersion=d)
    assert b.size == pytest.approx(float((b.rate * c).mean()) / (d - 1.0))
