"""The reads a report makes of one period, on SQLite and PostgreSQL alike: the incidents and
findings the last check stored whose time lies in ``[start, end)``, and the monitoring whose
window reaches into it. Times in other offsets and at the edges are where a text range lies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from truceline.core.findings import Finding, Verdict
from truceline.core.incidents import Incident, Located
from truceline.core.observations import Observation
from truceline.core.record.canonical import entry_bytes
from truceline.services.ports import Store

START = datetime(2025, 3, 27, 17, 30, tzinfo=UTC)  # 19:30 EET
END = START + timedelta(days=1)
KYIV = timezone(timedelta(hours=2))


def incident(iid: str, time: str) -> Incident:
    return Incident(iid, "fire", time, (iid + "-o",), "explosion", "impact", count=2,
                    impact=Located(37.75, 48.28, (4.0, 0.5, 9.0)))


def finding(fid: str, time: str | None, provision: str = "P1") -> Finding:
    return Finding(fid, provision, "no_fire", Verdict.VIOLATION, "RU", (fid + "-o",), "why",
                   time=time, lon=37.8, lat=48.1)


# times at the edges, in UTC text and in another offset (the text orders them otherwise)
INSIDE = {"first": "2025-03-27T17:30:00Z", "local": "2025-03-28T19:29:59+02:00",
          "frac": "2025-03-28T17:29:59.999Z", "mid": "2025-03-28T03:00:00Z"}
OUTSIDE = {"end": "2025-03-28T17:30:00Z", "before": "2025-03-27T17:29:59Z",
           "local-end": "2025-03-28T19:30:00+02:00", "early-local": "2025-03-27T19:29:00+02:00",
           "far": "2025-04-20T00:00:00Z"}


def test_incidents_of_a_period_are_those_whose_time_is_in_it(store: Store) -> None:
    every = [incident(f"i-{k}", t) for k, t in {**INSIDE, **OUTSIDE}.items()]
    store.replace_incidents(every)
    got = store.incident_records(START, END)
    assert sorted(r["id"] for r in got) == sorted(f"i-{k}" for k in INSIDE)
    # each record is the stored one, and reads back as the incident it was
    assert {r["id"]: Incident.from_record(r) for r in got} == \
        {i.id: i for i in every if i.id in {r["id"] for r in got}}
    # without a window: all, in (time, id) order as before
    assert [r["id"] for r in store.incident_records()] == \
        [r["id"] for r in sorted((i.to_record() for i in every), key=lambda r: (r["time"],
                                                                                r["id"]))]
    assert store.incident_records(END + timedelta(days=30), END + timedelta(days=31)) == []


# stored as a check writes them (UTC, "Z", with and without a fraction), around both edges
UTC_TEXTS = {
    "sec-before": ("2025-03-27T17:29:59Z", False),
    "frac-before": ("2025-03-27T17:29:59.999999Z", False),
    "first": ("2025-03-27T17:30:00Z", True),
    "first-frac": ("2025-03-27T17:30:00.0Z", True),
    "micro": ("2025-03-27T17:30:00.000001Z", True),
    "mid": ("2025-03-28T03:00:00Z", True),
    "last-frac": ("2025-03-28T17:29:59.9Z", True),
    "last": ("2025-03-28T17:29:59Z", True),
    "end": ("2025-03-28T17:30:00Z", False),
    "end-frac": ("2025-03-28T17:30:00.5Z", False),
    "day-before": ("2025-03-26T18:00:00Z", False),
    "day-after": ("2025-03-29T01:00:00Z", False),
}


@pytest.mark.parametrize("other", [None, "2025-03-28T19:00:00+02:00", "2025-03-27 18:00:00Z"])
def test_a_period_read_narrowly_keeps_exactly_its_rows(store: Store, other: str | None) -> None:
    """Where every time near the period is stored in UTC (read from a range a second wider
    than the period), and where one is not (read from a range a day wider), the incidents and
    findings of the period are those whose parsed time is in it, in the same order as all."""
    texts = {k: t for k, (t, _) in UTC_TEXTS.items()}
    if other is not None:
        texts["other"] = other
    every = [incident(f"i-{k}", t) for k, t in texts.items()]
    store.replace_incidents(every)
    found = [finding(f"f-{k}", t) for k, t in texts.items()]
    store.replace_findings(found, [("finding", entry_bytes("finding", f.to_record()))
                                   for f in found])

    def inside(t: str) -> bool:
        return START <= datetime.fromisoformat(t) < END

    want = [r["id"] for r in store.incident_records() if inside(r["time"])]
    assert sorted(want) == sorted(f"i-{k}" for k, t in texts.items() if inside(t))
    assert {k for k, (_, inn) in UTC_TEXTS.items() if inn} == \
        {k for k, (t, _) in UTC_TEXTS.items() if inside(t)}
    assert [r["id"] for r in store.incident_records(START, END)] == want
    assert [d["id"] for d in store.incident_fields(START, END, ("id",))] == want
    assert [f.id for f in store.findings(START, END)] == \
        [f.id for f in store.findings() if f.time is not None and inside(f.time)]


def test_incident_fields_are_those_of_the_records(store: Store) -> None:
    """The few keys a report's totals read are those the whole records give, for the same
    incidents in the same order; a key a record lacks is left out."""
    every = [incident(f"i-{k}", t) for k, t in {**INSIDE, **OUTSIDE}.items()]
    every.append(Incident("i-sighting", "sighting", INSIDE["mid"], ("x",), None, None, count=4,
                          details={"evidence": ["not", "these"], "kind": "nested"}))
    store.replace_incidents(every)
    keys = ("id", "kind", "time", "evidence", "fire_type", "explosion_type", "count", "absent")
    whole = store.incident_records(START, END)
    got = store.incident_fields(START, END, keys)
    assert got == [{k: r[k] for k in keys if k in r} for r in whole]
    assert len(got) == len(INSIDE) + 1 and all("absent" not in d for d in got)
    assert store.incident_fields(END + timedelta(days=30), END + timedelta(days=31), keys) == []


def test_record_fields_read_what_the_standard_library_reads() -> None:
    """Of any record text, the named keys' values are those ``json.loads`` gives, also for a
    text pydantic-core's reader refuses (an unpaired surrogate's escape)."""
    import json

    from truceline.adapters.store.schema import record_fields

    keys = ("a", "b", "z")
    for text in ('{"a": 1.5e-7, "b": [1, {"c": null}], "d": "\\ud800x"}',
                 '{"a": "\\ud800", "b": 2}', '{"b": {"a": 1}}', "{}"):
        whole = json.loads(text)
        assert record_fields(text, keys) == {k: whole[k] for k in keys if k in whole}, text


def test_findings_of_a_period_are_those_whose_time_is_in_it(store: Store) -> None:
    every = [finding(f"f-{k}", t, provision=f"P{n % 3}")
             for n, (k, t) in enumerate({**INSIDE, **OUTSIDE}.items())]
    every.append(finding("f-timeless", None))
    store.replace_findings(every, [("finding", entry_bytes("finding", f.to_record()))
                                   for f in every])
    got = store.findings(START, END)
    assert sorted(f.id for f in got) == sorted(f"f-{k}" for k in INSIDE)
    # the same order as the whole list's, restricted to the period
    assert [f.id for f in got] == [f.id for f in store.findings() if f.id in {g.id for g in got}]
    assert [f.to_record() for f in got] == \
        [f.to_record() for f in store.findings() if f.id in {g.id for g in got}]
    assert len(store.findings()) == len(every)  # the timeless one too


def _monitoring(oid: str, time: datetime, end: datetime | None) -> Observation:
    rec: dict[str, object] = {"id": oid, "kind": "monitoring", "time": time.isoformat(),
                              "source_id": "post-" + oid, "source_type": "monitor",
                              "asset_type": "post", "asset_status": "active",
                              "observer_lon": 37.7, "observer_lat": 48.2, "range_m": 5000}
    if end is not None:
        rec["end_time"] = end.isoformat()
    return Observation.model_validate(rec)


def test_monitoring_reaching_a_period(store: Store) -> None:
    h = timedelta(hours=1)
    cases = {
        "ended-before": (START - 5 * h, START),          # ends as the period begins: out
        "overlaps-start": (START - 5 * h, START + h),    # in
        "long-ago-open": (START - 30 * 24 * h, None),    # open window from a month ago: in
        "inside": (START + h, START + 2 * h),            # in
        "local-offset": (START.astimezone(KYIV) - h, (START + h).astimezone(KYIV)),  # in
        "starts-at-end": (END, END + h),                 # out
        "after": (END + h, None),                        # out
        "long-ago-closed": (START - 30 * 24 * h, START - 29 * 24 * h),  # out
    }
    made = [_monitoring(k, s, e) for k, (s, e) in cases.items()]
    fire = Observation.model_validate({"id": "fire-in", "kind": "fire",
                                       "time": (START + h).isoformat(), "source_id": "p1",
                                       "fire_type": "explosion", "lon": 37.75, "lat": 48.28})
    store.add_observations([(o, entry_bytes("observation", o.to_record()))
                            for o in [*made, fire]])
    got = store.observations_reaching(["monitoring"], START, END)
    assert sorted(o.id for o in got) == ["inside", "local-offset", "long-ago-open",
                                         "overlaps-start"]
    assert [o.id for o in got] == [o.id for o in sorted(got, key=lambda o: (o.time, o.id))]
    assert {o.id: o for o in got} == {o.id: o for o in made if o.id in {g.id for g in got}}
    assert [o.id for o in store.observations_reaching(["fire"], START, END)] == ["fire-in"]


def test_monitoring_reaching_equals_the_full_scan(store: Store) -> None:
    """The narrow read (SQL drops windows closed a day before the period) gives exactly what
    a scan of every monitoring record gives, at moments around every window's ends, for
    windows in UTC and in other offsets, with fractions of a second and open ones."""
    import random

    rnd = random.Random(21)
    zones = [UTC, KYIV, timezone(timedelta(hours=-11)), timezone(timedelta(hours=13, minutes=45))]
    made = []
    for k in range(120):
        t0 = START + timedelta(minutes=rnd.randrange(-3 * 24 * 60, 3 * 24 * 60),
                               microseconds=rnd.choice([0, 1, 999_999]))
        end = None if k % 9 == 0 else t0 + timedelta(minutes=rnd.randrange(1, 36 * 60),
                                                     microseconds=rnd.choice([0, 7]))
        tz = rnd.choice(zones)
        made.append(_monitoring(f"m{k:03d}", t0.astimezone(tz),
                                None if end is None else end.astimezone(rnd.choice(zones))))
    store.add_observations([(o, entry_bytes("observation", o.to_record())) for o in made])
    every = store.observations(kinds=["monitoring"])
    edges = sorted({t for o in made for t in (o.time, o.end_time) if t is not None})
    moments = [t + d for t in edges[::4] for d in (timedelta(0), timedelta(microseconds=1),
                                                   -timedelta(microseconds=1))]
    for a in moments:
        for span in (timedelta(hours=1), timedelta(days=1)):
            want = [o.id for o in every if o.time < a + span
                    and (o.end_time is None or o.end_time > a)]
            got = [o.id for o in store.observations_reaching(["monitoring"], a, a + span)]
            assert got == want, (a, span)


def test_previous_window_totals_read_only_coded_events(store: Store) -> None:
    """A window's totals read only the incidents with a dataset's coded event among their
    reports, and count exactly as reading every report does (the full scan, as before)."""
    from collections import Counter

    from truceline.core.counting import facts_of
    from truceline.core.reporting import category_of
    from truceline.services.report import window_totals

    def report(oid: str, coded: bool, fire_type: str = "explosion") -> Observation:
        rec: dict[str, object] = {"id": oid, "kind": "fire", "source_id": "s-" + oid,
                                  "time": (START + timedelta(hours=2)).isoformat(),
                                  "fire_type": fire_type, "lon": 37.75, "lat": 48.28}
        if coded:
            rec.update(count_unit="event", dataset="ucdp-ged", source_type="open_source")
        return Observation.model_validate(rec)

    # evidence: all coded, mixed, none coded, unknown ids, a coded report in no incident
    obs = [report("c1", True), report("c2", True), report("m1", True), report("m2", False),
           report("p1", False, "muzzle_flash"), report("lone", True)]
    store.add_observations([(o, entry_bytes("observation", o.to_record())) for o in obs])
    t = (START + timedelta(hours=3)).isoformat()
    incs = [Incident("all-coded", "fire", t, ("c1", "c2"), "explosion", "impact", count=1),
            Incident("mixed", "fire", t, ("m1", "m2"), "explosion", "outgoing", count=3),
            Incident("plain", "fire", t, ("p1",), "muzzle_flash", None, count=2),
            Incident("unknown", "fire", t, ("gone",), "explosion", None, count=5),
            # a coded event behind a first report that is not one, or is not stored
            Incident("mixed-late", "fire", t, ("m2", "c2"), "explosion", "outgoing", count=11),
            Incident("unknown-first", "fire", t, ("gone", "c2"), "explosion", None, count=13),
            Incident("outside", "fire", END.isoformat(), ("c1",), "explosion", None, count=7)]
    assert store.count_units(["c1", "m2", "gone"]) == {"c1": "event", "m2": None}
    store.replace_incidents(incs)
    assert store.coded_event_ids(["c1", "m2", "lone", "gone", "p1"]) == {"c1", "lone"}
    assert store.coded_event_ids([]) == set()
    # the full scan: every report of every incident in the window read and validated
    every = {o.id: facts_of(o) for o in store.observations()}
    want: Counter[str] = Counter()
    for i in incs[:6]:
        want[category_of(i, every)] += i.count
    assert window_totals(store, START, END) == want
    assert want["event (ucdp-ged)"] == 1 + 13  # the coded ones are counted apart
