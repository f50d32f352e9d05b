"""An array's two arrivals against a fix nobody typed: one shot, in the order causality allows
(core/fusion/region_pairs.py)."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.heard import HeardParams
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import LocateParams
from truceline.core.fusion.pipeline import FusionParams, fuse_batch
from truceline.core.fusion.region import ArcParams, flight_likelihood
from truceline.core.fusion.region_pairs import order_odds

GUN = (LINE_LON - 0.054, 48.0)  # ~4 km west of the line
BURST = synth.offset(*GUN, 90.0, 11_000.0)  # ~7 km east of it
T_GUN = 100.0
T_BURST = T_GUN + 11_000.0 / 220.0  # a howitzer's shell (175-700 m/s)
PARAMS = FusionParams(arc=ArcParams(hearing_m=12_000.0))


def _heard(r: synth.Reports, event: int, sensors: list[tuple[float, float]],
           bang: tuple[float, float], t: float, prefix: str,
           rng: np.random.Generator | None = None, **kw: Any) -> None:
    """Each sensor's arrival time of a bang at ``t``, "undetermined" (an array cannot tell a
    launch from a burst); ``kw`` more fields of each report."""
    for k, s in enumerate(sensors):
        dist = synth.GEOD.inv(*bang, *s)[2]
        arr = t + dist / synth.sound_speed(10.0) + (0.0 if rng is None else rng.normal(0, 0.005))
        r.add(event, id=f"{prefix}{event}-{k}", source_id=f"{prefix}-{k}",
              source_type="sensor", time_s=arr, time_precision_s=1.0, fire_type="explosion",
              explosion_type="undetermined", observer_lon=s[0], observer_lat=s[1],
              arrival_s=arr, temperature_c=10.0, **kw)


def _square(centre: tuple[float, float]) -> list[tuple[float, float]]:
    return [synth.offset(*centre, az, 1_000.0) for az in (0.0, 90.0, 180.0, 270.0)]


def _pair(centre: tuple[float, float]) -> list[tuple[float, float]]:
    """Two sensors 1.5 km apart east-west: a bang due north or south is broadside."""
    return [synth.offset(*centre, 270.0, 750.0), synth.offset(*centre, 90.0, 750.0)]


def _fuse(r: synth.Reports) -> Any:
    return fuse_batch(r.batch(), synth.geometry(), PARAMS)


def test_a_fix_nobody_typed_is_the_launch_of_the_burst_an_array_heard_after_it():
    """An array of four west of the line fixes a gun (arrival times only: launch or burst?);
    two sensors of another array, 8 km north of the burst across the line, hear the shell
    burst one flight later. The burst's region (a north-south line through the pair, as far
    as it hears) lies east, and no cell of it could have fired at the gun: the gun fired,
    west's, by its own ellipse, and the pair's region is its impact. On main the gun stayed
    "origin or impact", unattributed. Heard 10 minutes later, or not at all, the arrivals
    fit no flight from the gun: nothing is typed."""
    rng = np.random.default_rng(5)

    def run(t_heard: float | None) -> Any:
        r = synth.Reports()
        _heard(r, 0, _square(synth.offset(*GUN, 270.0, 5_000.0)), GUN, T_GUN, "ac0", rng)
        if t_heard is not None:
            _heard(r, 1, _pair(synth.offset(*BURST, 0.0, 8_000.0)), BURST, t_heard, "ac1")
        return _fuse(r)

    res = run(T_BURST)
    g, h = int(res.labels[0]), int(res.labels[-1])
    assert int((res.labels == g).sum()) == 4 and int((res.labels == h).sum()) == 2
    assert res.fixes.located[g] and res.role[g] == 0  # the launch
    assert res.prob[g, list(res.parties).index("west")] >= 0.9
    assert res.role[h] == 1 and res.fixes.located[h]  # the burst, placed by its region
    assert res.partner[g] == h and res.partner[h] == g
    bx, by = synth.true_xy([BURST])[0]
    err = np.array([res.fixes.x[h] - bx, res.fixes.y[h] - by])
    assert err @ np.linalg.solve(res.fixes.cov[h], err) < 5.99
    for t_heard in (T_BURST + 600.0, None):
        res = run(t_heard)
        g = int(res.labels[0])
        assert res.fixes.located[g] and res.role[g] == 2 and not res.prob[g].any()


def test_two_arrivals_heard_before_a_fix_nobody_typed_are_its_launch():
    """The mirror: the pair, 8 km north of the gun on its side, hears the gun; the array of
    four across the line fixes the burst one flight later (arrival times only). The pair's
    region lies west and could have fired at the fix in time; no cell of it could be the
    fix's burst: the pair is the launch, west's by the region's mass, the fix its impact."""
    rng = np.random.default_rng(6)
    r = synth.Reports()
    _heard(r, 0, _pair(synth.offset(*GUN, 0.0, 8_000.0)), GUN, T_GUN, "ac1")
    _heard(r, 1, _square(synth.offset(*BURST, 90.0, 5_000.0)), BURST, T_BURST, "ac0", rng)
    res = _fuse(r)
    g, h = int(res.labels[0]), int(res.labels[-1])
    assert int((res.labels == g).sum()) == 2 and int((res.labels == h).sum()) == 4
    assert res.fixes.located[g] and res.role[g] == 0
    assert res.prob[g, list(res.parties).index("west")] >= 0.9
    assert res.role[h] == 1 and res.partner[g] == h and res.partner[h] == g
    x, y = synth.true_xy([GUN])[0]
    err = np.array([res.fixes.x[g] - x, res.fixes.y[g] - y])
    assert err @ np.linalg.solve(res.fixes.cov[g], err) < 5.99


