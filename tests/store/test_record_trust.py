"""Record trust on every store (issue 13): the log key moves out of the store, API key names
are unique, and a witness with an unregistered key advances nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from truceline.adapters.cli.main import cli
from truceline.core.record.note import Checkpoint, Signer
from truceline.errors import (
    ERROR_TABLE,
    ConfigError,
    ConflictError,
    NotFoundError,
    SignatureError,
)

from ..log_keys import use_key_file
from .conftest import Backend

SAMPLE = Path(__file__).resolve().parents[2] / "src/truceline/examples/march2025_sample.jsonl"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line(res: Result, field: str, exc: type) -> str:
    assert res.exit_code == ERROR_TABLE[exc].exit_code, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}: "), res.stderr
    return lines[0]


def _init(url: str) -> None:
    assert run("init", "--db", url, "--agreement", "march2025").exit_code == 0
    assert run("ingest", "--db", url, str(SAMPLE)).exit_code == 0


def _older_store(backend: Backend) -> Signer:
    """A store as truceline kept it before the key moved out: the private key in plaintext in
    meta ``log_skey`` and a checkpoint it signed."""
    _init(backend.url)
    key = Signer("truceline.example/log", os.urandom(32))
    store = backend.open()
    try:
        store.set_meta("log_skey", key.to_skey())
        store.set_meta("log_vkey", key.verifier().to_vkey())
        size, root = store.tree_root()
        store.add_checkpoint(size, Checkpoint(key.name, size, root).sign([key]))
    finally:
        store.close()
    return key


def test_a_plaintext_key_is_moved_out_and_only_then_signs(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _older_store(backend)
    use_key_file(monkeypatch, tmp_path)  # some other key file: refused for the plaintext first
    before = backend.open()
    n_checkpoints = len(before.checkpoints())
    before.close()
    one_line(run("record", "checkpoint", "--db", backend.url), "log_skey", ConfigError)

    out = tmp_path / "moved.key"
    res = run("record", "migrate-log-key", "--db", backend.url, "--out", str(out),
              "--kdf-level", "interactive")
    assert res.exit_code == 0, res.output
    assert key.verifier().to_vkey() in res.stdout
    assert out.stat().st_mode & 0o777 == 0o600
    assert key.to_skey().encode() not in out.read_bytes()  # sealed, not copied
    store = backend.open()
    try:
        assert store.get_meta("log_skey") is None
        assert store.get_meta("log_vkey") == key.verifier().to_vkey()
        assert len(store.checkpoints()) == n_checkpoints
    finally:
        store.close()
    if backend.name == "sqlite":  # not left in free pages or the WAL either
        for f in Path(backend.url).parent.glob(Path(backend.url).name + "*"):
            assert key.to_skey().encode() not in f.read_bytes(), f

    # nothing left to move; the moved key signs, and the whole record verifies
    one_line(run("record", "migrate-log-key", "--db", backend.url, "--out",
                 str(tmp_path / "again.key")), "log_skey", NotFoundError)
    assert not (tmp_path / "again.key").exists()
    monkeypatch.setenv("TRUCELINE_LOG_KEY_FILE", str(out))
    assert run("ingest", "--db", backend.url, str(SAMPLE)).exit_code == 0
    assert run("check", "--db", backend.url).exit_code == 0
    res = run("record", "checkpoint", "--db", backend.url)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("truceline.example/log\n")
    assert run("record", "verify", "--db", backend.url).exit_code == 0


def test_a_key_file_of_another_log_signs_nothing(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _init(backend.url)
    (tmp_path / "a").mkdir()
    use_key_file(monkeypatch, tmp_path / "a")
    assert run("record", "checkpoint", "--db", backend.url).exit_code == 0
    assert run("check", "--db", backend.url).exit_code == 0
    (tmp_path / "b").mkdir()
    use_key_file(monkeypatch, tmp_path / "b")  # a new random key
    one_line(run("record", "checkpoint", "--db", backend.url), "log_key_file", ConfigError)
    store = backend.open()
    try:
        assert len(store.checkpoints()) == 1
        assert store.get_meta("log_skey") is None
    finally:
        store.close()


def test_api_key_names_are_unique_and_revoke_takes_one(backend: Backend) -> None:
    _init(backend.url)
    args = ("apikey", "create", "--db", backend.url, "--name", "post-7 tablet", "--role",
            "monitor", "--source", "smm-post-7")
    first = run(*args)
    assert first.exit_code == 0
    one_line(run(*args), "name", ConflictError)
    res = run("apikey", "revoke", "--db", backend.url, "--name", "post-7 tablet")
    assert res.exit_code == 0 and "revoked 1 key" in res.stdout
    second = run(*args)  # the name is free again once its key is revoked
    assert second.exit_code == 0
    store = backend.open()
    try:
        from truceline.adapters.http.auth import hash_token, revoke_api_key

        assert store.api_key(hash_token(first.stdout.strip()))["revoked"]  # type: ignore[index]
        assert not store.api_key(hash_token(second.stdout.strip()))["revoked"]  # type: ignore[index]
        # two live keys of one name, as stores made before names were unique may hold
        revoke_api_key(store, "post-7 tablet")
        store._execute(  # type: ignore[attr-defined]
            "INSERT INTO api_keys(token_hash, name, role, party) VALUES (?,?,?,?)",
            ("h-old-1", "shared", "analyst", None))
        store._execute(  # type: ignore[attr-defined]
            "INSERT INTO api_keys(token_hash, name, role, party) VALUES (?,?,?,?)",
            ("h-old-2", "shared", "analyst", None))
    finally:
        store.close()
    one_line(run("apikey", "revoke", "--db", backend.url, "--name", "shared"), "name",
             ConflictError)
    res = run("apikey", "revoke", "--db", backend.url, "--name", "shared", "--all")
    assert res.exit_code == 0 and "revoked 2 key" in res.stdout


def test_witness_with_an_unregistered_key_advances_nothing(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _init(backend.url)
    use_key_file(monkeypatch, tmp_path)
    assert run("record", "checkpoint", "--db", backend.url).exit_code == 0
    vkey = run("record", "vkey", "--db", backend.url).stdout.strip()
    key = tmp_path / "w.key"
    wvkey = run("record", "keygen", "--witness", "--name", "ua-witness", "--out",
                str(key)).stdout.strip()
    state = tmp_path / "ua.state"
    res = run("record", "witness", "--state", str(state), "--key", str(key), "--log-vkey", vkey,
              "--db", backend.url)
    one_line(res, "key", SignatureError)
    assert not state.exists()  # no state without the cosignature
    store = backend.open()
    try:
        size = store.entry_count()
        assert store.cosignatures(size) == []
    finally:
        store.close()
    # once registered the same witness cosigns, and its state records what it cosigned
    assert run("record", "register-key", "--db", backend.url, "--owner", "UA", "--role",
               "witness", "--public-key", wvkey).exit_code == 0
    assert run("record", "checkpoint", "--db", backend.url).exit_code == 0
    res = run("record", "witness", "--state", str(state), "--key", str(key), "--log-vkey", vkey,
              "--db", backend.url)
    assert res.exit_code == 0, res.output
    store = backend.open()
    try:
        size = store.entry_count()
        assert len(store.cosignatures(size)) == 1
    finally:
        store.close()
    assert json.loads(state.read_text())["size"] == size
