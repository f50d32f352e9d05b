"""UCDP Georeferenced Event Dataset (GED) CSV → observations.

A GED event is "use of armed force with at least one death", one row per dyad, place and day (or
date range). It codes who fought whom and how many died, not which weapon or who fired. So:

* ``type_of_violence`` 1 (state-based) or 2 (non-state) → kind ``fire``, ``fire_type`` explosion,
  ``explosion_type`` undetermined, ``weapon_class`` unknown: GED does not say what was used, and an
  undetermined explosion is what a monitor logs when only the effect is known. ``killed`` is
  ``best``; ``affiliation`` stays empty: side_a/side_b are the dyad, not the side that fired.
* If such an event also killed civilians (``deaths_civilians`` > 0), a second observation of kind
  ``civilian_harm`` (id ``ucdp-<id>-civilians``, ``killed`` = deaths_civilians) is emitted, so that
  civilian harm is counted without being folded into the count of fire.
* ``type_of_violence`` 3 (one-sided violence against civilians) → kind ``civilian_harm`` with
  ``killed`` = ``best`` and ``affiliation`` = side_a, the perpetrator by definition.

Location: ``longitude``/``latitude``; ``where_prec`` becomes a 1-sigma radius (half the distance
the code stands for, see :data:`WHERE_PREC_SIGMA_M`) and is kept, named (:data:`WHERE_PREC_NAME`),
in ``location_precision`` ("oblast, UCDP where_prec 4"): checks and reports assign a sector, a
region or a distance only as far as that radius allows. Time: noon Kyiv time on
``date_start`` (the dataset's dates are local calendar days); ``time_precision`` from
``date_prec``, widened if needed so that the window still reaches ``date_end``.

Dates come as ISO (``2014-01-22T00:00:00``, the clean export) or as the two Excel renderings in
the messy cp1252 export: ``9/30/2022 12:00:00 AM`` (text Excel did not recognise) and
``01/05/2014 00:00`` (dates Excel did recognise and re-rendered). Both are month first: on the
2,989 events the messy file shares with the clean one, reading ``NN/NN`` month first reproduces
the clean ``date_start`` for every row but two that UCDP itself revised between versions.

A row that cannot be mapped (bad date, missing coordinates, unknown code) becomes a
:class:`Rejection` naming the line, the UCDP column and the reason; nothing is dropped silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from truceline.adapters.importers.formats import (
    RawItem,
    Source,
    clean_text,
    local_noon,
    read_mapped_csv,
)
from truceline.core.observations import Rejection
from truceline.core.taxonomy import (
    TIME_PRECISION_SECONDS,
    CountUnit,
    ExplosionType,
    FireType,
    Kind,
    SourceType,
    TimePrecision,
    WeaponClass,
)

DATASET = "ucdp-ged"

#: where_prec (UCDP GED codebook) → 1-sigma radius in metres, half the extent the code stands for:
#: 1 the place itself (a settlement, ~4 km), 2 within ~25 km of it, 3 a raion (~50 km),
#: 4 an oblast (~150 km), 5 a road, river or stretch of front (~50 km), 6 the country
#: (Ukraine spans ~1,300 km), 7 international waters or airspace (~100 km).
WHERE_PREC_SIGMA_M: dict[int, float] = {
    1: 2_000.0,
    2: 12_500.0,
    3: 25_000.0,
    4: 75_000.0,
    5: 25_000.0,
    6: 650_000.0 / 2,
    7: 50_000.0,
}

#: where_prec → the words a finding or report uses for "where is known to": "sector unassigned
#: (precision: oblast, UCDP where_prec 4)".
WHERE_PREC_NAME: dict[int, str] = {
    1: "place",
    2: "near a place",
    3: "raion",
    4: "oblast",
    5: "road, river or front stretch",
    6: "country",
    7: "waters or airspace",
}

#: date_prec (codebook: 1 exact day, 2 within 2–6 days, 3 the week, 4 within 8–30 days or the
#: month, 5 longer) → the least precision to use; the date_start..date_end span may widen it.
DATE_PREC: dict[int, TimePrecision] = {
    1: TimePrecision.DAY,
    2: TimePrecision.WEEK,
    3: TimePrecision.WEEK,
    4: TimePrecision.MONTH,
    5: TimePrecision.YEAR,
}

#: Actor names shortened to the state names truceline's agreements use for nationality.
ACTORS: dict[str, str] = {
    "Government of Ukraine": "Ukraine",
    "Government of Russia (Soviet Union)": "Russia",
}

_ORDER = list(TimePrecision)
_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M")
_SPACE = re.compile(r"\s+")


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def parse_ucdp_date(text: str) -> date:
    """A GED date in any of the renderings above (time of day ignored: GED dates are days)."""
    value = _SPACE.sub(" ", text.strip())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date in a known format: {text!r}")


def _date(row: dict[str, str], name: str) -> date:
    try:
        return parse_ucdp_date(row.get(name, ""))
    except ValueError as exc:
        raise _Bad(name, str(exc)) from None


def _number(row: dict[str, str], name: str) -> float:
    text = row.get(name, "").strip()
    if not text:
        raise _Bad(name, "missing")
    try:
        value = float(text)
    except ValueError:
        raise _Bad(name, f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise _Bad(name, f"not a finite number: {text!r}")
    return value


def _count(row: dict[str, str], name: str) -> int:
    value = _number(row, name)
    if value < 0 or value != int(value):
        raise _Bad(name, f"not a count: {row[name]!r}")
    return int(value)


def _code(row: dict[str, str], name: str, known: dict[int, Any]) -> int:
    value = _count(row, name)
    if value not in known:
        raise _Bad(name, f"unknown code {value} (expected one of {sorted(known)})")
    return value


def _precision(code: int, span_days: int) -> TimePrecision:
    """The code's precision, or coarser until noon-of-start ± half-width reaches date_end."""
    least = DATE_PREC[code]
    need = (span_days + 0.5) * 86400.0
    for p in _ORDER[_ORDER.index(least) :]:
        if TIME_PRECISION_SECONDS[p] >= need:
            return p
    return _ORDER[-1]


