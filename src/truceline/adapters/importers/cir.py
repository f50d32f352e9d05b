"""CIR / Bellingcat "Russia-Ukraine Monitor" CSV → observations.

Each row is one geolocated piece of footage or imagery from 2022. Its ``event_group`` (with the
month or period suffix removed) decides the kind, see :data:`GROUPS`:

* presence: Russian Military Presence / Losses (``nationality`` Russia), Ukrainian Military
  Losses (Ukraine), Russian Allies Presence/Losses (``unit_label`` "Russian allies", no
  nationality: the rows mix Belarus, Chechnya, LNR/DPR, South Ossetia), Other (mostly sightings;
  Russia when the text says "Russian"). Destroyed equipment is evidence of presence, so losses are
  presence too. Category ``troops`` when the text speaks of troops/soldiers and names no weapon,
  else ``equipment``.
* fire: Bombing or Explosion (explosion, undetermined), Military Infrastructure Damage and
  Munitions (explosion, impact: the damage or the remnants are where it landed), Russian Firing
  Positions (explosion, outgoing, ``affiliation`` Russia: the point is the origin), Ground Battle
  (burst_or_shot). No recognised weapon → ``weapon_class`` unknown.
* civilian_harm: Civilian Casualty, Civilian Infrastructure Damage, Mass grave or Burial,
  Detentions or Arrests.

Weapons: the free-text ``arms/munition`` (filled on ~2 % of rows) is matched against
:data:`WEAPON_RULES`, most specific and heaviest first (named systems, then classes), so
"BMD-4/GAZ Tigr/Ural/BM-27 URAGAN" is an Uragan (MLRS, 220 mm): withdrawal provisions turn on the
heaviest item. When it names nothing recognisable, the title and brief description are matched
instead. "cluster" says how a munition works, not what delivered it, and maps to no class.

Rows outside Ukraine (Belarus, Russia) are imported; the agreement's area-of-interest check flags
them. Dates are local calendar days → noon Kyiv time, precision ``day``. Rejected, with reason:
a missing or out-of-coverage date (the set is 2022; 2023-02-24 and 2024-02-2x are typos of 2022),
a missing ``entry`` (no stable id), and an exact repeat of an earlier row. A reused ``entry`` on a
different row gets ``-2``, ``-3`` … so ids stay unique. Location uncertainty: 500 m when the row
links a geolocation, else 5 km (placed at the town).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from truceline.adapters.importers.formats import (
    RawItem,
    Source,
    clean_text,
    iter_csv_rows,
    local_noon,
    open_text,
)
from truceline.core.catalogue import lookup_system
from truceline.core.observations import Rejection
from truceline.core.taxonomy import (
    ExplosionType,
    FireType,
    Kind,
    PresenceCategory,
    SourceType,
    TimePrecision,
    WeaponClass,
)

DATASET = "cir-bellingcat"
#: The dataset's coverage; dates outside it are typos, not events.
COVERAGE = (date(2022, 1, 1), date(2022, 12, 31))
GEOLOCATED_SIGMA_M = 500.0
APPROXIMATE_SIGMA_M = 5_000.0


@dataclass(frozen=True)
class GroupMapping:
    kind: Kind
    fire_type: FireType | None = None
    explosion_type: ExplosionType | None = None
    nationality: str | None = None
    affiliation: str | None = None
    unit_label: str | None = None


_EXPLOSION = FireType.EXPLOSION
#: event_group prefix → mapping (first matching prefix wins).
GROUPS: tuple[tuple[str, GroupMapping], ...] = (
    ("Russian Military Presence", GroupMapping(Kind.PRESENCE, nationality="Russia")),
    ("Russian Military Losses", GroupMapping(Kind.PRESENCE, nationality="Russia")),
    ("Ukrainian Military Losses", GroupMapping(Kind.PRESENCE, nationality="Ukraine")),
    ("Russian Allies Presence", GroupMapping(Kind.PRESENCE, unit_label="Russian allies")),
    ("Other", GroupMapping(Kind.PRESENCE)),
    (
        "Russian Firing Positions",
        GroupMapping(Kind.FIRE, _EXPLOSION, ExplosionType.OUTGOING, affiliation="Russia"),
    ),
    ("Bombing or Explosion", GroupMapping(Kind.FIRE, _EXPLOSION, ExplosionType.UNDETERMINED)),
    ("Military Infrastructure Damage", GroupMapping(Kind.FIRE, _EXPLOSION, ExplosionType.IMPACT)),
    ("Munitions", GroupMapping(Kind.FIRE, _EXPLOSION, ExplosionType.IMPACT)),
    ("Ground Battle", GroupMapping(Kind.FIRE, FireType.BURST_OR_SHOT)),
    ("Civilian Casualty", GroupMapping(Kind.CIVILIAN_HARM)),
    ("Civilian Infrastructure Damage", GroupMapping(Kind.CIVILIAN_HARM)),
    ("Mass grave or Burial", GroupMapping(Kind.CIVILIAN_HARM)),
    ("Detentions or Arrests", GroupMapping(Kind.CIVILIAN_HARM)),
)


@dataclass(frozen=True)
class Weapon:
    weapon_class: WeaponClass
    system: str | None = None
    calibre_mm: float | None = None


def _system(name: str) -> Weapon:
    known = lookup_system(name)
    assert known is not None, name  # a typo in the table below, caught by the tests
    return Weapon(known.weapon_class, known.name, known.calibre_mm)


W = WeaponClass
#: (pattern, weapon) in priority order: named systems heaviest first, then classes heaviest first.
WEAPON_RULES: tuple[tuple[re.Pattern[str], Weapon], ...] = tuple(
    (re.compile(p, re.IGNORECASE), w)
    for p, w in (
        (r"9m729|ssc-8", _system("9M729")),
        (r"kalibr|calibr\b|3m-?14|3m54", _system("Kalibr")),
        (r"\b[kx]h?-10[12]\b", _system("Kh-101")),
        (r"storm shadow|\bscalp", _system("Storm Shadow")),
        (r"oreshnik", _system("Oreshnik")),
        (r"iskand?er|iskender|9k720|9m723", _system("9K720 Iskander")),
        (r"\btochka|\btocha\b|9k79|9m79|otr-21", _system("9K79 Tochka")),
        (r"atacms|mgm-140", _system("ATACMS")),
        (r"smerch|bm-30|9k58|9m55|9m54[49]", _system("9K58 Smerch")),
        (r"tornado-s", _system("9K515 Tornado-S")),
        (r"uragan|bm-27|9k57|9m27", _system("9K57 Uragan")),
        (r"himars|m142", _system("HIMARS")),
        (r"\bgrad\b|bm-21|9k55\b|9m22", _system("BM-21 Grad")),
        (r"tos-1", _system("TOS-1 Buratino")),
        (r"2s7\b|\bpion\b|\bmalka\b", _system("2S7 Pion")),
        (r"2s19|msta-s", _system("2S19 Msta-S")),
        (r"2a65|msta-b", _system("2A65 Msta-B")),
        (r"2a36|giatsint-b", _system("2A36 Giatsint-B")),
        (r"2s5\b|giatsint", _system("2S5 Giatsint-S")),
        (r"2s3\b|akatsi", _system("2S3 Akatsiya")),
        (r"2s1\b|gvozdika", _system("2S1 Gvozdika")),
        (r"m777", _system("M777")),
        (r"\bd-?30\b", _system("D-30")),
        (r"2s12|2b11|\bsani\b", _system("2S12 Sani")),
        (r"2b9\b|vasilek", _system("2B9 Vasilek")),
        (r"mt-12|rapira", _system("MT-12 Rapira")),
        (r"\bt-?90", _system("T-90")),
        (r"\bt-?80", _system("T-80")),
        (r"\bt-?72", _system("T-72")),
        (r"\bt-?64", _system("T-64")),
        (r"\bmlrs|\bmrls?\b|multiple (launch )?rocket", Weapon(W.MLRS)),
        (r"cruise missile", Weapon(W.CRUISE_MISSILE)),
        (r"\bkh-\d+|ballistic missile", Weapon(W.TACTICAL_MISSILE)),
        (
            r"\bs-?[234]00|\bbuk\b|buk-m|\btor\b|tor-m|pantsir|tunguska|\bosa\b|osa-akm|9k33"
            r"|\bsam\b|anti-aircraft|air defen[cs]e",
            Weapon(W.AIR_DEFENCE),
        ),
        (r"missile", Weapon(W.TACTICAL_MISSILE)),
        (r"howitzer|artillery|self-propelled gun", Weapon(W.TUBE_ARTILLERY)),
        (r"mortar", Weapon(W.MORTAR)),
        (r"drone|\buav\b|bayraktar|\btb2\b|orlan|forpost|zala|lancet|shahed", Weapon(W.UAV)),
        (
            r"helicopter|\bka-52|\bmi-\d+|\bsu-\d+|aircraft|air ?strike|air raid|aerial bomb"
            r"|fighter jet|warplane",
            Weapon(W.AIRCRAFT),
        ),
        (r"\btanks?\b", Weapon(W.TANK)),
        (
            r"\bbmp|\bbtr|\bbmd|mt-?lb|\bifv|\bapc\b|armou?red|\btigr|bushmaster",
            Weapon(W.ARMOURED_VEHICLE),
        ),
        (r"heavy machine gun|\bhmg\b|\bdshk|\bkord\b|\bnsv\b", Weapon(W.HEAVY_MACHINE_GUN)),
        (r"\brpg|grenade|\bags-|\brshg", Weapon(W.GRENADE_LAUNCHER)),
        (
            r"small arms|\brifle|riffle|\bak-?(47|74)|\bak's|machine gun|sniper|\bsvd\b|gunfire"
            r"|\bshots?\b|shooting",
            Weapon(W.SMALL_ARMS),
        ),
        (r"\bmines?\b|landmine|minefield", Weapon(W.MINE)),
    )
)

_TROOPS = re.compile(r"troops|soldiers|personnel|servicem[ae]n|infantry|paratroop", re.I)
_RUSSIAN = re.compile(r"\brussian", re.I)
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "×": "x"})


def classify_weapon(text: str) -> Weapon | None:
    """The highest-priority weapon named in free text, or None."""
    text = text.translate(_QUOTES)
    for pattern, weapon in WEAPON_RULES:
        if pattern.search(text):
            return weapon
    return None


def group_mapping(event_group: str) -> GroupMapping | None:
    """The mapping for an event_group, ignoring its month/period suffix."""
    name = event_group.strip()
    for prefix, mapping in GROUPS:
        if name.startswith(prefix):
            return mapping
    return None


def _float(row: dict[str, str], name: str) -> float | str:
    text = row.get(name, "").strip()
    try:
        value = float(text)
    except ValueError:
        return f"not a number: {text!r}" if text else "missing"
    return value if math.isfinite(value) else f"not a finite number: {text!r}"


def map_row(line: int, row: dict[str, str], obs_id: str) -> dict[str, Any] | Rejection:
    """One CIR row → a raw observation record, or a rejection naming the CIR column."""
    text = row.get("date", "").strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        reason = f"not an ISO date: {text!r}" if text else "missing"
        return Rejection(line, "date", reason, obs_id)
    if not COVERAGE[0] <= day <= COVERAGE[1]:
        return Rejection(
            line,
            "date",
            f"{day} is outside the dataset's {COVERAGE[0].year} coverage (a typo?)",
            obs_id,
        )
    mapping = group_mapping(row.get("event_group", ""))
    if mapping is None:
        return Rejection(line, "event_group", f"unknown group {row.get('event_group')!r}", obs_id)
    lat, lon = _float(row, "lat"), _float(row, "lon")
    for name, value in (("lat", lat), ("lon", lon)):
        if isinstance(value, str):
            return Rejection(line, name, value, obs_id)

    arms = row.get("arms/munition", "").strip()
    title = row.get("brief description", "").strip() or row.get("title", "").strip()
    weapon = classify_weapon(arms) if arms else None
    weapon = weapon or classify_weapon(f"{row.get('title', '')} {title}")
    geolocated = bool(row.get("geolocation", "").strip())

    out: dict[str, Any] = {
        "id": obs_id,
        "kind": mapping.kind.value,
        "time": local_noon(day).isoformat(),
        "time_precision": TimePrecision.DAY.value,
        "source_id": DATASET,
        "source_type": SourceType.OPEN_SOURCE.value,
        "lon": lon,
        "lat": lat,
        "location_uncertainty_m": GEOLOCATED_SIGMA_M if geolocated else APPROXIMATE_SIGMA_M,
        "location_precision": "cir geolocated" if geolocated else "cir approximate",
        "dataset": DATASET,
        "dataset_ref": row.get("entry", "").strip(),
        "description": clean_text(
            " | ".join(
                part
                for part in (
                    title,
                    f"CIR group: {row.get('event_group', '').strip()}",
                    f"violence level: {row.get('violence level', '').strip() or 'n/a'}",
                    f"arms/munition: {arms}" if arms else "",
                    row.get("link", "").strip(),
                )
                if part
            )
        ),
    }
    if weapon is not None:
        out.update(weapon_class=weapon.weapon_class.value, system=weapon.system)
        out["calibre_mm"] = weapon.calibre_mm
    if mapping.kind is Kind.FIRE:
        out["fire_type"] = mapping.fire_type.value if mapping.fire_type else None
        out["explosion_type"] = mapping.explosion_type.value if mapping.explosion_type else None
        out["weapon_class"] = out.get("weapon_class") or WeaponClass.UNKNOWN.value
        out["affiliation"] = mapping.affiliation
    elif mapping.kind is Kind.PRESENCE:
        troops = weapon is None and _TROOPS.search(f"{row.get('title', '')} {title}")
        category = PresenceCategory.TROOPS if troops else PresenceCategory.EQUIPMENT
        out["presence_category"] = category.value
        nationality = mapping.nationality
        if nationality is None and mapping.unit_label is None and _RUSSIAN.search(title):
            nationality = "Russia"
        out.update(nationality=nationality, unit_label=mapping.unit_label)
    return {k: v for k, v in out.items() if v is not None}


def read_cir(source: Source, encoding: str | None = None) -> Iterator[RawItem]:
    """Stream the CIR CSV; ids are ``cir-<entry>``, made unique as described above."""
    seen: dict[str, int] = {}  # entry -> times seen
    rows: dict[bytes, int] = {}  # digest of the row's cells -> first line (spots exact repeats)
    with open_text(source, encoding) as fh:
        for line, row in iter_csv_rows(fh):
            if isinstance(row, Rejection):
                yield line, row
                continue
            entry = row.get("entry", "").strip()
            if not entry:
                yield line, Rejection(line, "entry", "missing, so the row has no stable id")
                continue
            key = hashlib.blake2b("\x1f".join(row.values()).encode(), digest_size=16).digest()
            if key in rows:
                yield (
                    line,
                    Rejection(line, "(row)", f"exact repeat of line {rows[key]}", f"cir-{entry}"),
                )
                continue
            rows[key] = line
            n = seen.get(entry, 0)
            seen[entry] = n + 1
            obs_id = f"cir-{entry}" if n == 0 else f"cir-{entry}-{n + 1}"
            yield line, map_row(line, row, obs_id)
