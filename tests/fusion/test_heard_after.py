"""An untyped fix, an array's, whose own burst another array heard a flight after it: the
arrivals join it (:mod:`truceline.core.fusion.heard_other`) and the fix is typed as the
launch, on its side (:mod:`truceline.core.fusion.heard_after`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tests.fusion import synth
from tests.fusion.test_heard import BURST, GUN, ON, _array, _fuse, _group_of
from tests.fusion.test_heard_other import _fixed
from truceline.core.fusion.batch import ROLE_ANY, ROLE_ORIGIN

OFF = replace(ON, heard=replace(ON.heard, other_typed=False))


def _setup() -> synth.Reports:
    # the gun ~5 km west of the line fires at 100 s, fixed and timed by an array of four
    # (untyped: "undetermined"); its shell bursts 9 km east at 145 s, heard only by an array
    # of two sensors 4-5.5 km west of the gun, in line with it: their sound came from the
    # east, emitted a flight after the gun (its burst); no point within hearing they fit was
    # emitted a flight before it (the gun a burst of a shot from further east)
    rng = np.random.default_rng(7)
    r = synth.Reports()
    _fixed(r, 0, GUN, 100.0, rng)
    near = synth.offset(*GUN, 270.0, 4_000.0)
    _array(r, 0, [near, synth.offset(*near, 270.0, 1_500.0)], BURST, 145.0, rng)
    return r


def test_a_fix_whose_burst_was_heard_after_it_is_the_launch_on_its_side():
    r = _setup()
    off = _fuse(r, OFF)
    (g,) = _group_of(off, r, "bc0")
    assert _group_of(off, r, "ac") == {g}  # joined as its other sound, either way
    assert off.fixes.located[g] and off.role[g] == ROLE_ANY
    res = _fuse(r, ON)
    (g,) = _group_of(res, r, "bc0")
    assert _group_of(res, r, "ac") == {g}
    assert res.role[g] == ROLE_ORIGIN
    assert res.prob[g, list(res.parties).index("west")] >= 0.9
    assert not off.prob[g].any()  # off: not attributed (no side for a finding to read)
    # the fix is the gun's, unmoved by the burst's arrivals
    assert np.isclose(res.fixes.x[g], off.fixes.x[g]) and np.isclose(res.fixes.y[g], off.fixes.y[g])


def test_a_mortars_launch_whose_own_array_heard_its_burst_later_is_the_launch():
    # a mortar ~5 km west of the line fires at 100 s, fixed and timed by an array of four 3 km
    # east of it (untyped); its shell bursts 6 km east of it (1 km past the line) at 140 s,
    # and one sensor at the array hears that burst ~40 s after it heard the launch. Only a
    # shell that outran its launch's sound (an MLRS's top speed, ~20 km behind the fix along
    # the ray) could make the later sound the launch of a burst at the fix: with every
    # class's speeds "before" passes too and the fix stays untyped; no faster than sound
    # (the default), it is the launch, on its side
    rng = np.random.default_rng(3)
    r = synth.Reports()
    _fixed(r, 0, GUN, 100.0, rng)
    burst = synth.offset(*GUN, 90.0, 6_000.0)
    _array(r, 0, [synth.offset(*GUN, 90.0, 3_000.0)], burst, 140.0, rng)
    wide = replace(ON, heard=replace(ON.heard, before_max_ms=None))
    off = _fuse(r, wide)
    (g,) = _group_of(off, r, "bc0")
    assert _group_of(off, r, "ac") == {g}  # joined as its other sound, either way
    assert off.fixes.located[g] and off.role[g] == ROLE_ANY and not off.prob[g].any()
    res = _fuse(r, ON)
    (g,) = _group_of(res, r, "bc0")
    assert _group_of(res, r, "ac") == {g}
    assert res.role[g] == ROLE_ORIGIN
    assert res.prob[g, list(res.parties).index("west")] >= 0.9
