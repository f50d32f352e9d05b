"""The monitoring force model: how many people a post, a patrol, a camera and an array need.

A mission's strength is not its number of eyes on the line. Every seat filled round the clock
needs ``168 h / (shift_hours * shifts_per_week)`` people on the roster, divided by the share
not away on leave or rotation; a patrol goes out in daylight on the days its members work; an
armed force guards its own posts and escorts its patrols; and a share of every mission is
headquarters, support and reserve. :class:`ForceModel` holds these assumptions (a YAML the
user edits, defaults in ``core/data/force_model.yaml`` with the source of each) and turns
a personnel figure into the layout it can staff (:meth:`ForceModel.layout_for`) and a layout
into the personnel it needs (:meth:`ForceModel.personnel_for`). Pure: dicts in, values out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from importlib.resources import files
from typing import Any

import yaml

from truceline.errors import ValidationError

__all__ = ["KINDS", "MISSIONS", "ForceModel", "Layout", "MissionProfile", "default_force_model",
           "parse_force_model"]

#: The kinds of asset a force staffs, in the order of :class:`Layout`.
KINDS: tuple[str, ...] = ("posts", "patrols", "cameras", "arrays")
MISSIONS: tuple[str, ...] = ("unarmed", "armed")


def _num(doc: dict[str, Any], key: str, where: str, lo: float, hi: float, *,
         lo_open: bool = False) -> float:
    name = f"{where}.{key}"
    if key not in doc:
        raise ValidationError("is missing", field=name)
    v = doc[key]
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ValidationError(f"must be a number, not {v!r}", field=name)
    if v < lo or v > hi or (lo_open and v == lo):
        span = f"{'(' if lo_open else '['}{lo:g}, {hi:g}]"
        raise ValidationError(f"must be in {span}, not {v!r}", field=name)
    return float(v)


def _section(doc: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise ValidationError("must be a mapping", field=where)
    extra = sorted(set(doc) - set(keys))
    if extra:
        raise ValidationError(f"unknown key {extra[0]!r}; known: {', '.join(keys)}",
                              field=f"{where}.{extra[0]}")
    return doc


@dataclass(frozen=True)
class MissionProfile:
    """What differs between an unarmed observer mission and an armed force."""

    post_observers_on_duty: float
    post_guards_on_duty: float
    patrol_monitors: float
    patrol_escort: float
    patrol_vehicles: float
    support_share: float
    reserve_share: float


@dataclass(frozen=True)
class Layout:
    """What a force staffs: posts manned round the clock, patrols out each day, cameras and
    acoustic arrays running."""

    posts: int
    patrols: int
    cameras: int
    arrays: int

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in KINDS}


@dataclass(frozen=True)
class ForceModel:
    """The assumptions (see ``core/data/force_model.yaml`` for their sources)."""

    shift_hours: float
    shifts_per_week: float
    leave_share: float
    patrol_days_per_week: float
    patrol_hours_per_day: float
    patrol_km_per_day: float
    camera_operators_on_duty: float
    camera_maintainers: float
    array_operators_on_duty: float
    array_maintainers: float
    mix: dict[str, float]
    missions: dict[str, MissionProfile]
    sources: dict[str, str]

    # -- people per unit -----------------------------------------------------------------------
    @property
    def roster_factor(self) -> float:
        """People on the roster per seat filled round the clock (168 h a week)."""
        return 168.0 / (self.shift_hours * self.shifts_per_week) / (1.0 - self.leave_share)

    @property
    def day_factor(self) -> float:
        """People on the roster per seat filled every day in daylight (patrols, technicians)."""
        return 7.0 / self.patrol_days_per_week / (1.0 - self.leave_share)

    def mission(self, name: str) -> MissionProfile:
        if name not in self.missions:
            raise ValidationError(f"unknown mission {name!r}; known: "
                                  f"{', '.join(sorted(self.missions))}", field="mission")
        return self.missions[name]

    def people_per_unit(self, mission: str) -> dict[str, float]:
        """Field personnel (before support and reserve) per post, daily patrol, camera, array."""
        m = self.mission(mission)
        return {
            "posts": (m.post_observers_on_duty + m.post_guards_on_duty) * self.roster_factor,
            "patrols": (m.patrol_monitors + m.patrol_escort) * self.day_factor,
            "cameras": (self.camera_operators_on_duty * self.roster_factor
                        + self.camera_maintainers * self.day_factor),
            "arrays": (self.array_operators_on_duty * self.roster_factor
                       + self.array_maintainers * self.day_factor),
        }

    def field_share(self, mission: str) -> float:
        m = self.mission(mission)
        return 1.0 - m.support_share - m.reserve_share

    # -- the two directions --------------------------------------------------------------------
    def layout_for(self, personnel: float, mission: str,
                   mix: dict[str, float] | None = None) -> Layout:
        """The layout ``personnel`` people can staff: the field share of them split by the mix,
        each part divided by the people one unit of that kind needs (rounded down)."""
        if not (math.isfinite(personnel) and personnel >= 0):
            raise ValidationError(f"must be a number >= 0, not {personnel!r}", field="personnel")
        mx = self.mix if mix is None else _mix(mix, "mix")
        ppu = self.people_per_unit(mission)
        field = personnel * self.field_share(mission)
        return Layout(**{k: math.floor(field * mx[k] / ppu[k] + 1e-9) for k in KINDS})

    def personnel_for(self, layout: Layout, mission: str) -> int:
        """The personnel a layout needs: its field personnel plus support and reserve."""
        ppu = self.people_per_unit(mission)
        field = sum(getattr(layout, k) * ppu[k] for k in KINDS)
        return math.ceil(field / self.field_share(mission) - 1e-9)

    def breakdown(self, layout: Layout, mission: str) -> dict[str, int]:
        """Who the ``personnel_for`` figure is: per kind of asset, and support and reserve."""
        ppu = self.people_per_unit(mission)
        m = self.mission(mission)
        out = {k: round(getattr(layout, k) * ppu[k]) for k in KINDS}
        total = self.personnel_for(layout, mission)
        out["support_and_hq"] = round(total * m.support_share)
        out["reserve"] = round(total * m.reserve_share)
        out["total"] = total
        return out

    def patrol_km_per_day_total(self, layout: Layout) -> float:
        return layout.patrols * self.patrol_km_per_day

    def assumptions(self) -> list[dict[str, Any]]:
        """Every figure with its key and source, for the plan's output ("every assumption
        listed")."""
        out: list[dict[str, Any]] = []
        for key, value in _flat(self):
            out.append({"key": key, "value": value, "source": self.sources.get(key)})
        return out


