"""Deflators: spending figures brought to the constant prices a limit is written in.

"Halve military spending in constant prices" compares figures of different years only after
removing inflation. The table (``core/data/deflators.csv``, shipped with the package, its source
in its header) gives a price index per currency and year; a figure of year Y in prices of year
Y is worth ``amount * index[P] / index[Y]`` at prices of year P. No exchange rates: a figure in
another currency than the limit's is not converted, and a currency or year the table lacks is
named in the finding rather than guessed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib.resources import files


@dataclass(frozen=True)
class Deflator:
    currency: str
    year: int
    index: float
    name: str


@cache
def table() -> dict[tuple[str, int], Deflator]:
    """The shipped table, keyed by (currency, year); read once (package data, not I/O)."""
    text = (files("truceline.core") / "data" / "deflators.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO("".join(
        ln for ln in text.splitlines(keepends=True) if not ln.startswith("#"))))
    out: dict[tuple[str, int], Deflator] = {}
    for r in rows:
        d = Deflator(r["currency"], int(r["year"]), float(r["index"]), r["deflator"])
        out[(d.currency, d.year)] = d
    return out


@dataclass(frozen=True)
class Constant:
    """A figure at the target year's prices, or why it cannot be had (``value`` None)."""

    value: float | None
    text: str


def to_constant(amount: float, currency: str | None, price_year: int | None,
                target_currency: str, target_year: int) -> Constant:
    """``amount`` (``currency`` at ``price_year`` prices) at ``target_year`` prices."""
    if currency is None or price_year is None:
        missing = "currency" if currency is None else "price year"
        return Constant(None, f"the figure states no {missing}, so it cannot be brought to "
                              f"{target_currency} at {target_year} prices")
    if currency != target_currency:
        return Constant(None, f"the figure is in {currency} and the limit in "
                              f"{target_currency}; no exchange rate is applied")
    if price_year == target_year:
        return Constant(amount, f"{amount:,.0f} {currency} at {price_year} prices")
    t = table()
    src, dst = t.get((currency, price_year)), t.get((currency, target_year))
    if src is None or dst is None:
        gap = price_year if src is None else target_year
        years = sorted(y for c, y in t if c == currency)
        have = f" (it has {years[0]}-{years[-1]})" if years else " (none for that currency)"
        return Constant(None, f"no {currency} deflator for {gap} in the deflator table{have}")
    value = amount * dst.index / src.index
    return Constant(value, f"{amount:,.0f} {currency} at {price_year} prices = {value:,.0f} "
                           f"at {target_year} prices ({src.name}: {price_year} {src.index:g}, "
                           f"{target_year} {dst.index:g})")
