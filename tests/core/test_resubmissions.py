"""The rule that tells a resubmitted copy from a second report (issue 14): each tolerance on
both sides of its boundary, the exact fields, and order independence of what is counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.core.observations import Observation
from truceline.core.resubmissions import ResubmissionParams, counted, duplicates, same_content

P = ResubmissionParams()
T0 = datetime(2025, 3, 27, 20, 15, tzinfo=UTC)


def obs(oid: str = "a", **kw: Any) -> Observation:
    base: dict[str, Any] = {
        "id": oid,
        "kind": "fire",
        "fire_type": "explosion",
        "explosion_type": "impact",
        "time": T0,
        "source_id": "post-7",
        "observer_lon": 37.9,
        "observer_lat": 48.0,
        "bearing_deg": 110.0,
        "distance_min_m": 3000.0,
        "distance_max_m": 5000.0,
        "weapon_class": "mortar",
        "count": 2,
    }
    base.update(kw)
    return Observation(**base)


def test_a_copy_under_a_new_id_is_the_same_content() -> None:
    assert same_content(obs("a"), obs("b", signature="c2ln"))


# (field, value within the tolerance, value beyond it) against obs()'s own value
TOLERANCES = [
    ("time", T0 + timedelta(seconds=P.time_s), T0 + timedelta(seconds=P.time_s + 0.5)),
    ("time", T0 - timedelta(seconds=0.4), T0 + timedelta(seconds=60)),  # a minute apart
    ("bearing_deg", 110.0 + P.bearing_deg, 110.0 + P.bearing_deg + 0.1),
    ("bearing_deg", 109.6, 108.0),
    ("distance_max_m", 5000.0 + P.distance_m, 7000.0),
    ("observer_lat", 48.0 + 8 / 111_000, 48.0 + 15 / 111_000),  # 8 m, 15 m north
    ("observer_lon", 37.9 + 8 / 74_500, 37.9 + 15 / 74_500),  # east (~74.5 km a degree)
]


@pytest.mark.parametrize(("field", "inside", "outside"), TOLERANCES)
def test_each_tolerance_on_both_sides(field: str, inside: Any, outside: Any) -> None:
    assert same_content(obs("a"), obs("b", **{field: inside}))
    assert not same_content(obs("a"), obs("b", **{field: outside}))


def test_bearing_tolerance_wraps_north() -> None:
    assert same_content(obs("a", bearing_deg=359.8), obs("b", bearing_deg=0.2))
    assert not same_content(obs("a", bearing_deg=359.0), obs("b", bearing_deg=0.5))


def test_arrival_times_within_a_millisecond() -> None:
    sensor = {
        "source_type": "sensor",
        "bearing_deg": None,
        "distance_min_m": None,
        "distance_max_m": None,
        "explosion_type": None,
        "weapon_class": None,
        "count": 1,
    }
    a = obs("a", arrival_time=T0 + timedelta(seconds=3.1234), **sensor)
    assert same_content(a, obs("b", arrival_time=T0 + timedelta(seconds=3.1239), **sensor))
    assert not same_content(a, obs("c", arrival_time=T0 + timedelta(seconds=3.126), **sensor))
    assert not same_content(a, obs("d", **sensor))  # an arrival time against none


@pytest.mark.parametrize(
    "change",
    [
        {"source_id": "post-8"},  # another source: never one reporter
        {"count": 3},
        {"explosion_type": "outgoing"},
        {"weapon_class": "tube_artillery"},
        {"weapon_class": None},
        {"description": "second of two"},
        {"distance_min_m": None, "distance_max_m": None},
    ],
)
def test_exact_fields_must_be_equal(change: dict[str, Any]) -> None:
    assert not same_content(obs("a"), obs("b", **change))


def test_groups_are_counted_through_their_smallest_id() -> None:
    reports = [
        obs("c"),
        obs("b", time=T0 + timedelta(seconds=0.5)),
        obs("a"),
        obs("z", time=T0 + timedelta(minutes=1)),
        obs("y", source_id="post-8"),
    ]
    assert duplicates(reports) == {"b": "a", "c": "a"}
    assert [o.id for o in counted(reports)] == ["a", "z", "y"]


def test_known_links_join_groups() -> None:
    # "b" was linked to "0" (not given); a new copy "a" of "b" joins that group
    assert duplicates([obs("b"), obs("a")], known={"b": "0"}) == {"a": "0", "b": "0"}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from([0.0, 0.3, 0.7, 30.0]),
            st.sampled_from(["post-1", "post-2"]),
        ),
        min_size=1,
        max_size=12,
    ),
    st.randoms(use_true_random=False),
)
def test_what_is_counted_does_not_depend_on_order(
    rows: list[tuple[int, float, str]], rnd: Any
) -> None:
    reports = [
        obs(
            f"r{i:02d}", bearing_deg=100.0 + 0.3 * k, source_id=src, time=T0 + timedelta(seconds=dt)
        )
        for i, (k, dt, src) in enumerate(rows)
    ]
    shuffled = list(reports)
    rnd.shuffle(shuffled)
    assert duplicates(shuffled) == duplicates(reports)
    assert {o.id for o in counted(shuffled)} == {o.id for o in counted(reports)}
    # every copy is the same content as some other member of its group
    for copy in duplicates(reports):
        c = next(o for o in reports if o.id == copy)
        assert any(same_content(c, o) for o in reports if o.id != copy)


def _all_pairs(reports: list[Observation]) -> dict[str, str]:
    """The groups by comparing every pair (the definition, without any cells)."""
    parent = {o.id: o.id for o in reports}

    def root(i: str) -> str:
        while parent[i] != i:
            i = parent[i]
        return i

    for k, a in enumerate(reports):
        for b in reports[k + 1 :]:
            if same_content(a, b):
                ra, rb = root(a.id), root(b.id)
                parent[max(ra, rb)] = min(ra, rb)
    return {i: root(i) for i in sorted(parent) if root(i) != i}


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            # seconds and latitudes on and around the cells' edges (1 s, ~10 m)
            st.sampled_from([0.0, 0.4, 0.999, 1.0, 1.001, 1.9, 2.0, 2.2]),
            st.one_of(st.none(), st.sampled_from([48.0, 48.00004, 48.00009, 48.0000905,
                                                  48.00018, 48.0002])),
            st.sampled_from([37.5, 37.50005, 37.5003]),
            st.booleans(),
        ),
        min_size=1,
        max_size=14,
    ),
)
def test_groups_are_those_of_comparing_every_pair(
    rows: list[tuple[float, float | None, float, bool]],
) -> None:
    """A burst of one source's reports (a sensor: many a second, metres apart): comparing
    them cell by cell finds exactly the groups that comparing all pairs finds."""
    reports = [
        obs(f"r{i:02d}", time=T0 + timedelta(seconds=dt),
            **({"lon": lon, "lat": lat} if lat is not None else {}),
            **({} if observer else {"observer_lon": None, "observer_lat": None,
                                   "bearing_deg": None, "distance_min_m": None,
                                   "distance_max_m": None}))
        for i, (dt, lat, lon, observer) in enumerate(rows)
        if lat is not None or observer
    ]
    assert duplicates(reports) == _all_pairs(reports)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            # times around the tolerance (1 s) and far apart, three sources, two contents
            st.sampled_from([0.0, 0.5, 0.999, 1.0, 1.001, 1.5, 2.0, 2.002, 60.0, 61.0]),
            st.sampled_from(["post-1", "post-2", "sensor-3"]),
            st.sampled_from([100.0, 100.3, 140.0]),
        ),
        min_size=1,
        max_size=16,
    ),
)
def test_counted_looks_for_copies_among_possible_ones_and_finds_every_group(
    rows: list[tuple[float, str, float]],
) -> None:
    """counted() compares only the reports that have another of their source within the
    time tolerance; what it leaves out is what comparing every pair leaves out, in order."""
    reports = [obs(f"r{i:02d}", time=T0 + timedelta(seconds=dt), source_id=src,
                   bearing_deg=bearing)
               for i, (dt, src, bearing) in enumerate(rows)]
    copies = _all_pairs(reports)
    assert [o.id for o in counted(reports)] == [o.id for o in reports if o.id not in copies]
