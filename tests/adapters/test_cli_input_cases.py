"""Input a new user gets wrong (issue 11.7), each a regression test through the CLI: another
agreement over a store's own, an amendment, one id twice in a file, times in the future."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from truceline.adapters.agreement_files import example_path
from truceline.adapters.cli.main import cli
from truceline.adapters.store import open_store
from truceline.core.record.canonical import parse_entry
from truceline.services import verify

from .test_cli import GOOD


def run(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)


def snapshot(db: str) -> tuple[Any, ...]:
    """Everything a refused command must leave as it was: agreements, entries, observations."""
    with sqlite3.connect(db) as c:
        return (c.execute("SELECT version, agreement_id, doc FROM agreement_versions").fetchall(),
                c.execute("SELECT idx, data FROM entries ORDER BY idx").fetchall(),
                c.execute("SELECT id, record FROM observations ORDER BY id").fetchall())


@pytest.fixture()
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "m.db")
    res = run("init", "--db", path, "--agreement", "march2025")
    assert res.exit_code == 0, res.output
    return path


def _jsonl(tmp_path: Path, rows: list[dict[str, Any]], name: str = "obs.jsonl") -> str:
    p = tmp_path / name
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(p)


# -- another agreement, or a new version of the same one ------------------------------------------

def test_another_agreement_is_refused_and_nothing_changes(db: str, tmp_path: Path) -> None:
    before = snapshot(db)
    res = run("init", "--db", db, "--agreement", "minsk2")
    assert res.exit_code == 73, res.output
    assert res.output.startswith("error: id: this store holds agreement 'march-2025'; "
                                 "'minsk-ii' is another agreement")
    assert snapshot(db) == before
    assert open_store(db).agreement_doc()["id"] == "march-2025"  # what `check` judges under
    # the same agreement again is no change at all
    res = run("init", "--db", db, "--agreement", "march2025")
    assert res.exit_code == 0 and "version 1" in res.output
    assert snapshot(db) == before


def _new_start(tmp_path: Path, version: int, note: str) -> str:
    text = example_path("new_start").read_text(encoding="utf-8")
    text = text.replace("\nversion: 1\n", f"\nversion: {version}\n", 1)
    assert f"\nversion: {version}\n" in text
    p = tmp_path / f"new_start_v{version}_{len(note)}.yaml"
    p.write_text(text + f"\nnotes: {json.dumps(note)}\n", encoding="utf-8")
    return str(p)


def test_new_version_needs_amend_and_is_an_amendment_entry(tmp_path: Path) -> None:
    db = str(tmp_path / "ns.db")
    assert run("init", "--db", db, "--agreement", "new_start").exit_code == 0
    before = snapshot(db)
    v2 = _new_start(tmp_path, 2, "amended")

    res = run("init", "--db", db, "--agreement", v2)  # no flag: refused
    assert res.exit_code == 73 and res.output.startswith("error: version: ")
    assert "--amend" in res.output and "--effective" in res.output
    res = run("init", "--db", db, "--agreement", v2, "--amend")  # no date: refused
    assert res.exit_code == 65 and res.output.startswith("error: effective: ")
    res = run("init", "--db", db, "--agreement", v2, "--amend", "--effective", "5/2/2026")
    assert res.exit_code == 65 and res.output.startswith("error: effective: not a date")
    same_version = _new_start(tmp_path, 1, "edited, not bumped")
    res = run("init", "--db", db, "--agreement", same_version, "--amend",
              "--effective", "2026-02-05")
    assert res.exit_code == 73 and res.output.startswith("error: version: ")
    res = run("init", "--db", db, "--agreement", "minsk2", "--amend", "--effective", "2026-02-05")
    assert res.exit_code == 73 and res.output.startswith("error: id: ")
    assert snapshot(db) == before

    res = run("init", "--db", db, "--agreement", v2, "--amend", "--effective", "2026-02-05")
    assert res.exit_code == 0, res.output
    assert "version 2 (document version 2, amendment effective 2026-02-05;" in res.output
    store = open_store(db)
    entries = list(store.entries())
    kind, body = parse_entry(entries[-1].data)
    assert kind == "agreement_version"
    assert (body["agreement_id"], body["version"], body["amends"], body["effective"]) == (
        "new-start", 2, 1, "2026-02-05")
    assert store.agreement_doc()["version"] == 2 and store.agreement_doc(1)["version"] == 1
    assert verify.verify_record(store).ok  # the amendment entry matches its stored document
    res = run("init", "--db", db, "--agreement", v2, "--amend", "--effective", "2026-02-05")
    assert res.exit_code == 0 and store.entry_count() == len(entries)  # loaded again: no change


def test_amend_on_an_empty_store_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "e.db")
    res = run("init", "--db", db, "--agreement", "new_start", "--amend",
              "--effective", "2026-02-05")
    assert res.exit_code == 65 and res.output.startswith("error: amend: ")


# -- one id twice in one file -------------------------------------------------------------------

def test_same_id_other_content_in_one_file_is_a_conflict_as_across_runs(
        db: str, tmp_path: Path) -> None:
    before = snapshot(db)
    f = _jsonl(tmp_path, [GOOD, {**GOOD, "lon": 37.9}])
    res = run("ingest", "--db", db, f)
    assert res.exit_code == 73, res.output
    assert "error: id: already given on line 1 with different content" in res.output
    assert "(line 2, id 'x1')" in res.output
    assert snapshot(db) == before
    # the same case across two runs: the same code, the same field, the stored one kept
    assert run("ingest", "--db", db, _jsonl(tmp_path, [GOOD], "a.jsonl")).exit_code == 0
    res = run("ingest", "--db", db, _jsonl(tmp_path, [{**GOOD, "lon": 37.9}], "b.jsonl"))
    assert res.exit_code == 73
    assert "error: id: already stored with different content" in res.output
    assert "(line 1, id 'x1')" in res.output


def test_same_id_other_content_in_one_file_skip_mode_lists_it(db: str, tmp_path: Path) -> None:
    f = _jsonl(tmp_path, [GOOD, {**GOOD, "id": "x2"}, {**GOOD, "lon": 37.9}])
    res = run("ingest", "--db", db, f, "--on-invalid", "skip")
    assert "line 3: id: already given on line 1 with different content" in res.output
    assert "2 added, 0 already stored, 1 rejected" in res.output
    assert json.loads(open_store(db).observation("x1").model_dump_json())["lon"] == 37.75


def test_identical_repeat_in_one_file_is_a_duplicate(db: str, tmp_path: Path) -> None:
    res = run("ingest", "--db", db, _jsonl(tmp_path, [GOOD, GOOD, {**GOOD, "id": "x2"}]))
    assert res.exit_code == 0, res.output
    assert "2 added, 1 already stored, 0 rejected" in res.output


# -- times in the future --------------------------------------------------------------------------

@pytest.mark.parametrize("when", ["2099-01-01T00:00:00+02:00", "9999-12-31T23:59:59Z"])
def test_far_future_time_is_refused(db: str, tmp_path: Path, when: str) -> None:
    before = snapshot(db)
    res = run("ingest", "--db", db, _jsonl(tmp_path, [{**GOOD, "time": when}]))
    assert res.exit_code == 65, res.output
    assert res.output.startswith("error: line 1: time: ")
    assert "is later than the time of receipt" in res.output and "60 min" in res.output
    assert snapshot(db) == before


def test_time_out_of_range_in_utc_is_one_line_not_a_traceback(db: str, tmp_path: Path) -> None:
    rows = [{**GOOD, "time": "9999-12-31T23:59:59-05:00"}]
    res = run("ingest", "--db", db, _jsonl(tmp_path, rows))
    assert res.exit_code == 65
    assert res.output == "error: line 1: time: is out of range: in UTC it must be in the years " \
                         "1 to 9999\n"


def test_future_tolerance_is_a_setting(db: str, tmp_path: Path) -> None:
    """Two hours ahead of now: refused under the default hour, accepted under three."""
    ahead = (datetime.now(UTC) + timedelta(hours=2)).isoformat(timespec="seconds")
    f = _jsonl(tmp_path, [{**GOOD, "time": ahead}])
    assert run("ingest", "--db", db, f).exit_code == 65
    res = run("ingest", "--db", db, f, env={"TRUCELINE_FUTURE_TOLERANCE_MINUTES": "180"})
    assert res.exit_code == 0 and "1 added" in res.output
