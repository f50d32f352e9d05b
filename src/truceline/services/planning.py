"""Plan a monitoring force: what 10,000, 30,000 or 120,000 people staff and buy along a line.

For each personnel figure: the layout the force model says it can staff
(:mod:`truceline.core.planning.force`), where its posts, cameras and arrays go
(:mod:`truceline.core.planning.placement`, exact MILP and greedy side by side), the share of
the line the placed sites cover by the coverage model the provision checks use
(:func:`truceline.core.coverage.build_coverage`), and, when a ``measure`` function is given,
what a simulated run with that layout measured (detected, located within 1 km, attributed
at the agreement's confidence). The measuring itself (a store, ingest, checks) belongs to
the caller: this module only needs the function.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import numpy as np

from truceline.core.coverage import build_coverage
from truceline.core.coverage_footprints import CoverageParams
from truceline.core.coverage_grid import band_grid
from truceline.core.coverage_time import Intervals, to_ns
from truceline.core.planning.force import ForceModel, Layout
from truceline.core.planning.placement import (
    SITE_KINDS,
    Sites,
    candidate_sites,
    coverable,
    demand_weights,
    fill_evenly,
    solve_exact,
    solve_greedy,
)
from truceline.core.terrain import Dem
from truceline.errors import ValidationError
from truceline.services.context import AgreementContext
from truceline.simulation.sources import SimulationParams

__all__ = ["PlanOptions", "plan", "simulation_params_for"]

#: A measurement: simulation parameters (with the layout) -> :func:`score_layout`'s dict.
Measure = Callable[[SimulationParams], dict[str, Any]]


@dataclass(frozen=True)
class PlanOptions:
    """How the plan is made (every field is listed in the plan's output)."""

    mission: str = "unarmed"
    spacing_km: float = 4.0
    cell_km: float = 2.0
    kind: str = "fire"
    depth: int = 3
    time_limit_s: float = 60.0
    sector_priority: dict[str, float] = field(default_factory=dict)
    events_lonlat: tuple[Any, Any] | None = None
    history_weight: float = 0.0
    weights_source: str = "uniform"
    no_go: Any = None
    target_attributed: float = 0.9
    search_steps: int = 3
    terrain: Dem | None = None
    """A digital elevation model: what is seen needs a terrain line of sight (None: range
    only)."""


def visibility(terrain: Dem | None) -> str:
    """What the plan's coverage assumed about line of sight, stated in its output."""
    if terrain is None:
        return "visibility: range only (no elevation model given)"
    return (f"visibility: terrain from {terrain.source or 'the given elevation model'} (seen: "
            "cameras, and posts' sightings; heard: posts' fire and acoustic arrays, range only)")


def _layout_sites(sites: Sites) -> tuple[tuple[str, float, float, float], ...]:
    names = {i: k[:-1] for i, k in enumerate(SITE_KINDS)}  # posts -> post ...
    return tuple((names[int(k)], round(float(lo), 6), round(float(la), 6), round(float(f), 2))
                 for k, lo, la, f in zip(sites.kind, sites.lon, sites.lat, sites.facing_deg,
                                         strict=True))


def simulation_params_for(sites: Sites, layout: Layout, line_km: float,
                          base: SimulationParams | None = None) -> SimulationParams:
    """Simulator parameters that run the planned layout: its sites, and its daily patrols
    spread over both sides (``patrols_per_100km_side``)."""
    p = base or SimulationParams()
    per_100 = layout.patrols / 2.0 / max(line_km / 100.0, 1e-9)
    return replace(p, layout_sites=_layout_sites(sites), patrols_per_100km_side=per_100)


def plan(ctx: AgreementContext, force: ForceModel, personnel: list[int], opts: PlanOptions,
         *, measure: Measure | None = None) -> dict[str, Any]:
    """The plan as a JSON-ready dict (see ``docs/planning.md``)."""
    ag, geom = ctx.agreement, ctx.geometry
    if geom is None or ag.geography is None:
        raise ValidationError("the agreement has no geography to plan along", field="agreement")
    if not personnel:
        raise ValidationError("give at least one figure", field="personnel")
    force.mission(opts.mission)
    line = ag.geography.line_of_contact
    when = np.datetime64(ag.entry_into_force_at.replace(tzinfo=None), "s")
    params = CoverageParams()
    grid = band_grid(geom, line, params.band_km * 1e3, opts.cell_km * 1e3)
    sites = candidate_sites(geom, line, when, spacing_km=opts.spacing_km, no_go=opts.no_go)
    cov = coverable(geom, grid, sites, kind=opts.kind, params=params, terrain=opts.terrain)
    ev = None
    if opts.events_lonlat is not None:
        ev = geom.projection.forward(np.asarray(opts.events_lonlat[0], float),
                                     np.asarray(opts.events_lonlat[1], float))
    w = demand_weights(grid, sector_priority=opts.sector_priority or None, events_xy=ev,
                       history_weight=opts.history_weight)
    line_km = grid.line_length_m / 1e3
    n_cand = {k: int((sites.kind == i).sum()) for i, k in enumerate(SITE_KINDS)}

    def one(p: int) -> dict[str, Any]:
        lay = force.layout_for(p, opts.mission)
        budgets = {i: min(getattr(lay, k), n_cand[k]) for i, k in enumerate(SITE_KINDS)}
        ex = solve_exact(cov, w, sites.kind, budgets, depth=opts.depth,
                         time_limit_s=opts.time_limit_s)
        gr = solve_greedy(cov, w, sites.kind, budgets, depth=opts.depth)
        optimal_n = len(ex.chosen)
        chosen = sites.take(fill_evenly(sites, ex.chosen, budgets))
        placed = {k: int((chosen.kind == i).sum()) for i, k in enumerate(SITE_KINDS)}
        used = Layout(placed["posts"], lay.patrols, placed["cameras"], placed["arrays"])
        start = ag.entry_into_force_at
        t0 = to_ns(start)
        c = build_coverage(geom, chosen.assets(), Intervals.of(
            np.arange(len(chosen)), np.full(len(chosen), t0),
            np.full(len(chosen), t0 + 86_400 * 10**9)), line=line, cell_m=opts.cell_km * 1e3,
            params=params, terrain=opts.terrain)
        summ = c.summary(start, start + timedelta(days=1), frozenset({opts.kind}))
        total_w = float(w.sum())
        row: dict[str, Any] = {
            "personnel": p,
            "layout": lay.as_dict(),
            "placed": {**placed, "patrols": lay.patrols},
            "unplaced": {k: getattr(lay, k) - placed[k] for k in SITE_KINDS},
            "personnel_for_placed": force.personnel_for(used, opts.mission),
            "breakdown": force.breakdown(lay, opts.mission),
            "patrol_km_per_day": force.patrol_km_per_day_total(lay),
            "placement": {
                "sites_at_optimum": optimal_n,
                "sites_filled_evenly": len(chosen) - optimal_n,
                "exact": {"value": round(ex.value, 3), "bound": round(ex.bound, 3),
                          "optimal": ex.optimal, "gap": round(ex.gap, 6),
                          "seconds": round(ex.seconds, 2),
                          "weighted_share": round(ex.value / total_w, 4) if total_w else None},
                "greedy": {"value": round(gr.value, 3), "seconds": round(gr.seconds, 3),
                           "weighted_share": round(gr.value / total_w, 4) if total_w else None},
                "greedy_over_exact": round(gr.value / ex.value, 4) if ex.value else None,
            },
            "covered": {"kind": opts.kind, "line_share": summ["line_share"],
                        "parties": summ["parties"], "sectors": summ["sectors"]},
            "sites": [{"kind": k, "lon": lo, "lat": la, "facing_deg": f if k == "camera" else None}
                      for k, lo, la, f in _layout_sites(chosen)],
            "measured": None,
        }
        if measure is not None:
            row["measured"] = measure(simulation_params_for(chosen, lay, line_km))
        return row

    rows = [one(p) for p in sorted(set(personnel))]
    out: dict[str, Any] = {
        "agreement": ag.id, "version": ag.version, "line": line, "line_km": round(line_km, 1),
        "mission": opts.mission,
        "options": {"spacing_km": opts.spacing_km, "cell_km": opts.cell_km, "kind": opts.kind,
                    "depth": opts.depth,
                    "time_limit_s": opts.time_limit_s, "weights": opts.weights_source,
                    "history_weight": opts.history_weight,
                    "sector_priority": opts.sector_priority, "no_go": opts.no_go is not None},
        "coverage_model": {"band_km": params.band_km, "cell_km": opts.cell_km,
                           "terrain": visibility(opts.terrain),
                           "patrols": "not in the static coverage (their stops change daily); "
                                      "they are in the measured figures"},
        "candidates": n_cand,
        "assumptions": force.assumptions(),
        "people_per_unit": {k: round(v, 2)
                            for k, v in force.people_per_unit(opts.mission).items()},
        "layouts": rows,
        "smallest_for_target": None,
    }
    if measure is not None:
        out["smallest_for_target"] = _search(rows, one, opts)
    return out


def _attributed(row: dict[str, Any]) -> float:
    m = row.get("measured") or {}
    return float((m.get("line") or {}).get("attributed_share") or 0.0)


def _search(rows: list[dict[str, Any]], one: Callable[[int], dict[str, Any]],
            opts: PlanOptions) -> dict[str, Any]:
    """The smallest force whose measured attributed share reaches the target: bisection
    between the largest figure below it and the smallest at or above it (assumes more people
    never attribute less; ``search_steps`` more measurements)."""
    target = opts.target_attributed
    ok = [r for r in rows if _attributed(r) >= target]
    best = max(rows, key=_attributed)
    if not ok:
        return {"target": target, "reached": False, "personnel": None,
                "best_measured": {"personnel": best["personnel"],
                                  "attributed_share": _attributed(best)},
                "note": f"no figure up to {max(r['personnel'] for r in rows):,} reached "
                        f"{target:.0%} attributed"}
    hi = min(r["personnel"] for r in ok)
    below = [r["personnel"] for r in rows if r["personnel"] < hi]
    lo = max(below) if below else 0
    tried = []
    for _ in range(opts.search_steps):
        if hi - lo <= max(100, hi // 50):
            break
        mid = int(math.ceil((lo + hi) / 2 / 100.0) * 100)
        r = one(mid)
        tried.append({"personnel": mid, "attributed_share": _attributed(r)})
        if _attributed(r) >= target:
            hi = mid
        else:
            lo = mid
    return {"target": target, "reached": True, "personnel": hi, "below": lo, "tried": tried}
