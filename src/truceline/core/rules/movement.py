"""Freedom of movement: restrictions of the monitors' movement, by the party holding the place."""

from __future__ import annotations

from typing import Any

from truceline.core.evidence import Evidence, in_window, party_at, where_obs
from truceline.core.findings import Verdict, iso
from truceline.core.provisions import MovementRule
from truceline.core.taxonomy import Kind
from truceline.core.verdicts import Builder
from truceline.core.wording import restriction_words


def check_movement(b: Builder, rule: MovementRule, ev: Evidence, parties: list[str]) -> int:
    relevant = 0
    for o in ev.by_kind.get(Kind.RESTRICTION.value, []):
        if not in_window(o.time, b.start, b.end):
            continue
        if rule.restriction_types and o.restriction_type not in rule.restriction_types:
            continue
        relevant += 1
        row = ev.obs_row.get(o.id)
        cls = ev.obs_cls
        what = restriction_words(o.restriction_type.value if o.restriction_type else "other")
        where = where_obs(o)
        kw: dict[str, Any] = dict(
            time=iso(o.time), lon=where[0] if where else None, lat=where[1] if where else None
        )
        party = party_at(cls, row, parties)
        b.saw(party)
        if party is None:
            b.add(
                Verdict.INSUFFICIENT_EVIDENCE,
                None,
                (o.id,),
                f"{what} at {iso(o.time)} where control is not known",
                **kw,
            )
        elif party in b.p.obligated:
            b.add(
                Verdict.VIOLATION,
                party,
                (o.id,),
                f"{what} at {iso(o.time)} in the area controlled by {party}"
                + (f": {o.description}" if o.description else ""),
                **kw,
            )
    return relevant
