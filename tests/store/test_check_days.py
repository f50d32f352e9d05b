"""The incremental check (issue 21): with both per-day fusion rules on, a check after each
day fuses only the days new reports touch, and ends where one check of everything does:
the same incidents and findings, byte for byte in their rows' text, and the same incident
set digest; on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.core.fusion import CalibrationParams, FusionParams
from truceline.core.fusion.day_state import DAY_US, DayState
from truceline.core.observations import micros
from truceline.core.record.canonical import canonical_bytes, entry_bytes, parse_entry
from truceline.services import record, verify
from truceline.services.check import run_check
from truceline.services.check_days import DaysFused, days_input, fuse_days, write_days
from truceline.services.check_read import store_input
from truceline.services.check_rules import RULES_META
from truceline.services.context import context_for_doc, load_context
from truceline.services.ingest import ingest
from truceline.services.kept_digest import KEPT_FIELD, stored_kept_digest
from truceline.services.ports import CHECKED_META, FUSION_DAYS_META, Store
from truceline.services.sources import SOURCES_META, source_estimates
from truceline.simulation.presets import scenario_params
from truceline.simulation.scenario import Scenario

from .conftest import PG_URL, Backend, with_database

#: Both per-day rules on: what makes a day's fusion a function of it and the days before.
PER_DAY = FusionParams(calibration=CalibrationParams(daily=True),
                       locate=dataclasses.replace(FusionParams().locate, stats_by_day=True))


@cache
def _days() -> list[list[dict[str, Any]]]:
    """Three simulated days of all conditions (biased compasses, wind, wild bearings, coarse
    bands, clock offsets, copies), seed 1, a fifth of the sensor density, from 22:00 UTC:
    each reporting day straddles a UTC midnight."""
    ag, doc = load_agreement_file("march2025")
    scn = Scenario(ag, context_for_doc(doc).geometry, days=3, seed=1, scale=0.3,
                   params=scenario_params("all_conditions"),
                   start=ag.entry_into_force_at + timedelta(days=4))
    return [list(day.observations) for day in scn]


def _new(backend: Backend, doc: dict[str, Any] | None = None) -> Store:
    store = backend.open()
    record.initialize_store(store, doc or load_agreement_file("march2025")[1])
    return store


def _with_flashes() -> dict[str, Any]:
    """march2025 with a ceasefire on muzzle flashes alone: none is attributed at the
    agreement's confidence in these days, so its summaries name open findings (how many,
    the first three) and the records about each side, which a check of a few days reads
    from the other days' kept tallies (the plain ceasefire's parties both violate: no
    summary)."""
    doc = copy.deepcopy(load_agreement_file("march2025")[1])
    first = doc["provisions"][0]
    doc["provisions"].append({**first, "id": "M25-flashes",
                              "rule": {**first["rule"], "fire_types": ["muzzle_flash"]}})
    return doc


def _add(store: Store, rows: list[dict[str, Any]]) -> None:
    ingest(store, list(enumerate(rows, 1)))


def _rows(store: Store, table: str) -> list[tuple[str, str]]:
    return sorted((str(r["id"]), str(r["record"])) for r in store.table_rows(table))


def _digest(store: Store) -> str:
    last = store.last_entry("incident")
    assert last is not None
    return str(parse_entry(last.data)[1]["sha256"])


def _same(a: Store, b: Store) -> None:
    inc_a, inc_b = _rows(a, "incidents"), _rows(b, "incidents")
    assert len(inc_a) > 100
    assert [k for k, _ in inc_a] == [k for k, _ in inc_b]
    assert [k for (k, x), (_, y) in zip(inc_a, inc_b, strict=True) if x != y] == []
    fin_a, fin_b = _rows(a, "findings"), _rows(b, "findings")
    assert len(fin_a) > 10
    assert fin_a == fin_b
    assert _digest(a) == _digest(b)
    assert source_estimates(a) == source_estimates(b)


def _step_and_once(backend: Backend, second: Backend, batches: list[list[dict[str, Any]]]
                   ) -> tuple[Store, Store]:
    """A store checked after each of ``batches``, and another checked once after all."""
    step = _new(backend)
    for rows in batches:
        _add(step, rows)
        run_check(step, PER_DAY)
    once = _new(second)
    _add(once, [r for rows in batches for r in rows])
    run_check(once, PER_DAY)
    return step, once


#: Per backend, a store of every observation of :func:`_days` checked once (the tests read it).
_ONCE: dict[str, Backend] = {}


@pytest.fixture()
def once(backend: Backend, request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """:func:`_days` all checked at once, on the test's backend: the result the steps must
    end at, made once per session and backend (several tests compare with it; in another
    order of ingest it is the same, :func:`test_one_check_of_the_days_is_the_same_in_any_order`)."""
    if backend.name not in _ONCE:
        if backend.name == "postgres":
            server = request.getfixturevalue("pg_server")
            schema = "t_once_" + secrets.token_hex(4)  # dropped with the session's database
            with server.connect() as conn:
                conn.execute(f"CREATE SCHEMA {schema}")
            made = Backend("postgres", with_database(PG_URL, server.dbname, f"{schema},public"))
        else:
            made = Backend("sqlite", str(tmp_path_factory.mktemp("once") / "once.db"))
        store = _new(made)
        _add(store, [r for rows in _days() for r in rows])
        run_check(store, PER_DAY)
        store.close()
        _ONCE[backend.name] = made
    store = _ONCE[backend.name].open(create=False)
    yield store
    store.close()


def _fused(store: Store) -> DaysFused:
    """What the next check would fuse (nothing written)."""
    return fuse_days(store, load_context(store), store_input(store), PER_DAY)


def _utc_days() -> list[list[dict[str, Any]]]:
    """The same observations ingested a UTC day at a time: each new day's first hour is then
    the halo of a day already checked, whose straddling incidents take that day's wind and
    statistics, and whose wind reads the new day's first half hour (so the check fuses again
    from the day before the new one: docs/partitions.md)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in (r for rows in _days() for r in rows):
        out.setdefault(str(r["time"])[:10], []).append(r)
    return [out[k] for k in sorted(out)]


