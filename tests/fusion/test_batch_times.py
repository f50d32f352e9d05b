"""A report's time in the batch: seconds from the batch's epoch, to the microsecond."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from truceline.core.fusion.batch import _seconds

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-5,
                                                                               minutes=-30))])


@settings(max_examples=500, deadline=None)
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=ZONES),
       st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1)))
def test_seconds_are_numpys_microsecond_difference(t: datetime, e: datetime) -> None:
    """Python's arithmetic gives the float numpy's ``datetime64[us]`` difference gives, bit
    for bit, in any zone and on either side of the epoch (fusion's groups depend on it)."""
    epoch = np.datetime64(e.replace(microsecond=0), "s")
    by_numpy = np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "us") - epoch
    want = float(by_numpy / np.timedelta64(1, "us")) * 1e-6
    assert _seconds(t, epoch.astype(datetime).replace(tzinfo=UTC)) == want
    assert np.isnan(_seconds(None, epoch.astype(datetime).replace(tzinfo=UTC)))
