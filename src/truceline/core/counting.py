"""What a record counts, and from which source: one explosion is not one day of fighting.

A monitor's report counts explosions, projectiles in flight, muzzle flashes, illumination
flares, bursts or shots (the SMM's practice), or sightings; a dataset such as UCDP GED codes
*events* (armed force at one place on one day with at least one death), whatever the number of
explosions. Findings and reports name the unit and the source of what they counted, and count
different units apart, so that 3 GED events are never read as 3 explosions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from truceline.core.incidents import Incident
from truceline.core.observations import Observation
from truceline.core.taxonomy import CountUnit, FireType, Kind, SourceType

#: The unit of a fire report by its fire type (one count per each, as monitors count).
FIRE_UNITS: dict[FireType, CountUnit] = {
    FireType.EXPLOSION: CountUnit.EXPLOSION,
    FireType.PROJECTILE_IN_FLIGHT: CountUnit.PROJECTILE_IN_FLIGHT,
    FireType.MUZZLE_FLASH: CountUnit.MUZZLE_FLASH,
    FireType.ILLUMINATION_FLARE: CountUnit.ILLUMINATION_FLARE,
    FireType.BURST_OR_SHOT: CountUnit.BURST_OR_SHOT,
}

#: What one event of a known dataset is (the dataset's own definition).
DATASET_EVENTS: dict[str, str] = {
    "ucdp-ged": "UCDP GED: a day's fighting at one place with at least one death",
}


def unit_of(o: Observation) -> CountUnit:
    """The unit one count of this record stands for: as tagged, else by kind and fire type."""
    return unit_for(o.kind, o.count_unit, o.fire_type)


def unit_for(kind: Kind, count_unit: CountUnit | None, fire_type: FireType | None
             ) -> CountUnit:
    """:func:`unit_of` from the record's values (a reader that holds records unvalidated)."""
    if count_unit is not None:
        return count_unit
    if kind is Kind.FIRE and fire_type is not None:
        return FIRE_UNITS[fire_type]
    if kind in (Kind.WEAPON_SIGHTING, Kind.PRESENCE):
        return CountUnit.SIGHTING
    return CountUnit.REPORT


def source_of(o: Observation) -> str:
    """The source to name: the dataset it was imported from, else the kind of source."""
    return source_for(o.dataset, o.source_type)


def source_for(dataset: str | None, source_type: SourceType) -> str:
    """:func:`source_of` from the record's values (a reader that holds records unvalidated)."""
    return dataset or source_type.value


def label(unit: CountUnit, n: int = 1) -> str:
    """'explosion', '3 x projectile in flight', ... as monitors write them."""
    text = unit.value.replace("_", " ")
    return text if n == 1 else f"{n} x {text}"


class ReportFacts(NamedTuple):
    """What a finding says of one report behind an incident: the unit it counts, the source
    to name, and how precisely it placed the event. A check keeps this much of each fire
    report, not the report (hundreds of thousands of them on a month's store)."""

    unit: CountUnit
    source: str
    precision: str | None
    uncertainty_m: float | None


def facts_of(o: Observation) -> ReportFacts:
    """:class:`ReportFacts` of one observation."""
    return ReportFacts(unit_of(o), source_of(o), o.location_precision, o.location_uncertainty_m)


def incident_records(
    inc: Incident, facts: Mapping[str, ReportFacts]
) -> tuple[CountUnit, list[str]]:
    """The unit an incident counts and the sources behind it (sorted, each once).

    A monitor's unit wins over a dataset's coded event when both describe the incident (the
    event corroborates the explosion); an incident with no known observation keeps the unit of
    its fire type.
    """
    obs = [o for i in inc.evidence if (o := facts.get(i)) is not None]
    units = {o.unit for o in obs}
    if not units:
        ft = FireType(inc.fire_type) if inc.fire_type else FireType.EXPLOSION
        return FIRE_UNITS[ft], []
    precise = sorted(u for u in units if u is not CountUnit.EVENT)
    own = FIRE_UNITS.get(FireType(inc.fire_type)) if inc.fire_type else None
    unit = (own if own in precise else CountUnit(precise[0])) if precise else CountUnit.EVENT
    return unit, sorted({o.source for o in obs})


def describe(
    unit: CountUnit, n: int, sources: Iterable[str], explosion_type: str | None = None
) -> str:
    """'4 x explosion (outgoing) from monitor', '1 x event (a day's fighting ..., UCDP GED)
    from ucdp-ged' and the like."""
    srcs = list(sources)
    what = f"{n} x {unit.value.replace('_', ' ')}"
    if unit is CountUnit.EXPLOSION and explosion_type:
        what += f" ({explosion_type})"
    if unit is CountUnit.EVENT:
        meaning = next((DATASET_EVENTS[s] for s in srcs if s in DATASET_EVENTS),
                       "a coded event of the source dataset, not one explosion")
        what += f" ({meaning})"
    return what + (f" from {', '.join(srcs)}" if srcs else "")
