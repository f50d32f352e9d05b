"""The days fusion's per-day rules and the incremental check count by (issue 21): a time
zone's days from a local time of day, 23 or 25 hours where the clocks change, and a batch's
float seconds put in the day its stored microseconds are in."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from truceline.core.fusion.days import (
    DAY_US,
    TIME_ORIGIN_US,
    UTC_DAYS,
    Days,
    day_of_s,
    day_of_us,
    day_start_us,
)

KYIV = Days("Europe/Kyiv", 19.5 * 3600)  # the march2025 agreement's reporting periods


def _day(d: date) -> int:
    return (d - date(2020, 1, 1)).days


def _us(t: datetime) -> int:
    return (t - datetime(1970, 1, 1, tzinfo=UTC)) // np.timedelta64(1, "us").item()


def test_a_reporting_period_starts_at_1930_local_and_the_clock_changes_make_it_23_or_25_hours(
        ) -> None:
    spring, autumn = _day(date(2025, 3, 29)), _day(date(2025, 10, 25))
    # 19:30 EET is 17:30 UTC; the clocks go forward on the night of 29-30 March
    assert day_start_us(spring, KYIV) == _us(datetime(2025, 3, 29, 17, 30, tzinfo=UTC))
    assert day_start_us(spring + 1, KYIV) == _us(datetime(2025, 3, 30, 16, 30, tzinfo=UTC))
    lengths = np.diff(day_start_us(np.arange(spring - 1, spring + 2), KYIV)) / 3.6e9
    assert lengths.tolist() == [24.0, 23.0]
    lengths = np.diff(day_start_us(np.arange(autumn - 1, autumn + 2), KYIV)) / 3.6e9
    assert lengths.tolist() == [24.0, 25.0]
    midnight = Days("Europe/Kyiv")
    assert day_start_us(spring + 1, midnight) == _us(datetime(2025, 3, 29, 22, tzinfo=UTC))
    t = np.asarray([day_start_us(spring, KYIV) - 1, day_start_us(spring, KYIV)])
    assert day_of_us(t, KYIV).tolist() == [spring - 1, spring]


@given(st.integers(-200 * DAY_US, 4000 * DAY_US))
def test_utc_days_from_midnight_are_whole_days_from_the_origin(offset: int) -> None:
    t = np.asarray([TIME_ORIGIN_US + offset])
    assert day_of_us(t, UTC_DAYS)[0] == offset // DAY_US
    assert day_of_us(t, Days("UTC", 0.0))[0] == offset // DAY_US
    assert day_of_us(t, Days("Etc/UTC"))[0] == offset // DAY_US


ZONES = st.sampled_from([KYIV, Days("Europe/Kyiv"), Days("America/St_Johns", 3600.0),
                         Days("Pacific/Kiritimati", 86_399.0), Days("Pacific/Pago_Pago"),
                         Days("UTC", 7200.0), UTC_DAYS])


@given(st.lists(st.integers(1_700 * DAY_US, 3_000 * DAY_US), min_size=1, max_size=20),
       st.lists(st.integers(-3, 3), min_size=1, max_size=20), ZONES)
def test_a_batchs_seconds_fall_in_the_day_of_their_microseconds(
        offsets: list[int], near: list[int], days: Days) -> None:
    # times at and beside day starts, as the batch turns them into float seconds
    starts = np.asarray(day_start_us(day_of_us(np.asarray(offsets) + TIME_ORIGIN_US, days),
                                     days), np.int64)
    t = np.concatenate([np.asarray(offsets) + TIME_ORIGIN_US,
                        starts[: len(near)] + np.asarray(near[: len(starts)])])
    seconds = (t - TIME_ORIGIN_US).astype(float) * 1e-6
    got = day_of_us(t, days)
    assert (day_of_s(seconds, days) == got).all()
    assert (np.asarray(day_start_us(got, days)) <= t).all()
    assert (t < np.asarray(day_start_us(got + 1, days))).all()
