"""The weapon catalogue: its data file, its one normaliser, and that the package ships it."""

from __future__ import annotations

import csv
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from truceline.adapters.importers.cir import WEAPON_RULES, classify_weapon
from truceline.core.catalogue import SYSTEMS, lookup_system, normalise_name, parse_catalogue

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "src/truceline/core/data/weapons.csv"


def test_every_row_names_its_source_and_a_sane_range() -> None:
    for s in SYSTEMS:
        assert s.source, s.name
        lo, hi = s.min_range_km, s.max_range_km
        assert lo is None or lo >= 0, s.name
        assert lo is None or hi is None or lo <= hi, s.name
        if lo is None and hi is None:
            assert "range not recorded" in s.note, s.name  # blank is said, never zero


def test_no_name_or_alias_names_two_systems() -> None:
    seen: dict[str, str] = {}
    for s in SYSTEMS:
        for key in {normalise_name(k) for k in (s.name, *s.aliases)}:
            assert seen.setdefault(key, s.name) == s.name, (key, seen[key], s.name)


def test_a_row_with_an_unquoted_comma_is_refused() -> None:
    head = DATA.read_text(encoding="utf-8").splitlines()[0]
    row = "X,cruise_missile,,air,,4500,x,source,a note with 5,500 km unquoted"
    with pytest.raises(ValueError, match="line 2: 10 cells where 9 are expected"):
        parse_catalogue(f"{head}\n{row}\n")


def test_the_data_file_is_what_is_loaded() -> None:
    with DATA.open(encoding="utf-8") as fh:
        names = [r["name"] for r in csv.DictReader(fh)]
    assert names == [s.name for s in SYSTEMS]


@pytest.mark.parametrize(("name", "system"), [
    ("Искандер-М", "9K720 Iskander"),  # Russian, transliterated
    ("ISKANDER  M", "9K720 Iskander"),
    ("Х-101", "Kh-101"),  # the Cyrillic Kha
    ("Точка-У", "9K79 Tochka"),
    ("Tocha-U", "9K79 Tochka"),  # a spelling the CIR data uses
    ("2S19 “MSTA-S”", "2S19 Msta-S"),  # typographic quotes
    ("BM\u201321", "BM-21 Grad"),  # an en dash
    ("9M729 missile", "9M729"),
    ("SSC-8", "9M729"),
    ("Калибр", "Kalibr"),
])
def test_one_normaliser_for_every_spelling(name: str, system: str) -> None:
    found = lookup_system(name)
    assert found is not None and found.name == system


def test_unknown_names_are_not_guessed() -> None:
    assert lookup_system("Hwasong-11") is None
    assert lookup_system("missile") is None


def test_the_cir_importer_resolves_to_catalogue_rows() -> None:
    """The importer's named systems are catalogue rows, so a range ban sees CIR sightings."""
    for _, weapon in WEAPON_RULES:
        if weapon.system:
            row = lookup_system(weapon.system)
            assert row is not None and row.name == weapon.system
            assert (row.weapon_class, row.calibre_mm) == (weapon.weapon_class, weapon.calibre_mm)
    w = classify_weapon("Russian 3M-14 Kalibr cruise missile strike")
    assert w is not None and w.system == "Kalibr"


def test_the_package_ships_the_data_file() -> None:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = conf["tool"]["setuptools"]["package-data"]["truceline"]
    rel = DATA.relative_to(ROOT / "src/truceline").as_posix()
    assert any(fnmatch(rel, g) for g in globs), (rel, globs)