@pytest.mark.slow
@pytest.mark.parametrize("split", ["reporting days", "UTC days"])
def test_days_checked_one_by_one_end_as_one_check_of_them(backend: Backend, once: Store,
                                                          split: str) -> None:
    # ingested a UTC day at a time, a check that fused again only from the day before the
    # new one left 1 of the 248 incidents different (2 with the reporting days, from the
    # changed day on)
    days = _days() if split == "reporting days" else _utc_days()
    assert min(str(r["time"]) for r in days[0])[:10] == "2025-03-23" and len(days) >= 3
    step = _new(backend)
    for k, rows in enumerate(days):
        _add(step, rows)
        if k:  # fire reports read from two days before the new ones only (and their halo)
            ctx = load_context(step)
            first = days_input(step, ctx, PER_DAY)[0].first_us
            new = min(str(r["time"]) for r in rows if r["kind"] == "fire")
            assert first is not None and _us(new) - first <= 4 * DAY_US
        run_check(step, PER_DAY)
    # a check with nothing new fuses nothing
    assert _fused(step).fused_days == []
    _same(step, once)


@pytest.mark.slow
def test_one_check_of_the_days_is_the_same_in_any_order(once: Store, second: Backend) -> None:
    # the tests comparing steps with ``once`` ingest the days in their own order; one check
    # of the same observations ingested in the reverse order stores the same
    rows = [r for rows in _days() for r in rows]
    other = _new(second)
    _add(other, rows[::-1])
    run_check(other, PER_DAY)
    _same(other, once)