def _flat(fm: ForceModel) -> list[tuple[str, float]]:
    names = {"shift_hours": "roster.shift_hours", "shifts_per_week": "roster.shifts_per_week",
             "leave_share": "roster.leave_share", "patrol_days_per_week": "patrol.days_per_week",
             "patrol_hours_per_day": "patrol.hours_per_day",
             "patrol_km_per_day": "patrol.km_per_day",
             "camera_operators_on_duty": "camera.operators_on_duty",
             "camera_maintainers": "camera.maintainers",
             "array_operators_on_duty": "array.operators_on_duty",
             "array_maintainers": "array.maintainers"}
    out = [(names[k], float(getattr(fm, k))) for k in names]
    out += [(f"mix.{k}", v) for k, v in fm.mix.items()]
    for mname, prof in fm.missions.items():
        out += [(f"missions.{mname}.{f.name}", float(getattr(prof, f.name)))
                for f in fields(prof)]
    return out


def _mix(doc: Any, where: str) -> dict[str, float]:
    d = _section(doc, where, KINDS)
    mix = {k: _num(d, k, where, 0.0, 1.0) for k in KINDS}
    if sum(mix.values()) > 1.0 + 1e-9:
        raise ValidationError(f"shares add up to {sum(mix.values()):.3f}, more than 1",
                              field=where)
    return mix


