"""The pairs one shot across the line could make (core/fusion/link.compatible_shots), searched
from a few fixes only (``among``): the same pairs as the whole search holds with them."""

from __future__ import annotations

import numpy as np

from truceline.core.fusion.link import LinkParams, compatible_shots


def test_pairs_searched_from_some_fixes_are_the_whole_searchs_pairs_that_hold_them() -> None:
    rng = np.random.default_rng(11)
    n = 600
    x, y = rng.uniform(-40_000, 40_000, n), rng.uniform(-30_000, 30_000, n)
    cov = np.eye(2)[None] * rng.uniform(50, 900, n)[:, None, None] ** 2
    lo = np.sort(rng.uniform(0, 3_600, n))
    hi = lo + rng.uniform(0, 20, n)
    names = [*LinkParams().max_range_m, None]
    cls = np.asarray([names[k] for k in rng.integers(0, len(names), n)], object)
    side = np.where(x < 0, 0, 1)
    side[rng.random(n) < 0.1] = -1
    fires, hit = rng.random(n) < 0.7, rng.random(n) < 0.7
    a, b = compatible_shots(x, y, cov, lo, hi, cls, side, fires, hit)
    assert len(a) > 100  # the case has pairs to find
    for share in (0.0, 0.05, 0.3, 1.0):
        among = rng.random(n) < share
        sa, sb = compatible_shots(x, y, cov, lo, hi, cls, side, fires, hit, among=among)
        want = sorted((int(i), int(j)) for i, j in zip(a, b, strict=True)
                      if among[i] or among[j])
        got = sorted((int(i), int(j)) for i, j in zip(sa, sb, strict=True))
        assert got == want
