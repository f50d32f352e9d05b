"""`truceline ingest` on the input a new user gets wrong (issue 11, item 7), on every importer.

* A file that is not text in an accepted encoding: one line naming the file, line and byte,
  exit 65, nothing stored. UTF-16/32 with a byte-order mark is read.
* Excel's "CSV UTF-8" (a UTF-8 byte-order mark): read as if it had none.
* ``--on-invalid skip``: exit 4 (``EXIT_PARTIAL``) when anything was rejected and the rest
  stored, 0 when nothing was; rows an importer skips on purpose are "skipped", not "rejected".

The same on PostgreSQL: tests/store/test_ingest_inputs.py.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from tests.encoded import DATASETS, FORMATS, encoded, text_of
from truceline.adapters.cli.main import cli
from truceline.errors import EXIT_PARTIAL


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture()
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "t.db")
    assert run("init", "--db", path, "--agreement", "march2025").exit_code == 0
    return path


def _count(db: str) -> int:
    with sqlite3.connect(db) as c:
        return int(c.execute("SELECT count(*) FROM observations").fetchone()[0])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("encoding", ["utf-16-le", "random"])
def test_a_file_that_is_not_text_is_one_line_and_exit_65(
    db: str, tmp_path: Path, fmt: str, encoding: str
) -> None:
    path = encoded(fmt, encoding, tmp_path)
    for given in ("auto", fmt):
        res = run("ingest", "--db", db, "--format", given, str(path))
        assert res.exit_code == 65, res.output
        (line,) = res.stderr.splitlines()
        assert line.startswith(f"error: {path}: line 1")
        assert "not decodable as" in line and line.endswith("save the file as UTF-8")
        if encoding == "utf-16-le":
            assert "UTF-16 without a byte-order mark?" in line
        assert res.stdout == ""
    assert _count(db) == 0


def test_the_installed_command_prints_no_traceback(db: str, tmp_path: Path) -> None:
    """As a user runs it (the report: a 33-line traceback and exit 1)."""
    path = encoded("jsonl", "random", tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "truceline", "ingest", "--db", db, str(path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 65
    try:
        path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        code = f"0x{exc.object[exc.start]:02x}: {exc.reason}"
        bad = f"byte {exc.start}: not decodable as UTF-8 ({code})"
    assert proc.stderr.splitlines() == [f"error: {path}: line 1, {bad}; save the file as UTF-8"]


def test_a_corrupt_tail_stores_nothing_and_names_the_line(db: str, tmp_path: Path) -> None:
    good = text_of("jsonl").encode("utf-8")
    path = tmp_path / "cut.jsonl"
    path.write_bytes(good + "Донецьк".encode("cp1251"))  # a tail saved in a Windows code page
    res = run("ingest", "--db", db, str(path))
    assert res.exit_code == 65
    assert res.stderr == (
        f"error: {path}: line 24, byte {len(good)}: not decodable as UTF-8 "
        "(0xc4: invalid continuation byte); save the file as UTF-8\n"
    )
    assert _count(db) == 0  # the 23 good lines before it are not stored either


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig"])
def test_a_byte_order_mark_is_read(db: str, tmp_path: Path, fmt: str, encoding: str) -> None:
    """UTF-16 with its mark, and Excel's "CSV UTF-8": the same as the UTF-8 file."""
    path = encoded(fmt, encoding, tmp_path)
    res = run("ingest", "--db", db, "--on-invalid", "skip", str(path))
    assert res.exit_code in (0, EXIT_PARTIAL), res.output
    assert "\ufeff" not in res.output and "unknown field" not in res.output
    plain = run("ingest", "--db", db, "--on-invalid", "skip", str(encoded(fmt, "utf-8", tmp_path)))
    added = res.stdout.split(": ", 1)[1].split(" added")[0]
    assert f": 0 added, {added} already stored" in plain.stdout  # the same records, not new ones
    assert plain.exit_code == res.exit_code


def test_excel_csv_utf8_with_our_columns(db: str, tmp_path: Path) -> None:
    """The report: the first column came out as '\\ufeffbearing_deg: unknown field'."""
    path = encoded("csv", "utf-8-sig", tmp_path)
    res = run("ingest", "--db", db, str(path))
    assert res.exit_code == 0, res.output
    assert res.stdout == f"{path}: 23 added, 0 already stored, 0 rejected\n"


