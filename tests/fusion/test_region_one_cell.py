"""An array's two arrivals whose launch region is a single grid cell: that cell's covariance,
not NaN (the simulated month where `truceline check` stopped writing its incidents)."""

from __future__ import annotations

import json

import numpy as np

from tests.conftest import DATA
from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.fusion import fuse
from truceline.core.fusion.region import ArcParams, as_fix
from truceline.core.observations import parse_observation
from truceline.core.record.canonical import canonical_bytes
from truceline.services.context import context_for_doc

#: The 9 fire reports of one simulated rocket salvo (tests/data/README.md): two arrivals at
#: one acoustic array (``s5-021-001258``, ``-1259``), and the burst its monitors and the
#: arrays across the line saw.
SLICE = DATA / "simulation" / "baseline_seed5_scale05_i-s5-021-001258.jsonl"


def test_a_launch_region_of_one_cell_states_that_cells_covariance() -> None:
    # The two arrivals place the launch on a hyperbola; of its cells only one lay in the
    # burst's range and flight time, so the region was that cell. Its weighted covariance
    # (``np.cov`` with ``aweights``, n - 1 corrected) divided by zero: NaN, stored as the
    # origin's covariance, and `truceline check` stopped at writing the incident ("NaN and
    # Infinity have no canonical form"). One cell's covariance is the cell's own: a uniform
    # 400 m square, 400^2 / 12 m^2 on each axis. Since the region reads the group's pooled
    # air and wind (session 25) this slice's region holds several cells (95 % semi-major
    # ~0.8 km), so the one cell is stated directly, and the slice keeps the check that
    # every incident's covariance is finite and stored.
    step = ArcParams().step_m
    x, y, cov = as_fix(np.array([1_234.0]), np.array([-5_678.0]), np.array([0.3]), step)
    assert (x, y) == (1_234.0, -5_678.0)
    np.testing.assert_allclose(cov, np.eye(2) * step**2 / 12, rtol=1e-12)
    ag, doc = load_agreement_file("march2025")
    geom = context_for_doc(doc).geometry
    lines = SLICE.read_text(encoding="utf-8").splitlines()
    reports = [parse_observation(json.loads(s)) for s in lines]
    incidents = fuse(reports, geom, [p.id for p in ag.parties])
    [inc] = [i for i in incidents if "s5-021-001258" in i.evidence]
    assert inc.origin is not None and inc.origin.cov_m2 is not None
    assert inc.details["method"] == ["arrival_times"]
    # every incident of the slice has a finite, positive definite covariance and is stored
    for i in incidents:
        for where in (i.origin, i.impact, i.location):
            if where is not None and where.cov_m2 is not None:
                a, b, c = where.cov_m2
                assert np.isfinite([a, b, c]).all() and a > 0 and a * c - b * b > 0
        canonical_bytes(i.to_record())
