"""A report's time in the batch: seconds from the batch's epoch, to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.core.fusion.batch import NO_TIME, _micros, batch_from_columns
from truceline.core.geo import choose_projection

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-5,
                                                                               minutes=-30))])
TIMES = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=ZONES)
PROJ = choose_projection((37.0, 47.0, 38.0, 48.0))


@settings(max_examples=300, deadline=None)
@given(st.lists(TIMES, min_size=1, max_size=6), st.lists(st.none() | TIMES, min_size=6,
                                                         max_size=6))
def test_seconds_are_numpys_microsecond_difference(times: list[datetime],
                                                   arrivals: list[datetime | None]) -> None:
    """Seconds from the epoch (the first report's time, truncated to the second) are the
    float numpy's ``datetime64[us]`` difference gives, bit for bit, in any zone and on either
    side of the epoch (fusion's groups depend on it), and an absent arrival is NaN."""
    n = len(times)
    arr = arrivals[:n]
    cols = {"id": np.array([f"r{k}" for k in range(n)], object),
            "source_id": np.array(["s"] * n, object),
            "time_us": np.array([_micros(t) for t in times], np.int64),
            "arrival_us": np.array([_micros(t) for t in arr], np.int64)}
    b = batch_from_columns(cols, PROJ)
    first = min(t.astimezone(UTC) for t in times)
    epoch = np.datetime64(first.replace(tzinfo=None), "s")
    assert b.epoch == epoch

    def want(t: datetime) -> float:
        d = np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "us") - epoch
        return float(d / np.timedelta64(1, "us")) * 1e-6

    assert b.t.tolist() == [want(t) for t in times]
    for got, t in zip(b.arr.tolist(), arr, strict=True):
        assert (np.isnan(got) and t is None and _micros(t) == NO_TIME) or got == want(t)