def map_row(line: int, row: dict[str, str]) -> Iterator[dict[str, Any] | Rejection]:
    """One GED row → one or two raw observation records, or one rejection."""
    ucdp_id = row.get("id", "").strip() or None
    try:
        if ucdp_id is None:
            raise _Bad("id", "missing")
        violence = _code(row, "type_of_violence", {1: 0, 2: 0, 3: 0})
        lat, lon = _number(row, "latitude"), _number(row, "longitude")
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise _Bad("latitude", f"not a WGS84 position: ({lat}, {lon})")
        where = _code(row, "where_prec", WHERE_PREC_SIGMA_M)
        start, end = _date(row, "date_start"), _date(row, "date_end")
        if end < start:
            raise _Bad("date_end", f"{end} is before date_start {start}")
        precision = _precision(_code(row, "date_prec", DATE_PREC), (end - start).days)
        best = _count(row, "best")
        civilians = _count(row, "deaths_civilians") if row.get("deaths_civilians") else 0
    except _Bad as bad:
        yield Rejection(line, bad.field, bad.reason, f"ucdp-{ucdp_id}" if ucdp_id else None)
        return

    place = row.get("where_description", "").strip() or row.get("where_coordinates", "").strip()
    dates = f" between {start} and {end}" if end != start else ""
    headline = row.get("source_headline", "").strip()
    description = clean_text(
        f"{place}{dates} ({row.get('dyad_name', '').strip()}): {headline}", limit=1000
    )
    common: dict[str, Any] = {
        "time": local_noon(start).isoformat(),
        "time_precision": precision.value,
        "source_id": DATASET,
        "source_type": SourceType.OPEN_SOURCE.value,
        "lon": lon,
        "lat": lat,
        "location_uncertainty_m": WHERE_PREC_SIGMA_M[where],
        "location_precision": f"{WHERE_PREC_NAME[where]}, UCDP where_prec {where}",
        "description": description,
        "dataset": DATASET,
        "dataset_ref": ucdp_id,
        "count_unit": CountUnit.EVENT.value,  # a day's fighting with >= 1 death, not one blast
    }
    if violence == 3:
        side_a = row.get("side_a", "").strip()
        yield {
            **common,
            "id": f"ucdp-{ucdp_id}",
            "kind": Kind.CIVILIAN_HARM.value,
            "killed": best,
            "affiliation": ACTORS.get(side_a, side_a) or None,
        }
        return
    yield {
        **common,
        "id": f"ucdp-{ucdp_id}",
        "kind": Kind.FIRE.value,
        "fire_type": FireType.EXPLOSION.value,
        "explosion_type": ExplosionType.UNDETERMINED.value,
        "weapon_class": WeaponClass.UNKNOWN.value,
        "killed": best,
    }
    if civilians > 0:
        yield {
            **common,
            "id": f"ucdp-{ucdp_id}-civilians",
            "kind": Kind.CIVILIAN_HARM.value,
            "killed": civilians,
        }


def read_ucdp(source: Source, encoding: str | None = None) -> Iterator[RawItem]:
    """Stream a GED CSV; a path's encoding is detected (UTF-8, else cp1252) unless given."""
    return read_mapped_csv(source, encoding, map_row)
