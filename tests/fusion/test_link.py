"""Origin-impact linking: one shot, one incident, only when range, timing and sides allow."""

from __future__ import annotations

import numpy as np

from truceline.core.fusion.link import LinkParams, link_origin_impact


def _run(d_m: float, dt_s: float, cls: str | None, own: float = 0.0,
         params: LinkParams | None = None) -> int:
    cov = np.tile(np.eye(2) * 200.0**2, (1, 1, 1))
    one = np.array([cls], object)
    po, _ = link_origin_impact(
        np.zeros(1), np.zeros(1), cov, np.array([0.0]), np.array([10.0]), one,
        np.array([0]), np.array([d_m]), np.zeros(1), cov, np.array([dt_s]),
        np.array([dt_s + 10.0]), one, np.array([[own, 1 - own]]), params)
    return len(po)


def test_a_shell_in_range_and_in_time_is_linked():
    assert _run(10_000.0, 10_000.0 / 350.0, "tube_artillery") == 1


def test_out_of_range_too_early_too_late_or_own_side_is_not_linked():
    assert _run(12_000.0, 12_000.0 / 150.0, "mortar") == 0  # beyond a mortar's range
    assert _run(10_000.0, -60.0, "tube_artillery") == 0  # impact before the shot
    assert _run(10_000.0, 600.0, "tube_artillery") == 0  # far too slow
    assert _run(10_000.0, 10_000.0 / 350.0, "tube_artillery", own=0.99) == 0
    assert _run(10_000.0, 10_000.0 / 350.0, None) == 0  # no class, no range to test
    assert _run(10_000.0, 10_000.0 / 350.0, None, params=LinkParams(link_unknown_class=True)) == 1


def test_each_origin_takes_one_impact_the_best_timed():
    cov = np.tile(np.eye(2) * 200.0**2, (2, 1, 1))
    cls = np.array(["tube_artillery"] * 2, object)
    po, pi = link_origin_impact(
        np.array([0.0, 500.0]), np.zeros(2), cov, np.array([0.0, 200.0]),
        np.array([10.0, 210.0]), cls, np.array([0, 0]),
        np.array([10_000.0, 10_500.0]), np.zeros(2), cov, np.array([229.0, 29.0]),
        np.array([239.0, 39.0]), cls, np.zeros((2, 2)))
    assert sorted(zip(po.tolist(), pi.tolist(), strict=True)) == [(0, 1), (1, 0)]
