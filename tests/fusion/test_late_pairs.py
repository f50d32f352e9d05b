"""The pairings made again after the end joins, on the fits' covariances (:mod:`.late_pairs`).

Each test states the groups as the end joins leave them: the old groups (per report) with
their fits' covariances, the joined groups with the ellipses they state.
"""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.attribution import AttributionParams
from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT, ROLE_ORIGIN, FireBatch
from truceline.core.fusion.late_pairs import pair_again, pair_bursts
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.locate import M_ARRIVAL, M_BAND, M_BEARING, Fixes

LAUNCH = (LINE_LON - 0.040, 48.0)  # ~3 km west of the line
BURST = synth.offset(*LAUNCH, 90.0, 6_000.0)  # ~3 km east of it


def _arrivals(r: synth.Reports, event: int, bang: tuple[float, float], t0: float,
              name: str, n: int = 4) -> None:
    """``n`` sensors of one array 6 km from ``bang`` heard it ("undetermined")."""
    for k, s in enumerate(synth.array_around(synth.offset(*bang, 200.0, 6_000.0))[:n]):
        arr = t0 + synth.GEOD.inv(*bang, *s)[2] / synth.sound_speed(10.0)
        r.add(event, id=f"{name}{k}", source_id=f"{name}-{k}", source_type="sensor",
              time_s=arr, time_precision_s=1.0, fire_type="explosion",
              explosion_type="undetermined", observer_lon=s[0], observer_lat=s[1],
              arrival_s=arr, temperature_c=10.0)


def _burst_seen(r: synth.Reports, t: float) -> None:
    """Three monitors saw the mortar's burst at ``BURST`` (their reports to the second)."""
    for k, post in enumerate(synth.posts_around(BURST, 3, np.random.default_rng(5),
                                                dist=(4_000.0, 6_000.0))):
        d = synth.GEOD.inv(*post, *BURST)[2]
        synth.bearing_report(r, 1, post, BURST, t, 1.0, np.random.default_rng(k),
                             source=f"ob-{k}", band=(d - 1_000.0, d + 1_000.0),
                             error_deg=0.0, explosion_type="impact")


def _fixes(b: FireBatch, at: list[tuple[float, float]], sd_m: list[float], t0: list[float],
           method: list[int]) -> Fixes:
    xy = synth.true_xy(at)
    G = len(at)
    cov = np.array([np.eye(2) * s**2 for s in sd_m])
    return Fixes(xy[:, 0].copy(), xy[:, 1].copy(), np.array(t0, float), cov, np.ones(G, bool),
                 np.array(method, np.int64), np.full(G, 0.5), np.zeros(len(b.t), bool),
                 np.ones(G), np.full((G, 2, 2), np.nan))


def test_a_launch_whose_rival_the_joins_took_is_paired_with_its_burst():
    """An array's fix of a mortar's launch (west of the line) and another array's looser fix
    of the same launch are both launches the burst monitors saw 6 km east could have had: the
    pairing refuses both. The end joins make them one group; paired again, that group is the
    burst's launch, the west party's (on main no pairing follows the joins: two incidents,
    the launch untyped, no finding)."""
    r = synth.Reports()
    _arrivals(r, 0, LAUNCH, 100.0, "a")
    _arrivals(r, 0, LAUNCH, 100.0, "c", n=3)
    _burst_seen(r, 140.0)
    r.cols["weapon_class"] = [None] * 7 + ["mortar"] * 3
    b = r.batch()
    old = np.repeat([0, 1, 2], [4, 3, 3]).astype(np.int64)
    fit = _fixes(b, [LAUNCH, synth.offset(*LAUNCH, 0.0, 300.0), BURST], [60.0, 700.0, 150.0],
                 [100.0, 100.2, 140.0], [M_ARRIVAL, M_ARRIVAL, M_BEARING | M_BAND])
    geo, lp, ap = synth.geometry(), LinkParams(), AttributionParams()
    role = np.array([ROLE_ANY, ROLE_ANY, ROLE_IMPACT], np.int8)
    prob, partner = np.zeros((3, 2)), np.full(3, -1, np.int64)
    pair_bursts(b, old, fit, role, prob, partner, fit.t0, geo, lp, ap)
    assert (partner == -1).all() and (role[:2] == ROLE_ANY).all()  # two candidate launches
    # the end joins: the looser fix joined the sharper one, which keeps its (stated) ellipse
    labels = np.repeat([0, 1], [7, 3]).astype(np.int64)
    stated = _fixes(b, [LAUNCH, BURST], [90.0, 200.0], [100.0, 140.0],
                    [M_ARRIVAL, M_BEARING | M_BAND])
    role = np.array([ROLE_ANY, ROLE_IMPACT], np.int8)
    prob, partner = np.zeros((2, 2)), np.full(2, -1, np.int64)
    pair_again(b, old, fit.cov, fit.x, labels, stated, role, prob, partner, stated.t0, geo,
               lp, ap)
    assert role.tolist() == [ROLE_ORIGIN, ROLE_IMPACT] and partner.tolist() == [1, 0]
    assert prob[0, 0] >= 0.9  # the west party's launch, at the ellipse it states


