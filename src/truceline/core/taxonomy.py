"""The controlled vocabulary of what monitors report, drawn from OSCE SMM practice.

One count per explosion, projectile in flight, muzzle flash, illumination flare, or burst/shot;
explosions typed impact / outgoing / airburst / undetermined. Weapon classes carry the calibre
bands that withdrawal provisions are written in (e.g. Minsk II: artillery of 100 mm and more).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What an observation is about."""

    FIRE = "fire"
    WEAPON_SIGHTING = "weapon_sighting"
    PRESENCE = "presence"
    RESTRICTION = "restriction"
    DECLARATION = "declaration"
    INSPECTION = "inspection"
    CIVILIAN_HARM = "civilian_harm"
    MONITORING = "monitoring"
    """A monitoring asset's status over a time: post manned, camera down, patrol at a stop."""
    STATUS = "status"
    """A status event: an application, accession, declaration of status (core/alliances.py)."""


class CountUnit(StrEnum):
    """What one count of a record stands for (see :mod:`truceline.core.counting`)."""

    EXPLOSION = "explosion"
    PROJECTILE_IN_FLIGHT = "projectile_in_flight"
    MUZZLE_FLASH = "muzzle_flash"
    ILLUMINATION_FLARE = "illumination_flare"
    BURST_OR_SHOT = "burst_or_shot"
    EVENT = "event"  # a dataset's coded event, e.g. UCDP GED: a day's fighting, >= 1 death
    SIGHTING = "sighting"
    REPORT = "report"


class FireType(StrEnum):
    EXPLOSION = "explosion"
    PROJECTILE_IN_FLIGHT = "projectile_in_flight"
    MUZZLE_FLASH = "muzzle_flash"
    ILLUMINATION_FLARE = "illumination_flare"
    BURST_OR_SHOT = "burst_or_shot"


class ExplosionType(StrEnum):
    IMPACT = "impact"
    OUTGOING = "outgoing"
    AIRBURST = "airburst"
    UNDETERMINED = "undetermined"


class WeaponClass(StrEnum):
    SMALL_ARMS = "small_arms"
    HEAVY_MACHINE_GUN = "heavy_machine_gun"
    GRENADE_LAUNCHER = "grenade_launcher"
    MORTAR = "mortar"
    ANTI_TANK_GUN = "anti_tank_gun"
    TUBE_ARTILLERY = "tube_artillery"
    MLRS = "mlrs"
    TACTICAL_MISSILE = "tactical_missile"
    TANK = "tank"
    ARMOURED_VEHICLE = "armoured_vehicle"
    ANTI_TANK_GUIDED_MISSILE = "anti_tank_guided_missile"
    AIR_DEFENCE = "air_defence"
    UAV = "uav"
    AIRCRAFT = "aircraft"
    MINE = "mine"
    UNKNOWN = "unknown"


class RestrictionType(StrEnum):
    CHECKPOINT = "checkpoint"
    DENIAL_OF_ACCESS = "denial_of_access"
    MINES = "mines"
    UAV_JAMMING = "uav_jamming"
    SHOTS_AT_MONITORS = "shots_at_monitors"
    OTHER = "other"


class AssetType(StrEnum):
    """The monitoring assets coverage is derived from (docs/coverage.md)."""

    POST = "post"
    PATROL = "patrol"
    CAMERA = "camera"
    ACOUSTIC_ARRAY = "acoustic_array"


class AssetStatus(StrEnum):
    """``active``: observing (post manned, camera up, patrol at its stop) over the interval;
    ``down``: not observing over it (camera down, post unmanned), whatever else says active."""

    ACTIVE = "active"
    DOWN = "down"


class PresenceCategory(StrEnum):
    TROOPS = "troops"
    EQUIPMENT = "equipment"
    UNIT = "unit"


class SourceType(StrEnum):
    MONITOR = "monitor"
    SENSOR = "sensor"
    CAMERA = "camera"
    PARTY = "party"
    INSPECTION_TEAM = "inspection_team"
    OPEN_SOURCE = "open_source"


class TimePrecision(StrEnum):
    """How exactly the time is known; fusion widens its window and reports quote it."""

    SECOND = "second"
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


#: Half-width, in seconds, of the time window each precision stands for.
TIME_PRECISION_SECONDS: dict[TimePrecision, float] = {
    TimePrecision.SECOND: 1.0,
    TimePrecision.MINUTE: 60.0,
    TimePrecision.HOUR: 3600.0,
    TimePrecision.DAY: 86400.0,
    TimePrecision.WEEK: 7 * 86400.0,
    TimePrecision.MONTH: 31 * 86400.0,
    TimePrecision.YEAR: 366 * 86400.0,
}


