"""The parts of a report beyond the counts: which window a report covers (a day, a two-day
weekend, a week, any run of days), civilian harm, cameras down (thematic narrowing is in
:mod:`truceline.core.report_scope`).

Every window is a run of whole reporting periods (19:30 to 19:30 local time by default, as the
OSCE SMM counted): a weekly report is the seven periods ending on its date, a weekend report
the two (Saturday's and Sunday's), so a week's figures are the sum of its days'.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from truceline.core.observations import Observation
from truceline.core.wording import place_words
from truceline.errors import ValidationError

__all__ = ["PERIODS", "cameras_down", "harm_in", "period_day", "report_window"]

#: Report windows and how many reporting periods each holds (custom: from --from to --date).
PERIODS = {"day": 1, "weekend": 2, "week": 7, "custom": 0}
#: The longest custom window, in periods (a report reads its window: keep it bounded).
MAX_DAYS = 92


def period_day(t: datetime, tz: ZoneInfo, start: time) -> date:
    """The date of the reporting period holding ``t``: a period is named by the day it ends."""
    local = t.astimezone(tz)
    return local.date() + timedelta(days=1) if local.time() >= start else local.date()


def report_window(kind: str, day: date, first: date | None = None) -> tuple[date, date]:
    """The first and last reporting days of a ``kind`` report ending on ``day``.

    >>> report_window("week", date(2025, 3, 30))
    (datetime.date(2025, 3, 24), datetime.date(2025, 3, 30))
    >>> report_window("weekend", date(2025, 3, 30))
    (datetime.date(2025, 3, 29), datetime.date(2025, 3, 30))
    """
    if kind not in PERIODS:
        raise ValidationError(f"must be one of {', '.join(PERIODS)}, not {kind!r}",
                              field="period")
    if kind == "custom":
        if first is None:
            raise ValidationError("a custom period needs its first day", field="from")
        if first > day:
            raise ValidationError(f"{first.isoformat()} is after {day.isoformat()}",
                                  field="from")
        if (day - first).days + 1 > MAX_DAYS:
            raise ValidationError(f"at most {MAX_DAYS} days", field="from")
        return first, day
    if first is not None:
        raise ValidationError("only a custom period takes a first day", field="from")
    return day - timedelta(days=PERIODS[kind] - 1), day


def harm_in(obs: Iterable[Observation], start: datetime, end: datetime, tz: ZoneInfo
            ) -> list[dict[str, Any]]:
    """Civilian casualties reported in [start, end): time (local), killed, injured, place."""
    out = []
    for o in sorted(obs, key=lambda o: (o.time, o.id)):
        if not start <= o.time < end:
            continue
        pos = (o.lon, o.lat) if o.lon is not None and o.lat is not None else None
        out.append({"id": o.id, "time": o.time.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    "killed": o.killed or 0, "injured": o.injured or 0,
                    "lon": pos[0] if pos else None, "lat": pos[1] if pos else None,
                    "place": place_words(*pos) if pos else "place not reported",
                    "description": o.description or ""})
    return out


def cameras_down(assets: Sequence[Observation], start: datetime, end: datetime,
                 tz: ZoneInfo) -> list[dict[str, Any]]:
    """Cameras reported down for part of [start, end): camera, from, to (local), place."""
    out = []
    for o in sorted(assets, key=lambda o: (o.source_id, o.time, o.id)):
        if o.asset_type is None or o.asset_type.value != "camera":
            continue
        if o.asset_status is None or o.asset_status.value != "down":
            continue
        stop = o.end_time or end
        if not (o.time < end and stop > start):
            continue
        pos = (o.lon, o.lat) if o.lon is not None and o.lat is not None else None
        out.append({"camera": o.source_id,
                    "from": max(o.time, start).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    "to": min(stop, end).astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                    "hours": round((min(stop, end) - max(o.time, start)).total_seconds()
                                   / 3600, 1),
                    "place": place_words(*pos) if pos else "place not reported"})
    return out
