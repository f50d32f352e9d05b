"""The OSCE SMM's own published counts (``smm_reported_counts_sourced.csv``) → aggregates.

Each row is what an SMM report said for one region and one period: the total of ceasefire
violations and, where given, the breakdown (explosions, projectiles in flight, muzzle flashes,
illumination flares, bursts and shots). These are counts over an area and a period, not
points, so each given figure becomes one observation of kind ``aggregate``: ``area`` the
region as the report names it ("Donetsk", "Luhansk", "Donetsk+Luhansk"), [``time``,
``end_time``) the period, ``category`` the column (``ceasefire_violation`` for the total,
else the fire unit), ``quantity`` the figure. A blank figure is not zero: it is not imported.

The periods are local time (EET/EEST, 19:30 to 19:30 for the daily reports) without an offset,
as the file's README says; they are pinned to Europe/Kyiv. ``approximate`` rows ("more than
800", "about 1200") are imported with the figure as given and say so in the description.
The ``prev_period_*`` columns restate the period before (which has a row of its own when the
file holds it) and are not imported.
Id: ``smm-<report>-<period start>-<period end>-<area>-<category>``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from truceline.adapters.importers.formats import KYIV, RawItem, Source, clean_text, read_mapped_csv
from truceline.core.observations import Rejection
from truceline.core.taxonomy import FireType, Kind, SourceType, TimePrecision

DATASET = "osce-smm"
#: Column → aggregate category.
COLUMNS: dict[str, str] = {
    "ceasefire_violations": "ceasefire_violation",
    "explosions": FireType.EXPLOSION.value,
    "projectiles_in_flight": FireType.PROJECTILE_IN_FLIGHT.value,
    "muzzle_flashes": FireType.MUZZLE_FLASH.value,
    "illumination_flares": FireType.ILLUMINATION_FLARE.value,
    "bursts_and_shots": FireType.BURST_OR_SHOT.value,
}
_SLUG = re.compile(r"[^A-Za-z0-9]+")


def _slug(text: str) -> str:
    return _SLUG.sub("-", text).strip("-").lower()


def _local(row: dict[str, str], name: str) -> datetime:
    text = row.get(name, "").strip()
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise _Bad(name, f"not a local date and time: {text!r}" if text else "missing") from None
    if value.tzinfo is not None:
        raise _Bad(name, f"local time is expected without an offset: {text!r}")
    return value.replace(tzinfo=KYIV)


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def map_row(line: int, row: dict[str, str]) -> Iterator[dict[str, Any] | Rejection]:
    """One report row → one aggregate per figure given, or one Rejection naming the column."""
    ref, area = row.get("report_ref", "").strip(), row.get("region", "").strip()
    try:
        if not ref:
            raise _Bad("report_ref", "missing")
        if not area:
            raise _Bad("region", "missing")
        start, end = _local(row, "period_start_local"), _local(row, "period_end_local")
        if end <= start:
            raise _Bad("period_end_local", f"{end:%Y-%m-%dT%H:%M} is not after the start")
        figures: dict[str, int] = {}
        for col, category in COLUMNS.items():
            text = row.get(col, "").strip()
            if text:
                if not text.isdigit():
                    raise _Bad(col, f"not a count: {text!r}")
                figures[category] = int(text)
        approx = row.get("approximate", "").strip().lower()
        if approx not in ("", "true", "false"):
            raise _Bad("approximate", f"not true or false: {approx!r}")
    except _Bad as bad:
        yield Rejection(line, bad.field, bad.reason, f"smm-{_slug(ref)}" if ref else None)
        return
    notes = row.get("notes", "").strip()
    words = [f"{ref}, {area}", "approximate figures" if approx == "true" else "",
             notes, row.get("source_url", "").strip()]
    base = f"smm-{_slug(ref)}-{start:%Y%m%dT%H%M}-{end:%Y%m%dT%H%M}-{_slug(area)}"
    for category, n in figures.items():
        yield {
            "id": f"{base}-{category}",
            "kind": Kind.AGGREGATE.value,
            "time": start.isoformat(),
            "end_time": end.isoformat(),
            "time_precision": TimePrecision.MINUTE.value,
            "source_id": DATASET,
            "source_type": SourceType.MONITOR.value,
            "area": area,
            "category": category,
            "quantity": n,
            "dataset": DATASET,
            "dataset_ref": ref,
            "description": clean_text(" | ".join(w for w in words if w)),
        }


def read_osce_smm(source: Source, encoding: str | None = None) -> Iterator[RawItem]:
    """Stream the SMM counts CSV (UTF-8, or cp1252 like the other datasets)."""
    return read_mapped_csv(source, encoding, map_row)
