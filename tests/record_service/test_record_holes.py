"""The record's smaller holes (issue 13, item 7), each with its regression test.

* `record replay --checkpoint FILE`: a party that kept a signed checkpoint notices a rollback
  or a fork of the replayed log (exit 3, one line).
* `record witness --state`: only a regular file (or none) is a state; a device or a symlink
  is refused, never replaced by a rename.
* `witness --db` with an unregistered key, and API key names: tests/store/test_record_trust.py
  (on SQLite and PostgreSQL).
* An interrupted ingest restarted skips what is stored (by id and input digest) before any
  costly work: tests/record_service/test_restart.py (test_kill_and_restart_reaches_the_end).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import truceline.adapters.cli.commands  # noqa: F401
from truceline.adapters.cli.main import cli
from truceline.core.record.note import Signer
from truceline.errors import ERROR_TABLE, IntegrityError, ValidationError

from ..log_keys import DEFAULT_ORIGIN, fixed_key, use_key_file
from .conftest import SAMPLE


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line(res: Result, field: str, exc: type) -> str:
    assert res.exit_code == ERROR_TABLE[exc].exit_code, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: "), res.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def _log_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_key_file(monkeypatch, tmp_path, fixed_key(DEFAULT_ORIGIN))  # one key, every store


def _db(path: Path) -> str:
    db = str(path)
    assert run("init", "--db", db, "--agreement", "march2025").exit_code == 0
    assert run("ingest", "--db", db, str(SAMPLE)).exit_code == 0
    assert run("check", "--db", db).exit_code == 0
    return db


def _grow(db: str, owner: str) -> None:
    """One more entry: a source key's registration."""
    vkey = Signer(owner, os.urandom(32)).verifier().to_vkey()
    assert run("record", "register-key", "--db", db, "--owner", owner, "--role", "monitor",
               "--public-key", vkey).exit_code == 0


def _publish(db: str, tmp_path: Path, name: str) -> tuple[Path, Path]:
    """Sign a checkpoint (kept by a party as ``name``.cp) and export the tiles."""
    res = run("record", "checkpoint", "--db", db)
    assert res.exit_code == 0, res.output
    kept = tmp_path / f"{name}.cp"
    kept.write_text(res.stdout)
    tiles = tmp_path / f"{name}-tiles"
    assert run("record", "export", "--db", db, "--out", str(tiles)).exit_code == 0
    return kept, tiles


def test_replay_against_a_kept_checkpoint(tmp_path: Path) -> None:
    db = _db(tmp_path / "log.db")
    kept1, tiles1 = _publish(db, tmp_path, "one")
    _grow(db, "smm-post-9")
    kept2, tiles2 = _publish(db, tmp_path, "two")
    vkey = run("record", "vkey", "--db", db).stdout.strip()
    size1, size2 = (int(k.read_text().splitlines()[1]) for k in (kept1, kept2))
    assert size2 == size1 + 1

    res = run("record", "replay", "--tiles", str(tiles2), "--log-vkey", vkey,
              "--checkpoint", str(kept1))
    assert res.exit_code == 0, res.output
    assert f"checkpoint {size2} extends the checkpoint {size1} you kept" in res.stdout
    assert run("record", "replay", "--tiles", str(tiles2), "--log-vkey", vkey,
               "--checkpoint", str(kept2)).exit_code == 0
    # a mirror rolled back to the older log: refused, though that log verifies by itself
    assert run("record", "replay", "--tiles", str(tiles1), "--log-vkey", vkey).exit_code == 0
    msg = one_line(run("record", "replay", "--tiles", str(tiles1), "--log-vkey", vkey,
                       "--checkpoint", str(kept2)), "checkpoint", IntegrityError)
    assert "rollback" in msg and str(size1) in msg and str(size2) in msg

    # the same key signed another history (a split view): same size, or larger
    fork = _db(tmp_path / "fork.db")
    _grow(fork, "smm-post-8")
    _, fork_tiles = _publish(fork, tmp_path, "fork")
    assert "fork" in one_line(run("record", "replay", "--tiles", str(fork_tiles), "--log-vkey",
                                  vkey, "--checkpoint", str(kept2)), "checkpoint", IntegrityError)
    _grow(fork, "smm-post-7")
    _, fork_tiles = _publish(fork, tmp_path, "fork-later")
    assert "fork" in one_line(run("record", "replay", "--tiles", str(fork_tiles), "--log-vkey",
                                  vkey, "--checkpoint", str(kept2)), "checkpoint", IntegrityError)
    # a "kept" checkpoint not signed by the log's key proves nothing
    other = Signer(DEFAULT_ORIGIN, os.urandom(32)).verifier().to_vkey()
    res = run("record", "replay", "--tiles", str(tiles2), "--log-vkey", other,
              "--checkpoint", str(kept1))
    assert res.exit_code != 0


def test_witness_state_must_be_a_regular_file(tmp_path: Path) -> None:
    db = _db(tmp_path / "log.db")
    assert run("record", "checkpoint", "--db", db).exit_code == 0
    vkey = run("record", "vkey", "--db", db).stdout.strip()
    key = tmp_path / "w.key"
    wvkey = run("record", "keygen", "--witness", "--name", "ua-witness", "--out",
                str(key)).stdout.strip()
    assert run("record", "register-key", "--db", db, "--owner", "UA", "--role", "witness",
               "--public-key", wvkey).exit_code == 0
    assert run("record", "checkpoint", "--db", db).exit_code == 0
    args = ("--key", str(key), "--log-vkey", vkey, "--db", db)

    # a device: a null device of our own (never the system's /dev/null, which a regression
    # would replace), where the system lets us make one; the symlink below runs everywhere
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pass
    else:
        one_line(run("record", "witness", "--state", str(device), *args), "state",
                 ValidationError)
        assert stat.S_ISCHR(device.lstat().st_mode)  # still the device
    real = tmp_path / "real.state"
    link = tmp_path / "link.state"
    link.symlink_to(real)
    one_line(run("record", "witness", "--state", str(link), *args), "state", ValidationError)
    assert link.is_symlink() and not real.exists()
    res = run("record", "witness", "--state", str(real), *args)
    assert res.exit_code == 0, res.output
    assert stat.S_ISREG(real.lstat().st_mode) and real.read_text().startswith("{")
