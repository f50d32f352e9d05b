"""A report's time in the batch: seconds from a fixed origin, to the microsecond, whichever
other reports share the batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.core.fusion.batch import NO_TIME, TIME_ORIGIN, _micros, batch_from_columns
from truceline.core.geo import choose_projection

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-5,
                                                                               minutes=-30))])
TIMES = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=ZONES)
PROJ = choose_projection((37.0, 47.0, 38.0, 48.0))


def _cols(times: list[datetime], arrivals: list[datetime | None]) -> dict[str, np.ndarray]:
    n = len(times)
    return {"id": np.array([f"r{k}" for k in range(n)], object),
            "source_id": np.array(["s"] * n, object),
            "time_us": np.array([_micros(t) for t in times], np.int64),
            "arrival_us": np.array([_micros(t) for t in arrivals[:n]], np.int64)}


@settings(max_examples=300, deadline=None)
@given(st.lists(TIMES, min_size=1, max_size=6), st.lists(st.none() | TIMES, min_size=6,
                                                         max_size=6))
def test_seconds_are_numpys_microsecond_difference(times: list[datetime],
                                                   arrivals: list[datetime | None]) -> None:
    """Seconds from the origin (2020-01-01 UTC, whatever the reports) are the float numpy's
    ``datetime64[us]`` difference gives, bit for bit, in any zone and on either side of the
    origin (fusion's groups depend on it), and an absent arrival is NaN."""
    n = len(times)
    arr = arrivals[:n]
    b = batch_from_columns(_cols(times, arrivals), PROJ)
    assert b.epoch == TIME_ORIGIN == np.datetime64("2020-01-01T00:00:00", "s")

    def want(t: datetime) -> float:
        d = np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "us") - TIME_ORIGIN
        return float(d / np.timedelta64(1, "us")) * 1e-6

    assert b.t.tolist() == [want(t) for t in times]
    for got, t in zip(b.arr.tolist(), arr, strict=True):
        assert (np.isnan(got) and t is None and _micros(t) == NO_TIME) or got == want(t)


@settings(max_examples=200, deadline=None)
@given(st.lists(TIMES, min_size=2, max_size=8), st.lists(st.none() | TIMES, min_size=8,
                                                         max_size=8), st.data())
def test_a_subset_of_the_reports_computes_in_the_same_numbers(
        times: list[datetime], arrivals: list[datetime | None], data: st.DataObject) -> None:
    """A batch of some of the reports (a day of the month, say) has the same epoch, the same
    times and the same windows as the batch of all of them, bit for bit, and puts each in the
    same day: a day fused alone computes in the month's numbers (issue 21). Counted from the
    first report of each batch, as before, the numbers and the days moved with the subset."""
    cols = _cols(times, arrivals)
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, len(times) - 1), min_size=1))))
    whole = batch_from_columns(cols, PROJ)
    part = batch_from_columns({k: v[rows] for k, v in cols.items()}, PROJ)
    assert part.epoch == whole.epoch
    for name in ("t", "arr", "t_lo", "t_hi"):
        assert np.array_equal(getattr(part, name), getattr(whole, name)[rows], equal_nan=True)
    assert (part.periods(part.t, 86_400.0) == whole.periods(whole.t, 86_400.0)[rows]).all()
    # UTC days: a report at 23:59:59.999999 UTC is in the day before one at midnight
    days = (np.asarray(cols["time_us"])[rows] // 86_400_000_000
            - int(TIME_ORIGIN.astype(np.int64)) // 86_400)
    assert (part.periods(part.t, 86_400.0) == days).all()
