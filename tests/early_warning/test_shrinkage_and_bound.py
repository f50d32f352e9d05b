"""A sector's dispersion shrunk toward its category's pool, and the information bound on how
soon a doubling can be detected at all."""

from __future__ import annotations

import itertools
import math
import tracemalloc

import numpy as np
import pytest

from truceline.core.alarm_bound import (
    delay_bound,
    information,
    joint_run_length,
    joint_threshold,
    optimal_delay,
)
from truceline.core.early_warning import (
    Baseline,
    arl_markov,
    dispersion_error,
    dispersion_spread,
    nb_draw,
    pooled_dispersion,
    posterior_threshold,
    shrunk_dispersion,
    threshold_for,
)

COVERAGE = tuple(np.linspace(0.5, 0.9, 28).tolist())


@pytest.mark.parametrize("own", [1.5, 8.0])
def test_the_shrunk_dispersion_lies_between_the_own_and_the_pool(own: float) -> None:
    d, se = shrunk_dispersion(own, 1.0, 3.0, 0.3, 1.0)
    assert min(own, 3.0) < d < max(own, 3.0)
    assert se < 1.0  # more precise than the sector's own estimate alone


def test_the_own_estimate_counts_less_the_less_precise_it_is() -> None:
    """As the sector's own standard error grows, its shrunk dispersion moves monotonically
    from its own estimate to the pool's; with no spread between sectors, the pool's."""
    errors = [0.0, 0.3, 1.0, 3.0, 10.0, 100.0]
    shrunk = [shrunk_dispersion(8.0, e, 3.0, 0.3, 1.5)[0] for e in errors]
    assert shrunk[0] == pytest.approx(8.0)
    assert all(a > b for a, b in itertools.pairwise(shrunk))
    assert shrunk[-1] == pytest.approx(3.0, abs=0.01)
    assert shrunk_dispersion(8.0, 0.5, 3.0, 0.3, 0.0) == (3.0, 0.3)


def test_shrinkage_recovers_a_burstier_sectors_dispersion_better_than_the_pool() -> None:
    """Five sectors of one category, four at dispersion 3 and one at 8, 28 days each, 200
    times: the burstier sector's shrunk estimate is on average nearer its truth than the pool
    (which it barely moves), and the others' no further from theirs than their own noisy
    estimates (mean squared error)."""
    rng = np.random.default_rng(3)
    cov = np.asarray(COVERAGE)
    truths = [3.0, 3.0, 3.0, 3.0, 8.0]
    mean_mu = 10.0 * float(cov.mean())
    err: dict[str, list[float]] = {"pool": [], "shrunk": [], "own": [], "calm_own": [], "calm": []}
    for _ in range(200):
        series = [(nb_draw(rng, 10.0 * cov, mean_mu / (d - 1.0)), cov) for d in truths]
        pool, pool_se, tau = (
            pooled_dispersion(series),
            dispersion_error(series),
            dispersion_spread(series),
        )
        for k, s in enumerate(series):
            own, own_se = pooled_dispersion([s]), dispersion_error([s])
            d = shrunk_dispersion(own, own_se, pool, pool_se, tau)[0]
            if k == 4:
                err["pool"].append((pool - 8.0) ** 2)
                err["shrunk"].append((d - 8.0) ** 2)
                err["own"].append((own - 8.0) ** 2)
            else:
                err["calm"].append((d - 3.0) ** 2)
                err["calm_own"].append((own - 3.0) ** 2)
    assert np.mean(err["shrunk"]) < 0.8 * np.mean(err["pool"])
    assert np.mean(err["calm"]) < np.mean(err["calm_own"])


def test_the_information_bound_grows_as_the_rate_falls() -> None:
    """Fewer counts a day carry less evidence of a doubling: the information falls and the
    floor on the delay rises, for Poisson and for a fixed variance-to-mean ratio."""
    for disp in (1.0, 3.0):
        bounds = []
        for rate in (100.0, 30.0, 10.0, 3.0, 1.0):
            size = math.inf if disp == 1.0 else rate * float(np.mean(COVERAGE)) / (disp - 1.0)
            bounds.append(delay_bound(information(Baseline(rate, size, 28, COVERAGE)), 456.0))
        assert all(a < b for a, b in itertools.pairwise(bounds))
    # a day never observed carries no information
    assert information(Baseline(5.0, math.inf, 1, (0.0,))) == 0.0
    assert delay_bound(0.0, 456.0) == math.inf


def test_the_joint_chart_is_checked_by_simulation_and_beats_separate_charts() -> None:
    """A sector of two independent series: the joint CUSUM's chain (convolved moves) gives
    the run length 4,000 simulated runs give, in control and after a doubling; and at the
    sector's run length it detects a doubling sooner than either series' own chart at twice
    that run length (the split of two separate charts), though not sooner than Lai's floor
    by more than the first order's slack."""
    designs = [Baseline(3.0, 2.0, 28, COVERAGE), Baseline(8.0, math.inf, 28, COVERAGE)]
    h = joint_threshold(designs, 60.0)
    rng = np.random.default_rng(5)
    cov = np.asarray(COVERAGE)
    for shift, goal in (
        (1.0, joint_run_length(designs, h)[0]),
        (2.0, joint_run_length(designs, h, shift=2.0)[0]),
    ):
        n = 4000
        s, run, done = np.zeros(n), np.zeros(n), np.zeros(n, bool)
        while not done.all():
            c = rng.choice(cov, n)
            step = np.zeros(n)
            for d in designs:
                mu0 = d.rate * c
                y = nb_draw(rng, shift * mu0, d.size)
                if math.isinf(d.size):
                    step += y * math.log(2.0) - mu0
                else:
                    r = d.size
                    step += y * (math.log(2.0) + np.log(r + mu0) - np.log(r + 2 * mu0)) - r * (
                        np.log(r + 2 * mu0) - np.log(r + mu0)
                    )
            s = np.where(done, s, np.maximum(0.0, s + step))
            run += ~done
            done |= s >= h
        assert float(run.mean()) == pytest.approx(goal, rel=0.1)
    best = optimal_delay(designs, 60.0)
    for d in designs:
        alone = arl_markov(d, threshold_for(d, 120.0), shift=2.0, states=120) - 1.0
        assert best["mean"] < alone
    assert best["mean"] > 0.5 * best["bound"]


def test_the_posterior_threshold_stands_above_the_plain_one_and_grows_with_the_error() -> None:
    """Averaging over the models the sector may truly have (its rate's and its dispersion's
    posterior) asks more of the chart than taking the estimates for the truth, and the more
    so the less the dispersion is known."""
    b = Baseline(20.0, 20.0 * 0.7 / 2.0, 28, COVERAGE)  # D = 3
    plain = threshold_for(b, 2280.0, states=120)
    hs = [posterior_threshold(b, 2280.0, dispersion=3.0, dispersion_se=se) for se in (0, 0.5, 1.5)]
    assert plain < hs[0] < hs[1] < hs[2]


def test_a_very_bursty_baseline_keeps_the_posterior_small() -> None:
    """A 28-day baseline of rare bursts (size 0.05) has a rate posterior with a tail to
    infinity; uncapped, one quadrature node asked for a table of 10^9 counts (the evaluator
    grew to 21 GB). Capped at RATE_CAP times the estimate: a few MB."""
    b = Baseline(3.0, 0.05, 28, COVERAGE)
    tracemalloc.start()
    try:
        h = posterior_threshold(b, 2280.0, dispersion=1.0 + 3.0 * 0.7 / 0.05, dispersion_se=20.0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert math.isfinite(h)
    assert peak < 50_000_000
