"""Named places for the base map: cities and towns along and behind the line of contact.

Kept as data in the package (``core/data/places.csv``: name, country, kind, lat, lon) and read
once at import, so the daily report's static map and the dashboard label the same towns at the
same spots. Coordinates were compiled by hand from public gazetteer entries (GeoNames, CC BY
4.0) and rounded to 0.01 degree (about 1 km): they place a label, they never locate evidence.
Names follow Ukraine's official romanisation (2010), the spelling the reports use.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib.resources import files

__all__ = ["KINDS", "PLACES", "Place", "parse_places"]

#: Kinds in drawing order of importance (a map at a small scale labels only the first ones).
KINDS = ("capital", "oblast_centre", "city", "town")


@dataclass(frozen=True)
class Place:
    """One labelled point (WGS 84)."""

    name: str
    country: str
    kind: str
    lon: float
    lat: float

    @property
    def rank(self) -> int:
        """0 for the capital, 3 for a town: the smaller, the earlier it is labelled."""
        return KINDS.index(self.kind)


def parse_places(text: str) -> tuple[Place, ...]:
    """The rows of ``places.csv``; a bad kind or coordinate is refused naming its line."""
    out = []
    reader = csv.DictReader(io.StringIO(text))
    for r in reader:
        kind = r["kind"].strip()
        if kind not in KINDS:
            raise ValueError(f"places.csv line {reader.line_num}: kind {kind!r} is not one of "
                             f"{', '.join(KINDS)}")
        lat, lon = float(r["lat"]), float(r["lon"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError(f"places.csv line {reader.line_num}: lat/lon out of range")
        out.append(Place(r["name"].strip(), r["country"].strip(), kind, lon, lat))
    return tuple(out)


PLACES: tuple[Place, ...] = parse_places(
    files("truceline.core").joinpath("data/places.csv").read_text(encoding="utf-8"))