def test_a_fix_at_its_own_burst_is_not_typed_that_burst_s_launch():
    """An array's fix of a burst east of the line and the monitors' typed impact of that same
    burst, left apart by the joins. On the fits' covariances both lie east (no shot across
    the line): no pair. The burst's stated ellipse, widened, lies on no side, where the fix
    east of the line would be its launch (session 39's re-pairing on the stated ellipses: six
    of its seven wrong findings): the pairing again reads the fits'."""
    r = synth.Reports()
    _arrivals(r, 1, BURST, 140.0, "a")
    _burst_seen(r, 140.0)
    r.cols["weapon_class"] = [None] * 4 + ["mortar"] * 3
    b = r.batch()
    old = np.repeat([0, 1], [4, 3]).astype(np.int64)
    at = [synth.offset(*BURST, 0.0, 200.0), BURST]
    fit = _fixes(b, at, [60.0, 300.0], [140.0, 140.0], [M_ARRIVAL, M_BEARING | M_BAND])
    stated = _fixes(b, at, [60.0, 3_000.0], [140.0, 140.0], [M_ARRIVAL, M_BEARING | M_BAND])
    geo, lp, ap = synth.geometry(), LinkParams(), AttributionParams()

    def again(cov: np.ndarray) -> list[int]:
        role = np.array([ROLE_ANY, ROLE_IMPACT], np.int8)
        partner = np.full(2, -1, np.int64)
        pair_again(b, old, cov, fit.x, old, stated, role, np.zeros((2, 2)), partner,
                   stated.t0, geo, lp, ap)
        return partner.tolist()

    assert again(fit.cov) == [-1, -1]
    assert again(stated.cov) == [1, 0]  # what the stated ellipses would have paired


def test_a_fix_that_alone_could_have_fired_either_of_two_bursts_is_a_launch():
    """An array's fix of a mortar's launch west of the line, and its burst east of it fixed
    twice by monitors (two typed impacts 1 km apart: one burst, or a second shell whose gun
    nobody located). The fix could have fired either, so no pair is unique; but it is each
    burst's only candidate launch and nothing could have fired at it: it is a launch whichever
    it fired, typed so and not linked (on main it stays untyped: no finding). A second
    untyped fix that could have fired one of them leaves both untyped."""
    r = synth.Reports()
    _arrivals(r, 0, LAUNCH, 100.0, "a")
    _burst_seen(r, 140.0)
    r.cols["weapon_class"] = [None] * 4 + ["mortar"] * 3
    b = r.batch()
    labels = np.repeat([0, 1, 2], [4, 2, 1]).astype(np.int64)
    geo, lp, ap = synth.geometry(), LinkParams(), AttributionParams()
    at = [LAUNCH, BURST, synth.offset(*BURST, 0.0, 1_000.0)]
    fit = _fixes(b, at, [60.0, 150.0, 150.0], [100.0, 140.0, 140.0],
                 [M_ARRIVAL, M_BEARING | M_BAND, M_BEARING | M_BAND])
    role = np.array([ROLE_ANY, ROLE_IMPACT, ROLE_IMPACT], np.int8)
    prob, partner = np.zeros((3, 2)), np.full(3, -1, np.int64)
    pair_bursts(b, labels, fit, role, prob, partner, fit.t0, geo, lp, ap)
    assert role.tolist() == [ROLE_ORIGIN, ROLE_IMPACT, ROLE_IMPACT]
    assert (partner == -1).all() and prob[0, 0] >= 0.9  # the west party's launch
    # a second array's fix 2 km north-west could have fired the northern burst as well
    labels = np.repeat([0, 1, 2, 3], [2, 2, 2, 1]).astype(np.int64)
    rival = synth.offset(*LAUNCH, 315.0, 2_000.0)
    fit = _fixes(b, [LAUNCH, rival, *at[1:]], [60.0, 60.0, 150.0, 150.0],
                 [100.0, 101.0, 140.0, 140.0],
                 [M_ARRIVAL, M_ARRIVAL, M_BEARING | M_BAND, M_BEARING | M_BAND])
    role = np.array([ROLE_ANY, ROLE_ANY, ROLE_IMPACT, ROLE_IMPACT], np.int8)
    prob, partner = np.zeros((4, 2)), np.full(4, -1, np.int64)
    pair_bursts(b, labels, fit, role, prob, partner, fit.t0, geo, lp, ap)
    assert (role[:2] == ROLE_ANY).all() and (partner == -1).all()
