"""`truceline record ...` and `truceline sign` end to end on real files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import truceline.adapters.cli.commands
import truceline.adapters.cli.record  # noqa: F401
from truceline.adapters.cli.main import cli

from ..log_keys import use_key_file
from .conftest import SAMPLE


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _log_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`record checkpoint` signs with an encrypted key file named in the environment."""
    use_key_file(monkeypatch, tmp_path)


def _db(tmp_path: Path) -> str:
    db = str(tmp_path / "t.db")
    assert run("init", "--db", db, "--agreement", "march2025").exit_code == 0
    assert run("ingest", "--db", db, str(SAMPLE)).exit_code == 0
    assert run("check", "--db", db).exit_code == 0
    return db


def _vkey(db: str) -> str:
    with sqlite3.connect(db) as c:
        return str(c.execute("SELECT value FROM meta WHERE key = 'log_vkey'").fetchone()[0])


def test_checkpoint_verify_proof_and_tamper(tmp_path: Path) -> None:
    db = _db(tmp_path)
    res = run("record", "checkpoint", "--db", db)
    assert res.exit_code == 0
    size = int(res.stdout.splitlines()[1])  # the sample's entries (a check may add incidents)
    assert size >= 41
    cp = tmp_path / "cp"
    cp.write_text(res.stdout)
    assert f"record ok: {size} entries" in run("record", "verify", "--db", db).stdout
    proof = tmp_path / "p.json"
    proof.write_text(run("record", "proof", "--db", db, "--index", "7").stdout)
    res = run("record", "check-proof", str(proof), "--checkpoint", str(cp),
              "--log-vkey", _vkey(db))
    assert res.exit_code == 0 and f"entry 7 is in the log of size {size}" in res.stdout
    doc = json.loads(proof.read_text())
    doc["index"] = 8
    proof.write_text(json.dumps(doc))
    assert run("record", "check-proof", str(proof), "--checkpoint", str(cp),
               "--log-vkey", _vkey(db)).exit_code == 3
    with sqlite3.connect(db) as c:
        c.execute("UPDATE entries SET data = CAST(replace(CAST(data AS TEXT), '\"time\":\"2025', "
                  "'\"time\":\"2024') AS BLOB) WHERE idx = 1")  # a field in clear
    res = run("record", "verify", "--db", db)
    assert res.exit_code == 3
    assert "entry 1" in res.stderr


def test_sign_register_and_require_signatures(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    run("init", "--db", db, "--agreement", "march2025")
    key = tmp_path / "post1.key"
    vkey = run("record", "keygen", "--name", "smm-post-1", "--out", str(key)).stdout.strip()
    assert run("record", "keygen", "--name", "x", "--out", str(key)).exit_code != 0
    assert run("record", "register-key", "--db", db, "--owner", "smm-post-1", "--role",
               "monitor", "--public-key", vkey).exit_code == 0
    rows = [json.loads(x) for x in SAMPLE.read_text().splitlines()]
    mine = tmp_path / "mine.jsonl"
    mine.write_text("".join(json.dumps(r) + "\n" for r in rows if r["source_id"] == "smm-post-1"))
    signed = tmp_path / "signed.jsonl"
    assert run("sign", "--key", str(key), str(mine), str(signed)).exit_code == 0
    assert run("ingest", "--db", db, "--require-signatures", str(mine)).exit_code == 77
    res = run("ingest", "--db", db, "--require-signatures", str(signed))
    assert res.exit_code == 0 and " 0 rejected" in res.stdout


def test_witness_export_replay(tmp_path: Path) -> None:
    db = _db(tmp_path)
    wkey = tmp_path / "ua.key"
    wvkey = run("record", "keygen", "--name", "ua-witness", "--out", str(wkey),
                "--witness").stdout.strip()
    run("record", "register-key", "--db", db, "--owner", "UA", "--role", "witness",
        "--public-key", wvkey)
    run("record", "checkpoint", "--db", db)
    vkey, state = _vkey(db), str(tmp_path / "ua.state")
    res = run("record", "witness", "--state", state, "--key", str(wkey), "--log-vkey", vkey,
              "--db", db)
    assert res.exit_code == 0 and res.stdout.startswith("— ua-witness ")
    assert run("record", "final", "--db", db, "--quorum", "1").exit_code == 0
    assert run("record", "final", "--db", db).exit_code == 3  # the agreement needs two parties
    out = tmp_path / "tiles"
    assert run("record", "export", "--db", db, "--out", str(out)).exit_code == 0
    every = tmp_path / "analyst.json"  # a database is rebuilt from every opening
    assert run("record", "openings", "--db", db, "--for", "analyst", "--out",
               str(every)).exit_code == 0
    res = run("record", "replay", "--tiles", str(out), "--log-vkey", vkey,
              "--db", str(tmp_path / "mirror.db"), "--openings", str(every))
    assert res.exit_code == 0 and "findings identical" in res.stdout, res.stderr
    assert run("record", "verify", "--db", str(tmp_path / "mirror.db")).exit_code == 0
    # the same witness, on the mirrored tiles, sees nothing new and cosigns again
    assert run("record", "witness", "--state", state, "--key", str(wkey), "--log-vkey", vkey,
               "--tiles", str(out)).exit_code == 0
    # a rewritten mirror (different history, same size) is refused, the state kept
    before = Path(state).read_text()
    size = int((out / "checkpoint").read_text().splitlines()[1])
    bundle = out / "tile" / "entries" / "000.p" / str(size)  # the partial tile of every entry
    bundle.write_bytes(bundle.read_bytes().replace(b'"time":"2025', b'"time":"2024', 1))
    assert run("record", "replay", "--tiles", str(out), "--log-vkey", vkey).exit_code == 3
    Path(state).write_text(before.replace(json.loads(before)["root_hash"],
                                          "A" * 43 + "="))
    res = run("record", "witness", "--state", state, "--key", str(wkey), "--log-vkey", vkey,
              "--tiles", str(out))
    assert res.exit_code == 3 and "fork" in res.stderr