# --- --on-invalid skip: one exit rule on every importer --------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_skip_with_rejections_exits_partial(db: str, tmp_path: Path, fmt: str) -> None:
    """Unsigned records where signatures are required: each is rejected, the run goes on."""
    path = encoded(fmt, "utf-8", tmp_path)
    res = run("ingest", "--db", db, "--on-invalid", "skip", "--require-signatures", str(path))
    assert res.exit_code == EXIT_PARTIAL, res.output
    rejected = [line for line in res.stderr.splitlines() if line.startswith("rejected ")]
    assert rejected and all(": signature: " in line or fmt == "cir" for line in rejected)
    assert f"0 added, 0 already stored, {len(rejected)} rejected" in res.stdout


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "cir"])
def test_skip_without_rejections_exits_0(db: str, tmp_path: Path, fmt: str) -> None:
    path = encoded(fmt, "utf-8", tmp_path)
    res = run("ingest", "--db", db, "--on-invalid", "skip", str(path))
    assert res.exit_code == 0, res.output
    assert "rejected " not in res.stderr and " 0 rejected" in res.stdout


def test_skip_stores_the_rest_and_exits_partial_on_real_rejections(db: str, tmp_path: Path) -> None:
    """The CIR set has rows without an ``entry`` (no stable id): rejected; the rest stored."""
    res = run("ingest", "--db", db, "--on-invalid", "skip", str(DATASETS["cir"]))
    assert res.exit_code == EXIT_PARTIAL
    rejected = [line for line in res.stderr.splitlines() if line.startswith("rejected ")]
    assert any("entry: missing, so the row has no stable id" in line for line in rejected)
    added = int(res.stdout.split(": ", 1)[1].split(" added")[0])
    assert added > 0 and _count(db) == added
    assert f"{len(rejected)} rejected" in res.stdout
    # Run again: the same rows are rejected again, the rest are already stored.
    again = run("ingest", "--db", db, "--on-invalid", "skip", str(DATASETS["cir"]))
    assert again.exit_code == EXIT_PARTIAL
    assert f"0 added, {added} already stored, {len(rejected)} rejected" in again.stdout


def test_raise_mode_is_unchanged_exit_65(db: str) -> None:
    res = run("ingest", "--db", db, str(DATASETS["cir"]))
    assert res.exit_code == 65
    assert res.stderr.startswith("error: line ") and len(res.stderr.splitlines()) == 1


def test_skipped_rows_are_not_rejections(tmp_path: Path) -> None:
    """New START's blank values (Russia's 2023 "Not provided") are skipped, in both modes."""
    db = str(tmp_path / "ns.db")
    assert run("init", "--db", db, "--agreement", "new_start").exit_code == 0
    for mode in ("raise", "skip"):
        res = run("ingest", "--db", db, "--on-invalid", mode, str(DATASETS["newstart"]))
        assert res.exit_code == 0, res.output
        lines = res.stderr.splitlines()
        assert len(lines) == 4 and all(line.startswith("skipped ") for line in lines)
        assert "rejected " not in res.stderr and "skipped: " not in res.stderr
        assert any(
            line.endswith("line 27: warheads_on_deployed: no value given (Not provided)")
            for line in lines
        )
        stored = "74 added, 0 already stored" if mode == "raise" else "0 added, 74 already stored"
        assert res.stdout == f"{DATASETS['newstart']}: {stored}, 0 rejected, 4 skipped\n"


def test_several_files_one_exit_rule(db: str, tmp_path: Path) -> None:
    """A clean file and one with rejections: every file is read, the run exits partial."""
    good = encoded("jsonl", "utf-8", tmp_path)
    res = run("ingest", "--db", db, "--on-invalid", "skip", str(DATASETS["cir"]), str(good))
    assert res.exit_code == EXIT_PARTIAL
    assert f"{good}: 23 added" in res.stdout and res.stdout.splitlines()[-1].startswith("total: ")


def test_help_states_the_rule() -> None:
    text = " ".join(run("ingest", "--help").output.split())
    assert "exit 4 if any was rejected" in text and "skipped" in text