@pytest.mark.slow
def test_a_late_report_fuses_its_day_again_and_ends_as_one_check(backend: Backend,
                                                                 once: Store) -> None:
    days = _days()
    fire = [r for r in days[0] if r["kind"] == "fire"]
    late = {r["id"] for r in fire[len(fire) // 2 : len(fire) // 2 + 5]}
    step = _new(backend)
    for rows in days:
        _add(step, [r for r in rows if r["id"] not in late])
        run_check(step, PER_DAY)
    _add(step, [r for r in days[0] if r["id"] in late])
    fused = _fused(step)
    assert fused.fused_days and fused.fused_days[0] <= min(
        s.day for s in fused.states)  # from the late reports' day (or the day before) on
    run_check(step, PER_DAY)
    _same(step, once)


@pytest.mark.slow
def test_a_plain_check_per_utc_day_reports_every_sources_estimates_as_one_check(
        backend: Backend, once: Store) -> None:
    # ``truceline sources`` after a plain check per UTC day (the defaults: incremental, the
    # last check fuses from two days back) is what one check of the four days reports, every
    # number of every source, those only the first days heard among them. Counted over the
    # days a check fused (session 20), 6 of the 119 sources differed in bearings, 4 in timed
    # reports, 8 in the clock offset and 9 in its error, and a rebuilt mirror refused the log
    days = _utc_days()
    step = _new(backend)
    fused = []
    for rows in days:
        _add(step, rows)
        fused.append(run_check(step).fused_days)
    assert fused[0] is None and fused[-1] is not None and len(fused[-1]) < len(days)
    assert FusionParams() == PER_DAY  # ``once``, checked with PER_DAY, is a plain check
    assert len(source_estimates(once)) >= 100
    assert source_estimates(step) == source_estimates(once)


def _us(text: str) -> int:
    return micros(datetime.fromisoformat(text))


def _shifted(row: dict[str, Any], days: float) -> dict[str, Any]:
    out = dict(row)
    for k in ("time", "arrival_time"):
        if k in out:
            t = datetime.fromisoformat(str(out[k])) + timedelta(days=days)
            out[k] = t.isoformat().replace("+00:00", "Z")
    return out


@pytest.mark.slow
def test_late_copies_and_edits_read_from_their_days_end_as_one_check(backend: Backend,
                                                                    second: Backend) -> None:
    # an edit stored with the third UTC day moves a report of it four days back: the check
    # after the fourth day reads fire reports from the first day on (two days before the
    # third, where the late ones below are), where the replaced version is and its edit
    # is not (kept as not counted: without that, counted); with the fourth day come a
    # copy of a third day's report under a smaller id (which then stands for both: the
    # report already checked is no longer counted) and an edit of another
    days = _utc_days()
    fire3 = [r for r in days[2] if r["kind"] == "fire" and "-c" not in r["id"]]  # no copies
    moved = {**_shifted(fire3[7], -4), "id": fire3[7]["id"] + "-v2",
             "supersedes": fire3[7]["id"]}
    assert str(moved["time"]) < "2025-03-22"
    copy_ = {**fire3[-3], "id": "0-" + str(fire3[-3]["id"])}
    edit = {**fire3[-9], "id": fire3[-9]["id"] + "-v2", "supersedes": fire3[-9]["id"],
            "temperature_c": 9.5}
    batches = [days[0], days[1], [*days[2], moved], [*days[3], copy_, edit]]
    step, once = _step_and_once(backend, second, batches)
    _same(step, once)
    counted_ = {r["id"] for r in _rows_of(step, "incidents")}
    assert fire3[7]["id"] not in counted_ and fire3[-9]["id"] not in counted_
    assert copy_["id"] in counted_ and fire3[-3]["id"] not in counted_


def _rows_of(store: Store, table: str) -> list[dict[str, Any]]:
    """Each evidence id of the stored incidents, as rows of one key (what they count)."""
    out = []
    for r in store.table_rows(table):
        out += [{"id": e} for e in json.loads(str(r["record"]))["evidence"]]
    return out


@cache
def _from_midnight() -> list[list[dict[str, Any]]]:
    """Two simulated days of all conditions from 00:00 UTC, at the simulator's density,
    split by UTC day: the run's first day has reports in its first hour (13 fire reports),
    which its own samples correct (:class:`~truceline.core.fusion.calibration_days.Prior`)."""
    ag, doc = load_agreement_file("march2025")
    scn = Scenario(ag, context_for_doc(doc).geometry, days=2, seed=1, scale=1.0,
                   params=scenario_params("all_conditions"),
                   start=ag.entry_into_force_at + timedelta(days=4, hours=2))
    out: dict[str, list[dict[str, Any]]] = {}
    for r in (r for day in scn for r in day.observations):
        out.setdefault(str(r["time"])[:10], []).append(r)
    return [out[k] for k in sorted(out)]


@pytest.mark.slow
def test_a_check_fusing_again_from_before_the_first_day_corrects_its_first_hour_as_one_check(
        backend: Backend, second: Backend) -> None:
    # a late report in the first day's first hour fuses again from the day before it,
    # before the run's first, where no day is kept. Until session 24 a new day fused from
    # two days back and reached this (the run's first day taken to be that empty day, its
    # first hour corrected by no samples: 478 of 484 incidents differed; b192142); since
    # then only a change in a day's first hour fuses from the day before, so the late
    # report is what reaches it now. Measured (session 43): with b192142's `prior_of`
    # fix undone this still passes, so the result no longer depends on that choice; the
    # case stays as an equivalence of its own
    days = _from_midnight()
    late = min(days[0], key=lambda r: str(r["time"]))
    assert str(late["time"]) < "2025-03-24T00:10"
    first = [r for r in days[0] if r is not late]
    step, once = _step_and_once(backend, second, [first, [late, *days[1]]])
    _same(step, once)


@pytest.mark.slow
def test_states_fused_under_a_version_amended_meanwhile_are_not_kept(backend: Backend) -> None:
    # an amendment stored while a check fuses (its read of every observation takes minutes
    # on a month) under the version it read: the states it keeps were made under that one,
    # and the next check, under the amendment, fuses every day again (they were written as
    # made under the store's latest version, so the next check kept them)
    days = _days()
    store = _new(backend)
    _add(store, days[0])
    run_check(store, PER_DAY)
    _add(store, days[1])
    ctx, inp = load_context(store), store_input(store)
    fused = fuse_days(store, ctx, inp, PER_DAY)
    assert not fused.every
    amended = copy.deepcopy(ctx.doc)
    amended["title"] = str(amended.get("title", "")) + " (amended)"
    amended["version"] = int(ctx.doc.get("version", 1)) + 1
    record.initialize_store(store, amended, amend=True, effective=date(2025, 3, 1))
    with store.atomic():  # the check's write, as run_check makes it
        write_days(store, fused, lambda i: canonical_bytes(i.to_record()), inp.read, 1000)
        store.set_meta(CHECKED_META, str(inp.read))
    assert _fused(store).every


@pytest.mark.slow
def test_a_version_stored_after_its_edit_days_earlier_is_not_counted_as_one_check(
        backend: Backend, second: Backend) -> None:
    # an edit may be stored before the version it replaces (an importer's pages, a relay):
    # the edit of a fourth day's report moves it three days back and comes with the first
    # day; the version comes alone, after the fourth day was checked. The check after it
    # reads fire reports from two days before the version's, after the edit, which the
    # window did not read: the version was counted (a phantom incident) where one check of
    # everything, reading the edit, does not count it
    days = _utc_days()
    assert len(days) == 4
    fire4 = [r for r in days[3] if r["kind"] == "fire" and "-c" not in r["id"]]
    version = max(fire4, key=lambda r: str(r["time"]))
    edit = {**_shifted(version, -3), "id": version["id"] + "-v2",
            "supersedes": version["id"]}
    assert str(edit["time"])[:10] == str(days[0][0]["time"])[:10]
    batches = [[*days[0], edit], days[1], days[2],
               [r for r in days[3] if r["id"] != version["id"]], [version]]
    step, once = _step_and_once(backend, second, batches)
    counted_ = {r["id"] for r in _rows_of(step, "incidents")}
    assert edit["id"] in counted_ and version["id"] not in counted_
    _same(step, once)


def _without_applied(state: bytes) -> bytes:
    """A kept state as the encoding before session 20 wrote it: no samples' ``applied``."""
    z = np.load(io.BytesIO(state), allow_pickle=False)
    out = io.BytesIO()
    np.savez_compressed(out, **{k: z[k] for k in z.files if not k.endswith("_applied")})
    return out.getvalue()


@pytest.mark.slow
def test_states_kept_by_an_older_encoding_are_fused_again_not_a_crash(backend: Backend,
                                                                       second: Backend) -> None:
    # states kept without the samples' ``applied`` (the encoding before it) under the meta
    # of what they were made under: reading one raised KeyError and the check failed; a cache
    # this code cannot read is not kept, and every day is fused again
    days = _utc_days()[:3]
    step = _new(backend)
    for rows in days[:2]:
        _add(step, rows)
        run_check(step, PER_DAY)
    kept = step.fusion_days()
    assert any(k.endswith("_applied") for k in np.load(io.BytesIO(kept[min(kept)])).files)
    reports = {d: b for d, b in step.day_reports().items() if b is not None}
    step.put_fusion_days(None, [(d, _without_applied(b)) for d, b in sorted(kept.items())],
                         reports)
    _add(step, days[2])
    assert run_check(step, PER_DAY).fused_days is None  # every day
    once = _new(second)
    _add(once, [r for rows in days for r in rows])
    run_check(once, PER_DAY)
    _same(step, once)


def test_a_damaged_note_of_what_states_were_made_under_fuses_every_day_again(
        backend: Backend) -> None:
    # meta ``fusion_days`` not JSON (a cache, not checked by ``record verify``: the tamper
    # suite's "json" edit): every check, the plain one too since the per-day rules are the
    # default, failed with a JSONDecodeError
    store = _new(backend)
    _add(store, _days()[0])
    run_check(store, PER_DAY)
    store.set_meta(FUSION_DAYS_META, "{not json")
    assert run_check(store, PER_DAY).fused_days is None  # every day, none kept
    assert run_check(store, PER_DAY).fused_days == []  # kept again


def test_the_first_day_touched_is_read_a_page_at_a_time_and_no_record_parsed(
        backend: Backend) -> None:
    # what arrived since the last check was read whole, as objects (~2.7 KB a report: a
    # month's import held 2.4 GB), then a page at a time, still parsed (~0.3 s of one more
    # day's check on the 907k month); by SQL (the earliest fire time, the versions named)
    # it holds neither, and finds the same time
    import tracemalloc

    from truceline.services.day_reports import first_touched

    rows = _utc_days()[1]
    store = _new(backend)
    _add(store, rows)
    n = store.count_observations()
    assert n > 500
    got = []
    peaks = []
    for page in (n, 97, 20_000):
        tracemalloc.start()
        got.append(first_touched(store, 0, n, 900.0, page))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert got == [min(_us(str(r["time"])) for r in rows if r["kind"] == "fire") - 900 * 10**6] * 3
    assert max(peaks) < 300 * n  # not an object (nor a record's text) per report


def test_new_reports_after_a_days_first_hour_fuse_again_from_their_own_day(
        backend: Backend) -> None:
    # they fuse again from their own day (its first hour unchanged; before session 24, when
    # an impact heard after midnight took the next day's wind, from the day before), and
    # fire reports are read from that day's halo on: not a day before it (a day's ~23k
    # reports parsed for nothing on the 907k month, BENCHMARKS.md, session 22); the days
    # are the agreement's reporting periods (19:30 Kyiv time), as the check counts them
    from truceline.core.fusion.day_state import day_of_us, day_start_us
    from truceline.services.check_days import reporting_days
    from truceline.services.day_reports import first_fused

    days = _days()
    store = _new(backend)
    _add(store, days[0])
    run_check(store, PER_DAY)
    _add(store, days[1])
    clock = reporting_days(PER_DAY, load_context(store)).days
    assert (clock.zone, clock.start_s) == ("Europe/Kyiv", 19.5 * 3600)
    new = min(_us(str(r["time"])) for r in days[1] if r["kind"] == "fire")
    day = int(day_of_us(np.asarray([new]), clock)[0])
    halo = int(PER_DAY.halo_s * 1e6)
    assert new - halo >= day_start_us(day, clock) + halo  # after its first hour, and a margin
    first = days_input(store, load_context(store), PER_DAY)[0].first_us
    assert first == day_start_us(day, clock) - 2 * halo
    assert run_check(store, PER_DAY).fused_days == [day, day + 1]
    # a change that may start in a day's first hour fuses again from the day before it
    assert first_fused(int(day_start_us(day, clock)) + halo - 1, PER_DAY.halo_s, clock) == day - 1
    assert first_fused(int(day_start_us(day, clock)) + halo, PER_DAY.halo_s, clock) == day


def test_the_kept_days_facts_are_read_only_for_rules_that_judge_every_incident(
        backend: Backend) -> None:
    # a window read put every kept day's reports' facts in one dict (~3 % of the CPU of one
    # more day on the 907k month), though rules that judge only the days fused again read
    # none of them; they are put there when every incident is judged (the suspension in the
    # test above, damaged kept rules), as a read of the whole store has them
    days = _days()
    fourth = [{**_shifted(r, 3), "id": "x" + str(r["id"])} for r in days[0]
              if r["kind"] == "fire"]
    store = _new(backend)
    for rows in days:
        _add(store, rows)
        run_check(store, PER_DAY)
    _add(store, fourth)
    inp = days_input(store, load_context(store), PER_DAY)[0]
    whole = store_input(store).reported
    assert inp.first_us is not None
    early = {i for i, t in zip(whole.facts, whole.times_us.tolist(), strict=True)
             if t < inp.first_us}
    assert len(early) > 100 and not early & set(inp.reported.facts)
    assert len(inp.reported.times_us) == len(whole.times_us)
    inp.read_kept_facts()
    assert inp.reported.facts == whole.facts


def _day_text(day: int) -> str:
    """The UTC day ``day`` (from 2020-01-01) as a time's first characters."""
    return (date(2020, 1, 1) + timedelta(days=day)).isoformat()


def _owned_from(store: Store, start: int) -> int:
    """How many incidents the kept states of the days from ``start`` on own."""
    return sum(len(DayState.from_bytes(b).incidents) for d, b in store.fusion_days().items()
               if d >= start)


@pytest.mark.slow
def test_the_rules_judge_only_the_incidents_of_the_days_fused_again(backend: Backend,
                                                                    second: Backend) -> None:
    # the rules judged every stored incident at each check (read back as objects) and every
    # finding was encoded and compared with its stored text; now only the fused days'
    # incidents are judged, the summaries read the other days' kept tallies, and the
    # findings of the other days stay as stored: still what one check of everything gives
    # (a suspension notified with the last day rewrites findings of every day: all judged)
    days = _utc_days()
    noon = str(days[-1][0]["time"])[:10] + "T12:00"  # the last day's afternoon comes last
    days = [*days[:-1], [r for r in days[-1] if str(r["time"]) < noon],
            [r for r in days[-1] if str(r["time"]) >= noon]]
    step = _new(backend, _with_flashes())
    judged = []
    for rows in days:
        _add(step, rows)
        res = run_check(step, PER_DAY)
        judged.append(res)
        assert res.stored == len(_rows(step, "findings"))
    last = judged[-1]
    assert last.fused_days and not last.complete
    assert last.judged == _owned_from(step, min(last.fused_days)) < last.incidents
    assert judged[0].complete and judged[0].judged == judged[0].incidents
    once = _new(second, _with_flashes())
    _add(once, [r for rows in days for r in rows])
    run_check(once, PER_DAY)
    _same(step, once)
    flashes = [f for f in (json.loads(t) for _, t in _rows(step, "findings"))
               if f["provision_id"] == "M25-flashes"]
    kept = [f for f in flashes if f["incident_id"] and f["time"] < _day_text(last.fused_days[0])]
    summary = [f for f in flashes if "open findings could be" in f["explanation"]]
    assert kept and len(summary) == 1  # the kept days' unattributed flashes count in it
    notice = {"id": "ru-notice", "kind": "suspension", "time": "2025-03-25T12:00:00Z",
              "source_id": "RU", "source_type": "party", "party": "RU",
              "description": "a notice suspending the ceasefire"}
    for store in (step, once):
        _add(store, [notice])
        res = run_check(store, PER_DAY)
    assert res.complete and res.judged == res.incidents
    _same(step, once)
    assert any("suspension" in t for _, t in _rows(step, "findings"))


def test_damaged_kept_rules_judge_every_incident(backend: Backend) -> None:
    # meta ``check_rules`` not JSON (a cache, as ``fusion_days``): every incident judged
    days = _days()
    store = _new(backend)
    _add(store, days[0])
    run_check(store, PER_DAY)
    _add(store, days[1])
    store.set_meta(RULES_META, "{not json")
    res = run_check(store, PER_DAY)
    assert res.complete and res.judged == res.incidents
    _add(store, days[2])
    res = run_check(store, PER_DAY)
    assert not res.complete and res.judged < res.incidents  # kept again


@pytest.mark.slow
def test_kept_tallies_edited_on_disk_are_not_trusted(backend: Backend, second: Backend) -> None:
    # someone with the database adds UA to a kept day's violators of the flashes' ceasefire
    # (valid JSON, the right fingerprint): the next check used to sum it into the summaries
    # and commit them; now the kept rows are bound to the last incident entry's digest, so
    # record verify reports the edit and the next check judges every incident again, ending
    # as one check of everything does
    days = _utc_days()
    step = _new(backend, _with_flashes())
    for rows in days[:2]:
        _add(step, rows)
        run_check(step, PER_DAY)
    assert verify.verify_record(step).ok
    kept = json.loads(str(step.get_meta(RULES_META)))
    first = min(kept["tallies"], key=int)
    kept["tallies"][first]["M25-flashes"]["violators"] = ["UA"]
    step.set_meta(RULES_META, json.dumps(kept, sort_keys=True))
    problems = verify.verify_record(step).problems
    assert any("kept" in p.message and "check_rules" in p.message for p in problems), problems
    _add(step, days[2])
    res = run_check(step, PER_DAY)
    assert res.complete and res.judged == res.incidents
    assert verify.verify_record(step).ok
    for rows in days[3:]:
        _add(step, rows)
        assert not run_check(step, PER_DAY).complete  # kept again, and trusted
    once = _new(second, _with_flashes())
    _add(once, [r for rows in days for r in rows])
    run_check(once, PER_DAY)
    _same(step, once)


def test_a_kept_day_state_edited_on_disk_is_not_trusted(backend: Backend) -> None:
    # a kept day's state replaced by another day's (each decodes): not what the entry commits
    # to, so the next check fuses every day again
    days = _days()
    store = _new(backend)
    _add(store, days[0])
    run_check(store, PER_DAY)
    _add(store, days[1])
    run_check(store, PER_DAY)
    states = store.fusion_days()
    a, b = sorted(states)[:2]
    store.put_fusion_days(a, [(a, states[b]), *((d, s) for d, s in states.items() if d > a)],
                          {d: r for d, r in store.day_reports().items() if r is not None})
    assert not verify.verify_record(store).ok
    _add(store, days[2])
    res = run_check(store, PER_DAY)
    assert res.fused_days is None  # every day fused again


def test_kept_source_estimates_edited_on_disk_are_not_committed(backend: Backend) -> None:
    # the per-source estimates (meta sources) stand for a check that fuses no day again (a
    # suspension notice is no fire report): an edit of them (a source flagged) was written
    # back and committed in the new entry's sources_sha256, so record verify, which reported
    # it, then passed; they are part of what is kept, so the check fuses every day again
    store = _new(backend)
    _add(store, _days()[0])
    run_check(store, PER_DAY)
    honest = source_estimates(store)
    edited = [{**s, "flagged": not s["flagged"]} if k == 0 else s for k, s in enumerate(honest)]
    store.set_meta(SOURCES_META, json.dumps(edited, separators=(",", ":")))
    assert not verify.verify_record(store).ok
    notice = {"id": "ru-notice", "kind": "suspension", "time": "2025-03-25T12:00:00Z",
              "source_id": "RU", "source_type": "party", "party": "RU",
              "description": "a notice suspending the ceasefire"}
    _add(store, [notice])
    run_check(store, PER_DAY)
    assert source_estimates(store) == honest
    assert verify.verify_record(store).ok


def test_kept_rows_edited_with_their_entry_text_are_not_trusted(backend: Backend) -> None:
    # someone with the database edits a kept row and, to match, the kept_sha256 in the last
    # incident entry's text (not the log's tree, which still holds the entry as appended):
    # the check trusts the digest only as the tree's leaf commits to it
    store = _new(backend)
    days = _days()
    _add(store, days[0])
    run_check(store, PER_DAY)
    kept = json.loads(str(store.get_meta(RULES_META)))
    kept["others"] = [*kept["others"], "forged"]
    store.set_meta(RULES_META, json.dumps(kept, sort_keys=True))
    last = store.last_entry("incident")
    assert last is not None
    body = {**parse_entry(last.data)[1], KEPT_FIELD: stored_kept_digest(store)}
    store._execute("UPDATE entries SET data = ? WHERE idx = ?",  # type: ignore[attr-defined]
                   (entry_bytes("incident", body), last.index))
    assert not verify.verify_record(store).ok
    _add(store, days[1])
    res = run_check(store, PER_DAY)
    assert res.complete and res.judged == res.incidents  # every incident judged again


def test_a_kept_days_incident_edited_on_disk_is_not_committed(backend: Backend) -> None:
    # an incident of a day no check fuses again (a suspension notice is no fire report) with
    # its attribution turned (canonical text, its columns as they were): the next check read
    # it back as stored, judged it, and committed it in its entry's digest, so record verify,
    # which reported it, then passed; now the stored set must be the one the last entry
    # commits to, else every day is fused again
    store = _new(backend)
    _add(store, _days()[0])
    run_check(store, PER_DAY)
    honest = _rows(store, "incidents")
    iid, text = honest[0]
    rec = json.loads(text)
    rec["party_probability"] = {p: 1.0 - float(v) for p, v in rec["party_probability"].items()}
    store._execute("UPDATE incidents SET record = ? WHERE id = ?",  # type: ignore[attr-defined]
                   (canonical_bytes(rec).decode(), iid))
    assert not verify.verify_record(store).ok
    notice = {"id": "ru-notice", "kind": "suspension", "time": "2025-03-25T12:00:00Z",
              "source_id": "RU", "source_type": "party", "party": "RU",
              "description": "a notice suspending the ceasefire"}
    _add(store, [notice])
    res = run_check(store, PER_DAY)
    assert res.fused_days is None  # every day fused again
    assert _rows(store, "incidents") == honest
    assert verify.verify_record(store).ok
