"""Range bans: sightings, launches and declarations of systems whose range is in the band.

Attribution is the party the observation states: the declaring (or inspected) party of a
declaration or inspection, the ``affiliation`` of a sighting or launch (a party id, or a state
matched to a party's nationality). A sighting of another state's system is not evidence about
the obligated parties; a sighting that states no owner is insufficient evidence, never a
violation of anyone. Compliance needs evidence that covers a party's holdings: a declaration
or inspection of the rule's ``declared_category``, or a zero declaration of a banned system;
seeing only systems outside the band says nothing about whether banned ones exist. A launch or
test launch reported with the distance flown (``flight_km``) in the band puts the system in the
band whatever its published range (INF Article VII.4: a ballistic missile's range capability is
the greatest range it was tested to; a cruise missile flies at least as far as any flight shows).
"""

from __future__ import annotations

from typing import Any

from truceline.core.catalogue import CATALOGUE_SHA256, WeaponSystem, lookup_system
from truceline.core.evidence import Evidence, in_window
from truceline.core.findings import Verdict, iso
from truceline.core.nationality import country_code
from truceline.core.observations import Observation
from truceline.core.range_bans import Placement, RangeBanRule
from truceline.core.taxonomy import Kind, WeaponActivity
from truceline.core.verdicts import Builder

_VERB = {WeaponActivity.HELD: "seen", WeaponActivity.LAUNCH: "launched",
         WeaponActivity.TEST_LAUNCH: "test-launched"}


def _owner(o: Observation, b: Builder) -> tuple[bool, str | None]:
    """(bound, party): is the observation about an obligated party's forces, and which one.

    Declarations and inspections name their party; a sighting its affiliation (a party id or
    a state). ``(True, None)``: no owner stated, so it could be any obligated party's.
    """
    who = o.party if o.kind in (Kind.DECLARATION, Kind.INSPECTION) else o.affiliation
    if who is None:
        return True, None
    if who in b.p.obligated:
        return True, who
    code = country_code(who)
    if code is None:
        return who not in {p.id for p in b.a.parties}, None  # not a state: owner not known
    for p in b.a.parties:
        if p.nationality and country_code(p.nationality) == code:
            return p.id in b.p.obligated, p.id
    return False, None  # another state's forces: not bound by the provision


def _about(s: WeaponSystem) -> str:
    note = f"; {s.note}" if s.note else ""
    return (f"{s.name} ({s.weapon_class.value}, {s.basing.value}-launched; published range "
            f"{s.describe_range()}, source: {s.source}{note})")


def check_range_ban(b: Builder, rule: RangeBanRule, ev: Evidence, parties: list[str]) -> int:
    """A finding for every sighting, launch, declaration or inspection of a system the band
    may cover; returns how many records bore on the obligated parties."""
    relevant = 0
    band = rule.band()
    records = (ev.by_kind.get(Kind.WEAPON_SIGHTING.value, [])
               + ev.by_kind.get(Kind.DECLARATION.value, [])
               + ev.by_kind.get(Kind.INSPECTION.value, []))
    for o in sorted(records, key=lambda x: (x.time, x.id)):
        if not in_window(o.time, b.start, b.end):
            continue
        bound, party = _owner(o, b)
        if not bound:
            continue
        declared = o.kind is not Kind.WEAPON_SIGHTING
        kw: dict[str, Any] = dict(time=iso(o.time), lon=o.lon, lat=o.lat)
        when = f"as of {o.as_of}" if declared and o.as_of else f"at {iso(o.time)}"
        qty = o.quantity if declared else o.count
        src = {Kind.DECLARATION: "declared", Kind.INSPECTION: "inspected"}.get(o.kind, "seen")
        if o.system is None:
            if declared and rule.declared_category and o.category == rule.declared_category:
                relevant += 1
                b.saw(party)
                what = f"{party} {src} {qty:g} {o.category} {when}"
                if qty:
                    b.add(Verdict.VIOLATION, party, (o.id,),
                          f"{what}: missiles in the banned band {band}",
                          details={"quantity": qty, "band_km": [rule.min_km, rule.max_km]}, **kw)
                continue
            if (not declared and o.weapon_class is not None and rule.classes
                    and o.weapon_class in rule.classes):
                relevant += 1
                b.saw(party)
                b.add(Verdict.INSUFFICIENT_EVIDENCE, party, (o.id,),
                      f"{o.weapon_class.value} {src} {when}"
                      f"{f' ({party})' if party else ''} with no system named, so its range "
                      f"is not known and whether it is in the band {band} cannot be determined",
                      weapon_class=o.weapon_class.value, **kw)
            continue
        system = lookup_system(o.system)
        if system is None:
            if o.weapon_class is not None and rule.classes and o.weapon_class not in rule.classes:
                continue
            relevant += 1
            b.saw(party)
            b.add(Verdict.INSUFFICIENT_EVIDENCE, party, (o.id,),
                  f"system {o.system!r} not in the catalogue, so its range is not known and "
                  f"whether it is in the band {band} cannot be determined ({src} {when})",
                  details={"system": o.system, "catalogue_sha256": CATALOGUE_SHA256[:16]}, **kw)
            continue
        if not rule.covers(system):
            continue
        place = rule.place(system)
        flown = None if declared else o.flight_km
        if flown is not None and rule.min_km <= flown <= rule.max_km:
            place = Placement.IN  # a flight in the band shows the range, whatever is published
        if place is Placement.OUT:
            continue
        relevant += 1
        b.saw(party)
        act = o.activity or WeaponActivity.HELD
        verb = _VERB[act] if not declared else src
        what = f"{qty:g} x {_about(system)}{f' of {party}' if party else ''} {verb} {when}"
        if flown is not None:
            what += f", flying {flown:,g} km"
        details: dict[str, Any] = {
            "system": system.name, "range_km": [system.min_range_km, system.max_range_km],
            "range_source": system.source, "band_km": [rule.min_km, rule.max_km],
            "catalogue_sha256": CATALOGUE_SHA256[:16]}
        if not declared:
            details["activity"] = act.value
        if flown is not None:
            details["flight_km"] = flown
        kw.update(weapon_class=system.weapon_class.value, details=details)
        if place is Placement.UNKNOWN:
            b.add(Verdict.INSUFFICIENT_EVIDENCE, party, (o.id,),
                  f"{what}: the catalogue records no range for {system.name}, so whether it is "
                  f"in the band {band} cannot be determined", **kw)
        elif place is Placement.PARTLY:
            b.add(Verdict.INSUFFICIENT_EVIDENCE, party, (o.id,),
                  f"{what}: its published range lies partly in the band {band}, so whether it "
                  "is banned cannot be determined from the catalogue", **kw)
        elif declared and not qty:
            continue  # a zero declaration of a banned system: evidence of compliance
        elif party is None:
            b.add(Verdict.INSUFFICIENT_EVIDENCE, party, (o.id,),
                  f"{what}: in the banned band {band}, but its owner is not stated, so the "
                  "violation cannot be attributed", **kw)
        else:
            b.add(Verdict.VIOLATION, party, (o.id,), f"{what}: in the banned band {band}", **kw)
    return relevant
