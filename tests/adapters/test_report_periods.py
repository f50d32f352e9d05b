"""Weekend, weekly, custom and thematic reports: the same counting as the daily report over
a run of reporting periods, so a window's figures are the sum of its days'.

A real SQLite store holds the March 2025 example and its shipped sample (two reporting days,
27 and 28 March 2025), checked.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from truceline.adapters.render.report import write_report
from truceline.adapters.store import open_store
from truceline.core.reporting import CATEGORIES, DailyReport
from truceline.errors import ValidationError
from truceline.services.report import daily_report, period_report


@pytest.fixture(scope="module")
def db(sample_db: Path) -> Path:
    return sample_db


def _report(db: Path, *args: object, **kw: object) -> DailyReport:
    store = open_store(str(db))
    try:
        if args and args[0] == "daily":
            return daily_report(store, str(args[1]))
        return period_report(store, *args, **kw)  # type: ignore[arg-type]
    finally:
        store.close()


def _violations(c: Counter[str]) -> Counter[str]:
    return Counter({k: v for k, v in c.items() if k in CATEGORIES and v})


def test_a_week_is_the_sum_of_its_days(db: Path) -> None:
    week = _report(db, "week", "2025-03-29")
    assert week.days == [f"2025-03-{d}" for d in range(23, 30)]
    days = [_report(db, "daily", d) for d in week.days]
    total: Counter[str] = Counter()
    for d in days:
        total.update(d.category_totals)
    assert sum(total.values()) > 0  # the sample has fire on 27 and 28 March
    assert _violations(week.category_totals) == _violations(total)
    assert week.trend() == {d.day.isoformat(): d.violations_total for d in days}
    assert len(week.findings) == sum(len(d.findings) for d in days)


def test_the_previous_period_is_the_days_before(db: Path) -> None:
    week = _report(db, "week", "2025-03-28")
    before = [_report(db, "daily", f"2025-03-{d}") for d in range(15, 22)]
    want: Counter[str] = Counter()
    for d in before:
        want.update(d.category_totals)
    assert week.previous is not None
    assert sum(_violations(want).values()) > 0  # 21 March had fire: a real comparison
    assert _violations(week.previous) == _violations(want)
    rows = {c: (now, prev) for c, now, prev in week.comparison()}
    for c, n in _violations(want).items():
        assert rows[c][1] == n
    weekend = _report(db, "weekend", "2025-03-29")
    assert weekend.days == ["2025-03-28", "2025-03-29"]
    assert weekend.previous is not None and not _violations(weekend.previous)  # 26-27: none


def test_sectors_split_the_line_s_counts(db: Path) -> None:
    whole = _report(db, "custom", "2025-03-28", "2025-03-27")
    g = whole.agreement.geography
    assert g is not None
    parts: Counter[str] = Counter()
    for s in g.sectors:
        one = _report(db, "custom", "2025-03-28", "2025-03-27", sector=s.id)
        assert one.scope == f"sector {s.name}" and one.previous is None
        assert all(sec == s.name for _, sec in one.counts)
        parts.update(one.category_totals)
    outside: Counter[str] = Counter()
    for (_, sec), c in whole.counts.items():
        if sec not in {s.name for s in g.sectors}:
            outside.update(c)
    assert _violations(parts + outside) == _violations(whole.category_totals)


def test_a_party_s_report_holds_only_its_findings(db: Path) -> None:
    rep = _report(db, "week", "2025-03-28", party="RU")
    assert rep.findings and {f.party for f in rep.findings} == {"RU"}
    assert rep.scope == "party Russian Federation"
    assert all(x["party"] == "Russian Federation" for x in rep.restrictions)


@pytest.mark.parametrize(("args", "kw", "field"), [
    (("custom", "2025-03-28"), {}, "from"),
    (("custom", "2025-03-28", "2025-03-29"), {}, "from"),
    (("week", "2025-03-28", "2025-03-20"), {}, "from"),
    (("month", "2025-03-28"), {}, "period"),
    (("week", "2025-03-28"), {"sector": "nowhere"}, "sector"),
    (("week", "2025-03-28"), {"provision": "M25-nothing"}, "provision"),
    (("week", "2025-03-28"), {"party": "XX"}, "party"),
])
def test_bad_windows_and_scopes_are_named(db: Path, args: tuple[str, ...],
                                          kw: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as e:
        _report(db, *args, **kw)
    assert e.value.field == field


def test_a_weekly_report_writes_its_trend(db: Path, tmp_path: Path) -> None:
    rep = _report(db, "week", "2025-03-28", sector="donetsk")
    md, _png, trend = write_report(rep, tmp_path / "w.md")
    text = md.read_text()
    assert "**Weekly report 2025-03-22 to 2025-03-28 (7 reporting periods): sector " in text
    assert "![ceasefire violations per reporting day](w-trend.png)" in text
    assert trend.read_bytes()[:4] == b"\x89PNG"
    row = " | ".join(str(n) for n in rep.trend().values())
    assert f"| ceasefire violations | {row} |" in text
