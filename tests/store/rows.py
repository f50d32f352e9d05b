"""Rows the store tests ingest."""

from __future__ import annotations

from typing import Any


def fire_row(oid: str, source: str, lon: float, observer_lon: float) -> dict[str, Any]:
    """A monitor's report of outgoing tube artillery (a second post's report
    of the same explosion joins its incident)."""
    return {"id": oid, "kind": "fire", "fire_type": "explosion", "explosion_type": "outgoing",
            "time": "2025-03-27T20:40:00+02:00", "source_id": source, "lon": lon, "lat": 48.35,
            "location_uncertainty_m": 300.0, "observer_lon": observer_lon,
            "observer_lat": 48.37, "bearing_deg": 100.0, "weapon_class": "tube_artillery"}
