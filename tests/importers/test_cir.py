"""CIR/Bellingcat importer on the real 2022 file: kinds, weapons, typo dates, repeated entries."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from truceline.adapters.importers import iter_observations
from truceline.adapters.importers.cir import WEAPON_RULES, classify_weapon
from truceline.core.observations import Observation, Rejection
from truceline.core.taxonomy import Kind, PresenceCategory, WeaponClass, lookup_system
from truceline.errors import ObservationError

from .conftest import CIR


@pytest.fixture(scope="module")
def imported(shared_data: Path) -> tuple[dict[str, Observation], list[Rejection]]:
    obs: dict[str, Observation] = {}
    rejected: list[Rejection] = []
    for o in iter_observations(shared_data / CIR, on_invalid="skip"):
        if isinstance(o, Rejection):
            rejected.append(o)
        else:
            assert o.id not in obs
            obs[o.id] = o
    return obs, rejected


def test_counts(
    imported: tuple[dict[str, Observation], list[Rejection]], shared_data: Path
) -> None:
    obs, rejected = imported
    with (shared_data / CIR).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6650
    assert len(obs) == 6638 and len(rejected) == 12
    assert Counter(o.kind for o in obs.values()) == {
        Kind.CIVILIAN_HARM: 3502,
        Kind.PRESENCE: 1933,
        Kind.FIRE: 1203,
    }
    # independent: the rows a csv reader sees with no entry or no date
    assert sum(not r["entry"] for r in rows) == 4
    assert sum(not r["date"] for r in rows) == 4


def test_rejections_name_line_field_and_reason(
    imported: tuple[dict[str, Observation], list[Rejection]],
) -> None:
    by_line = {r.line or 0: r for r in imported[1]}
    assert sorted(by_line) == [73, 102, 127, 1389, 2220, 6645, 6646, 6647, 6648, 6649, 6650, 6651]
    assert by_line[73].field == "entry"
    assert by_line[2220].reason == "exact repeat of line 2219"
    assert by_line[6646].field == "date" and "2024-02-24" in by_line[6646].reason
    assert (by_line[6648].field, by_line[6648].reason, by_line[6648].id) == (
        "date",
        "missing",
        "cir-UW0331",
    )


def test_raise_mode_stops_at_the_first_bad_row(shared_data: Path) -> None:
    with pytest.raises(ObservationError) as exc:
        for _ in iter_observations(shared_data / CIR):
            pass
    assert (exc.value.line, exc.value.field) == (73, "entry")


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
        ("cir-UW0329", "TOS-1A MLRS", WeaponClass.MLRS, "TOS-1"),
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


def test_fire_rows(imported: tuple[dict[str, Observation], list[Rejection]]) -> None:
    obs = imported[0]
    smerch = obs["cir-UW1621"]  # group Munitions: remnants lie where they landed
    assert smerch.kind is Kind.FIRE and smerch.explosion_type == "impact"
    assert smerch.calibre_mm == 300
    fire = [o for o in obs.values() if o.kind is Kind.FIRE]
    assert all(o.weapon_class is not None for o in fire)  # unknown when nothing is recognised
    assert sum(o.weapon_class is WeaponClass.UNKNOWN for o in fire) == 584
    firing = [o for o in fire if o.explosion_type == "outgoing"]
    assert len(firing) == 85 and {o.affiliation for o in firing} == {"Russia"}


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
        if weapon.system and weapon.system != "TOS-1":  # TOS-1 is not in the taxonomy
            known = lookup_system(weapon.system)
            assert known is not None and known.calibre_mm == weapon.calibre_mm
