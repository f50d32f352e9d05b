"""A coarse distance band's report joins its event though its candidate lies past the search."""

from __future__ import annotations

import numpy as np

from tests.fusion.synth import Reports, bearing_report, offset, posts_around
from truceline.core.fusion.batch import GroupingParams, candidates
from truceline.core.fusion.far_reach import join_far, reaches
from truceline.core.fusion.grouping import group


def _coarse_band_scene(seed: int) -> Reports:
    """Event 0: four posts 3-8 km away (2-10 km bands) and one post 16 km away reporting
    "20-50 km" (its candidate at 35 km, ~19 km past the event, out of the 15 km search);
    event 1 at the same moment 25 km to the side, seen by three posts of its own."""
    rng = np.random.default_rng(seed)
    r = Reports()
    a = (37.4, 48.2)
    b = offset(*a, 0.0, 25_000.0)
    for e, target in enumerate((a, b)):
        for k, post in enumerate(posts_around(target, 4 - e, rng, dist=(3_000, 8_000))):
            bearing_report(r, e, post, target, 600.0 + rng.uniform(0, 60), 2.0, rng,
                           source=f"e{e}p{k}", band=(2_000, 10_000))
    far = offset(*a, 90.0, 16_000.0)  # east of event 0, looking west at it
    bearing_report(r, 0, far, a, 630.0, 2.0, rng, source="far", band=(20_000, 50_000),
                   error_deg=1.0)
    return r


def test_a_coarse_band_report_joins_its_event_past_the_pair_search():
    for seed in (1, 2, 3):
        r = _coarse_band_scene(seed)
        ev = np.asarray(r.event)
        # ahead: the reaches from the reports' thread (:mod:`.report_pairs`)
        for ahead in (None, True):
            labels = group(r.batch(), ahead=ahead)
            assert len(set(labels[ev == 0].tolist())) == 1, seed  # the far report joined
            assert not set(labels[ev == 0].tolist()) & set(labels[ev == 1].tolist()), seed


def test_a_coarse_band_report_whose_ray_misses_the_events_stays_alone():
    """The join follows the gate: the same report with its bearing 30 degrees off passes
    8 km from event 0 (its cross-range sd ~1.3 km) and joins nothing."""
    rng = np.random.default_rng(1)
    r = _coarse_band_scene(1)
    a = (37.4, 48.2)
    bearing_report(r, 2, offset(*a, 90.0, 16_000.0), a, 630.0, 2.0, rng, source="far2",
                   band=(20_000, 50_000), error_deg=30.0)
    labels = group(r.batch())
    assert (labels == labels[-1]).sum() == 1


def test_the_reaches_computed_ahead_join_as_join_far_computing_them():
    """Grouping computes each report's reach before the join (:func:`reaches`): given them,
    :func:`join_far` joins the lone far report to event 0 as when it computes them itself."""
    b = _coarse_band_scene(1).batch()
    p = GroupingParams()
    cd = candidates(b, p)
    labels = group(b)
    far = len(b) - 1  # the "20-50 km" report, alone before the join
    lone = labels.copy()
    lone[far] = labels.max() + 1
    rows = np.arange(len(b))
    want = join_far(b, cd, lone, rows, p)
    got = join_far(b, cd, lone, rows, p, reaches(b, cd, rows, p))
    assert np.array_equal(got, want) and got[far] == labels[0]
