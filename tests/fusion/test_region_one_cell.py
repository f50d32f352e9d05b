"""An array's two arrivals whose launch region is a single grid cell: that cell's covariance,
not NaN (the simulated month where `truceline check` stopped writing its incidents)."""

from __future__ import annotations

import json

import numpy as np

from tests.conftest import DATA
from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.fusion import fuse
from truceline.core.fusion.region import ArcParams
from truceline.core.observations import parse_observation
from truceline.core.record.canonical import canonical_bytes
from truceline.services.context import context_for_doc

#: The 9 fire reports of one simulated rocket salvo (tests/data/README.md): two arrivals at
#: one acoustic array (``s5-021-001258``, ``-1259``), and the burst its monitors and the
#: arrays across the line saw.
SLICE = DATA / "simulation" / "baseline_seed5_scale05_i-s5-021-001258.jsonl"


def test_a_launch_region_of_one_cell_states_that_cells_covariance() -> None:
    # The two arrivals place the launch on a hyperbola; of its cells only one lies in the
    # burst's range and flight time, so the region is that cell. Its weighted covariance
    # (``np.cov`` with ``aweights``, n - 1 corrected) divided by zero: NaN, stored as the
    # origin's covariance, and `truceline check` stopped at writing the incident ("NaN and
    # Infinity have no canonical form"). One cell's covariance is the cell's own: a uniform
    # 400 m square, 400^2 / 12 m^2 on each axis (times the projection's scale, ~1.0005).
    ag, doc = load_agreement_file("march2025")
    geom = context_for_doc(doc).geometry
    lines = SLICE.read_text(encoding="utf-8").splitlines()
    reports = [parse_observation(json.loads(s)) for s in lines]
    incidents = fuse(reports, geom, [p.id for p in ag.parties])
    [inc] = [i for i in incidents if "s5-021-001258" in i.evidence]
    assert inc.origin is not None and inc.origin.cov_m2 is not None
    assert inc.details["method"] == ["arrival_times"]
    var_e, cov_en, var_n = inc.origin.cov_m2
    cell = ArcParams().step_m ** 2 / 12
    np.testing.assert_allclose([var_e, var_n], cell, rtol=2e-3)
    assert abs(cov_en) < 1e-6 * cell
    # every incident of the slice has a finite, positive definite covariance and is stored
    for i in incidents:
        for where in (i.origin, i.impact, i.location):
            if where is not None and where.cov_m2 is not None:
                a, b, c = where.cov_m2
                assert np.isfinite([a, b, c]).all() and a > 0 and a * c - b * b > 0
        canonical_bytes(i.to_record())
