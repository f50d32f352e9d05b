"""``to_ns``: the integer arithmetic gives what a ``datetime64[ns]`` of the UTC time gives,
whatever the offset, the microseconds and the year (wrapped as numpy wraps past 2262)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from truceline.core.coverage_time import to_ns
from truceline.errors import ValidationError


def _numpy_ns(t: datetime) -> int:
    return int(np.datetime64(t.astimezone(UTC).replace(tzinfo=None), "ns").astype(np.int64))


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
       st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_to_ns_is_numpys_nanoseconds(naive: datetime, minutes: int) -> None:
    t = naive.replace(tzinfo=timezone(timedelta(minutes=minutes)))
    assert to_ns(t) == _numpy_ns(t)


def test_to_ns_needs_a_timezone() -> None:
    with pytest.raises(ValidationError):
        to_ns(datetime(2025, 4, 1, 12))
