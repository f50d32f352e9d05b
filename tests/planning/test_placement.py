"""The placement: the HiGHS MILP equals brute force on small instances (slices of the real
line, and random ones), greedy never beats it, no-go areas are respected, and the coverage a
placement claims is the coverage model's own."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.core.coverage import build_coverage
from truceline.core.coverage_grid import band_grid
from truceline.core.coverage_time import Intervals, to_ns
from truceline.core.planning.placement import (
    Coverable,
    brute_force,
    candidate_sites,
    coverable,
    covered_value,
    demand_weights,
    fill_evenly,
    solve_exact,
    solve_greedy,
)
from truceline.errors import ValidationError
from truceline.services.context import AgreementContext

LINE = "front_2025"


@pytest.fixture(scope="module")
def real(march: AgreementContext, when: np.datetime64) -> tuple:
    g = march.geometry
    assert g is not None
    grid = band_grid(g, LINE, 15_000.0, 2_000.0)
    sites = candidate_sites(g, LINE, when, spacing_km=4.0)
    return g, grid, sites, coverable(g, grid, sites)


def _slice(real: tuple, km0: float, km1: float, n: int, seed: int) -> tuple:
    """A small instance: ``n`` real candidate sites between two chainages of the line and the
    cells they cover, with random positive weights."""
    _, grid, sites, _cov = real
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero((sites.chainage_m >= km0 * 1e3) & (sites.chainage_m < km1 * 1e3))
    pick = np.sort(rng.choice(pool, min(n, len(pool)), replace=False))
    sub = sites.take(pick)
    keep = np.isin(_cov.site, pick)
    site = np.searchsorted(pick, _cov.site[keep])
    cells, cell = np.unique(_cov.cells[_cov.cell[keep]], return_inverse=True)
    cov = Coverable(site.astype(np.int64), cell.astype(np.int64), cells, len(pick))
    w = np.zeros(len(grid))
    w[cells] = rng.uniform(0.1, 3.0, len(cells))
    return sub, cov, w


@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_brute_force_on_slices_of_the_real_line(real: tuple, seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    km0 = float(rng.uniform(0, 1_150))
    sub, cov, w = _slice(real, km0, km0 + 60.0, 10, seed)
    budgets = {k: int(rng.integers(0, 4)) for k in range(3)}
    depth = int(rng.integers(1, 4))
    ex = solve_exact(cov, w, sub.kind, budgets, depth=depth)
    bf = brute_force(cov, w, sub.kind, budgets, depth=depth)
    gr = solve_greedy(cov, w, sub.kind, budgets, depth=depth)
    assert ex.optimal
    assert ex.value == pytest.approx(bf.value, rel=1e-9, abs=1e-9)
    assert gr.value <= ex.value + 1e-9
    for p in (ex, gr):  # every placement within its budgets
        for k, b in budgets.items():
            assert (sub.kind[p.chosen] == k).sum() <= b


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_exact_equals_brute_force_on_random_instances(seed: int, depth: int) -> None:
    rng = np.random.default_rng(seed)
    ns, nc = int(rng.integers(1, 9)), int(rng.integers(1, 25))
    a = rng.random((ns, nc)) < rng.uniform(0.1, 0.6)
    s, c = np.nonzero(a)
    used, cell = np.unique(c, return_inverse=True)
    cov = Coverable(s.astype(np.int64), cell.astype(np.int64), used.astype(np.int64), ns)
    w = rng.uniform(0.0, 5.0, nc)
    kind = rng.integers(0, 2, ns).astype(np.int8)
    budgets = {0: int(rng.integers(0, 4)), 1: int(rng.integers(0, 3))}
    ex = solve_exact(cov, w, kind, budgets, depth=depth)
    bf = brute_force(cov, w, kind, budgets, depth=depth)
    assert ex.value == pytest.approx(bf.value, abs=1e-7)
    assert solve_greedy(cov, w, kind, budgets, depth=depth).value <= ex.value + 1e-9


def test_the_whole_line_exact_and_greedy(real: tuple) -> None:
    """The full line: HiGHS proves the optimum; greedy is reported next to it and is below."""
    _, grid, sites, cov = real
    w = demand_weights(grid)
    budgets = {0: 150, 1: 40, 2: 60}
    ex = solve_exact(cov, w, sites.kind, budgets, depth=1, time_limit_s=120)
    gr = solve_greedy(cov, w, sites.kind, budgets, depth=1)
    assert ex.optimal and ex.gap == 0.0
    assert 0.8 * ex.value < gr.value <= ex.value


def test_no_go_sites_are_never_candidates(march: AgreementContext, when: np.datetime64) -> None:
    g = march.geometry
    assert g is not None
    every = candidate_sites(g, LINE, when)
    zone = shapely.box(37.4, 48.0, 38.0, 48.8)  # around Bakhmut - Horlivka
    inside = shapely.contains_xy(zone, every.lon, every.lat)
    assert inside.sum() > 10
    kept = candidate_sites(g, LINE, when, no_go=zone)
    assert len(kept) == len(every) - inside.sum()
    assert not shapely.contains_xy(zone, kept.lon, kept.lat).any()


def test_sites_stand_on_their_own_side(real: tuple, march: AgreementContext,
                                       when: np.datetime64) -> None:
    from truceline.core.classify import classify

    g, _, sites, _ = real
    c = classify(g, sites.lon, sites.lat, np.full(len(sites), when, "datetime64[s]"))
    assert (c.control == sites.party).all()
    assert set(np.unique(sites.party).tolist()) == {0, 1}
    assert (c.dist_m[LINE] >= 750.0).all()  # half the shallowest depth (1.5 km)


def test_coverage_claimed_is_the_coverage_models(real: tuple, march: AgreementContext) -> None:
    """A placement's covered cells are exactly those build_coverage (the provision checks'
    model) says the chosen sites observe for fire: one function, not two."""
    g, grid, sites, cov = real
    ch = solve_greedy(cov, np.ones(len(grid)), sites.kind, {0: 60, 1: 10, 2: 20}).chosen
    chosen = sites.take(ch)
    t0 = march.agreement.entry_into_force_at
    c = build_coverage(g, chosen.assets(), Intervals.of(
        np.arange(len(chosen)), np.full(len(chosen), to_ns(t0)),
        np.full(len(chosen), to_ns(t0 + timedelta(days=1)))), line=LINE, cell_m=2_000.0)
    frac = c.covered_fraction(t0, t0 + timedelta(days=1), frozenset({"fire"}))
    assert covered_value(cov, np.ones(len(grid)), ch) == pytest.approx((frac > 0.999).sum())


def test_fill_evenly_uses_the_whole_budget(real: tuple) -> None:
    _, grid, sites, cov = real
    ex = solve_exact(cov, np.ones(len(grid)), sites.kind, {0: 1_000, 1: 0, 2: 0}, depth=1)
    assert (sites.kind[ex.chosen] == 0).sum() < 1_000  # saturated before the budget ran out
    full = fill_evenly(sites, ex.chosen, {0: 1_000, 1: 0, 2: 0})
    assert (sites.kind[full] == 0).sum() == 1_000 and set(ex.chosen) <= set(full)


def test_history_and_priority_weights(real: tuple, march: AgreementContext) -> None:
    _, grid, _, _ = real
    g = march.geometry
    assert g is not None
    w = demand_weights(grid, sector_priority={"donetsk": 3.0})
    d = grid.sector == grid.sector_names.index("donetsk")
    assert (w[d] == 3.0).all() and (w[~d] == 1.0).all()
    x, y = g.projection.forward(np.array([37.6]), np.array([48.6]))
    h = demand_weights(grid, events_xy=(x, y), history_weight=1.0)
    near = np.hypot(grid.x - x[0], grid.y - y[0]) <= 5_000.0
    assert (h[near] > 1.0).all() and (h[~near] == 1.0).all()
    with pytest.raises(ValidationError) as e:
        demand_weights(grid, sector_priority={"crimea": 2.0})
    assert e.value.field == "sector_priority"
