"""The weapon catalogue: named systems with class, calibre, basing and published range.

One table, kept as data in the package (``core/data/weapons.csv``), read once at import: the
withdrawal selectors, the observations' fill-in of class and calibre, the importers and the
range bans (:mod:`truceline.core.range_bans`) all look systems up here, through one normaliser
(:func:`normalise_name`: case, spacing, dashes and quotes, Cyrillic transliterated), so
"Искандер-М", "Iskander-M" and "ISKANDER M" name the same system.

A row's range is the source's statement of the system's range capability: one figure ("up to
300 km": ``max_range_km``) or an interval when the source gives one ("400-500 km", "500 to
5,500 km"; for a launcher, from its shortest- to its longest-ranged munition). Every row names
its source; where published figures differ, the row keeps its source's figure and its ``note``
says what the others state. A blank range is "not recorded", never zero.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from importlib.resources import files

from truceline.core.taxonomy import Basing, WeaponClass


@dataclass(frozen=True)
class WeaponSystem:
    """One catalogue row (see the module docstring for what the range means)."""

    name: str
    weapon_class: WeaponClass
    calibre_mm: float | None
    aliases: tuple[str, ...] = ()
    basing: Basing = Basing.GROUND
    min_range_km: float | None = None
    max_range_km: float | None = None
    source: str = ""
    note: str = ""

    def describe_range(self) -> str:
        """The published range as text, e.g. "500-5,500 km", "up to 300 km", "over 250 km"."""
        lo, hi = self.min_range_km, self.max_range_km
        if lo is not None and hi is not None:
            return f"{lo:,g}-{hi:,g} km"
        if hi is not None:
            return f"up to {hi:,g} km"
        if lo is not None:
            return f"over {lo:,g} km"
        return "not recorded"


#: Cyrillic (Russian and Ukrainian letters) to Latin, close to BGN/PCGN, so that names read
#: from Russian or Ukrainian sources meet the catalogue's Latin spellings ("Х-101" -> "kh-101").
_CYRILLIC = str.maketrans({
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", "і": "i",
    "ї": "yi", "є": "ye", "ґ": "g",
})
#: Dashes and quotes as they come in reports and spreadsheets.
_PUNCT = str.maketrans({"_": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                        "\u2014": "-", "\u2212": "-", "\u201c": "", "\u201d": "", "\u201e": "",
                        "\u00ab": "", "\u00bb": "", '"': "", "\u2018": "", "\u2019": ""})


def normalise_name(name: str) -> str:
    """The key a system name is compared by: lower case, Cyrillic transliterated, one kind of
    dash, no quotes, single spaces."""
    return " ".join(name.lower().translate(_CYRILLIC).translate(_PUNCT).split())


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


def parse_catalogue(text: str) -> tuple[WeaponSystem, ...]:
    """The catalogue's rows from its CSV text; a row with a cell too many or too few (an
    unquoted comma in a source) is refused naming its line, never read shifted."""
    rows = []
    reader = csv.DictReader(io.StringIO(text))
    for r in reader:
        if None in r or None in r.values():
            cells = sum(v is not None for k, v in r.items() if k is not None)
            cells += len(r.get(None) or ())
            raise ValueError(f"weapons.csv line {reader.line_num}: {cells} cells where "
                             f"{len(reader.fieldnames or ())} are expected (quote a cell that "
                             "holds a comma)")
        rows.append(WeaponSystem(
            name=r["name"],
            weapon_class=WeaponClass(r["class"]),
            calibre_mm=_float(r["calibre_mm"]),
            aliases=tuple(a.strip() for a in r["aliases"].split(";") if a.strip()),
            basing=Basing(r["basing"]),
            min_range_km=_float(r["min_range_km"]),
            max_range_km=_float(r["max_range_km"]),
            source=r["source"].strip(),
            note=r["note"].strip(),
        ))
    return tuple(rows)


_TEXT = files("truceline.core").joinpath("data/weapons.csv").read_text(encoding="utf-8")
#: Every system in the catalogue, in the data file's order.
SYSTEMS: tuple[WeaponSystem, ...] = parse_catalogue(_TEXT)
#: The catalogue's version as a digest of its data file's text (lines ending in \n whatever the
#: checkout): findings that rest on a published range quote it, so a replay with another
#: catalogue is seen to differ, not taken for the same basis.
CATALOGUE_SHA256: str = hashlib.sha256(_TEXT.encode("utf-8")).hexdigest()

_INDEX: dict[str, WeaponSystem] = {}
for _s in SYSTEMS:
    for _key in (_s.name, *_s.aliases):
        _INDEX[normalise_name(_key)] = _s


def lookup_system(name: str) -> WeaponSystem | None:
    """The catalogue's system for a name or alias, else None.

    An exact match of the normalised name first; else an alias that is a word of the name or
    starts it ("9M729 missile", "Iskander-M launcher").
    """
    key = normalise_name(name)
    if key in _INDEX:
        return _INDEX[key]
    words = key.split()
    for alias, system in _INDEX.items():
        if alias in words or key.startswith(alias + " "):
            return system
    return None


def resolve_weapon(weapon_class: WeaponClass | None, calibre_mm: float | None,
                   system: str | None) -> tuple[WeaponClass | None, float | None]:
    """Weapon class and calibre, filled in from the named system when not given (one rule
    for an observation object and for a check's columns read from its record)."""
    if system and (weapon_class is None or calibre_mm is None):
        known = lookup_system(system)
        if known is not None:
            weapon_class = weapon_class or known.weapon_class
            calibre_mm = calibre_mm if calibre_mm is not None else known.calibre_mm
    return weapon_class, calibre_mm
