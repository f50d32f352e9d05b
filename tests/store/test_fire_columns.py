"""A check reads stored fire reports' record texts straight into columns (issue 21): the same
columns, values, facts, edits and latest times as validating each record into an object and
building columns from the objects, on real stored rows (SQLite and PostgreSQL); a record that
cannot be read is an error naming it, never a row left out."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import cache
from typing import Any

import numpy as np
import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.fusion.batch import NO_TIME
from truceline.core.observations import Observation, micros
from truceline.errors import StoreError
from truceline.services.check_read import store_input
from truceline.services.context import context_for_doc
from truceline.services.fire_columns import PageRead, _us, _values, objects_page, texts_page
from truceline.services.ingest import ingest
from truceline.services.ports import Store
from truceline.services.record import initialize_store
from truceline.simulation.presets import scenario_params
from truceline.simulation.scenario import Scenario


@cache
def _day() -> list[dict[str, Any]]:
    """A simulated day of all conditions (coarse distance bands, wild and biased bearings,
    clock offsets, wind, sensors' arrival times, copies sent by a second channel), and fire
    reports of what the simulator does not write: an edit, a system named without its weapon
    class, a dataset's coded event, a located report with its uncertainty, other time
    precisions, an end time, a time given with an offset and microseconds, weather."""
    ag, doc = load_agreement_file("march2025")
    scn = Scenario(
        ag,
        context_for_doc(doc).geometry,
        days=1,
        seed=3,
        scale=0.2,
        params=scenario_params("all_conditions"),
        start=ag.entry_into_force_at + timedelta(days=3),
    )
    rows = [dict(r) for day in scn for r in day.observations]
    fire = [r for r in rows if r["kind"] == "fire"]
    assert any(r.get("arrival_time") for r in fire)
    assert any(r.get("distance_max_m") for r in fire)
    base = {k: v for k, v in fire[0].items() if k != "signature"}
    made = [
        {**fire[1], "id": fire[1]["id"] + "-v2", "supersedes": fire[1]["id"]},
        {**base, "id": "x-system", "weapon_class": None, "system": "BM-21 Grad"},
        {**base, "id": "x-system-known", "weapon_class": "mortar", "system": "BM-21 Grad"},
        {
            **base,
            "id": "x-event",
            "dataset": "ucdp-ged",
            "count_unit": "event",
            "count": 3,
            "location_precision": "2",
            "lon": 37.9,
            "lat": 48.5,
            "location_uncertainty_m": 2500,
        },
        {
            **base,
            "id": "x-hour",
            "time_precision": "hour",
            "explosion_type": None,
            "fire_type": "burst_or_shot",
            "end_time": "2025-03-23T23:30:00+00:00",
        },
        {
            **base,
            "id": "x-offset",
            "time": "2025-03-23T14:05:00.123456+02:00",
            "time_precision": "second",
            "temperature_c": -3.5,
            "wind_u_ms": 2,
            "wind_v_ms": -1.25,
            "source_type": "sensor",
        },
    ]
    return rows + [{k: v for k, v in r.items() if v is not None} for r in made]


def _stored(store: Store) -> Store:
    _, doc = load_agreement_file("march2025")
    initialize_store(store, doc)
    ingest(store, list(enumerate(_day(), 1)), future_tolerance=None)
    return store


def _same(a: PageRead, b: PageRead) -> None:
    assert list(a.fire) == list(b.fire)
    for k in a.fire:
        assert a.fire[k].dtype == b.fire[k].dtype, k
        np.testing.assert_array_equal(a.fire[k], b.fire[k], err_msg=k)  # NaN equals NaN
        assert [type(v) for v in a.fire[k].tolist()] == [type(v) for v in b.fire[k].tolist()]
    np.testing.assert_array_equal(a.latest_us, b.latest_us)
    assert a.latest_us.dtype == b.latest_us.dtype == np.int64
    assert a.facts == b.facts
    assert a.edits == b.edits
    assert [o.id for o in a.others] == [o.id for o in b.others]
    assert a.others == b.others
    assert a.read == b.read


def test_texts_read_as_columns_are_the_objects_columns(store: Store) -> None:
    """Every page of the stored rows (33 a page: fire and other kinds mixed) read from its
    texts gives what the same rows validated as objects give, column by column."""
    _stored(store)
    pages = list(store.record_pages(33))
    rows = [r for p in pages for r in p]
    assert len(rows) == store.count_observations() == len(_day())
    made = {r[0] for r in rows} & {"x-system", "x-event", "x-hour", "x-offset"}
    assert len(made) == 4
    for page in pages:
        _same(texts_page(page), objects_page([Observation.model_validate_json(r[2]) for r in page]))
    whole = texts_page(rows)
    assert whole.edits and whole.others and len(set(whole.fire["weapon_class"].tolist())) > 2
    at = {str(i): k for k, i in enumerate(whole.fire["id"])}
    assert whole.fire["weapon_class"][at["x-system"]] == "mlrs"  # the catalogue's, as objects
    assert whole.fire["weapon_class"][at["x-system-known"]] == "mortar"
    assert whole.fire["time_us"][at["x-offset"]] % 1_000_000 == 123_456
    assert (whole.fire["arrival_us"] != np.iinfo(np.int64).min).any()
    assert not texts_page([]).fire["id"].size


def test_an_unreadable_stored_fire_report_is_an_error_naming_it(store: Store) -> None:
    """A fire report's record damaged in the store (a count that is not a number) stops the
    check's read with an error naming the report, rather than reading it as something else
    or leaving it out."""
    _stored(store)
    victim = next(r for r in _day() if r["kind"] == "fire")["id"]
    text = store.stored_records([victim])[victim]
    bad = json.dumps({**json.loads(text), "count": "many"}, sort_keys=True)
    store._execute(
        "UPDATE observations SET record = ? WHERE id = ?",  # type: ignore[attr-defined]
        (bad, victim),
    )
    with pytest.raises(StoreError) as err:
        store_input(store, page=50)
    assert err.value.details["id"] == victim and err.value.field == "record"
    assert "count" in err.value.message


def test_times_of_a_page_without_a_missing_one_are_the_per_row_micros(store: Store) -> None:
    """A column of times with none missing (a report's time: every row) is read by C calls
    alone; it gives each time's :func:`~truceline.core.observations.micros`, as the per-row
    path of a column with gaps does, and a time without an offset is an error naming it on
    either path."""
    _stored(store)
    rows = [r for p in store.record_pages(500) for r in p if r[1] == "fire"]
    values = [v["time"] for v in _values(rows)]
    ids = [r[0] for r in rows]
    assert None not in values and len(values) > 100
    fast = _us(values, ids, "time")
    gaps = _us([*values, None], [*ids, "none"], "time")
    np.testing.assert_array_equal(fast, [micros(t) for t in values])
    np.testing.assert_array_equal(gaps[:-1], fast)
    assert gaps[-1] == NO_TIME and fast.dtype == gaps.dtype == np.int64
    naive = [*values[:3], values[3].replace(tzinfo=None)]
    for given in (naive, [*naive, None]):
        with pytest.raises(StoreError) as err:
            _us(given, [*ids[:4], "none"], "time")
        assert err.value.details["id"] == ids[3]