def test_a_fix_of_a_class_with_no_flight_window_is_not_typed_by_the_others_flights():
    """As the first test, but the gun's reports name a class the link has no range and speeds
    for ("uav": a drone's strike is an impact; "tank": direct fire at 1.5 km/s): no flight
    of that class is known, so the burst heard one howitzer's flight later says nothing of
    which fired (as :func:`~truceline.core.fusion.region.arc_launches` treats such a class).
    Before, any known class's flight was tried, and the fix was typed west's launch."""
    for wc in ("uav", "tank"):
        r = synth.Reports()
        _heard(r, 0, _square(synth.offset(*GUN, 270.0, 5_000.0)), GUN, T_GUN, "ac0",
               np.random.default_rng(5), weapon_class=wc)
        _heard(r, 1, _pair(synth.offset(*BURST, 0.0, 8_000.0)), BURST, T_BURST, "ac1")
        res = _fuse(r)
        g, h = int(res.labels[0]), int(res.labels[-1])
        assert res.fixes.located[g] and res.role[g] == 2 and not res.prob[g].any(), wc
        assert res.partner[g] < 0 and not res.fixes.located[h], wc


def test_a_fix_two_regions_fit_is_typed_by_neither():
    """The first test's gun and burst, and a third pair 11 km north of a bang 4 km east of
    the line 15 s before the gun's (a shell at ~530 m/s from there could have burst at the
    gun's fix): that pair's region fits the fix in both orders, so it pairs with nothing,
    but it is a second region the fix could be one shot with, and in the order that makes
    the gun's fix east's burst. The fix has two candidate regions: nothing is typed. Before,
    only regions that fitted one fix in one order were counted, and the fix was typed
    west's launch on the first pair's word alone."""
    r = synth.Reports()
    _heard(r, 0, _square(synth.offset(*GUN, 270.0, 1_500.0)), GUN, T_GUN, "ac0",
           np.random.default_rng(5))
    _heard(r, 1, _pair(synth.offset(*BURST, 0.0, 8_000.0)), BURST, T_BURST, "ac1")
    east = synth.offset(*GUN, 90.0, 8_000.0)
    _heard(r, 2, _pair(synth.offset(*east, 0.0, 11_000.0)), east, T_GUN - 15.0, "ac2")
    res = _fuse(r)
    g = int(res.labels[0])
    assert [int((res.labels == k).sum()) for k in range(3)] == [4, 2, 2]
    assert res.fixes.located[g] and res.role[g] == 2 and not res.prob[g].any()
    assert (res.partner < 0).all() and not res.fixes.located[res.labels[-1]]


