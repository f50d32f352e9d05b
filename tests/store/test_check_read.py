"""The check's read of the store (issue 21): fire reports as columns a page at a time, the other
kinds as objects; copies and replaced versions left out as ``counted`` leaves them out of the
whole store, and the derivation the same as fusing and checking the objects."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.importers import read_records
from truceline.adapters.simulate_files import write_simulation
from truceline.adapters.store import open_store
from truceline.core.counting import facts_of
from truceline.core.coverage_inputs import coverage_from_observations, has_monitoring
from truceline.core.evidence import gather
from truceline.core.fusion import FusionParams, fuse_with_sources
from truceline.core.resubmissions import counted
from truceline.core.rules import check
from truceline.core.taxonomy import Kind
from truceline.services.check import run_check
from truceline.services.check_days import reporting_days
from truceline.services.check_read import list_input, store_input
from truceline.services.context import load_context
from truceline.services.ingest import ingest
from truceline.services.record import initialize_store


def _store(tmp: Path):  # type: ignore[no-untyped-def]
    """A simulated day with 10 % of its reports sent again under new ids, and one report
    edited (a new version of it that replaces it)."""
    ag, doc = load_agreement_file("march2025")
    sim = tmp / "sim"
    write_simulation("march2025", sim, days=1, seed=5, scale=0.3, scenario="resubmissions",
                     start=ag.entry_into_force_at + timedelta(days=6))
    store = open_store(str(tmp / "s.db"), create=True)
    initialize_store(store, doc)
    ingest(store, read_records(str(sim / "observations.jsonl"), "jsonl"), future_tolerance=None)
    old = next(o for o in store.observations(kinds=[Kind.FIRE.value])
               if o.bearing_deg is not None and o.supersedes is None)
    new = old.model_copy(update={"id": old.id + "-v2", "supersedes": old.id,
                                 "bearing_deg": (old.bearing_deg or 0.0) + 3.0})
    ingest(store, [(1, new.model_dump(mode="json", exclude_none=True))], future_tolerance=None)
    return store, old.id


def test_paged_read_is_the_read_of_the_list(tmp_path: Path) -> None:
    """Pages of 97 rows (every page boundary crossed by some source's reports) give the same
    counted columns, facts, other observations and times as the whole list read at once, and
    leave out exactly what ``counted`` leaves out of the whole store."""
    store, replaced = _store(tmp_path)
    every = store.observations()
    paged, whole = store_input(store, page=97), list_input(every)
    assert paged.read == whole.read == len(every)
    assert paged.fire.keys() == whole.fire.keys()
    for k in paged.fire:
        np.testing.assert_array_equal(paged.fire[k], whole.fire[k], err_msg=k)
    assert [o.id for o in paged.others] == [o.id for o in whole.others]
    assert paged.reported.facts == whole.reported.facts
    np.testing.assert_array_equal(paged.reported.times_us, whole.reported.times_us)
    assert paged.reported.latest == whole.reported.latest
    kept = counted(every)
    fire_kept = [o.id for o in kept if o.kind is Kind.FIRE]
    assert paged.fire["id"].tolist() == fire_kept
    assert len(kept) < len(every) - 1  # copies were sent, and one version was replaced
    assert replaced not in fire_kept and replaced + "-v2" in fire_kept
    assert paged.reported.facts == {o.id: facts_of(o) for o in kept if o.kind is Kind.FIRE}
    assert paged.fire_reports([3, 0]) == [o for o in kept if o.id in
                                          (fire_kept[3], fire_kept[0])][::-1]


def test_check_equals_fusing_and_checking_the_objects(tmp_path: Path) -> None:
    """The stored incidents and findings of ``run_check`` are those of the counted
    observations fused and checked as objects (the derivation before the columnar read)."""
    store, _ = _store(tmp_path)
    ctx = load_context(store)
    assert ctx.geometry is not None
    kept = counted(store.observations())
    # fused under the check's days, the agreement's reporting periods (check_days.reporting_days)
    incidents, _ = fuse_with_sources(kept, ctx.geometry, [p.id for p in ctx.agreement.parties],
                                     params=reporting_days(FusionParams(), ctx))
    cov = (coverage_from_observations(ctx.geometry, ctx.agreement, kept)
           if has_monitoring(kept) else None)
    findings = check(ctx.agreement, ctx.geometry, gather(ctx.geometry, kept, incidents, cov))
    run_check(store)
    stored = {r["id"]: r for r in store.incident_records()}
    assert stored == {i.id: json.loads(json.dumps(i.to_record())) for i in incidents}
    assert [f.to_record() for f in store.findings()] == \
        [f.to_record() for f in sorted(findings, key=lambda f: (f.provision_id, f.time or "",
                                                                 f.party or "", f.id))]
    assert any(f.verdict.value == "violation" for f in findings)


def test_the_read_keeps_one_object_per_source_and_per_kind_of_facts(tmp_path: Path) -> None:
    """Reports of one source share one ``source_id`` string, and reports with the same facts
    one :class:`ReportFacts` (a month's store holds ~900k reports of a few hundred sources):
    same values as the objects read, one object each."""
    store, _ = _store(tmp_path)
    inp = store_input(store, page=97)
    sources = inp.fire["source_id"].tolist()
    assert len({id(s) for s in sources}) == len(set(sources)) < len(sources) // 2
    facts = list(inp.reported.facts.values())
    assert len({id(f) for f in facts}) == len(set(facts)) < len(facts) // 10


def test_fusion_calls_back_once_between_fusing_and_making_the_incidents(tmp_path: Path) -> None:
    """``fused`` (where a check gives fusion's freed memory back) is called once, before
    any lone report is read again, and changes nothing of what is made."""
    from truceline.core.fusion import fuse_columns

    store, _ = _store(tmp_path)
    ctx = load_context(store)
    inp = store_input(store, page=97)
    parties = [p.id for p in ctx.agreement.parties]
    calls: list[str] = []

    def reports(rows):  # type: ignore[no-untyped-def]
        calls.append("read")
        return inp.fire_reports(rows)

    got = fuse_columns(inp.fire, ctx.geometry, parties, reports,
                       fused=lambda: calls.append("fused"))
    assert calls[0] == "fused" and calls.count("fused") == 1 and "read" in calls
    assert got == fuse_columns(inp.fire, ctx.geometry, parties, inp.fire_reports)


def test_columns_given_up_to_fusion_are_let_go_and_make_the_same_incidents(tmp_path: Path) -> None:
    """A full check gives fusion its columns (``given``): once the batch is made, fusion
    takes every column out of the dict but the ids and times the incidents read, and the
    incidents and per-source estimates are the ones made from columns it keeps."""
    from truceline.core.fusion import fuse_columns

    store, _ = _store(tmp_path)
    ctx = load_context(store)
    inp = store_input(store, page=97)
    parties = [p.id for p in ctx.agreement.parties]
    cols = dict(inp.fire)
    kept = fuse_columns(inp.fire, ctx.geometry, parties, inp.fire_reports)
    assert set(inp.fire) == set(cols)  # not given: left as it was
    given = fuse_columns(cols, ctx.geometry, parties, inp.fire_reports, given=True)
    assert set(cols) == {"id", "time_us"}
    assert given == kept and len(kept[0]) > 0
