"""New START aggregate data exchanges (CSV) → ``declaration`` observations.

Each row is one party's biannual declaration; each of the three treaty categories with a value
becomes one observation, so a provision's quantitative rule can find it by ``category``:

=====================================  ==========================================================
column / ``category``                  Article II.1 limit (from 2018-02-05)
=====================================  ==========================================================
``deployed_icbm_slbm_hb``              700 deployed ICBMs, SLBMs and heavy bombers
``warheads_on_deployed``               1,550 warheads on them
``deployed_and_nondeployed_launchers`` 800 deployed and non-deployed launchers
=====================================  ==========================================================

``party`` and ``source_id`` are the party (USA/RUS): a declaration is the party's own word.
``time`` is ``as_of_date`` at 00:00Z with precision ``day``. A blank value (Russia's 2023 "Not
provided", a launcher total missing from the source) is not a zero: it yields no observation but a
:class:`~truceline.adapters.importers.formats.Skipped` (a Rejection that is never an error)
whose reason starts with ``skipped:``, so the gap stays visible.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date
from typing import Any

from truceline.adapters.importers.formats import (
    RawItem,
    Skipped,
    Source,
    clean_text,
    read_mapped_csv,
)
from truceline.core.observations import Rejection
from truceline.core.taxonomy import Kind, SourceType, TimePrecision

DATASET = "new-start-aggregate"
CATEGORIES = ("deployed_icbm_slbm_hb", "warheads_on_deployed", "deployed_and_nondeployed_launchers")


def map_row(line: int, row: dict[str, str]) -> Iterator[dict[str, Any] | Rejection]:
    """One exchange row → up to three declarations, and a rejection per missing value."""
    party = row.get("party", "").strip()
    text = row.get("as_of_date", "").strip()
    try:
        as_of = date.fromisoformat(text)
    except ValueError:
        yield Rejection(line, "as_of_date", f"not an ISO date: {text!r}" if text else "missing")
        return
    if not party:
        yield Rejection(line, "party", "missing")
        return
    source = row.get("source_url", "").strip()
    note = row.get("note", "").strip()
    for category in CATEGORIES:
        obs_id = f"newstart-{party}-{as_of}-{category}"
        cell = row.get(category, "").strip()
        if not cell:
            why = f" ({note})" if note else ""
            yield Skipped(line, category, f"skipped: no value given{why}", obs_id)
            continue
        try:
            quantity = float(cell)
        except ValueError:
            yield Rejection(line, category, f"not a number: {cell!r}", obs_id)
            continue
        if not math.isfinite(quantity) or quantity < 0:
            yield Rejection(line, category, f"not a non-negative number: {cell!r}", obs_id)
            continue
        yield {
            "id": obs_id,
            "kind": Kind.DECLARATION.value,
            "time": f"{as_of.isoformat()}T00:00:00Z",
            "time_precision": TimePrecision.DAY.value,
            "source_id": party,
            "source_type": SourceType.PARTY.value,
            "party": party,
            "category": category,
            "quantity": quantity,
            "as_of": as_of.isoformat(),
            "description": clean_text(
                f"New START aggregate data exchange as of {as_of}: {category} = {cell}"
                + (f"; {note}" if note else "")
                + (f"; source: {source}" if source else "")
            ),
            "dataset": DATASET,
            "dataset_ref": f"{as_of}/{party}",
        }


def read_new_start(source: Source, encoding: str | None = "utf-8") -> Iterator[RawItem]:
    """Stream the aggregate-numbers CSV (one row per party and exchange date)."""
    return read_mapped_csv(source, encoding, map_row)
