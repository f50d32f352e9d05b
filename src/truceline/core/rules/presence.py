"""Prohibited presence: foreign contingents on a party's territory or in a zone."""

from __future__ import annotations

from typing import Any

from truceline.core.evidence import Evidence, in_window, party_at
from truceline.core.findings import Verdict, iso
from truceline.core.nationality import country_code, country_name
from truceline.core.provisions import PresenceRule
from truceline.core.taxonomy import Kind
from truceline.core.verdicts import Builder
from truceline.core.wording import presence_words


def check_presence(b: Builder, rule: PresenceRule, ev: Evidence, parties: list[str]) -> int:
    """Foreign contingents hosted on a party's territory (or in a zone).

    Nationalities are compared as ISO 3166 codes (:mod:`truceline.core.nationality`). The host
    is ``territory_of`` or, for a zone, the party holding the place; the host's own nationality
    is always allowed. Forces of *another party* on the host's territory are an incursion (a
    ceasefire matter), not a contingent the host hosts: not evidence for this provision. A
    mission under a mandate the rule exempts is allowed only when it is reported unarmed; its
    label alone never exempts. An unknown nationality gives "insufficient evidence" naming it.
    """
    relevant = 0
    allowed = {c for n in rule.allowed_nationalities if (c := country_code(n)) is not None}
    own = {p.id: country_code(p.nationality) for p in b.a.parties if p.nationality}
    exempt = {m.strip().lower() for m in rule.exempt_unarmed_missions}
    for o in ev.by_kind.get(Kind.PRESENCE.value, []):
        if not in_window(o.time, b.start, b.end):
            continue
        if o.presence_category is not None and o.presence_category not in rule.categories:
            continue
        row = ev.obs_row.get(o.id)
        cls = ev.obs_cls
        if row is None or cls is None or not cls.in_aoi[row]:
            continue
        holder = party_at(cls, row, parties)
        if rule.territory_of is not None:
            inside = holder == rule.territory_of
            host: str | None = rule.territory_of
            terr = f"territory held by {rule.territory_of}"
        else:
            inside = bool(cls.zone[rule.zone][row])  # type: ignore[index]
            host = holder
            terr = f"zone '{rule.zone}'" + (f" (held by {holder})" if holder else "")
        if not inside:
            continue
        if host in b.p.obligated:
            party: str | None = host
        elif len(b.p.obligated) == 1:
            party = b.p.obligated[0]
        else:
            party = None  # a zone whose holder at that place is not known: could be either's
        cat = o.presence_category.value if o.presence_category else None
        what = presence_words(o.count, cat)
        label = f" under the label '{o.unit_label}'" if o.unit_label else ""
        kw: dict[str, Any] = dict(time=iso(o.time), lon=o.lon, lat=o.lat)
        code = country_code(o.nationality) if o.nationality is not None else None
        by_party = o.affiliation if o.affiliation in parties else None
        if by_party is None and code is not None:
            by_party = next((pid for pid, c in own.items() if c == code), None)
        if by_party is not None and by_party != host:
            # another party's forces where the host holds the ground: not hosted by the host
            continue
        relevant += 1
        b.saw(party)
        at = f"in {terr} at {iso(o.time)}"
        if o.nationality is None:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                party,
                (o.id,),
                f"{what}{label} seen {at}, nationality not established",
                **kw,
            )
            continue
        if code is None:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                party,
                (o.id,),
                f"{what}{label} seen {at}: nationality {o.nationality!r} is not a known state "
                "(ISO 3166 name or code, or a demonym), so whether it is foreign is not known",
                **kw,
            )
            continue
        if code in allowed or (host is not None and own.get(host) == code):
            continue
        nat = f"{country_name(code)} ({code})"
        mandate = (o.mandate or "").strip()
        if mandate.lower() in exempt and mandate:
            if o.armed is False:
                continue  # an unarmed mission under a mandate the provision exempts
            if o.armed is None:
                b.add(
                    Verdict.INSUFFICIENT_EVIDENCE,
                    party,
                    (o.id,),
                    f"{what} of {nat}{label} under the mandate '{mandate}' {at}: the provision "
                    f"allows unarmed missions under that mandate, and whether they were armed "
                    "was not reported",
                    **kw,
                )
                continue
            reason = (
                f"armed, so not covered by the exemption for unarmed missions under "
                f"'{mandate}'; foreign contingents are prohibited under any label"
            )
        else:
            reason = "foreign contingents are prohibited under any label"
            if mandate:
                reason += f" (the mandate '{mandate}' is not one the provision exempts)"
        b.add(
            Verdict.VIOLATION,
            party,
            (o.id,),
            f"{what} of {nat}{label} {at}: {reason}",
            details={"nationality": code},
            **kw,
        )
    return relevant
