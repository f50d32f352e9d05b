"""A summary finding's time, read again while its window is open, must not show outsiders
how far the mission's watch reached.

A summary is judged "as of" the latest time the counted records speak for: the latest end of
a post's or patrol's hours (committed in the log). Each check moves it on, so two readings
during one reporting period would give outsiders the frontier of the watch hour by hour,
which ``GET /coverage`` refuses them. Outside the mission an open summary's ``time`` and its
explanation's "as of" go only to the reporting period (its start, the end of the last period
that has ended), on ``/findings``, OGC, reports (the dashboard's payload) and the record's
openings, which keep every check's finding. The analyst keeps the exact time.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.http.conftest import sample_records
from tests.http.test_coverage import MISSION, PERIOD
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.http import create_app
from truceline.adapters.http.auth import create_api_key
from truceline.adapters.http.redaction import frontier_open, withhold_frontier
from truceline.adapters.http.state import PUBLISHED_KEY
from truceline.adapters.store import open_store
from truceline.core.coverage_inputs import period_start
from truceline.core.findings import finding_id
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store
from truceline.settings import Settings

KEYS = {"analyst": ("analyst", None), "public": ("public", None), "party_UA": ("party", "UA"),
        "party_RU": ("party", "RU"), "guarantor_UK": ("guarantor", "UK")}
#: The end of the last reporting period that has ended at both checks (19:30 local, 28 March).
PERIOD_START = "2025-03-28T17:30:00Z"
#: Where the watch reaches at each check: one post stays on into the period of 29 March.
FRONTIERS = ("2025-03-29T06:00:00+02:00", "2025-03-29T10:00:00+02:00")
EXACT = ("2025-03-29T04:00:00Z", "2025-03-29T08:00:00Z")


def _late(n: int) -> dict[str, Any]:
    return {**MISSION[0], "id": f"mon-late-{n}", "time": PERIOD[1], "end_time": FRONTIERS[n]}


def _summaries(c: TestClient, h: dict[str, str], ids: set[str]) -> dict[str, Any]:
    """What one key reads of the summaries ``ids`` on each surface."""
    api = {f["id"]: (f["time"], f["explanation"]) for f in c.get("/findings", headers=h).json()
           ["findings"] if f["id"] in ids}
    ogc = {}
    for fid in ids:
        p = c.get(f"/ogc/collections/findings/items/{fid}", headers=h).json()["properties"]
        ogc[fid] = (p["time"], p["explanation"])
    day = c.get("/reports/daily/2025-03-29", headers=h).json()  # the dashboard's payload
    report = {f["id"]: (f["time"], f["explanation"]) for f in day["findings"] if f["id"] in ids}
    md = c.get("/reports/daily/2025-03-29?format=md", headers=h).text
    # the record's openings: each check's finding entry of these summaries
    opened: dict[int, dict[str, Any]] = {}
    for o in c.get("/record/openings?start=0&end=10000", headers=h).json()["openings"]:
        opened.setdefault(o["index"], {})[o["field"]] = o["value"]
    entries = [v for v in opened.values() if v.get("id") in ids]
    return {"api": api, "ogc": ogc, "report": report, "md": md, "entries": entries}


def test_an_open_summary_time_goes_outside_only_to_its_period(tmp_path: Path) -> None:
    """The March 2025 line with the partial mission and two sightings far behind it, with a
    ``min_coverage`` of 2 % so that some summaries are compliant "(as of T)" and others "not
    covered"; one post stays on to 06:00 local, then (second check) to 10:00, both in the
    period still running."""
    db = tmp_path / "as_of.db"
    _, doc = load_agreement_file("march2025")
    doc = {**doc, "min_coverage": 0.02}
    store = open_store(str(db), create=True)
    try:
        initialize_store(store, doc)
        far = [r for r in sample_records()
               if r["id"] in ("m25-sight-2a65-ru-31km", "m25-sight-grad-ua-far")]
        assert not ingest(store, list(enumerate([*MISSION, *far, _late(0)]))).rejected
        run_check(store)
        open_ = {f.id: f for f in store.findings()
                 if f.id == finding_id(f.provision_id, f.party, "summary", ())
                 and f.time == EXACT[0]}
        assert all(f.summary for f in open_.values())
        assert {f.verdict.value for f in open_.values()} == {"compliant",
                                                             "insufficient_evidence"}
        assert any("(as of " in f.explanation for f in open_.values())
        store.set_meta(PUBLISHED_KEY, json.dumps(sorted(open_)))
        heads = {k: {"Authorization": f"Bearer {create_api_key(store, k, r, b)}"}
                 for k, (r, b) in KEYS.items()}
    finally:
        store.close()
    heads["anon"] = {}
    ids = set(open_)

    def read() -> dict[str, dict[str, Any]]:
        with TestClient(create_app(str(db), Settings())) as c:
            return {role: _summaries(c, h, ids) for role, h in heads.items()}

    first = read()
    store = open_store(str(db))
    try:
        assert not ingest(store, [(0, _late(1))]).rejected
        run_check(store)
        assert {f.time for f in store.findings() if f.id in ids} == {EXACT[1]}
    finally:
        store.close()
    second = read()

    # the mission reads where its watch reached, everywhere
    for when, reading in zip(EXACT, (first, second), strict=True):
        mine = reading["analyst"]
        for surface in ("api", "ogc", "report"):
            assert {t for t, _ in mine[surface].values()} == {when}, surface
        assert any(f"(as of {when})" in text for _, text in mine["api"].values())
    assert {e["time"] for e in second["analyst"]["entries"]} >= set(EXACT)
    # outsiders: the same before and after, only the period's start
    for role in heads.keys() - {"analyst"}:
        a, b = first[role], second[role]
        for surface in ("api", "ogc", "report"):
            assert a[surface] == b[surface], (role, surface)
            assert set(a[surface]) == ids, (role, surface)
            for t, text in a[surface].values():
                assert t == PERIOD_START, (role, surface, t)
                assert not any(x in text or x[:13] in text for x in EXACT), text
        assert any("(as of the latest evidence, later than 2025-03-28T17:30:00Z: outside "
                   "the mission a time within the reporting period still running is not "
                   "given)" in text for _, text in a["api"].values())
        for x in (*EXACT, *FRONTIERS):  # nor in local time
            for md in (a["md"], b["md"]):
                assert x[:13] not in md and x[:13].replace("T", " ") not in md, role
        # the log keeps every check's summary; its time is not opened outside the mission
        assert b["entries"], role
        assert all("time" not in e for e in b["entries"]), role


def test_which_times_are_withheld() -> None:
    """Only an open summary citing no record is moved, to its period's start or its window's
    start if later; a time at a period boundary, a final one, a summary citing records and
    an event finding keep theirs."""
    agreement, _ = load_agreement_file("march2025")

    def starts(t: datetime) -> datetime:
        return period_start(agreement, t)

    sid = finding_id("M25-ceasefire", "UA", "summary", ())
    rec = {"id": sid, "provision_id": "M25-ceasefire", "party": "UA", "evidence": [],
           "time": EXACT[0], "window_start": "2025-03-19T22:00:00Z",
           "window_end": "2025-04-18T21:00:00Z",
           "explanation": f"M25-ceasefire: UA's side observed (3 %) and no fire from it in the "
                          f"window ..., none shows a violation by UA (as of {EXACT[0]})"}
    out = withhold_frontier(rec, starts)
    assert out["time"] == PERIOD_START and EXACT[0] not in out["explanation"]
    assert out["explanation"].endswith("(as of the latest evidence, later than "
                                       "2025-03-28T17:30:00Z: outside the mission a time "
                                       "within the reporting period still running is not "
                                       "given)")
    # a window that began after the period's start: its start
    late = withhold_frontier({**rec, "window_start": "2025-03-29T01:00:00Z"}, starts)
    assert late["time"] == "2025-03-29T01:00:00Z"
    for same in ({**rec, "time": PERIOD_START},  # a period boundary says nothing more
                 {**rec, "time": rec["window_end"]},  # final
                 {**rec, "evidence": ["m25-status-1"],  # as of its latest record
                  "id": finding_id("M25-ceasefire", "UA", "summary", ("m25-status-1",))},
                 {**rec, "id": finding_id("M25-ceasefire", "UA", "event", ())}):
        assert withhold_frontier(same, starts) == same
    assert not frontier_open({**rec, "window_end": None, "time": None})
    assert frontier_open({**rec, "window_end": None})  # an open-ended provision
