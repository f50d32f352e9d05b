"""ACLED (Armed Conflict Location & Event Data) export CSV → observations.

ACLED's data is licensed to its users; truceline ships none of it. The columns read are those of
ACLED's public codebook: ``event_id_cnty``, ``event_date``, ``time_precision``, ``event_type``,
``sub_event_type``, ``actor1``, ``actor2``, ``latitude``, ``longitude``, ``geo_precision``,
``location``, ``admin1``, ``fatalities``, ``notes``, ``source``. An ACLED event is a coded event
(a day's incident at a place), not one explosion: every observation is counted apart as
``count_unit`` event, like UCDP's.

**Types** (:data:`SUB_EVENTS`): Explosions/Remote violence → fire, explosion, impact (ACLED
places the event where it happened, i.e. where it struck); a weapon class only where the
sub-type names one unambiguously (none does: "Shelling/artillery/missile attack" spans mortar to
missile, "Air/drone strike" aircraft to UAV), so ``weapon_class`` unknown. Battles → fire,
burst_or_shot (an armed clash). Violence against civilians → civilian_harm. Strategic
developments "Headquarters or base established" → presence (unit). Protests, riots and the
other strategic developments are not what a ceasefire's checks count: :class:`Skipped`, said so.

**Uncertainty.** ``geo_precision`` 1 (the town), 2 (near it, or a part of a region), 3 (a larger
region, placed at its centre) → a 1-sigma radius (:data:`GEO_PRECISION_SIGMA_M`) and
``location_precision`` "ACLED geo_precision N"; ``time_precision`` 1 (the day), 2 (within the
week), 3 (within the month) → day, week, month; the time is noon Kyiv on ``event_date``.
``fatalities`` → ``killed`` (ACLED's count of all deaths in the event).

**Parties.** ACLED names actors ("Military Forces of Russia (2000-)"); which party each is, is
the user's judgement, given as a table (CSV ``actor,party``; :func:`read_actor_table`;
``truceline ingest --actors``). ``actor1`` is the side that acted in one-sided events (remote
violence, violence against civilians, a base established) and becomes ``affiliation`` (a
base: ``unit_label`` is the actor); in a battle the order of actors says nothing about who
fired, so no affiliation. An actor not in the table leaves the affiliation empty and is named
in the description.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from truceline.adapters.importers.formats import (
    RawItem,
    Skipped,
    Source,
    clean_text,
    local_noon,
    open_text,
    read_mapped_csv,
)
from truceline.core.observations import Rejection
from truceline.core.taxonomy import (
    CountUnit,
    ExplosionType,
    FireType,
    Kind,
    PresenceCategory,
    SourceType,
    TimePrecision,
    WeaponClass,
)
from truceline.errors import ObservationError

DATASET = "acled"

#: geo_precision → 1-sigma radius, metres: 1 the town itself (~4 km across), 2 near it or a
#: part of a region (~25 km), 3 a larger region placed at its centre (an oblast, ~150 km).
GEO_PRECISION_SIGMA_M: dict[int, float] = {1: 2_000.0, 2: 12_500.0, 3: 75_000.0}
TIME_PRECISION: dict[int, TimePrecision] = {
    1: TimePrecision.DAY, 2: TimePrecision.WEEK, 3: TimePrecision.MONTH}


@dataclass(frozen=True)
class EventMapping:
    kind: Kind
    fire_type: FireType | None = None
    explosion_type: ExplosionType | None = None
    one_sided: bool = True  # actor1 is the side that acted


_IMPACT = EventMapping(Kind.FIRE, FireType.EXPLOSION, ExplosionType.IMPACT)
_CLASH = EventMapping(Kind.FIRE, FireType.BURST_OR_SHOT, one_sided=False)
_HARM = EventMapping(Kind.CIVILIAN_HARM)
#: (event_type, sub_event_type) → mapping; a pair not listed is skipped (said so).
SUB_EVENTS: dict[tuple[str, str], EventMapping] = {
    ("Explosions/Remote violence", "Shelling/artillery/missile attack"): _IMPACT,
    ("Explosions/Remote violence", "Air/drone strike"): _IMPACT,
    ("Explosions/Remote violence", "Remote explosive/landmine/IED"): _IMPACT,
    ("Explosions/Remote violence", "Grenade"): _IMPACT,
    ("Explosions/Remote violence", "Suicide bomb"): _IMPACT,
    ("Explosions/Remote violence", "Chemical weapon"): EventMapping(
        Kind.FIRE, FireType.EXPLOSION, ExplosionType.UNDETERMINED),
    ("Battles", "Armed clash"): _CLASH,
    ("Battles", "Government regains territory"): _CLASH,
    ("Battles", "Non-state actor overtakes territory"): _CLASH,
    ("Violence against civilians", "Attack"): _HARM,
    ("Violence against civilians", "Abduction/forced disappearance"): _HARM,
    ("Violence against civilians", "Sexual violence"): _HARM,
    ("Strategic developments", "Headquarters or base established"): EventMapping(
        Kind.PRESENCE),
}
#: Event types known to the codebook but not counted by a ceasefire's checks.
_NOT_COUNTED = ("Protests", "Riots", "Strategic developments")


class _Bad(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field, self.reason = field, reason


def read_actor_table(source: Source) -> dict[str, str]:
    """The user's actor → party table: a CSV with columns ``actor`` and ``party``.

    A missing column, a blank cell or an actor given twice with two parties raises
    :class:`ObservationError` naming the table's line and column (nothing is read then).
    """
    out: dict[str, str] = {}
    with open_text(source) as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or not {"actor", "party"} <= set(reader.fieldnames):
            raise ObservationError("the actor table needs the columns actor and party",
                                   field="actors")
        for row in reader:
            line = reader.line_num
            actor, party = (row.get("actor") or "").strip(), (row.get("party") or "").strip()
            if not actor or not party:
                raise ObservationError("blank", field="actor" if not actor else "party",
                                       line=line)
            if out.get(actor, party) != party:
                raise ObservationError(f"{actor!r} given as {out[actor]!r} and as {party!r}",
                                       field="party", line=line)
            out[actor] = party
    return out


def _int_code(row: Mapping[str, str], name: str, known: Mapping[int, Any]) -> int:
    text = row.get(name, "").strip()
    if not text.isdigit() or int(text) not in known:
        raise _Bad(name, f"unknown code {text!r} (expected one of {sorted(known)})")
    return int(text)


def _float(row: Mapping[str, str], name: str) -> float:
    text = row.get(name, "").strip()
    try:
        value = float(text)
    except ValueError:
        raise _Bad(name, f"not a number: {text!r}" if text else "missing") from None
    if not math.isfinite(value):
        raise _Bad(name, f"not a finite number: {text!r}")
    return value


def _date(text: str) -> date:
    """ACLED writes ``2025-03-28`` (API, newer exports) or ``28 March 2025`` (older ones)."""
    value = text.strip()
    for fmt in ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise _Bad("event_date", f"not a date: {text!r}" if value else "missing")


def map_row(line: int, row: dict[str, str], actors: Mapping[str, str]) -> Iterator[Any]:
    """One ACLED row → one raw observation, a Skipped row, or a Rejection naming the column."""
    ref = row.get("event_id_cnty", "").strip()
    obs_id = f"acled-{ref}" if ref else None
    try:
        if not ref:
            raise _Bad("event_id_cnty", "missing")
        etype, sub = row.get("event_type", "").strip(), row.get("sub_event_type", "").strip()
        mapping = SUB_EVENTS.get((etype, sub))
        if mapping is None and etype not in _NOT_COUNTED and etype not in {
                t for t, _ in SUB_EVENTS}:
            raise _Bad("event_type", f"unknown event type {etype!r}")
        if mapping is None:
            yield Skipped(line, "sub_event_type",
                          f"skipped: {etype} / {sub} is not counted by a ceasefire's checks",
                          obs_id)
            return
        day = _date(row.get("event_date", ""))
        precision = TIME_PRECISION[_int_code(row, "time_precision", TIME_PRECISION)]
        geo = _int_code(row, "geo_precision", GEO_PRECISION_SIGMA_M)
        lat, lon = _float(row, "latitude"), _float(row, "longitude")
        text = row.get("fatalities", "").strip() or "0"
        if not text.isdigit():
            raise _Bad("fatalities", f"not a count: {text!r}")
        killed = int(text)
    except _Bad as bad:
        yield Rejection(line, bad.field, bad.reason, obs_id)
        return
    actor1, actor2 = row.get("actor1", "").strip(), row.get("actor2", "").strip()
    party = actors.get(actor1) if mapping.one_sided else None
    unmapped = [a for a in (actor1, actor2) if a and a not in actors]
    place = ", ".join(x for x in (row.get("location", "").strip(),
                                  row.get("admin1", "").strip()) if x)
    notes = [f"{place}: {etype} / {sub}", f"{actor1} v {actor2}" if actor2 else actor1,
             row.get("notes", "").strip(), f"source: {row.get('source', '').strip()}"
             if row.get("source", "").strip() else "",
             "actors not in the table: " + "; ".join(unmapped) if unmapped else ""]
    out: dict[str, Any] = {
        "id": obs_id, "kind": mapping.kind.value, "time": local_noon(day).isoformat(),
        "time_precision": precision.value, "source_id": DATASET,
        "source_type": SourceType.OPEN_SOURCE.value, "lon": lon, "lat": lat,
        "location_uncertainty_m": GEO_PRECISION_SIGMA_M[geo],
        "location_precision": f"ACLED geo_precision {geo}", "dataset": DATASET,
        "dataset_ref": ref, "count_unit": CountUnit.EVENT.value, "affiliation": party,
        "description": clean_text(" | ".join(n for n in notes if n), limit=5000),
    }
    if mapping.kind is Kind.FIRE:
        out.update(fire_type=mapping.fire_type.value if mapping.fire_type else None,
                   explosion_type=(mapping.explosion_type.value
                                   if mapping.explosion_type else None),
                   weapon_class=WeaponClass.UNKNOWN.value, killed=killed)
    elif mapping.kind is Kind.CIVILIAN_HARM:
        out["killed"] = killed
    else:
        out["presence_category"] = PresenceCategory.UNIT.value
        out["unit_label"] = actor1[:200] or None
    yield {k: v for k, v in out.items() if v is not None}


def reader(actors: Mapping[str, str] | None = None) -> Callable[[Source], Iterator[RawItem]]:
    """A reader for ACLED CSVs that maps actors to parties by ``actors``."""
    table = dict(actors or {})

    def read(source: Source) -> Iterator[RawItem]:
        return read_mapped_csv(source, None, lambda line, row: map_row(line, row, table))

    return read


def read_acled(source: Source) -> Iterator[RawItem]:
    """An ACLED CSV with no actor table: no affiliations (actors named in the description)."""
    return reader()(source)
