"""CIR/Bellingcat importer on the real 2022 file: kinds, weapons, typo dates, repeated entries.

tests/data holds a slice of the published file (every kept row byte for byte, every row of a kept
entry kept, so ids are those of the full file; see tests/data/README.md). Expected counts and
lines are taken from the CSV by an independent reader.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from truceline.adapters.importers import iter_observations
from truceline.adapters.importers.cir import WEAPON_RULES, classify_weapon
from truceline.core.catalogue import lookup_system
from truceline.core.observations import Observation, Rejection
from truceline.core.taxonomy import Kind, PresenceCategory, WeaponClass
from truceline.errors import ObservationError

from .conftest import CIR


@pytest.fixture(scope="module")
def imported(data_dir: Path) -> tuple[dict[str, Observation], list[Rejection]]:
    obs: dict[str, Observation] = {}
    rejected: list[Rejection] = []
    for o in iter_observations(data_dir / CIR, on_invalid="skip"):
        if isinstance(o, Rejection):
            rejected.append(o)
        else:
            assert o.id not in obs
            obs[o.id] = o
    return obs, rejected


def _rows(data_dir: Path) -> list[tuple[int, dict[str, str]]]:
    """(line, row): no cell of the file holds a newline, so row n (from 1) is on line n + 1."""
    raw = (data_dir / CIR).read_text(encoding="utf-8")
    with io.StringIO(raw, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == raw.count("\n") - 1
    return list(enumerate(rows, 2))


#: event_group prefix → kind, as the importer's documentation states it
KIND_OF_GROUP = {
    "Russian Military Presence": Kind.PRESENCE,
    "Russian Military Losses": Kind.PRESENCE,
    "Ukrainian Military Losses": Kind.PRESENCE,
    "Russian Allies Presence": Kind.PRESENCE,
    "Other": Kind.PRESENCE,
    "Russian Firing Positions": Kind.FIRE,
    "Bombing or Explosion": Kind.FIRE,
    "Military Infrastructure Damage": Kind.FIRE,
    "Munitions": Kind.FIRE,
    "Ground Battle": Kind.FIRE,
    "Civilian Casualty": Kind.CIVILIAN_HARM,
    "Civilian Infrastructure Damage": Kind.CIVILIAN_HARM,
    "Mass grave or Burial": Kind.CIVILIAN_HARM,
    "Detentions or Arrests": Kind.CIVILIAN_HARM,
}


def _expected_rejections(rows: list[tuple[int, dict[str, str]]]) -> dict[int, str]:
    """Line → field, by the documented rules: no entry; an exact repeat of an earlier row; a
    missing date or one outside 2022."""
    seen: set[tuple[str, ...]] = set()
    out = {}
    for line, r in rows:
        cells = tuple(r.values())
        if not r["entry"]:
            out[line] = "entry"
        elif cells in seen:
            out[line] = "(row)"
        elif not r["date"].startswith("2022-"):
            out[line] = "date"
        seen.add(cells)
    return out


def test_counts(imported: tuple[dict[str, Observation], list[Rejection]], data_dir: Path) -> None:
    obs, rejected = imported
    rows = _rows(data_dir)
    assert len(rows) == 369  # the slice (the full file has 6,650 rows)
    # independent: the rows a csv reader sees with no entry or no date (all four of each in the
    # full file are kept), and the exact repeat
    assert sum(not r["entry"] for _, r in rows) == 4
    assert sum(not r["date"] for _, r in rows) == 4
    bad = _expected_rejections(rows)
    assert sorted(bad.values()) == ["(row)"] + ["date"] * 7 + ["entry"] * 4
    assert len(obs) == len(rows) - len(bad) and len(rejected) == len(bad)
    kinds: Counter[Kind] = Counter()
    for line, r in rows:
        if line not in bad:
            (kind,) = [k for g, k in KIND_OF_GROUP.items() if r["event_group"].startswith(g)]
            kinds[kind] += 1
    assert Counter(o.kind for o in obs.values()) == kinds
    assert all(kinds[k] > 20 for k in (Kind.FIRE, Kind.PRESENCE, Kind.CIVILIAN_HARM))


def test_rejections_name_line_field_and_reason(
    imported: tuple[dict[str, Observation], list[Rejection]], data_dir: Path
) -> None:
    rows = _rows(data_dir)
    by_line = {r.line or 0: r for r in imported[1]}
    assert {line: r.field for line, r in by_line.items()} == _expected_rejections(rows)
    line_of = {(r["entry"], r["date"]): line for line, r in rows}
    uw3355 = [line for line, r in rows if r["entry"] == "UW3355"]  # the same row twice
    assert by_line[uw3355[1]].reason == f"exact repeat of line {uw3355[0]}"
    typo = by_line[line_of["UW4067", "2024-02-24"]]
    assert typo.field == "date" and "2024-02-24" in typo.reason
    missing = by_line[line_of["UW0331", ""]]
    assert (missing.field, missing.reason, missing.id) == ("date", "missing", "cir-UW0331")


def test_raise_mode_stops_at_the_first_bad_row(data_dir: Path) -> None:
    first = min(_expected_rejections(_rows(data_dir)))
    assert first == 73  # the slice keeps the full file's first 130 rows
    with pytest.raises(ObservationError) as exc:
        for _ in iter_observations(data_dir / CIR):
            pass
    assert (exc.value.line, exc.value.field) == (first, "entry")


def test_presence_outside_ukraine_still_imports(
    imported: tuple[dict[str, Observation], list[Rejection]],
) -> None:
    first = imported[0]["cir-UW0067"]  # Belarus, "Russian military equipment moving in Belarus"
    assert first.kind is Kind.PRESENCE
    assert first.presence_category is PresenceCategory.EQUIPMENT
    assert first.nationality == "Russia"
    assert (first.lon, first.lat) == (27.211645, 54.069385)
    assert first.time == datetime(2022, 1, 1, 10, 0, tzinfo=UTC)
    assert first.location_uncertainty_m == 500  # the row links its geolocation
    assert first.description is not None and "violence level: 1" in first.description


def test_reused_entries_get_unique_ids(
    imported: tuple[dict[str, Observation], list[Rejection]],
) -> None:
    obs = imported[0]
    assert {"cir-UW0523", "cir-UW0523-2", "cir-UW0523-3"} <= set(obs)
    assert obs["cir-UW0132"].time.date().isoformat() == "2022-02-06"
    assert obs["cir-UW0132-2"].time.date().isoformat() == "2022-02-09"


@pytest.mark.parametrize(
    ("obs_id", "arms", "weapon_class", "system"),
    [
        ("cir-UW1621", "9M55K Smerch", WeaponClass.MLRS, "9K58 Smerch"),
        ("cir-UW1633", "9M55K", WeaponClass.MLRS, "9K58 Smerch"),
        ("cir-UW0003", "Iskender", WeaponClass.TACTICAL_MISSILE, "9K720 Iskander"),
        ("cir-UW5455", "Tocha-U", WeaponClass.TACTICAL_MISSILE, "9K79 Tochka"),
        ("cir-UW0031", "2S19 “MSTA-S”", WeaponClass.TUBE_ARTILLERY, "2S19 Msta-S"),
        ("cir-UW8641", "BMD-4/GAZ Tigr/Ural/BM-27 URAGAN/BMD-2/", WeaponClass.MLRS, "9K57 Uragan"),
        ("cir-UW0329", "TOS-1A MLRS", WeaponClass.MLRS, "TOS-1 Buratino"),
        ("cir-UW0172", "T-80BV and T-72B3", WeaponClass.TANK, "T-80"),
        ("cir-UW0024", "SAM missiles (likely S300 or 400)", WeaponClass.AIR_DEFENCE, None),
        ("cir-UW8034", "Russian soldiers with AK-74M", WeaponClass.SMALL_ARMS, None),
    ],
)
def test_arms_mapping_on_real_rows(
    imported: tuple[dict[str, Observation], list[Rejection]],
    obs_id: str,
    arms: str,
    weapon_class: WeaponClass,
    system: str | None,
) -> None:
    o = imported[0][obs_id]
    assert o.description is not None and f"arms/munition: {arms}" in o.description
    assert (o.weapon_class, o.system) == (weapon_class, system)


def test_fire_rows(
    imported: tuple[dict[str, Observation], list[Rejection]], data_dir: Path
) -> None:
    obs = imported[0]
    smerch = obs["cir-UW1621"]  # group Munitions: remnants lie where they landed
    assert smerch.kind is Kind.FIRE and smerch.explosion_type == "impact"
    assert smerch.calibre_mm == 300
    fire = [o for o in obs.values() if o.kind is Kind.FIRE]
    assert all(o.weapon_class is not None for o in fire)  # unknown when nothing is recognised
    # independently of the mapping: the fire rows whose arms/munition cell, title and description
    # name no weapon (classify_weapon itself is checked on keywords below), and the firing positions
    rows = _rows(data_dir)
    bad = _expected_rejections(rows)
    fire_rows = [
        r
        for line, r in rows
        if line not in bad
        and KIND_OF_GROUP[next(g for g in KIND_OF_GROUP if r["event_group"].startswith(g))]
        is Kind.FIRE
    ]
    named = [
        r
        for r in fire_rows
        if classify_weapon(r["arms/munition"])
        or classify_weapon(f"{r['title']} {r['brief description']}")
    ]
    unknown = sum(o.weapon_class is WeaponClass.UNKNOWN for o in fire)
    assert unknown == len(fire_rows) - len(named) and 0 < unknown < len(fire)
    firing = [o for o in fire if o.explosion_type == "outgoing"]
    positions = [r for r in fire_rows if r["event_group"].startswith("Russian Firing Positions")]
    assert len(firing) == len(positions) > 0 and {o.affiliation for o in firing} == {"Russia"}


@pytest.mark.parametrize(
    ("text", "weapon_class"),
    [
        ("mortar shelling of Avdiivka", WeaponClass.MORTAR),
        ("MLRS strikes in Kharkiv", WeaponClass.MLRS),
        ("Grad rockets", WeaponClass.MLRS),
        ("artillery strike on a bridge", WeaponClass.TUBE_ARTILLERY),
        ("Missile Strike on Russian Ammunition Depot", WeaponClass.TACTICAL_MISSILE),
        ("A Russian Iskander missile strike hitting 2 BM-27 Uragan", WeaponClass.TACTICAL_MISSILE),
        ("Various Small arms", WeaponClass.SMALL_ARMS),
        ("cluster munitions in a yard", None),  # how it works, not what delivered it
        ("Project 03160 Raptors", None),
    ],
)
def test_classify_weapon_keywords(text: str, weapon_class: WeaponClass | None) -> None:
    weapon = classify_weapon(text)
    assert (weapon.weapon_class if weapon else None) is weapon_class


def test_named_systems_are_in_the_taxonomy() -> None:
    for _, weapon in WEAPON_RULES:
        if weapon.system:
            known = lookup_system(weapon.system)
            assert known is not None and known.calibre_mm == weapon.calibre_mm
