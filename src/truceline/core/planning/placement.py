"""Where posts, cameras and acoustic arrays go along the line: a maximum-coverage placement.

Candidate sites stand every ``spacing_km`` along the line at given depths behind it, on each
party's side and inside that party's area of control (:func:`candidate_sites`); sites inside
a no-go area (mines, a denied town, a restriction) are dropped. Demand points are the cells
of the coverage grid (:func:`truceline.core.coverage_grid.band_grid`), weighted uniformly, by
sector priority or by where fire happened historically (:func:`demand_weights`). A site
covers a cell where the coverage model's footprint says so
(:func:`truceline.core.coverage_footprints.footprints`, the function the provision checks'
coverage uses, for one kind of event: by default ``fire``, the mortar column).

The model: choose at most ``budget[k]`` sites of each kind ``k`` to maximise the weight of
the covered cells, a cell counting once per site that covers it up to ``depth`` times (1:
plain coverage; 3: what locating a fire by bearings needs, so that a large force does not
stop placing once every cell is seen once). :func:`solve_exact` solves it as a MILP with
HiGHS (``scipy.optimize.milp``: binary ``x`` per site, continuous ``0 <= y <= depth`` per
coverable cell, ``y_j <= sum of x_i covering j``); :func:`solve_greedy` is the classic
greedy (within ``1 - 1/e`` of the optimum for one budget and depth 1), reported next to it.
Pure: arrays in, arrays out.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy import sparse

from truceline.core.classify import CompiledGeometry, classify
from truceline.core.coverage import COVERAGE_KINDS
from truceline.core.coverage_footprints import (
    ARRAY,
    CAMERA,
    POST,
    Assets,
    CoverageParams,
    footprints,
)
from truceline.core.coverage_grid import Grid
from truceline.core.geo import GEOD
from truceline.core.terrain import Dem
from truceline.errors import ValidationError

__all__ = ["SITE_KINDS", "Coverable", "Placement", "Sites", "brute_force", "candidate_sites",
           "coverable", "demand_weights", "fill_evenly", "solve_exact", "solve_greedy"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

#: Kinds of fixed site and their asset type in the coverage model.
SITE_KINDS: dict[str, int] = {"posts": POST, "cameras": CAMERA, "arrays": ARRAY}


@dataclass(frozen=True)
class Sites:
    """Candidate sites, one row each (kind: index into ``SITE_KINDS``' order)."""

    kind: NDArray[np.int8]
    lon: F64
    lat: F64
    facing_deg: F64
    party: NDArray[np.int16]
    chainage_m: F64

    def __len__(self) -> int:
        return len(self.lon)

    def take(self, ix: Any) -> Sites:
        ix = np.asarray(ix, np.int64)
        return Sites(self.kind[ix], self.lon[ix], self.lat[ix], self.facing_deg[ix],
                     self.party[ix], self.chainage_m[ix])

    def assets(self, prefix: str = "site") -> Assets:
        kinds = list(SITE_KINDS)
        at = np.array([SITE_KINDS[kinds[k]] for k in self.kind], np.int8)
        facing = np.where(at == CAMERA, self.facing_deg, np.nan)
        return Assets.of([f"{prefix}-{i:05d}" for i in range(len(self))], at, self.lon,
                         self.lat, facing_deg=facing)


def candidate_sites(geom: CompiledGeometry, line: str, when: np.datetime64, *,
                    spacing_km: float = 4.0,
                    depths_km: dict[str, tuple[float, ...]] | None = None,
                    no_go: Any = None) -> Sites:
    """Sites every ``spacing_km`` along ``line`` at each depth (km behind the line) per kind,
    on both sides, kept where the point lies in the area of interest, in the area of control
    of the party holding that side at ``when``, at least half its depth from the line (an
    offset across a bend can land nearer), and outside ``no_go`` (a shapely geometry in
    lon/lat). Cameras face the nearest point of the line."""
    if not spacing_km > 0:
        raise ValidationError("must be positive", field="spacing_km")
    depths = depths_km or {"posts": (2.0, 5.0), "cameras": (1.5,), "arrays": (6.0,)}
    bad = sorted(set(depths) - set(SITE_KINDS))
    if bad:
        raise ValidationError(f"unknown kind {bad[0]!r}", field="depths_km")
    if line not in geom.lines:
        raise ValidationError(f"no line {line!r}", field="line")
    cl = geom.lines[line]
    xs, ys, px, py, ch, kd, dp = [], [], [], [], [], [], []
    base = 0.0
    for part in cl.parts_lonlat:
        x, y = geom.projection.forward(part[:, 0], part[:, 1])
        ls = shapely.LineString(np.column_stack([x, y]))
        s = np.arange(spacing_km * 500.0, ls.length, spacing_km * 1000.0)
        p = shapely.line_interpolate_point(ls, s)
        a = shapely.line_interpolate_point(ls, np.maximum(s - 2500.0, 0.0))
        b = shapely.line_interpolate_point(ls, np.minimum(s + 2500.0, ls.length))
        tx = shapely.get_x(b) - shapely.get_x(a)
        ty = shapely.get_y(b) - shapely.get_y(a)
        n = np.maximum(np.hypot(tx, ty), 1e-9)
        nx, ny = -ty / n, tx / n  # left normal
        for k, kind in enumerate(SITE_KINDS):
            for d in depths.get(kind, ()):
                for sign in (1.0, -1.0):
                    xs.append(shapely.get_x(p) + sign * nx * d * 1e3)
                    ys.append(shapely.get_y(p) + sign * ny * d * 1e3)
                    px.append(shapely.get_x(p))
                    py.append(shapely.get_y(p))
                    ch.append(base + s)
                    kd.append(np.full(len(s), k, np.int8))
                    dp.append(np.full(len(s), d * 1e3))
        base += ls.length
    if not xs:
        return Sites(np.zeros(0, np.int8), *(np.zeros(0),) * 3, np.zeros(0, np.int16),
                     np.zeros(0))
    x, y = np.concatenate(xs), np.concatenate(ys)
    lon, lat = geom.projection.inverse(x, y)
    llon, llat = geom.projection.inverse(np.concatenate(px), np.concatenate(py))
    c = classify(geom, lon, lat, np.full(len(lon), when, "datetime64[s]"))
    party = c.control.astype(np.int16)
    keep = c.in_aoi & (party >= 0) & (party == c.side_party[line])
    keep &= c.dist_m[line] >= 0.5 * np.concatenate(dp)  # not pushed onto a bend of the line
    if no_go is not None:
        keep &= ~shapely.contains_xy(no_go, lon, lat)
    facing = np.asarray(GEOD.inv(lon, lat, llon, llat)[0], float) % 360.0
    return Sites(np.concatenate(kd)[keep], lon[keep], lat[keep], facing[keep], party[keep],
                 np.concatenate(ch)[keep])


def demand_weights(grid: Grid, *, sector_priority: dict[str, float] | None = None,
                   events_xy: tuple[F64, F64] | None = None, history_weight: float = 0.0,
                   kernel_km: float = 5.0) -> F64:
    """One weight per cell: 1 (uniform), times its sector's priority (sectors not named: 1),
    plus ``history_weight`` times the number of past events within ``kernel_km`` of the cell
    divided by its mean over the cells (so ``history_weight`` is the historical share's scale:
    0 uniform, 1 as much weight from history as from the uniform floor)."""
    w = np.ones(len(grid))
    if sector_priority:
        known = set(grid.sector_names)
        for name, pr in sector_priority.items():
            if name not in known:
                raise ValidationError(f"unknown sector {name!r}; the line has "
                                      f"{', '.join(grid.sector_names)}", field="sector_priority")
            if not (math.isfinite(pr) and pr >= 0):
                raise ValidationError("must be a number >= 0", field=f"sector_priority.{name}")
            w[grid.sector == grid.sector_names.index(name)] *= pr
    if events_xy is not None and history_weight > 0 and len(events_xy[0]):
        _, cell = grid.within(events_xy[0], events_xy[1], kernel_km * 1e3)
        n = np.bincount(cell, minlength=len(grid)).astype(float)
        if n.mean() > 0:
            w = w + history_weight * n / n.mean()
    return w


@dataclass(frozen=True)
class Coverable:
    """The (site, cell) pairs where a site covers a cell for the planned kind of event, with
    the cells renumbered to those some site covers (``cells``: their grid rows)."""

    site: I64
    cell: I64
    cells: I64
    n_sites: int

    def matrix(self) -> sparse.csr_array:
        """Sites x coverable cells, 1 where the site covers the cell."""
        return sparse.csr_array((np.ones(len(self.site)), (self.site, self.cell)),
                                shape=(self.n_sites, len(self.cells)))


def coverable(geom: CompiledGeometry, grid: Grid, sites: Sites, *, kind: str = "fire",
              params: CoverageParams | None = None, terrain: Dem | None = None) -> Coverable:
    """Which cells each site covers for ``kind`` (a coverage kind), from the coverage model's
    own footprints (with ``terrain``: hidden cells are not covered)."""
    if kind not in COVERAGE_KINDS:
        raise ValidationError(f"unknown kind {kind!r}; known: {', '.join(COVERAGE_KINDS)}",
                              field="kind")
    fp = footprints(geom, grid, sites.assets(), params or CoverageParams(), terrain)
    ok = (fp.bits & (1 << COVERAGE_KINDS[kind])) != 0
    cells, cell = np.unique(fp.cell[ok], return_inverse=True)
    return Coverable(fp.asset[ok], cell.astype(np.int64), cells.astype(np.int64), len(sites))


@dataclass(frozen=True)
class Placement:
    """A chosen set of sites and what it covers (``value``: the covered weight; ``bound``:
    the solver's proven upper bound, equal to ``value`` when solved to optimality)."""

    method: str
    chosen: I64
    value: float
    bound: float
    optimal: bool
    seconds: float

    @property
    def gap(self) -> float:
        return 0.0 if self.bound <= 0 else max(0.0, (self.bound - self.value) / self.bound)


def _check(cov: Coverable, weights: F64, site_kind: Any, budgets: dict[int, int]
           ) -> tuple[F64, NDArray[np.int8]]:
    w = np.asarray(weights, float)[cov.cells]
    k = np.asarray(site_kind, np.int8)
    if len(k) != cov.n_sites:
        raise ValidationError("one kind per site", field="site_kind")
    for kk, b in budgets.items():
        if b < 0:
            raise ValidationError("must be >= 0", field=f"budget[{kk}]")
    return w, k


def covered_value(cov: Coverable, weights: F64, chosen: Any, depth: int = 1) -> float:
    """The weight of the cells the chosen sites cover, each counted once per covering site
    up to ``depth`` times, over ``depth`` (1: plain coverage)."""
    w = np.asarray(weights, float)[cov.cells]
    sel = np.isin(cov.site, np.asarray(chosen, np.int64))
    n = np.bincount(cov.cell[sel], minlength=len(cov.cells))
    return float((w * np.minimum(n, depth)).sum() / depth)


def solve_exact(cov: Coverable, weights: F64, site_kind: Any, budgets: dict[int, int], *,
                depth: int = 1, time_limit_s: float = 60.0,
                mip_rel_gap: float = 0.0) -> Placement:
    """The maximum-coverage MILP solved by HiGHS; ``optimal`` is False when the time limit
    stopped it first (then ``bound`` is HiGHS's dual bound and ``value`` its incumbent)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    t0 = time.perf_counter()
    w, k = _check(cov, weights, site_kind, budgets)
    ns, nc = cov.n_sites, len(cov.cells)
    if nc == 0 or ns == 0:
        return Placement("milp", np.zeros(0, np.int64), 0.0, 0.0, True,
                         time.perf_counter() - t0)
    # y_j - sum_i a_ij x_i <= 0, one row per coverable cell
    a = cov.matrix().T.tocsr()
    rows = sparse.hstack([-a, sparse.identity(nc, format="csr")], format="csr")
    cons = [LinearConstraint(rows, -np.inf, 0.0)]
    kinds = sorted(budgets)
    if kinds:
        sel = np.isin(k, kinds)
        kr = sparse.csr_array((np.ones(int(sel.sum())),
                               (np.searchsorted(kinds, k[sel]), np.flatnonzero(sel))),
                              shape=(len(kinds), ns + nc))
        cons.append(LinearConstraint(kr, -np.inf, np.array([budgets[x] for x in kinds], float)))
    ub = np.concatenate([np.where(np.isin(k, kinds), 1.0, 0.0), np.full(nc, float(depth))])
    c = np.concatenate([np.zeros(ns), -w / depth])
    integrality = np.concatenate([np.ones(ns), np.zeros(nc)])
    res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(0.0, ub),
               options={"time_limit": time_limit_s, "mip_rel_gap": mip_rel_gap,
                        "disp": False})
    if res.x is None:
        raise ValidationError(f"the solver found no placement: {res.message}", field="placement")
    chosen = np.flatnonzero(res.x[:ns] > 0.5).astype(np.int64)
    value = covered_value(cov, weights, chosen, depth)
    bound = -float(getattr(res, "mip_dual_bound", None) or res.fun)
    return Placement("milp", chosen, value, max(bound, value), res.status == 0,
                     time.perf_counter() - t0)


def solve_greedy(cov: Coverable, weights: F64, site_kind: Any, budgets: dict[int, int], *,
                 depth: int = 1) -> Placement:
    """Repeatedly take the site (of a kind with budget left) that adds the most uncovered
    weight (lazy evaluation: a site's gain only shrinks)."""
    t0 = time.perf_counter()
    w, k = _check(cov, weights, site_kind, budgets)
    m = cov.matrix().tocsr()
    left = {kk: int(b) for kk, b in budgets.items()}
    count = np.zeros(len(cov.cells), np.int64)
    heap = [(-float(w[m.indices[m.indptr[i]:m.indptr[i + 1]]].sum()), i)
            for i in range(cov.n_sites) if left.get(int(k[i]), 0) > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    while heap and any(v > 0 for v in left.values()):
        neg, i = heapq.heappop(heap)
        if left.get(int(k[i]), 0) <= 0:
            continue
        cells = m.indices[m.indptr[i]:m.indptr[i + 1]]
        gain = float(w[cells][count[cells] < depth].sum())
        if gain < -neg - 1e-12:  # stale: push back with its true gain
            heapq.heappush(heap, (-gain, i))
            continue
        if gain <= 0:
            break
        chosen.append(i)
        count[cells] += 1
        left[int(k[i])] -= 1
    ch = np.array(sorted(chosen), np.int64)
    v = covered_value(cov, weights, ch, depth)
    return Placement("greedy", ch, v, float("nan"), False, time.perf_counter() - t0)


def brute_force(cov: Coverable, weights: F64, site_kind: Any, budgets: dict[int, int], *,
                depth: int = 1) -> Placement:
    """Every feasible choice of sites (small instances only: the reference the tests hold
    the MILP to). Taking more sites never lowers coverage, so only full budgets are tried."""
    t0 = time.perf_counter()
    _, k = _check(cov, weights, site_kind, budgets)
    groups = []
    for kk in sorted(budgets):
        ix = np.flatnonzero(k == kk).tolist()
        groups.append(list(itertools.combinations(ix, min(budgets[kk], len(ix)))))
    best, best_set = -1.0, np.zeros(0, np.int64)
    for combo in itertools.product(*groups):
        ch = np.array(sorted(itertools.chain.from_iterable(combo)), np.int64)
        v = covered_value(cov, weights, ch, depth)
        if v > best + 1e-12:
            best, best_set = v, ch
    return Placement("brute_force", best_set, max(best, 0.0), max(best, 0.0), True,
                     time.perf_counter() - t0)


def fill_evenly(sites: Sites, chosen: Any, budgets: dict[int, int]) -> I64:
    """The chosen sites plus, for each kind with budget left (the objective saturated before
    the budget ran out), that many more of its unchosen sites spread evenly along the line:
    staff the planner has should stand somewhere, and more observers still help locate fire."""
    ch = np.asarray(chosen, np.int64)
    extra = [ch]
    for kk, b in budgets.items():
        have = int((sites.kind[ch] == kk).sum())
        free = np.setdiff1d(np.flatnonzero(sites.kind == kk), ch)
        n = min(b - have, len(free))
        if n > 0:
            free = free[np.argsort(sites.chainage_m[free], kind="stable")]
            extra.append(free[np.unique(np.floor(np.arange(n) * len(free) / n).astype(
                np.int64))])
    return np.unique(np.concatenate(extra))
