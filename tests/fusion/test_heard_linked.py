"""The last end join: an array's arrivals left apart join the linked shot whose located sound
they fit, over two arrays without a sharp test (:mod:`.heard_linked`)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from tests.fusion import synth
from tests.fusion.synth import LINE_LON
from tests.fusion.test_region import _banded, _two_arrivals
from truceline.core.fusion.batch import ROLE_ANY, ROLE_IMPACT, ROLE_ORIGIN
from truceline.core.fusion.group_join import emission_windows
from truceline.core.fusion.heard import HeardParams, join_untested
from truceline.core.fusion.heard_linked import join_heard_linked
from truceline.core.fusion.locate import M_ARRIVAL
from truceline.core.fusion.pipeline import fuse_batch

GUN = (LINE_LON - 0.054, 48.0)  # ~4 km west of the line
BURST = synth.offset(*GUN, 90.0, 9_000.0)  # its shell, 30 s later


def _state(second: bool) -> tuple[Any, ...]:
    """Posts fix a gun at 100 s and its burst 9 km east at 130 s, the two linked at the end
    of the pipeline (the gun's fix loose: 2 km sd each way); two sensors of two arrays 14 km
    apart, each ~12 km from the gun, heard the gun: a group of their own, unlocated.
    ``second``: another linked gun and burst 3 km north, fired at 101 s (the arrivals fit
    both guns). The end joins' state: labels, fixes, roles, partners, windows."""
    rng = np.random.default_rng(7)
    r = synth.Reports()
    _banded(r, 0, GUN, 100.0, rng, "op-g", explosion_type="launch")
    _banded(r, 0, BURST, 130.0, rng, "op-b", explosion_type="impact")
    _two_arrivals(r, [synth.offset(*GUN, 250.0, 12_000.0), synth.offset(*GUN, 190.0, 12_000.0)],
                  GUN, 100.0, 0)
    if second:
        gun2 = synth.offset(*GUN, 0.0, 3_000.0)
        _banded(r, 1, gun2, 101.0, rng, "op-h", explosion_type="launch")
        _banded(r, 1, synth.offset(*gun2, 90.0, 9_000.0), 131.0, rng, "op-i",
                explosion_type="impact")
    r.cols["weapon_class"] = ["tube_artillery"] * len(r.event)
    b = r.batch()
    res = fuse_batch(b, synth.geometry())
    labels = res.labels.copy()
    G = int(labels.max()) + 1
    labels[6:8] = G  # the arrivals, a group of their own
    pairs = [(int(labels[0]), int(labels[3]))]
    if second:
        pairs.append((int(labels[8]), int(labels[11])))
    fx = res.fixes
    cov = np.r_[fx.cov, np.full((1, 2, 2), np.nan)]
    for gun, _ in pairs:
        cov[gun] = np.eye(2) * 2_000.0**2
    method = np.r_[fx.method, 0] & ~M_ARRIVAL  # the posts' fixes, no arrival timed them
    fixes = replace(fx, x=np.r_[fx.x, np.nan], y=np.r_[fx.y, np.nan], t0=np.r_[fx.t0, np.nan],
                    cov=cov, located=np.r_[fx.located, False], method=method,
                    rms=np.r_[fx.rms, np.nan], widen=np.r_[fx.widen, 1.0],
                    stated=np.r_[fx.stated, np.full((1, 2, 2), np.nan)])
    role = np.r_[res.role, ROLE_ANY].astype(np.int8)
    partner = np.full(G + 1, -1, np.int64)
    for gun, burst in pairs:
        assert gun != burst and fixes.located[[gun, burst]].all()
        role[gun], role[burst] = ROLE_ORIGIN, ROLE_IMPACT
        partner[gun], partner[burst] = burst, gun
    with np.errstate(invalid="ignore"):
        lo, hi = emission_windows(b, labels, fixes, G + 1)
    return b, labels, fixes, role, partner, lo, hi, G, pairs


def test_two_arrays_that_heard_a_linked_gun_join_it():
    b, labels, fixes, role, partner, lo, hi, arr, [(gun, _)] = _state(False)
    none = np.zeros(0, np.int64)
    p = HeardParams()
    # the join the pipeline made before: two arrays without a sharp test stay apart
    u, g = join_untested(b, labels, fixes, role, partner, lo, hi, none, none, p)
    assert arr not in u.tolist()
    u, g = join_heard_linked(b, labels, fixes, role, partner, lo, hi, none, none, p)
    assert u.tolist() == [arr] and g.tolist() == [gun]
    # off: as before
    u, _ = join_heard_linked(b, labels, fixes, role, partner, lo, hi, none, none,
                             replace(p, linked_end=False))
    assert len(u) == 0


def test_arrivals_that_fit_two_linked_guns_join_neither():
    b, labels, fixes, role, partner, lo, hi, _, _ = _state(True)
    none = np.zeros(0, np.int64)
    u, _ = join_heard_linked(b, labels, fixes, role, partner, lo, hi, none, none, HeardParams())
    assert len(u) == 0
