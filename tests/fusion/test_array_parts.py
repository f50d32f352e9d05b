"""An untyped group holding a launch's arrivals at one array and its burst's at another,
parted into its arrays where each fits alone (e-2-002-00056's shape: uncovered 2)."""

from __future__ import annotations

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from truceline.core.fusion.array_parts import ArrayPartsParams, part_arrays
from truceline.core.fusion.locate import LocateParams, locate

GUN = (LINE_LON - 0.025, 48.0)  # ~1.9 km west of the line
BURST = synth.offset(*GUN, 80.0, 4_000.0)  # ~2 km east of it


def _shot(seed: int, one_sound: bool = False, west_n: int = 4) -> synth.Reports:
    """The launch (t 100 s) heard by four sensors of a west array 3-5 km from the gun and
    its burst (25 s later) by two of an east array 3-4 km past the burst, 12 km from the
    first; all one group, every arrival "undetermined". ``one_sound``: the east array heard
    the launch too (one sound, the long baseline); ``west_n``: the west array's sensors."""
    rng = np.random.default_rng(seed)
    r = synth.Reports()
    west = synth.array_around(synth.offset(*GUN, 250.0, 4_000.0), 1_000.0)
    for k, s in enumerate(west[:west_n]):
        synth.arrival_report(r, 0, s, GUN, 100.0, 0.01, rng, source=f"ac1-{k}")
    east = [synth.offset(*BURST, 60.0, 3_000.0), synth.offset(*BURST, 80.0, 4_000.0)]
    for k, s in enumerate(east):
        if one_sound:
            synth.arrival_report(r, 0, s, GUN, 100.0, 0.01, rng, source=f"ac2-{k}")
        else:
            synth.arrival_report(r, 1, s, BURST, 125.0, 0.01, rng, source=f"ac2-{k}")
    synth.untype_arrays(r)
    return r


def test_each_array_s_sound_its_own_group() -> None:
    """Fitted whole, the group rejects arrivals; parted, the west array's four arrivals fit
    clean at the gun and the east array's two are a group of their own. Switched off,
    nothing moves."""
    for seed in (1, 2, 3):
        b, labels, cd, fx = synth.fitted(_shot(seed))
        assert fx.outlier.any()
        new = part_arrays(b, labels, fx, cd, LocateParams())
        assert new.tolist() == [0, 0, 0, 0, 1, 1]
        refit = locate(b, new, cd, LocateParams())
        assert refit.located[0] and not refit.outlier[:4].any()
        gun = synth.true_xy([GUN])[0]
        assert np.hypot(refit.x[0] - gun[0], refit.y[0] - gun[1]) < 500.0
        off = ArrayPartsParams(enabled=False)
        assert part_arrays(b, labels, fx, cd, LocateParams(), off) is labels


def test_one_sound_heard_by_both_arrays_stays_whole() -> None:
    """Both arrays heard the launch: the whole fits, nothing is parted."""
    for seed in (1, 2, 3):
        b, labels, cd, fx = synth.fitted(_shot(seed, one_sound=True))
        assert part_arrays(b, labels, fx, cd, LocateParams()) is labels


def test_three_arrivals_cannot_show_one_sound() -> None:
    """The west array with three sensors: its fix is exact whatever it heard, so nothing
    shows its arrivals are one sound and the group stays whole (e-2-000-00073's lesson)."""
    for seed in (1, 2, 3):
        b, labels, cd, fx = synth.fitted(_shot(seed, west_n=3))
        assert fx.outlier.any()
        assert part_arrays(b, labels, fx, cd, LocateParams()) is labels
        assert part_arrays(b, labels, fx, cd, LocateParams(), ArrayPartsParams(min_tested=3)
                           ) is not labels


def test_a_typed_report_leaves_the_group_to_the_typed_steps() -> None:
    """The same mixed group with the west array's arrivals typed a launch's: not tried here
    (:mod:`.sound_split` and :mod:`.sound_order` read typed reports)."""
    r = _shot(1)
    r.cols["explosion_type"] = ["outgoing" if s.startswith("ac1") else e
                                for s, e in zip(r.cols["source_id"], r.cols["explosion_type"],
                                                strict=True)]
    b, labels, cd, fx = synth.fitted(r)
    assert part_arrays(b, labels, fx, cd, LocateParams()) is labels
