"""The controlled vocabulary of what monitors report, drawn from OSCE SMM practice.

One count per explosion, projectile in flight, muzzle flash, illumination flare, or burst/shot;
explosions typed impact / outgoing / airburst / undetermined. Weapon classes carry the calibre
bands that withdrawal provisions are written in (e.g. Minsk II: artillery of 100 mm and more).
Named systems, with their calibres and published ranges, are in :mod:`truceline.core.catalogue`.
"""

from __future__ import annotations

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
    SUSPENSION = "suspension"
    """A party's notice that it suspends the agreement (or the provision ``category`` names)
    from ``time``, until ``end_time`` if it resumed; ``description`` says where it was made."""
    AGGREGATE = "aggregate"
    """A count over a named ``area`` and the period [``time``, ``end_time``), as a mission
    published it (e.g. the OSCE SMM's daily counts by region): ``category`` says what was
    counted (:data:`AGGREGATE_CATEGORIES`), ``quantity`` how many. Counted, not located: no
    point, so no sector, distance or attribution; the daily report lists it apart."""


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


#: What an aggregate counts: one of the monitors' fire units, or ``ceasefire_violation``, a
#: total of all of them (as published when no breakdown is given).
AGGREGATE_CATEGORIES: tuple[str, ...] = (
    "ceasefire_violation", *(f.value for f in FireType))


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
    """Short-range ground-launched missiles (Tochka, Iskander-M, ATACMS)."""
    CRUISE_MISSILE = "cruise_missile"
    """Cruise missiles of longer range, from ground, sea or air (9M729, Kalibr, Kh-101)."""
    BALLISTIC_MISSILE = "ballistic_missile"
    """Ballistic missiles beyond the tactical class (Pershing II, SS-20, Oreshnik)."""
    TANK = "tank"
    ARMOURED_VEHICLE = "armoured_vehicle"
    ANTI_TANK_GUIDED_MISSILE = "anti_tank_guided_missile"
    AIR_DEFENCE = "air_defence"
    UAV = "uav"
    AIRCRAFT = "aircraft"
    MINE = "mine"
    UNKNOWN = "unknown"


class Basing(StrEnum):
    """Where a weapon is launched from (the INF Treaty bans ground-launched missiles only)."""

    GROUND = "ground"
    SEA = "sea"
    AIR = "air"


class WeaponActivity(StrEnum):
    """What a weapon sighting saw the weapon do: held (deployed, stored, moved), launched in
    combat, or launched in a test (a test flight of a banned missile is itself prohibited)."""

    HELD = "held"
    LAUNCH = "launch"
    TEST_LAUNCH = "test_launch"


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
