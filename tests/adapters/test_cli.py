"""The CLI end to end: exit codes, one-line errors naming the field, nothing stored is lost."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from truceline.adapters.cli.main import cli

GOOD = {
    "id": "x1",
    "kind": "fire",
    "time": "2025-03-28T21:05:00+02:00",
    "source_id": "p1",
    "fire_type": "explosion",
    "explosion_type": "impact",
    "lon": 37.75,
    "lat": 48.28,
}


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture()
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "t.db")
    res = run("init", "--db", path, "--agreement", "march2025")
    assert res.exit_code == 0, res.output
    assert "march-2025 version 1" in res.output
    return path


def _jsonl(tmp_path: Path, rows: list[dict], name: str = "obs.jsonl") -> str:
    p = tmp_path / name
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(p)


def _ids(db: str) -> list[str]:
    with sqlite3.connect(db) as c:
        return [r[0] for r in c.execute("SELECT id FROM observations ORDER BY id")]


def test_bad_record_raise_mode_names_line_and_field(db: str, tmp_path: Path) -> None:
    f = _jsonl(tmp_path, [GOOD, {**GOOD, "id": "x2", "lon": 500}, {**GOOD, "id": "x3"}])
    res = run("ingest", "--db", db, f)
    assert res.exit_code == 65
    assert "error: line 2: lon: Input should be less than or equal to 180" in res.output
    assert "x2" not in _ids(db) and "x3" not in _ids(db)


def test_skip_mode_reports_each_rejection_and_keeps_neighbours(db: str, tmp_path: Path) -> None:
    rows = [
        GOOD,
        {**GOOD, "id": "x2", "time": "yesterday"},
        {**GOOD, "id": "x3"},
        {**GOOD, "id": "x4", "lon": 12.0, "lat": 41.9},
    ]  # Rome: outside the area of interest
    f = _jsonl(tmp_path, rows)
    res = run("ingest", "--db", db, f, "--on-invalid", "skip")
    assert res.exit_code == 4  # EXIT_PARTIAL: the valid ones stored, some rejected
    assert "line 2: time:" in res.output
    assert "line 4: lon: outside the agreement's area of interest" in res.output
    assert "2 added, 0 already stored, 2 rejected" in res.output
    assert _ids(db) == ["x1", "x3"]


def test_ingest_is_idempotent_and_never_alters_stored(db: str, tmp_path: Path) -> None:
    f = _jsonl(tmp_path, [GOOD])
    assert "1 added" in run("ingest", "--db", db, f).output
    assert "0 added, 1 already stored" in run("ingest", "--db", db, f).output
    changed = _jsonl(tmp_path, [{**GOOD, "lon": 37.9}], "changed.jsonl")
    res = run("ingest", "--db", db, changed)
    assert res.exit_code == 73
    assert "id: already stored with different content" in res.output
    with sqlite3.connect(db) as c:
        (rec,) = c.execute("SELECT record FROM observations").fetchone()
    assert json.loads(rec)["lon"] == 37.75


def test_missing_database_and_bad_date(tmp_path: Path, db: str) -> None:
    res = run("check", "--db", str(tmp_path / "nope.db"))
    assert res.exit_code == 74 and "error: db: no database at" in res.output
    res = run("report", "--db", db, "--date", "28/03/2025", "--out", str(tmp_path / "r.html"))
    assert res.exit_code == 65 and "error: date: not a date" in res.output
    res = run("report", "--db", db, "--date", "2025-03-28", "--out", str(tmp_path / "r.txt"))
    assert res.exit_code == 65 and "error: out: must end in .html, .md or .pdf" in res.output


def test_bad_agreement_file(tmp_path: Path) -> None:
    bad = tmp_path / "a.yaml"
    bad.write_text(
        "id: x\ntitle: t\nentry_into_force: 2025-01-01T00:00:00\nparties: []\nprovisions: []\n"
    )
    res = run("init", "--db", str(tmp_path / "x.db"), "--agreement", str(bad))
    assert res.exit_code == 65
    assert "error: parties:" in res.output
    assert not (tmp_path / "x.db").exists()


def test_findings_formats_are_deterministic(db: str, examples: Path) -> None:
    run("ingest", "--db", db, str(examples / "march2025_sample.jsonl"))
    assert run("check", "--db", db).exit_code == 0
    outs = {
        fmt: run("findings", "--db", db, "--format", fmt).output
        for fmt in ("json", "csv", "geojson")
    }
    assert run("check", "--db", db).exit_code == 0
    for fmt, text in outs.items():
        assert run("findings", "--db", db, "--format", fmt).output == text
    gj = json.loads(outs["geojson"])
    assert gj["type"] == "FeatureCollection" and len(gj["features"]) == len(
        json.loads(outs["json"])
    )
    header = outs["csv"].splitlines()[0].split(",")
    assert header[:4] == ["id", "provision_id", "rule_kind", "verdict"]


def test_entry_point_exit_code(tmp_path: Path) -> None:
    """The installed console script, as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "truceline", "check", "--db", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 74
    assert proc.stderr.strip().startswith("error: db: no database at")


def test_check_leaves_no_write_ahead_log(tmp_path: Path, examples: Path) -> None:
    """A check, as a user runs it (each command a process of its own), closes its store:
    its write-ahead log is copied into the file by the check, not left for the next process
    (the first report after a check) to read through and copy back."""
    db = str(tmp_path / "t.db")
    for args in (["init", "--db", db, "--agreement", "march2025"],
                 ["ingest", "--db", db, str(examples / "march2025_sample.jsonl")],
                 ["check", "--db", db]):
        proc = subprocess.run([sys.executable, "-m", "truceline", *args],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert not Path(db + "-wal").exists()
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM findings").fetchone()[0] > 0
