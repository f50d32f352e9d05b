"""Hostile files give the CLI's one line, never a traceback (issue 13, item 6).

``error: <field>: <reason>`` on stderr and the exit code from the one error table: a deeply
nested JSON line to ``ingest``, a corrupt ``record witness --state`` file, and a log holding
a deeply nested entry for ``record verify`` and ``record replay`` (exit 3, naming the entry).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import truceline.adapters.cli.commands
import truceline.adapters.cli.record  # noqa: F401
from truceline.adapters.cli.main import cli
from truceline.adapters.store import open_store
from truceline.errors import ERROR_TABLE, IntegrityError, ValidationError

from ..log_keys import use_key_file

SAMPLE = Path(__file__).resolve().parents[2] / "src/truceline/examples/march2025_sample.jsonl"


def run(*args: str) -> Result:
    # catch_exceptions=False: a traceback fails the test instead of hiding in the result
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _log_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`record checkpoint` signs with an encrypted key file named in the environment."""
    use_key_file(monkeypatch, tmp_path)


def one_line(res: Result, field: str, exit_code: int) -> str:
    """The single ``error: <field>: ...`` line on stderr, with the table's exit code."""
    assert res.exit_code == exit_code, (res.exit_code, res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"error: {field}: ") or lines[0].startswith(
        f"error: line 1: {field}: "), lines[0]
    assert "Traceback" not in res.stderr
    return lines[0]


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.fixture()
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "t.db")
    assert run("init", "--db", path, "--agreement", "march2025").exit_code == 0
    assert run("ingest", "--db", path, str(SAMPLE)).exit_code == 0
    assert run("check", "--db", path).exit_code == 0
    return path


def _vkey(db: str) -> str:
    res = run("record", "vkey", "--db", db)
    assert res.exit_code == 0
    return res.stdout.strip()


@pytest.mark.parametrize("line", [
    _nested(100_000), '{"id": "x", "description": ' + _nested(100_000) + "}",
    '{"a":' * 50_000 + "1" + "}" * 50_000])
def test_ingest_of_a_deeply_nested_line_is_one_line(db: str, tmp_path: Path, line: str) -> None:
    f = tmp_path / "deep.jsonl"
    f.write_text(line + "\n")
    msg = one_line(run("ingest", "--db", db, str(f)), "(line)",
                   ERROR_TABLE[ValidationError].exit_code)
    assert "nested too deeply" in msg
    res = run("ingest", "--db", db, "--on-invalid", "skip", str(f))
    assert res.exit_code == 4 and "Traceback" not in res.stderr  # listed, the run goes on


def test_ingest_of_a_line_nested_within_the_parser_limit(db: str, tmp_path: Path) -> None:
    f = tmp_path / "deep.jsonl"
    rec = json.loads(SAMPLE.read_text().splitlines()[0])
    f.write_text(json.dumps(rec)[:-1] + ', "description": ' + _nested(900) + "}\n")
    one_line(run("ingest", "--db", db, str(f)), "description", 65)


@pytest.mark.parametrize("state", [
    b'{"size": [[[', b"not json at all", b"\xff\xfe\x00garbage", b"[1, 2]",
    b'{"origin": "o", "size": "12", "root_hash": "AAAA"}',
    b'{"origin": "o", "size": 12, "root_hash": "not base64!"}',
    b'{"origin": "o", "size": 12, "root_hash": "AAAA"}',
    b'{"origin": "o", "size": -1, "root_hash": "' + b"A" * 43 + b'="}',
    _nested(100_000).encode()])
def test_witness_on_a_corrupt_state_file_is_one_line(db: str, tmp_path: Path,
                                                     state: bytes) -> None:
    assert run("record", "checkpoint", "--db", db).exit_code == 0
    key = tmp_path / "w.key"
    assert run("record", "keygen", "--witness", "--name", "w1", "--out", str(key)).exit_code == 0
    path = tmp_path / "state.json"
    path.write_bytes(state)
    res = run("record", "witness", "--state", str(path), "--key", str(key),
              "--log-vkey", _vkey(db), "--db", db)
    one_line(res, "state", ERROR_TABLE[ValidationError].exit_code)
    assert path.read_bytes() == state  # left as it was
    assert open_store(db).cosignatures(open_store(db).entry_count()) == []


@pytest.mark.parametrize("depth", [900, 30_000])
def test_verify_and_replay_of_a_log_with_a_nested_entry_name_it(db: str, tmp_path: Path,
                                                               depth: int) -> None:
    """A log (its operator, say) that appended and signed a deeply nested entry: verify and
    replay refuse it with exit 3 naming the entry, not a traceback."""
    store = open_store(db)
    try:
        entry = ('{"body":{"id":' + _nested(depth) + '},"type":"observation"}').encode()
        [index] = store.append_entries([("observation", entry)])
    finally:
        store.close()
    assert run("record", "checkpoint", "--db", db).exit_code == 0
    exit3 = ERROR_TABLE[IntegrityError].exit_code
    res = run("record", "verify", "--db", db)
    assert res.exit_code == exit3 and "Traceback" not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("error: entry: ") and f"entry {index}" in last, res.stderr
    tiles = tmp_path / "tiles"
    assert run("record", "export", "--db", db, "--out", str(tiles)).exit_code == 0
    # the public tiles hold the field committed (a hash): a reader who may open it (here an
    # analyst's bundle) replays the opened value and is refused naming the entry
    bundle = tmp_path / "analyst.json"
    assert run("record", "openings", "--db", db, "--for", "analyst", "--out",
               str(bundle)).exit_code == 0
    msg = one_line(run("record", "replay", "--tiles", str(tiles), "--log-vkey", _vkey(db),
                       "--openings", str(bundle)), "entry", exit3)
    assert f"entry {index}" in msg
    public = run("record", "replay", "--tiles", str(tiles), "--log-vkey", _vkey(db))
    assert "Traceback" not in public.stderr and public.exit_code in (0, exit3)
    assert json.loads((tiles / "checkpoint").read_text().splitlines()[1]) == index + 1
