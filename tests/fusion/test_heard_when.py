""":func:`truceline.core.fusion.heard_when.may_be_near` leaves out only parts whose implied
emission time :func:`.heard.part_tests` finds outside their widened window (``near_win``
False), at the edge of that window too: the full test over the rest answers the same."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tests.fusion import synth
from tests.fusion.test_heard import GUN, MID
from truceline.core.fusion.heard import HeardParams, part_tests
from truceline.core.fusion.heard_when import may_be_near


def _arrivals(m: int, wind: tuple[float, float], rng: np.random.Generator):
    centre = synth.offset(*MID, 180.0, 10_000.0)
    r = synth.Reports()
    for k, az in enumerate(np.linspace(0.0, 360.0, m + 1)[:-1]):
        s = synth.offset(*centre, float(az), 700.0)
        synth.arrival_report(r, 0, s, GUN, 100.0, 0.01, rng, source=f"s{k}", wind=wind)
    b = synth.Reports.batch(r)
    return b, np.arange(m, dtype=np.int64)


def _parts(b, n: int, rng: np.random.Generator):
    """``n`` located parts scattered within ~40 km of the array, covariances from a metre to
    ~5 km (some singular), windows anywhere in a day."""
    cx, cy = float(b.ox.mean()), float(b.oy.mean())
    x = cx + rng.uniform(-40_000, 40_000, n)
    y = cy + rng.uniform(-40_000, 40_000, n)
    a = rng.normal(size=(n, 2, 2)) * 10 ** rng.uniform(0, 3.7, n)[:, None, None]
    cov = a @ a.transpose(0, 2, 1)
    cov[: n // 10] = 0.0
    lo = rng.uniform(-86_400, 86_400, n)
    hi = lo + rng.uniform(0, 1_800, n)
    return x, y, cov, lo, hi


@pytest.mark.parametrize("m", [1, 2, 3, 5])
@pytest.mark.parametrize("pool", [True, False])
def test_a_part_left_out_fails_part_tests_time_window(m: int, pool: bool):
    rng = np.random.default_rng(20 + m)
    p = replace(HeardParams(), pool_air=pool)
    b, rows = _arrivals(m, (rng.uniform(-8, 8), rng.uniform(-8, 8)), rng)
    n = 4_000
    x, y, cov, lo, hi = _parts(b, n, rng)
    wsd = np.where(rng.uniform(size=len(b.arr)) < 0.5, 0.5, p.wind_sd_ms)
    g = np.arange(n, dtype=np.int64)
    idx = np.repeat(rows[None, :], n, axis=0)
    timed = rng.uniform(size=n) < 0.5
    have = np.zeros(1, np.int64) - 1
    tt, tsd = np.empty(n), np.empty(n)
    near = part_tests(b, idx, g, x, y, cov, lo, hi, timed, wsd, have, p, tsd, tt)[3]
    kept = may_be_near(b, rows, g, x, y, cov, lo, hi, wsd, p)
    assert not (near & ~kept).any()
    assert (~kept).sum() > n // 2  # the bound leaves most of a day's parts out
    # windows that end or start just at the widened edge, inside and a hair outside
    edge = tt - p.alt_slack_s - 3.0 * tsd
    for d in (-1e-9, 0.0, 1e-9, 1e-3):
        lo2 = np.where(g % 2 == 0, tt + p.alt_slack_s + 3.0 * tsd + d, lo)
        hi2 = np.where(g % 2 == 0, lo2 + 1.0, edge - d)
        lo2 = np.where(g % 2 == 0, lo2, hi2 - 1.0)
        near = part_tests(b, idx, g, x, y, cov, lo2, hi2, timed, wsd, have, p)[3]
        kept = may_be_near(b, rows, g, x, y, cov, lo2, hi2, wsd, p)
        assert not (near & ~kept).any()
        if d <= 0.0:
            assert near.mean() > 0.4  # the edge cases do reach part_tests' own window


@pytest.mark.parametrize("m", [2, 3])
def test_without_slack_a_part_left_out_is_outside_part_tests_own_window(m: int):
    """``slack=0`` (:func:`.flash_heard.flash_heard`'s cells): left out only where the
    implied time lies outside the window by more than three sds (``inwin`` False, the test
    inf), at that edge too."""
    rng = np.random.default_rng(40 + m)
    p = HeardParams()
    b, rows = _arrivals(m, (rng.uniform(-8, 8), rng.uniform(-8, 8)), rng)
    n = 4_000
    x, y, cov, lo, hi = _parts(b, n, rng)
    wsd = np.full(len(b.arr), p.wind_sd_ms)
    g = np.arange(n, dtype=np.int64)
    idx = np.repeat(rows[None, :], n, axis=0)
    timed, have = np.zeros(n, bool), np.zeros(1, np.int64) - 1
    tt, tsd = np.empty(n), np.empty(n)
    part_tests(b, idx, g, x, y, cov, lo, hi, timed, wsd, have, p, tsd, tt)
    for d in (-1e-9, 0.0, 1e-9, 1e-3):
        lo2 = np.where(g % 2 == 0, tt + 3.0 * tsd + d, tt - 3.0 * tsd - d - 11.0)
        hi2 = lo2 + 11.0
        inwin = (tt >= lo2 - 3.0 * tsd) & (tt <= hi2 + 3.0 * tsd)
        kept = may_be_near(b, rows, g, x, y, cov, lo2, hi2, wsd, p, slack=0.0)
        assert not (inwin & ~kept).any()
        if d <= 0.0:
            assert inwin.mean() > 0.4  # the edge cases do reach the window
    # windows half a slack past the implied time: the slack's bound keeps them, this one not
    lo2 = tt + 3.0 * tsd + 0.5 * p.alt_slack_s
    kept = may_be_near(b, rows, g, x, y, cov, lo2, lo2 + 11.0, wsd, p, slack=0.0)
    wide = may_be_near(b, rows, g, x, y, cov, lo2, lo2 + 11.0, wsd, p)
    assert wide.all() and kept.mean() < 0.5
