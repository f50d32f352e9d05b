"""Words for the internal values findings and reports show to people.

A report reads "the monitors were denied access", "a unit of 252 personnel", "tube artillery",
"insufficient evidence", never ``denial_of_access``, ``252 x unit``, ``tube_artillery`` or
``insufficient_evidence``; and it gives every time in one labelled convention (local time of
the agreement's zone), where findings store UTC.

Examples
--------
>>> words("insufficient_evidence"), words("mlrs"), words("tube_artillery")
('insufficient evidence', 'MLRS', 'tube artillery')
>>> restriction_words("denial_of_access")
'the monitors were denied access'
>>> presence_words(252, "unit"), presence_words(1, "troops"), presence_words(3, None)
('a unit of 252 personnel', '1 soldier', '3 sightings of foreign presence')
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

__all__ = ["local_times", "presence_words", "restriction_words", "tz_label", "words"]

#: Values whose words are not the value with spaces for underscores.
_WORDS = {
    "mlrs": "MLRS",
    "uav": "UAV",
    "uav_jamming": "UAV jamming",
    "anti_tank_guided_missile": "anti-tank guided missile",
    "anti_tank_gun": "anti-tank gun",
    "shots_at_monitors": "shots at the monitors",
}

_RESTRICTIONS = {
    "checkpoint": "the monitors were stopped at a checkpoint",
    "denial_of_access": "the monitors were denied access",
    "mines": "the monitors' way was blocked by mines",
    "uav_jamming": "the monitors' UAV was jammed",
    "shots_at_monitors": "shots were fired at the monitors",
    "other": "the monitors' movement was restricted",
}


def words(value: str) -> str:
    """An internal value (enum, verdict, class) in words."""
    return _WORDS.get(value, value.replace("_", " "))


def restriction_words(rtype: str) -> str:
    """What happened to the monitors, as a clause."""
    return _RESTRICTIONS.get(rtype, f"the monitors' movement was restricted ({words(rtype)})")


def presence_words(count: int, category: str | None) -> str:
    """A presence sighting's count in words: troops are people, a unit's count is its size."""
    if category == "troops":
        return f"{count} soldier{'s' if count != 1 else ''}"
    if category == "unit":
        return f"a unit of {count} personnel"
    if category == "equipment":
        return f"{count} piece{'s' if count != 1 else ''} of military equipment"
    return f"{count} sighting{'s' if count != 1 else ''} of foreign presence"


def tz_label(tz: ZoneInfo, at: datetime) -> str:
    """The report's time convention, e.g. "local time, Europe/Kyiv (EET, UTC+02:00)"."""
    t = at.astimezone(tz)
    off = t.strftime("%z")
    return f"local time, {tz.key} ({t.tzname()}, UTC{off[:3]}:{off[3:]})"


_ISO_Z = re.compile(r"\b(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?Z\b")


def local_times(text: str, tz: ZoneInfo) -> str:
    """Every UTC timestamp (``...Z``) in ``text`` as local time with its zone's abbreviation.

    >>> kyiv = ZoneInfo("Europe/Kyiv")
    >>> local_times("at 2025-03-28T05:14:00Z, deadline 2025-06-01T00:00:00Z", kyiv)
    'at 2025-03-28 07:14 EET, deadline 2025-06-01 03:00 EEST'
    """
    def sub(m: re.Match[str]) -> str:
        return _local_minute(m.group(1), m.group(2), tz)

    return _ISO_Z.sub(sub, text)


@lru_cache(maxsize=4096)
def _local_minute(day: str, hh_mm: str, tz: ZoneInfo) -> str:
    """A UTC minute as local time: a day's ~12,000 findings name ~1,400 distinct minutes
    (a dense day's report spent ~0.1 s converting them one finding at a time)."""
    t = datetime.fromisoformat(f"{day}T{hh_mm}:00+00:00").astimezone(tz)
    return t.strftime("%Y-%m-%d %H:%M %Z")


_COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west",
            "north-west")


def place_words(lon: float, lat: float) -> str:
    """Where a point is, as monitors write it: "12 km south-east of Kupiansk" (the nearest
    named place of :mod:`truceline.core.places`; "in Kupiansk" within 2 km).

    >>> place_words(37.62, 49.71)
    'in Kupiansk'
    """
    from truceline.core.geo import GEOD
    from truceline.core.places import PLACES

    lons = [p.lon for p in PLACES]
    lats = [p.lat for p in PLACES]
    az, _, dist = GEOD.inv(lons, lats, [lon] * len(lons), [lat] * len(lats))
    k = min(range(len(PLACES)), key=lambda i: (dist[i], i))
    km = dist[k] / 1000.0
    if km < 2.0:
        return f"in {PLACES[k].name}"
    return f"{km:.0f} km {_COMPASS[int(((az[k] % 360) + 22.5) // 45) % 8]} of {PLACES[k].name}"
