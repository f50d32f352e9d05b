"""A day's events are placed in report regions all at once (issue 21: a one-day report in
<= 3 s); the answers must be those of the per-point test, including "unassigned (precision:
...)" where a point's 95 % disk reaches past its region's border. On Minsk II's real oblasts."""

from __future__ import annotations

import numpy as np
import shapely

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.agreement_geometry import regions
from truceline.core.reporting import OUTSIDE, _region_of, _regions_of


def test_many_points_get_the_regions_one_point_gets() -> None:
    ag, _ = load_agreement_file("minsk2")
    regs = regions(ag)
    assert len(regs) >= 2
    minx, miny, maxx, maxy = shapely.union_all([g for _, g in regs]).bounds
    rng = np.random.default_rng(21)
    n = 3000
    lon = rng.uniform(minx - 0.5, maxx + 0.5, n)
    lat = rng.uniform(miny - 0.5, maxy + 0.5, n)
    # points on and just off the borders, where the 95 % disk decides
    border = shapely.boundary(regs[0][1])
    near = shapely.line_interpolate_point(border, rng.uniform(0, 1, 500), normalized=True)
    bx = shapely.get_x(near) + rng.normal(0, 0.02, 500)
    by = shapely.get_y(near) + rng.normal(0, 0.02, 500)
    lon, lat = np.concatenate([lon, bx]), np.concatenate([lat, by])
    choices = [None, float("nan"), 0.0, -5.0, 300.0, 2_000.0, 15_000.0, 80_000.0]
    sig = [choices[i % len(choices)] for i in range(len(lon))]
    lab = [None if i % 3 else "oblast, UCDP where_prec 4" for i in range(len(lon))]
    pos = list(zip(lon.tolist(), lat.tolist(), strict=True))
    many = _regions_of(regs, pos, sig, lab)
    one = [_region_of(regs, x, y, s, p) for (x, y), s, p in zip(pos, sig, lab, strict=True)]
    assert many == one
    # every kind of answer was met: a region, outside, unassigned
    assert OUTSIDE in one and any(a.startswith("unassigned") for a in one)
    assert any(a in dict(regs) for a in one)


def test_no_points() -> None:
    ag, _ = load_agreement_file("minsk2")
    assert _regions_of(regions(ag), [], [], []) == []
