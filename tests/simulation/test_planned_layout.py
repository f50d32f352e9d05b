"""The simulator runs a planned layout (``SimulationParams.layout_sites``, issue 16), and the
planner's measurement scores it: a layout that watches only the Kharkiv sector detects,
locates and attributes fire there and not where nobody stands."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.plan_measure import measurer
from truceline.core.coverage_grid import band_grid
from truceline.core.planning.force import Layout
from truceline.core.planning.placement import candidate_sites, coverable, solve_greedy
from truceline.errors import ValidationError
from truceline.services.context import context_for_doc
from truceline.services.planning import simulation_params_for
from truceline.simulation.scenario import Scenario, SimulationParams
from truceline.simulation.world import CAMERA, POST, SENSOR


@pytest.fixture(scope="module")
def kharkiv_only() -> tuple:
    """A greedy layout of 20 posts, 6 cameras and 6 arrays on the first 200 km (Kharkiv -
    Kupiansk) of the real line, as simulator parameters."""
    ag, doc = load_agreement_file("march2025")
    ctx = context_for_doc(doc)
    g = ctx.geometry
    assert g is not None
    when = np.datetime64(ag.entry_into_force_at.replace(tzinfo=None), "s")
    sites = candidate_sites(g, "front_2025", when, spacing_km=4.0)
    sites = sites.take(np.flatnonzero(sites.chainage_m < 190_000.0))
    grid = band_grid(g, "front_2025", 15_000.0, 2_000.0)
    pl = solve_greedy(coverable(g, grid, sites), np.ones(len(grid)), sites.kind,
                      {0: 20, 1: 6, 2: 6})
    chosen = sites.take(pl.chosen)
    params = simulation_params_for(chosen, Layout(20, 0, 6, 6), 1_264.7)
    return ag, doc, g, chosen, params


def test_the_simulator_stands_the_sources_where_planned(kharkiv_only: tuple) -> None:
    ag, _, g, chosen, params = kharkiv_only
    scn = Scenario(ag, g, days=1, seed=3, params=params)
    s = scn.sources
    assert (s.role == POST).sum() == (chosen.kind == 0).sum() == 20
    assert (s.role == CAMERA).sum() == (chosen.kind == 1).sum()
    arrays = int((chosen.kind == 2).sum())
    assert arrays - 1 <= (s.role == SENSOR).sum() / params.sensor_array_size <= arrays
    posts = np.flatnonzero(s.role == POST)
    assert np.allclose(np.sort(s.lon[posts]), np.sort(chosen.lon[chosen.kind == 0]), atol=1e-5)
    cams = np.flatnonzero(s.role == CAMERA)
    assert (s.post_of[cams] >= 0).all()  # a camera's restrictions follow a real row


def test_an_unknown_site_kind_is_refused(kharkiv_only: tuple) -> None:
    ag, _, g, _, params = kharkiv_only
    bad = replace(params, layout_sites=(("tower", 37.0, 49.0, 0.0),))
    with pytest.raises(ValidationError) as e:
        Scenario(ag, g, days=1, seed=3, params=bad)
    assert e.value.field == "layout_sites"


def test_default_layout_is_unchanged_without_sites() -> None:
    """No ``layout_sites``: the spaced layout, byte for byte the same as before the option."""
    ag, doc = load_agreement_file("march2025")
    g = context_for_doc(doc).geometry
    a = Scenario(ag, g, days=1, seed=5, params=SimulationParams())
    b = Scenario(ag, g, days=1, seed=5)
    assert a.sources.ids == b.sources.ids and a.day(0).lines == b.day(0).lines


def test_measured_shares_follow_the_layout(kharkiv_only: tuple, tmp_path: Path) -> None:
    ag, doc, _, _, params = kharkiv_only
    m = measurer("march2025", doc, ag.attribution_confidence, days=1, seed=2, scale=0.5)
    out = m(replace(params, patrols_per_100km_side=0.0))
    sec = out["sectors"]
    assert out["line"]["events"] == sum(v["events"] for v in sec.values())
    watched, far = sec["kharkiv"], sec["zaporizhzhia_dnipro"]
    assert watched["events"] >= 5 and far["events"] >= 5
    assert watched["detected_share"] > 0.8 > 0.2 > far["detected_share"]
    assert watched["attributed_share"] > far["attributed_share"]
    assert 0.0 <= out["line"]["located_share"] <= out["line"]["detected_share"]
    assert out["visibility"].startswith("range only")  # the simulator has no terrain