@dataclass(frozen=True)
class WeaponSystem:
    name: str
    weapon_class: WeaponClass
    calibre_mm: float | None
    aliases: tuple[str, ...] = ()


#: Systems named in the Minsk documents and common in monitors' reports (public reference data).
SYSTEMS: tuple[WeaponSystem, ...] = (
    WeaponSystem("2B9 Vasilek", WeaponClass.MORTAR, 82, ("vasilek", "2b9")),
    WeaponSystem("2B11 Sani", WeaponClass.MORTAR, 120, ("2b11", "sani", "pm-38")),
    WeaponSystem("2S12 Sani", WeaponClass.MORTAR, 120, ("2s12",)),
    WeaponSystem("MT-12 Rapira", WeaponClass.ANTI_TANK_GUN, 100, ("mt-12", "rapira")),
    WeaponSystem("D-30", WeaponClass.TUBE_ARTILLERY, 122, ("d-30", "d30")),
    WeaponSystem("2S1 Gvozdika", WeaponClass.TUBE_ARTILLERY, 122, ("2s1", "gvozdika")),
    WeaponSystem("2S3 Akatsiya", WeaponClass.TUBE_ARTILLERY, 152, ("2s3", "akatsiya", "akatsia")),
    WeaponSystem("2S5 Giatsint-S", WeaponClass.TUBE_ARTILLERY, 152, ("2s5", "giatsint")),
    WeaponSystem("2A65 Msta-B", WeaponClass.TUBE_ARTILLERY, 152, ("2a65", "msta-b")),
    WeaponSystem("2S19 Msta-S", WeaponClass.TUBE_ARTILLERY, 152, ("2s19", "msta-s")),
    WeaponSystem("2A36 Giatsint-B", WeaponClass.TUBE_ARTILLERY, 152, ("2a36", "giatsint-b")),
    WeaponSystem("2S7 Pion", WeaponClass.TUBE_ARTILLERY, 203, ("2s7", "pion", "malka")),
    WeaponSystem("M777", WeaponClass.TUBE_ARTILLERY, 155, ("m777",)),
    WeaponSystem("BM-21 Grad", WeaponClass.MLRS, 122, ("bm-21", "grad")),
    WeaponSystem("9K51M Tornado-G", WeaponClass.MLRS, 122, ("tornado-g",)),
    WeaponSystem("9K57 Uragan", WeaponClass.MLRS, 220, ("bm-27", "uragan")),
    WeaponSystem("9K58 Smerch", WeaponClass.MLRS, 300, ("bm-30", "smerch")),
    WeaponSystem("9K515 Tornado-S", WeaponClass.MLRS, 300, ("tornado-s",)),
    WeaponSystem("9A52-4 Tornado-U", WeaponClass.MLRS, 220, ("tornado-u",)),
    WeaponSystem(
        "TOS-1 Buratino", WeaponClass.MLRS, 220, ("tos-1", "tos-1a", "buratino", "solntsepek")
    ),
    WeaponSystem("9M133 Kornet", WeaponClass.ANTI_TANK_GUIDED_MISSILE, 152, ("kornet",)),
    WeaponSystem("HIMARS", WeaponClass.MLRS, 227, ("m142", "himars")),
    WeaponSystem("9K79 Tochka", WeaponClass.TACTICAL_MISSILE, 650, ("tochka", "tochka-u", "9k79")),
    WeaponSystem("9K720 Iskander", WeaponClass.TACTICAL_MISSILE, 920, ("iskander",)),
    WeaponSystem("T-64", WeaponClass.TANK, 125, ("t-64",)),
    WeaponSystem("T-72", WeaponClass.TANK, 125, ("t-72",)),
    WeaponSystem("T-80", WeaponClass.TANK, 125, ("t-80",)),
    WeaponSystem("T-90", WeaponClass.TANK, 125, ("t-90",)),
)


def _norm(name: str) -> str:
    return " ".join(name.lower().replace("_", "-").split())


_SYSTEM_INDEX: dict[str, WeaponSystem] = {}
for _s in SYSTEMS:
    for _key in (_s.name, *_s.aliases):
        _SYSTEM_INDEX[_norm(_key)] = _s


def lookup_system(name: str) -> WeaponSystem | None:
    """The known system for a name or alias (case- and spacing-insensitive), else None."""
    key = _norm(name)
    if key in _SYSTEM_INDEX:
        return _SYSTEM_INDEX[key]
    for alias, system in _SYSTEM_INDEX.items():
        if alias in key.split() or key.startswith(alias + " "):
            return system
    return None
