"""Ingest's rules for repeated ids and future times, at the service, with a fixed clock (a fake
of the clock port): the same rule whichever batch the repeat falls in (issue 11.7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from truceline.errors import ConflictError, ObservationError
from truceline.services.ingest import FUTURE_TOLERANCE, ingest
from truceline.settings import Settings

from .conftest import new_store, synthetic

NOW = datetime(2025, 3, 28, 12, 0, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def rows(n: int) -> list[dict[str, Any]]:
    return synthetic(n, 0, "ir")


# the repeat in the same batch, the next one (not stored yet), or a later one (stored)
@pytest.mark.parametrize(("gap", "size"), [(0, 3), (0, 2), (2, 2), (5, 2)])
def test_repeat_with_other_content_is_a_conflict_in_any_batch(tmp_path: Path, gap: int,
                                                              size: int) -> None:
    store = new_store(tmp_path / "s.db")
    data = rows(8)
    changed = {**data[1], "count": 9}
    stream = [*data[: 2 + gap], changed, *data[2 + gap :]]
    with pytest.raises(ConflictError) as err:
        ingest(store, list(enumerate(stream, 1)), batch_size=size, clock=clock)
    assert err.value.field == "id"
    assert err.value.details == {"line": 3 + gap, "id": "ir-1"}
    kept = {o.id: o.count for o in store.observations()}
    first = data[1]["count"]
    assert kept.get("ir-1", first) == first  # the first (if its batch got stored), not the second
    rep = ingest(store, list(enumerate(stream, 1)), batch_size=size, clock=clock,
                 on_invalid="skip")
    assert [(r.line, r.field, r.id) for r in rep.rejected] == [(3 + gap, "id", "ir-1")]
    assert rep.added + rep.duplicates == 8
    assert store.observation("ir-1").count == first


@pytest.mark.parametrize(("gap", "size"), [(0, 3), (0, 2), (2, 2)])
def test_identical_repeat_is_a_duplicate_in_any_batch(tmp_path: Path, gap: int,
                                                      size: int) -> None:
    store = new_store(tmp_path / "s.db")
    data = rows(6)
    stream = [*data[: 2 + gap], data[1], *data[2 + gap :]]
    rep = ingest(store, list(enumerate(stream, 1)), batch_size=size, clock=clock)
    assert (rep.added, rep.duplicates, rep.rejected) == (6, 1, [])


def test_times_later_than_receipt_plus_tolerance_are_refused(tmp_path: Path) -> None:
    store = new_store(tmp_path / "s.db")
    base = rows(1)[0]
    ok = {**base, "id": "ok", "time": "2025-03-28T12:59:00Z"}
    late = {**base, "id": "late", "time": "2025-03-28T13:01:00Z"}
    sensor = {**base, "id": "sensor", "time": "2025-03-28T11:00:00Z",
              "arrival_time": "2025-03-28T15:00:00+02:00"}  # 13:00Z: exactly at the limit
    later = {**sensor, "id": "sensor2", "arrival_time": "2025-03-28T13:00:01Z"}
    rep = ingest(store, list(enumerate([ok, late, sensor, later], 1)), clock=clock,
                 on_invalid="skip")
    assert rep.added == 2
    assert [(r.line, r.field, r.id) for r in rep.rejected] == [
        (2, "time", "late"), (4, "arrival_time", "sensor2")]
    assert "later than the time of receipt (2025-03-28T12:00:00+00:00) plus the tolerance " \
           "of 60 min" in rep.rejected[0].reason
    with pytest.raises(ObservationError) as err:
        ingest(store, [(7, late)], clock=clock)
    assert (err.value.field, err.value.line) == ("time", 7)
    rep = ingest(store, [(1, late)], clock=clock, future_tolerance=timedelta(hours=2))
    assert rep.added == 1
    rep = ingest(store, [(1, {**late, "id": "replayed"})], clock=clock, future_tolerance=None)
    assert rep.added == 1


def test_the_setting_and_the_service_agree_on_the_default() -> None:
    assert timedelta(minutes=Settings().future_tolerance_minutes) == FUTURE_TOLERANCE
