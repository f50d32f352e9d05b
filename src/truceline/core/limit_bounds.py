"""The limit in force for a party on a date, and a declared figure in the limit's terms.

A limit is absolute ("1,550 warheads"), a share of a baseline ("50 % of the 2024 value") or
phased ("reduce to 200,000 by 2027 in steps": :class:`~truceline.core.provisions.LimitStep`).
A baseline is given per party with its source, or else read from the party's own declaration as
of the baseline date. Spending limits are in constant prices: every figure (baseline included)
is deflated to the rule's price year (:mod:`truceline.core.deflators`). Where the limit or the
figure cannot be had, the reason is returned instead, for an "insufficient evidence" finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from truceline.core.deflators import Constant, to_constant
from truceline.core.observations import Observation
from truceline.core.provisions import LimitRule
from truceline.core.taxonomy import Kind


@dataclass(frozen=True)
class Bound:
    """The limit for one party on one date; ``value`` None: it cannot be told (``text``)."""

    value: float | None
    text: str
    evidence: tuple[str, ...] = ()


def num(x: float) -> str:
    """A figure as people write it: 590,000; 1,550; 0.5."""
    return f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 1000 else f"{x:,.4g}"


def measure(rule: LimitRule, o: Observation) -> Constant:
    """``o``'s quantity in the limit's terms (deflated for a spending limit)."""
    assert o.quantity is not None and o.as_of is not None
    if rule.currency is None or rule.price_year is None:
        return Constant(o.quantity, num(o.quantity))
    year = o.price_year if o.price_year is not None else o.as_of.year
    return to_constant(o.quantity, o.currency, year, rule.currency, rule.price_year)


def baseline(rule: LimitRule, party: str, records: Sequence[Observation]) -> Bound:
    """The party's baseline: the agreement's figure, else its declaration as of the date."""
    b = rule.baseline
    assert b is not None
    unit = f" {rule.unit}" if rule.unit else ""
    if party in b.values:
        v = b.values[party]
        if rule.currency is not None and rule.price_year is not None:
            c = to_constant(v, rule.currency, b.price_year or b.as_of.year, rule.currency,
                            rule.price_year)
            if c.value is None:
                return Bound(None, f"{party}'s baseline as of {b.as_of}: {c.text}")
            return Bound(c.value, f"{party}'s baseline {c.text} as of {b.as_of} ({b.source})")
        return Bound(v, f"{party}'s baseline {num(v)}{unit} as of {b.as_of} ({b.source})")
    own = [o for o in records if o.kind is Kind.DECLARATION and o.party == party
           and o.category == rule.category and o.as_of == b.as_of]
    if not own:
        return Bound(None, f"no baseline for {party}: the agreement gives none and {party}'s "
                           f"declaration of {rule.category} as of {b.as_of} is not in the record")
    o = max(own, key=lambda x: (x.time, x.id))  # a later declaration for the date corrects
    c = measure(rule, o)
    if c.value is None:
        return Bound(None, f"{party}'s baseline declaration {o.id} as of {b.as_of}: {c.text}")
    return Bound(c.value, f"{party}'s baseline {c.text}{unit} declared as of {b.as_of} "
                          f"({o.id})", (o.id,))


def bound_on(rule: LimitRule, party: str, day: date,
             records: Sequence[Observation]) -> Bound | None:
    """The limit for ``party`` on ``day``; None when no limit is in force yet (phased)."""
    limit, share, step = rule.limit, rule.share, ""
    for s in rule.steps:
        if s.by <= day:
            limit, share, step = s.limit, s.share, f", the step from {s.by}"
    if limit is None and share is None:
        return None
    unit = f" {rule.unit}" if rule.unit else ""
    if limit is not None:
        return Bound(limit, f"the limit of {num(limit)}{unit}{_prices(rule)}{step}")
    assert share is not None
    base = baseline(rule, party, records)
    if base.value is None:
        return Bound(None, base.text, base.evidence)
    v = share * base.value
    return Bound(v, f"the limit of {num(v)}{unit}{_prices(rule)} ({100 * share:g} % of "
                    f"{base.text}{step})", base.evidence)


def _prices(rule: LimitRule) -> str:
    return f" {rule.currency} at {rule.price_year} prices" if rule.currency else ""


def describe(rule: LimitRule) -> str:
    """The limit in words, for findings that are not about one figure."""
    if rule.limit is not None and not rule.steps and rule.share is None:
        return f"the limit of {num(rule.limit)}"
    parts = []
    if rule.limit is not None or rule.share is not None:
        parts.append(num(rule.limit) if rule.limit is not None
                     else f"{100 * (rule.share or 0):g} % of the baseline")
    parts += [f"{num(s.limit) if s.limit is not None else f'{100 * (s.share or 0):g} %'}"
              f"{' of the baseline' if s.share is not None else ''} from {s.by}"
              for s in rule.steps]
    return "the limit (" + "; ".join(parts) + ")"
