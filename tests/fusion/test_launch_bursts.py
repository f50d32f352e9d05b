"""A launch monitors saw and the one untyped fix it could have hit: typed as its burst."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.launch_bursts import pair_burst_to_launch
from truceline.core.fusion.link import LinkParams
from truceline.core.fusion.pipeline import FusionParams, fuse_batch


def _pairs(rows: list[tuple[float, float, float, str]], cls: str | None = "mortar",
           near_m: float = 0.0) -> list[tuple[int, int]]:
    """``(x, window middle, half width, kind)`` fixes on a line across the front at x = 1 km
    (kind: "origin", typed launch; "fix", untyped; "burst", typed impact); the origins name
    ``cls``; a fix within ``near_m`` of the line is on no side (-1)."""
    x = np.array([r[0] for r in rows])
    t, half = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    kind = np.array([r[3] for r in rows])
    n = len(rows)
    side = np.where(np.abs(x - 1_000.0) < near_m, -1, np.where(x < 1_000.0, 0, 1))
    o, i = pair_burst_to_launch(
        x, np.zeros(n), np.tile(np.eye(2) * 100.0**2, (n, 1, 1)), t - half, t + half,
        np.array([cls if k == "origin" else None for k in kind], object), side,
        kind == "origin", kind == "fix", kind != "burst", kind != "origin")
    return sorted(zip(o.tolist(), i.tolist(), strict=True))


def test_a_launch_s_one_untyped_fix_in_range_and_time_is_its_burst():
    launch, fix = (0.0, 100.0, 60.0, "origin"), (6_000.0, 140.0, 2.0, "fix")
    assert _pairs([launch, fix]) == [(0, 1)]
    assert _pairs([launch, (12_000.0, 140.0, 2.0, "fix")]) == []  # past a mortar's range
    assert _pairs([launch, (12_000.0, 140.0, 2.0, "fix")], cls=None) == [(0, 1)]  # a gun's
    assert _pairs([launch, (6_000.0, 900.0, 2.0, "fix")]) == []  # minutes late
    assert _pairs([launch, (-1_000.0, 140.0, 2.0, "fix")]) == []  # the launch's own side


def test_a_rival_launch_or_burst_leaves_both_apart():
    launch, fix = (0.0, 100.0, 60.0, "origin"), (6_000.0, 140.0, 2.0, "fix")
    assert _pairs([launch, fix, (6_500.0, 150.0, 60.0, "burst")]) == []  # a second burst
    assert _pairs([launch, fix, (5_000.0, 150.0, 2.0, "fix")]) == []  # a second untyped fix
    assert _pairs([launch, fix, (-500.0, 110.0, 60.0, "origin")]) == []  # a second launch
    # the fix could have fired at a burst on the launch's side: it may be a launch itself
    assert _pairs([launch, fix, (-1_000.0, 170.0, 60.0, "burst")]) == []


def test_a_rival_near_the_line_leaves_an_untyped_fix_near_it_apart():
    """Two fixes near the line (on no side at 0.9) are not one side: the one 1.25 km west of
    the line could have fired at the untyped fix 1.2 km east of it as well as the launch, so
    the fix is no one's burst (session 37's review: they counted as one side, and the pair
    was made)."""
    launch, fix = (-1_000.0, 101.0, 1.0, "origin"), (2_200.0, 131.0, 1.0, "fix")
    assert _pairs([launch, fix], near_m=1_300.0) == [(0, 1)]
    assert _pairs([launch, fix, (-250.0, 95.5, 0.5, "fix")], near_m=1_300.0) == []


def test_an_array_fix_becomes_the_burst_of_the_launch_monitors_saw():
    """Monitors west of the line saw a mortar fired 2 km west of it; four sensors of one
    array fixed a bang 5 km east-north-east 40 s later but cannot say launch or burst. Fused,
    the bang is the launch's burst: one incident (on main: two, the bang untyped)."""
    rng = np.random.default_rng(7)
    launch = (LINE_LON - 0.027, 48.0)  # ~2 km west of the line
    burst = synth.offset(*launch, 80.0, 5_000.0)  # ~3 km east of it
    centre = synth.offset(*burst, 20.0, 5_000.0)
    sensors = synth.array_around(centre)
    r = synth.Reports()
    for k, post in enumerate(synth.posts_around(launch, 3, rng)):
        d = synth.GEOD.inv(*post, *launch)[2]
        synth.bearing_report(r, 0, post, launch, 100.0, 3.0, rng, source=f"op-{k}",
                             band=(d - 1_000.0, d + 1_000.0), explosion_type="outgoing")
    synth.undetermined_arrivals(r, 1, burst, sensors, 140.0, rng)
    r.cols["weapon_class"] = ["mortar"] * 3 + [None] * 4
    res = fuse_batch(r.batch(), synth.geometry())
    g, h = int(res.labels[0]), int(res.labels[-1])
    assert g != h and res.fixes.located[g] and res.fixes.located[h]
    assert int((res.labels == h).sum()) == 4
    assert res.role[g] == 0 and res.role[h] == 1
    assert res.partner[g] == h and res.partner[h] == g


def test_an_array_fix_becomes_the_launch_of_a_burst_monitors_saw_near_the_line():
    """Four sensors of one array fixed a bang 5 km west of the line ("undetermined": launch
    or burst); 33 s later monitors saw a mortar burst on it, their 3 deg bearings (exact)
    placing it on neither side at 0.9. Fused, the bang is the burst's launch, typed an origin
    on the west side (on main: untyped, no firing, no finding)."""
    rng = np.random.default_rng(11)
    launch = (LINE_LON - 0.067, 48.0)  # ~5 km west of the line
    burst = synth.offset(*launch, 90.0, 5_000.0)  # on the line
    centre = synth.offset(*launch, 250.0, 5_000.0)
    sensors = synth.array_around(centre)
    r = synth.Reports()
    synth.undetermined_arrivals(r, 0, launch, sensors, 100.0, rng)
    for k, post in enumerate(synth.posts_around(burst, 3, rng, dist=(4_000.0, 6_000.0))):
        d = synth.GEOD.inv(*post, *burst)[2]
        synth.bearing_report(r, 1, post, burst, 133.0, 3.0, rng, source=f"ob-{k}",
                             band=(d - 1_000.0, d + 1_000.0), error_deg=0.0,
                             explosion_type="impact")
    r.cols["weapon_class"] = [None] * 4 + ["mortar"] * 3
    res = fuse_batch(r.batch(), synth.geometry())
    g, h = int(res.labels[0]), int(res.labels[-1])
    assert g != h and res.fixes.located[g] and res.fixes.located[h]
    assert int((res.labels == g).sum()) == 4
    assert res.role[g] == 0 and res.role[h] == 1
    assert res.partner[g] == h and res.partner[h] == g
    assert res.prob[g][0] >= 0.9  # the west party's launch
    # the burst is on no side at 0.9: without the near burst the bang stays untyped
    old = fuse_batch(r.batch(), synth.geometry(),
                     FusionParams(link=LinkParams(launch_of_near_burst=False)))
    assert old.role[int(old.labels[0])] == 2 and old.partner[int(old.labels[0])] < 0
