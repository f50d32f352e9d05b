"""An end join of an array's arrivals that could also be another part's other sound stands
where that part's other sound may be the join's own part (:func:`.heard_other.other_sound_apart`,
``HeardParams.apart_mate``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from tests.fusion.test_region import _banded, _two_arrivals
from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT
from truceline.core.fusion.group_join import emission_windows
from truceline.core.fusion.heard_other import other_sound_apart
from truceline.core.fusion.pipeline import FusionParams, FusionResult, fuse_batch

GUN = (LINE_LON - 0.054, 48.0)  # ~4 km west of the line
BURST = synth.offset(*GUN, 90.0, 9_000.0)  # its shell, 30 s later


def _apart(second_gun: bool, params: FusionParams | None = None) -> tuple[Any, Any]:
    """Posts fix a gun at 100 s (untyped) and its burst 9 km east at 130 s (an impact), an
    array's two sensors 8 km from the burst hear it; ``second_gun``: posts fix another
    untyped bang 6 km north of the gun at 102 s, which could have fired that shell too. The
    state at the end of the pipeline: nothing linked, the arrivals a group of their own
    joined to the burst by :func:`.heard.join_untested`; what ``other_sound_apart`` keeps."""
    p = params or FusionParams()
    rng = np.random.default_rng(11)
    centre = synth.offset(*BURST, 20.0, 8_000.0)
    r = synth.Reports()
    _banded(r, 0, GUN, 100.0, rng, "op-g", explosion_type="undetermined")
    _banded(r, 0, BURST, 130.0, rng, "op-b", explosion_type="impact")
    _two_arrivals(r, [centre, synth.offset(*centre, 90.0, 1_500.0)], BURST, 130.0, 0)
    if second_gun:
        _banded(r, 1, synth.offset(*GUN, 0.0, 6_000.0), 102.0, rng, "op-h",
                explosion_type="undetermined")
    r.cols["weapon_class"] = ["tube_artillery"] * len(r.event)
    b = r.batch()
    res = fuse_batch(b, synth.geometry(), p)
    # the posts' groups as the pipeline fixed them; the arrivals (rows 6, 7) apart, unlocated
    gun, burst = int(res.labels[0]), int(res.labels[3])
    assert gun != burst and res.fixes.located[[gun, burst]].all()
    G = len(res.role)
    labels = res.labels.copy()
    if second_gun:  # a separate, located bang
        assert int(labels[8]) not in (gun, burst) and res.fixes.located[labels[8]]
    labels[6:8] = G  # a group of their own
    fx = res.fixes
    fixes = replace(fx, x=np.r_[fx.x, np.nan], y=np.r_[fx.y, np.nan], t0=np.r_[fx.t0, np.nan],
                    cov=np.r_[fx.cov, np.full((1, 2, 2), np.nan)],
                    located=np.r_[fx.located, False], method=np.r_[fx.method, 0],
                    rms=np.r_[fx.rms, np.nan], widen=np.r_[fx.widen, 1.0],
                    stated=np.r_[fx.stated, np.full((1, 2, 2), np.nan)])
    role = np.full(G + 1, ROLE_ANY, np.int8)
    role[burst] = ROLE_IMPACT
    state = FusionResult(b, labels, fixes, role, np.r_[res.time_s, np.nan],
                         np.zeros((G + 1, res.prob.shape[1])), res.parties,
                         np.full(G + 1, -1, np.int64))
    with np.errstate(invalid="ignore"):
        lo, hi = emission_windows(b, labels, fixes, G + 1)
    u, g = np.array([G], np.int64), np.array([burst], np.int64)
    return other_sound_apart(state, lo, hi, u, g, 0, p.heard, p.link), (G, burst)


def test_arrivals_at_a_burst_whose_only_gun_could_be_the_part_they_might_be_of_stay_joined():
    # the gun's other sound, which the arrivals could be, may be the burst itself: each is
    # the other's only possible other part, and the arrivals' differences fit the burst
    (u, g), (arr, burst) = _apart(False)
    assert u.tolist() == [arr] and g.tolist() == [burst]
    # without the rule the join is undone, as before
    off = FusionParams()
    off = replace(off, heard=replace(off.heard, apart_mate=False))
    (u, _), _ = _apart(False, off)
    assert len(u) == 0


def test_arrivals_at_a_burst_two_guns_could_have_fired_are_undone():
    # a second gun that could have fired the shell: the first gun's other sound may be
    # elsewhere (the second's burst), and the arrivals that sound: the join is undone
    (u, _), _ = _apart(True)
    assert len(u) == 0
