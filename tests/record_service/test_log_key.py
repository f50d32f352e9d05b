"""The log's key outside the store (issue 13): an encrypted key file (Argon2id + secretbox,
mode 0600, passphrase from the environment or a file) or an outside signer command whose
answers are checked before use; the store keeps only the public key."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import truceline.adapters.cli.commands  # noqa: F401
from truceline.adapters.cli.main import cli
from truceline.adapters.log_key import read_key_file, write_key_file
from truceline.core.record.note import Signer
from truceline.errors import ERROR_TABLE, ConfigError, SignatureError, ValidationError

from ..log_keys import PASSPHRASE, key_file
from .conftest import SAMPLE

#: An outside signer: signs stdin with the key in the file named by its first argument.
SIGNER = """
import base64, sys
from truceline.core.record import signing
from truceline.core.record.note import Signer
key = Signer.from_skey(open(sys.argv[1]).read().strip())
if len(sys.argv) > 2:
    sys.exit(sys.argv[2])
sys.stdout.write(base64.b64encode(signing.sign(key.seed, sys.stdin.buffer.read())).decode())
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line(res: Result, field: str, exc: type) -> str:
    assert res.exit_code == ERROR_TABLE[exc].exit_code, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: "), res.stderr
    return lines[0]


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("KEY_FILE", "KEY_PASSPHRASE", "KEY_PASSPHRASE_FILE", "SIGNER_COMMAND",
                 "SIGNER_VKEY"):
        monkeypatch.delenv(f"TRUCELINE_LOG_{name}", raising=False)
    return monkeypatch


@pytest.fixture()
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "t.db")
    assert run("init", "--db", path, "--agreement", "march2025").exit_code == 0
    assert run("ingest", "--db", path, str(SAMPLE)).exit_code == 0
    return path


def _db_bytes(db: str) -> bytes:
    return b"".join(p.read_bytes() for p in Path(db).parent.glob(Path(db).name + "*"))


def test_key_file_round_trip_and_refusals(tmp_path: Path) -> None:
    key = Signer("truceline.example/log", os.urandom(32))
    path = key_file(tmp_path, key)
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_key_file(path, PASSPHRASE.encode()) == key
    assert key.to_skey().encode() not in path.read_bytes()
    with pytest.raises(ConfigError) as e:
        read_key_file(path, b"wrong passphrase")
    assert e.value.field == "log_key_passphrase"
    with pytest.raises(ValidationError):  # never overwritten
        write_key_file(path, Signer("x", os.urandom(32)), b"p", "interactive")
    assert read_key_file(path, PASSPHRASE.encode()) == key
    path.chmod(0o640)
    with pytest.raises(ConfigError) as e:
        read_key_file(path, PASSPHRASE.encode())
    assert e.value.field == "log_key_file" and "0640" in e.value.message
    path.chmod(0o600)
    damaged = bytearray(path.read_bytes())
    i = damaged.index(b'"secretbox": "') + 20
    damaged[i] = ord("A") if damaged[i] != ord("A") else ord("B")
    path.write_bytes(bytes(damaged))
    with pytest.raises(ConfigError):
        read_key_file(path, PASSPHRASE.encode())


def test_cli_log_keygen_then_checkpoints_keep_only_the_public_key(
    db: str, tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "log.key"
    # no passphrase: one line naming it, no file
    one_line(run("record", "log-keygen", "--out", str(out)), "log_key_passphrase", ConfigError)
    assert not out.exists()
    secret = tmp_path / "pass"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o644)
    env.setenv("TRUCELINE_LOG_KEY_PASSPHRASE_FILE", str(secret))
    one_line(run("record", "log-keygen", "--out", str(out)), "log_key_passphrase_file",
             ConfigError)
    secret.chmod(0o600)
    res = run("record", "log-keygen", "--out", str(out), "--kdf-level", "interactive")
    assert res.exit_code == 0, res.output
    vkey = res.stdout.strip()
    assert vkey.startswith("truceline.example/log+")
    # no key configured: the checkpoint is refused, naming the setting
    one_line(run("record", "checkpoint", "--db", db), "log_key_file", ConfigError)
    env.setenv("TRUCELINE_LOG_KEY_FILE", str(out))
    assert run("record", "checkpoint", "--db", db).exit_code == 0
    assert run("record", "vkey", "--db", db).stdout.strip() == vkey
    assert run("record", "verify", "--db", db).exit_code == 0
    key = read_key_file(out, PASSPHRASE.encode())
    with sqlite3.connect(db) as c:
        meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
    assert "log_skey" not in meta and meta["log_vkey"] == vkey
    stored = _db_bytes(db)
    assert key.to_skey().encode() not in stored and key.seed not in stored


def test_outside_signer_is_checked_before_anything_is_stored(
    db: str, tmp_path: Path, env: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "signer.py"
    script.write_text(SIGNER)
    good, other = Signer("truceline.example/log", os.urandom(32)), Signer(
        "truceline.example/log", os.urandom(32))
    for name, k in (("good", good), ("other", other)):
        (tmp_path / name).write_text(k.to_skey())
    env.setenv("TRUCELINE_LOG_SIGNER_VKEY", good.verifier().to_vkey())
    # a signer that answers with another key's signature: refused, nothing stored
    env.setenv("TRUCELINE_LOG_SIGNER_COMMAND", f"{sys.executable} {script} {tmp_path / 'other'}")
    one_line(run("record", "checkpoint", "--db", db), "log_signer_command", SignatureError)
    env.setenv("TRUCELINE_LOG_SIGNER_COMMAND",
               f"{sys.executable} {script} {tmp_path / 'good'} 'HSM is locked'")
    assert "HSM is locked" in one_line(run("record", "checkpoint", "--db", db),
                                       "log_signer_command", ConfigError)
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT count(*) FROM checkpoints").fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM meta WHERE key = 'log_vkey'").fetchone()[0] == 0
    env.setenv("TRUCELINE_LOG_SIGNER_COMMAND", f"{sys.executable} {script} {tmp_path / 'good'}")
    res = run("record", "checkpoint", "--db", db)
    assert res.exit_code == 0, res.output
    assert run("record", "vkey", "--db", db).stdout.strip() == good.verifier().to_vkey()
    assert run("record", "verify", "--db", db).exit_code == 0
    # the store's key is now the outside signer's; a signer for another key is refused
    env.setenv("TRUCELINE_LOG_SIGNER_VKEY", other.verifier().to_vkey())
    env.setenv("TRUCELINE_LOG_SIGNER_COMMAND", f"{sys.executable} {script} {tmp_path / 'other'}")
    assert run("check", "--db", db).exit_code == 0
    one_line(run("record", "checkpoint", "--db", db), "log_key_file", ConfigError)
