"""An upheld dispute changes its finding, in the record, for every later check and replay.

The mission concedes: ``withdrawn`` takes the finding out (a withdrawn status change), and a
later check does not derive it again; ``amended`` keeps it (same id) with the mission's
amendment. A replay from the tiles alone re-derives the same findings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from truceline.core.record.canonical import parse_entry
from truceline.services import verify
from truceline.services.check import run_check
from truceline.services.disputes import answer, file_dispute, uphold
from truceline.services.ingest import ingest

from .conftest import new_store, replay_everything, sample_rows

T = datetime(2025, 3, 28, 12, tzinfo=UTC)


def test_upheld_withdrawn_and_amended_findings_hold_through_checks_and_replay(
        tmp_path: Path) -> None:
    store = new_store(tmp_path / "mission.db")
    ingest(store, list(enumerate(sample_rows(), 1)))
    run_check(store)
    about_ru = [f for f in store.findings() if f.party == "RU" and f.evidence]
    assert len(about_ru) >= 2, "the sample holds findings about RU"
    gone, amended = about_ru[0], about_ru[1]

    for f, outcome, text in ((gone, "withdrawn", "the crater was older than the ceasefire"),
                             (amended, "amended", "two rounds, not three")):
        d, _ = file_dispute(store, f, "RU", f"dispute of {f.id}", [], T)
        answer(store, d["id"], "the reply", "analyst", T)
        uphold(store, d["id"], outcome, text, "analyst", T)

    def check_state() -> None:
        now = {f.id: f for f in store.findings()}
        assert gone.id not in now  # withdrawn, and not derived again
        a = now[amended.id]  # the same finding, amended
        assert a.explanation.endswith("was upheld: two rounds, not three")
        assert a.details["amended"]["text"] == "two rounds, not three"
        assert a.verdict == amended.verdict and a.evidence == amended.evidence
        changes = [parse_entry(e.data) for e in store.entries()]
        assert any(t == "status_change" and b.get("subject") == "finding" for t, b in changes)

    check_state()
    run_check(store)  # a later check derives the same
    check_state()
    rep = verify.verify_record(store)
    assert rep.ok, rep.problems

    res = replay_everything(store)[0]
    assert res.differences == [], res.differences
    assert gone.id not in {f.id for f in res.derived}
