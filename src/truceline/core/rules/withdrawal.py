"""Withdrawal: sightings of covered weapons within the withdrawal distance of a line."""

from __future__ import annotations

from typing import Any

from truceline.core.evidence import Evidence, in_window, party_at
from truceline.core.findings import Verdict, iso
from truceline.core.provisions import WithdrawalRule
from truceline.core.taxonomy import Kind
from truceline.core.verdicts import Builder
from truceline.core.wording import words


def _km(m: float) -> str:
    return f"{m / 1000.0:.1f} km"


def check_withdrawal(b: Builder, rule: WithdrawalRule, ev: Evidence, parties: list[str]) -> int:
    """Sightings of covered weapons within the withdrawal distance of their owner's line.

    A sighting is evidence about its owner only (affiliation, else the area of control it lies
    in): a weapon on one side says nothing about the other side's withdrawal. A sighting whose
    calibre is unknown where the provision has a calibre band cannot be decided within the
    distance ("insufficient evidence"); beyond it, it is compliant whatever its calibre.
    Where the owner's reference line is a stand-in (``reference_line_error_km``), a verdict is
    given only if it holds for every true distance the stand-in allows.
    """
    a = b.a
    assert a.geography is not None
    thr = rule.within_km * 1000.0
    sel = rule.weapons.describe()
    relevant = 0
    for o in ev.by_kind.get(Kind.WEAPON_SIGHTING.value, []):
        if not in_window(o.time, b.start, b.end):
            continue
        wc, cal = o.resolved_weapon()
        covered = rule.weapons.covers(wc, cal, o.system)
        if covered is False:
            continue
        row = ev.obs_row.get(o.id)
        cls = ev.obs_cls
        desc = " ".join(
            x
            for x in (
                f"{cal:g} mm" if cal else "",
                words(wc.value) if wc else "",
                f"({o.system})" if o.system else "",
            )
            if x
        )
        desc = f"{o.count} x {desc}"
        if covered is None:
            desc += " of unknown calibre"
        if o.lon is None or row is None or cls is None:
            relevant += 1
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                None,
                (o.id,),
                f"{desc} reported at {iso(o.time)} without an event location: neither its "
                f"owner nor its distance from a line can be told",
                time=iso(o.time),
                weapon_class=wc.value if wc else None,
            )
            continue
        if not cls.in_aoi[row]:
            continue
        owner = o.affiliation if o.affiliation in parties else party_at(cls, row, parties)
        if owner is None or owner not in b.p.obligated:
            continue
        relevant += 1
        b.saw(owner)
        line = (
            a.geography.line_of_contact
            if rule.measured_from == "line_of_contact"
            else a.reference_line(owner)
        )
        d = (
            float(cls.dist_to_ref_m[owner][row])
            if rule.measured_from == "reference_line"
            else float(cls.dist_m[line][row])
        )
        sigma = o.location_uncertainty_m or 0.0
        e_lo, e_hi = (a.reference_line_error_m(owner)
                      if rule.measured_from == "reference_line" else (0.0, 0.0))
        kw: dict[str, Any] = dict(
            time=iso(o.time),
            lon=o.lon,
            lat=o.lat,
            distance_m=round(d, 1),
            threshold_m=thr,
            weapon_class=wc.value if wc else None,
        )
        if d + e_lo - 2 * sigma > thr:
            continue  # beyond the distance (at 95 %): compliant whatever the calibre
        if covered is None:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                owner,
                (o.id,),
                f"{desc} sighted at {iso(o.time)} {_km(d)} from {owner}'s reference line "
                f"'{line}', within the {rule.within_km:g} km withdrawal distance, but its "
                f"calibre is unknown, so it cannot be told whether the provision ({sel}) "
                f"covers it; a calibre or a named system would settle it",
                details={"open": "calibre unknown"},
                **kw,
            )
        elif d <= thr and d + e_hi + 2 * sigma <= thr:
            b.add(
                Verdict.VIOLATION,
                owner,
                (o.id,),
                f"{desc} sighted at {iso(o.time)} {_km(d)} from {owner}'s reference line "
                f"'{line}', within the {rule.within_km:g} km withdrawal distance for {sel}, "
                f"after the deadline {iso(b.start)}",
                **kw,
            )
        elif d - 2 * sigma > thr or d + 2 * sigma <= thr:
            # decided on the stand-in line, not on the line the provision names
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                owner,
                (o.id,),
                f"{desc} sighted {_km(d)} from '{line}', a stand-in for {owner}'s reference "
                f"line: its true distance may be {_km(d + e_lo)} to {_km(d + e_hi)}, on both "
                f"sides of the {rule.within_km:g} km limit; the digitised reference line "
                f"would settle it",
                details={"open": "reference line is a stand-in"},
                **kw,
            )
        else:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                owner,
                (o.id,),
                f"{desc} sighted {_km(d)} ± {_km(2 * sigma)} (95 %) from {owner}'s reference "
                f"line '{line}', too close to the {rule.within_km:g} km limit to decide; a "
                f"located sighting within {_km(abs(thr - d))} would settle it",
                **kw,
            )
    return relevant
