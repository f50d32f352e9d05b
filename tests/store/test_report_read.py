"""A daily report's read of its period (issue 21): fire reports as values, the other kinds as
objects, and exactly what ``counted`` keeps of the same observations read as objects: the
same reports, facts, times, sources and places, copies left out; a period holding an edit is
read as objects throughout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import write_simulation
from truceline.adapters.store import open_store
from truceline.core.counting import facts_of
from truceline.core.evidence import where_obs
from truceline.core.observations import micros
from truceline.core.resubmissions import counted
from truceline.core.taxonomy import Kind
from truceline.services.ingest import ingest
from truceline.services.ports import Store
from truceline.services.record import initialize_store
from truceline.services.report_read import read_period


def _store(tmp: Path) -> tuple[Store, datetime, datetime]:
    """A simulated day with 10 % of its reports sent again under new ids (and a mission's
    posts), and the window of its middle 20 hours."""
    ag, doc = load_agreement_file("march2025")
    sim = tmp / "sim"
    day = ag.entry_into_force_at + timedelta(days=6)
    write_simulation("march2025", sim, days=1, seed=7, scale=0.3, scenario="resubmissions",
                     start=day)
    store = open_store(str(tmp / "s.db"), create=True)
    initialize_store(store, doc)
    ingest(store, read_records(str(sim / "observations.jsonl"), "jsonl"), future_tolerance=None)
    start = day.astimezone(UTC) + timedelta(hours=2)
    return store, start, start + timedelta(hours=20)


def test_values_are_what_counted_objects_give(tmp_path: Path) -> None:
    store, a, b = _store(tmp_path)
    every = store.observations(start=a, end=b)
    kept = counted(every)
    assert len(kept) < len(every)  # copies were sent
    fire = [o for o in kept if o.kind is Kind.FIRE]
    assert fire and len(fire) < len(kept)
    placed = {o.id for o in fire}
    others, reports, reported = read_period(store.observation_texts(a, b), placed)
    assert reports is not None and reported is not None
    assert others == [o for o in kept if o.kind is not Kind.FIRE]
    assert reports.ids == [o.id for o in fire]
    np.testing.assert_array_equal(reports.times_us, [micros(o.time) for o in fire])
    np.testing.assert_array_equal(reported.times_us, reports.times_us)
    assert reports.source_ids == [o.source_id for o in fire]
    assert reports.source_types == [o.source_type.value for o in fire]
    assert reports.where == {o.id: w for o in fire if (w := where_obs(o)) is not None}
    assert all(type(x) is float for w in reports.where.values() for x in w)
    assert reported.facts == {o.id: facts_of(o) for o in fire}
    assert reported.latest == max(max(o.time, o.end_time or o.time) for o in fire)
    # a place is kept only for the reports asked for
    one = fire[0].id
    assert set(read_period(store.observation_texts(a, b), {one})[1].where) <= {one}


def test_an_edit_is_read_as_objects(tmp_path: Path) -> None:
    """A report naming a version it replaces: every observation as an object, as ``counted``
    leaves them (the replaced version out)."""
    store, a, b = _store(tmp_path)
    old = next(o for o in store.observations(kinds=[Kind.FIRE.value], start=a, end=b)
               if o.bearing_deg is not None)
    new = old.model_copy(update={"id": old.id + "-v2", "supersedes": old.id,
                                 "bearing_deg": (old.bearing_deg or 0.0) + 3.0})
    ingest(store, [(1, new.model_dump(mode="json", exclude_none=True))], future_tolerance=None)
    others, reports, reported = read_period(store.observation_texts(a, b))
    assert reports is None and reported is None
    assert others == counted(store.observations(start=a, end=b))
    assert old.id not in {o.id for o in others} and new.id in {o.id for o in others}