def parse_force_model(doc: Any) -> ForceModel:
    """A validated :class:`ForceModel` from a parsed YAML document; a bad value raises
    :class:`ValidationError` naming its field (e.g. ``roster.shift_hours``)."""
    d = _section(doc, "force_model", ("roster", "patrol", "camera", "array", "mix", "missions",
                                      "sources"))
    for k in ("roster", "patrol", "camera", "array", "mix", "missions"):
        if k not in d:
            raise ValidationError("is missing", field=k)
    ro = _section(d["roster"], "roster", ("shift_hours", "shifts_per_week", "leave_share"))
    pa = _section(d["patrol"], "patrol", ("days_per_week", "hours_per_day", "km_per_day"))
    ca = _section(d["camera"], "camera", ("operators_on_duty", "maintainers"))
    ar = _section(d["array"], "array", ("operators_on_duty", "maintainers"))
    shift = _num(ro, "shift_hours", "roster", 0.0, 24.0, lo_open=True)
    per_week = _num(ro, "shifts_per_week", "roster", 0.0, 7.0, lo_open=True)
    if shift * per_week > 84.0:
        raise ValidationError(f"{shift:g} h x {per_week:g} shifts is {shift * per_week:g} h a "
                              "week; more than 84 h is not a roster", field="roster.shift_hours")
    ms = _section(d["missions"], "missions", tuple(d["missions"]) if isinstance(
        d["missions"], dict) else ())
    if not ms:
        raise ValidationError("must define at least one mission", field="missions")
    missions: dict[str, MissionProfile] = {}
    keys = tuple(f.name for f in fields(MissionProfile))
    for name, body in ms.items():
        w = f"missions.{name}"
        b = _section(body, w, keys)
        vals = {k: _num(b, k, w, 0.0, 1.0 if k.endswith("_share") else 1e4) for k in keys}
        if vals["post_observers_on_duty"] + vals["post_guards_on_duty"] <= 0:
            raise ValidationError("a post needs someone on duty",
                                  field=f"{w}.post_observers_on_duty")
        if vals["patrol_monitors"] <= 0:
            raise ValidationError("must be positive", field=f"{w}.patrol_monitors")
        if vals["support_share"] + vals["reserve_share"] >= 1.0:
            raise ValidationError("support and reserve shares leave nobody in the field",
                                  field=f"{w}.support_share")
        missions[str(name)] = MissionProfile(**vals)
    src = d.get("sources") or {}
    if not isinstance(src, dict):
        raise ValidationError("must be a mapping of key to source", field="sources")
    fm = ForceModel(
        shift_hours=shift, shifts_per_week=per_week,
        leave_share=_num(ro, "leave_share", "roster", 0.0, 0.9),
        patrol_days_per_week=_num(pa, "days_per_week", "patrol", 0.0, 7.0, lo_open=True),
        patrol_hours_per_day=_num(pa, "hours_per_day", "patrol", 0.0, 24.0, lo_open=True),
        patrol_km_per_day=_num(pa, "km_per_day", "patrol", 0.0, 1000.0),
        camera_operators_on_duty=_num(ca, "operators_on_duty", "camera", 0.0, 100.0),
        camera_maintainers=_num(ca, "maintainers", "camera", 0.0, 100.0),
        array_operators_on_duty=_num(ar, "operators_on_duty", "array", 0.0, 100.0),
        array_maintainers=_num(ar, "maintainers", "array", 0.0, 100.0),
        mix=_mix(d["mix"], "mix"), missions=missions,
        sources={str(k): str(v) for k, v in src.items()})
    known = {k for k, _ in _flat(fm)}
    stray = sorted(set(fm.sources) - known)
    if stray:
        raise ValidationError(f"names no assumption ({stray[0]!r})", field="sources")
    for k in KINDS:  # a kind with a share but nobody to staff it cannot be planned
        if fm.mix[k] > 0 and any(v <= 0 for v in [fm.people_per_unit(m)[k] for m in missions]):
            raise ValidationError(f"{k} have a share but need nobody", field=f"mix.{k}")
    return fm


def load_force_model_text(text: str) -> ForceModel:
    """Parse YAML text (a user's edited copy) into a validated model."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(f"not valid YAML: {exc}", field="force_model") from exc
    return parse_force_model(doc)


def default_force_model() -> ForceModel:
    """The shipped defaults (``core/data/force_model.yaml``)."""
    text = (files("truceline.core") / "data" / "force_model.yaml").read_text(encoding="utf-8")
    return load_force_model_text(text)