def test_both_orders_fit_on_a_long_arm_the_day_s_mix_of_classes_decides():
    """The first test's gun and burst with an array that hears to 30 km: the pair's arm then
    runs so far south that its far cells imply emissions early enough to have fired at the
    gun (~1,000 m/s: a rocket's speed), so both orders fit, and before nothing was typed.
    Weighed over the arm's cells by the mix of known classes (none named: each weighs
    alike), the shell's ~220 m/s flight from the gun to the near cells is far likelier
    than rockets from the far cells: the gun fired, west's, the pair its burst. (Without the
    mixture the pair's arrivals, joined to the gun's fix as its other sound, fit only after
    it, and :mod:`.heard_after` types the fix west's launch alone: turned off here, where the
    regions' order is what is tested; and so is the regrouping in the estimated wind, which
    parts the pair's arrivals from the gun's and links them as its burst without either.)"""
    def run(mix: bool, typed: bool = True, regroup: bool = False) -> Any:
        r = synth.Reports()
        _heard(r, 0, _square(synth.offset(*GUN, 270.0, 5_000.0)), GUN, T_GUN, "ac0",
               np.random.default_rng(5))
        _heard(r, 1, _pair(synth.offset(*BURST, 0.0, 8_000.0)), BURST, T_BURST, "ac1")
        return fuse_batch(r.batch(), synth.geometry(), FusionParams(
            arc=ArcParams(hearing_m=30_000.0, order_by_mixture=mix),
            heard=HeardParams(other_typed=typed), locate=LocateParams(regroup_wind=regroup)))

    res = run(False, typed=False)
    g = int(res.labels[0])
    assert res.role[g] == 2 and res.partner[g] < 0 and not res.prob[g].any()
    res = run(False, typed=False, regroup=True)
    g, h = int(res.labels[0]), int(res.labels[-1])
    assert g != h and res.role[g] == 0 and res.partner[g] == h
    assert res.prob[g, list(res.parties).index("west")] >= 0.9
    res = run(False)
    g = int(res.labels[0])
    assert res.role[g] == 0 and res.prob[g, list(res.parties).index("west")] >= 0.9
    res = run(True)
    g, h = int(res.labels[0]), int(res.labels[-1])
    assert res.role[g] == 0 and res.role[h] == 1
    assert res.prob[g, list(res.parties).index("west")] >= 0.9
    assert res.partner[g] == h and res.partner[h] == g


def test_order_odds_follow_the_flight_and_are_even_when_timing_says_nothing():
    """Cells 10 km from the fix, emitting one howitzer flight (10 km at 350 m/s) after its
    window: the fix fired, by far more than the margin; one flight before: the cells fired;
    at the fix's own time: neither order is favoured."""
    lp = LinkParams()
    wins = lp.windows()
    mix = np.full(len(wins), 1.0 / len(wins))
    x, y, wt = np.array([10_000.0, 0.0]), np.array([0.0, 10_000.0]), np.ones(2)
    tof = 10_000.0 / 350.0

    def odds(dt: float) -> float:
        return order_odds(x, y, wt, np.full(2, 100.0 + dt), 0.0, 0.0, 50.0, 99.0, 101.0,
                          wins, mix, lp, 400.0)

    assert odds(tof) > 2 * lp.mixture_margin
    assert odds(-tof) < -2 * lp.mixture_margin
    assert abs(odds(0.0)) < 1e-9


def test_a_cells_flight_is_likelier_at_the_class_s_middle_speed_than_at_its_window_s_edge():
    """What weighs a launch region's cells (``ArcParams.launch_by_flight``): a howitzer's
    burst 30 s after the cells' emissions is far likelier from a cell ~10.5 km away (350
    m/s) than from one 5.5 km away (183 m/s, inside the 175-700 m/s window that alone
    admitted both alike), and nothing from beyond the class's range."""
    lp = LinkParams()
    wins = [lp.windows()[list(lp.max_range_m).index("tube_artillery")]]
    like = flight_likelihood(np.array([10_500.0, 5_500.0, 40_000.0]), np.full(3, 30.0), 50.0,
                             129.0, 131.0, wins, np.ones(1), 400.0)
    assert like[0] > 5 * like[1] > 0.0 and like[2] == 0.0
