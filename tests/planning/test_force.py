"""The force model: the shipped assumptions parse and name their sources, bad values get an
error naming the field, and personnel and layouts convert both ways consistently."""

from __future__ import annotations

import copy
from importlib.resources import files
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from truceline.core.planning.force import (
    KINDS,
    Layout,
    default_force_model,
    load_force_model_text,
    parse_force_model,
)
from truceline.errors import ValidationError

DOC: dict[str, Any] = yaml.safe_load(
    (files("truceline.core") / "data" / "force_model.yaml").read_text(encoding="utf-8"))


def _with(path: str, value: Any) -> dict[str, Any]:
    d = copy.deepcopy(DOC)
    *head, last = path.split(".")
    node = d
    for k in head:
        node = node[k]
    node[last] = value
    return d


def test_every_shipped_assumption_names_its_source() -> None:
    fm = default_force_model()
    rows = fm.assumptions()
    assert len(rows) == 10 + 4 + 2 * 7
    missing = [r["key"] for r in rows if not r["source"]]
    assert not missing, missing


@pytest.mark.parametrize(("path", "value", "field"), [
    ("roster.shift_hours", 0, "roster.shift_hours"),
    ("roster.shift_hours", 25, "roster.shift_hours"),
    ("roster.shift_hours", "eight", "roster.shift_hours"),
    ("roster.shift_hours", 16, "roster.shift_hours"),  # 16 h x 6 = 96 h a week
    ("roster.leave_share", 1.5, "roster.leave_share"),
    ("roster.leave", 0.1, "roster.leave"),  # a typo is refused, not ignored
    ("patrol.days_per_week", 0, "patrol.days_per_week"),
    ("mix.posts", 0.9, "mix"),  # shares add up to more than 1
    ("missions.armed.support_share", 0.95, "missions.armed.support_share"),
    ("missions.unarmed.patrol_monitors", 0, "missions.unarmed.patrol_monitors"),
    ("missions.unarmed.post_guards_on_duty", True, "missions.unarmed.post_guards_on_duty"),
    ("sources.roster.shift", "x", "sources"),
])
def test_bad_value_names_its_field(path: str, value: Any, field: str) -> None:
    d = _with(path, value) if not path.startswith("sources.") else {
        **DOC, "sources": {**DOC["sources"], path.removeprefix("sources."): value}}
    with pytest.raises(ValidationError) as e:
        parse_force_model(d)
    assert e.value.field == field, (e.value.field, str(e.value))


def test_not_yaml_and_missing_sections() -> None:
    with pytest.raises(ValidationError) as e:
        load_force_model_text("roster: [1, 2")
    assert e.value.field == "force_model"
    with pytest.raises(ValidationError) as e:
        parse_force_model({k: v for k, v in DOC.items() if k != "patrol"})
    assert e.value.field == "patrol"
    with pytest.raises(ValidationError) as e:
        default_force_model().layout_for(1000, "blue_helmets")
    assert e.value.field == "mission"


def test_people_per_post_follow_the_roster() -> None:
    """A post with two observers awake round the clock, 8-h shifts, 6 a week, 15 % away:
    2 x 168 / 48 / 0.85 = 8.24 people; an armed post doubles it with two sentries."""
    fm = default_force_model()
    assert fm.people_per_unit("unarmed")["posts"] == pytest.approx(2 * 168 / 48 / 0.85)
    assert fm.people_per_unit("armed")["posts"] == pytest.approx(4 * 168 / 48 / 0.85)
    # a 4-person patrol out 7 days a week, each member out 5 of them, 15 % away
    assert fm.people_per_unit("unarmed")["patrols"] == pytest.approx(4 * 7 / 5 / 0.85)


@given(st.integers(0, 500_000), st.sampled_from(["unarmed", "armed"]))
def test_layout_and_personnel_round_trip(p: int, mission: str) -> None:
    """The layout a force staffs never needs more people than it has, and no more than one
    unit of each kind's worth of people is left idle."""
    fm = default_force_model()
    lay = fm.layout_for(p, mission)
    need = fm.personnel_for(lay, mission)
    assert need <= p
    ppu = fm.people_per_unit(mission)
    slack = sum(ppu.values()) / fm.field_share(mission)
    assert p - need <= slack + 1 + p * (1 - sum(fm.mix.values()))
    bigger = fm.layout_for(p + 1000, mission)
    assert all(getattr(bigger, k) >= getattr(lay, k) for k in KINDS)


def test_reverse_direction_staffs_the_layout() -> None:
    fm = default_force_model()
    want = Layout(posts=120, patrols=60, cameras=40, arrays=30)
    p = fm.personnel_for(want, "armed")
    br = fm.breakdown(want, "armed")
    assert br["total"] == p
    assert br["support_and_hq"] == round(p * 0.30) and br["reserve"] == round(p * 0.10)


@pytest.mark.parametrize(("path", "value", "kind", "direction"), [
    ("roster.shift_hours", 10, "posts", +1),      # 10-h shifts: fewer people per post
    ("roster.leave_share", 0.30, "posts", -1),    # more away: fewer posts staffed
    ("patrol.days_per_week", 6, "patrols", +1),   # each member out more days
    ("missions.unarmed.support_share", 0.5, "posts", -1),
])
def test_one_assumption_moves_the_layout(path: str, value: Any, kind: str,
                                         direction: int) -> None:
    d = _with(path, value)
    base = getattr(default_force_model().layout_for(30_000, "unarmed"), kind)
    moved = getattr(parse_force_model(d).layout_for(30_000, "unarmed"), kind)
    assert (moved - base) * direction > 0, (base, moved)
