"""Witnesses over HTTP: each party's witness runs as a separate process holding only the
exported tiles and its key, cosigns and POSTs to the log's API until the quorum is reached;
asked to cosign a checkpoint inconsistent with its last one it refuses and sends nothing;
a forged cosignature is a 400 naming the field and nothing is stored."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.record_service.conftest import LOG_KEY, NOW, new_store, sample_rows, synthetic
from tests.served import serve
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.record.note import ALG_COSIGNATURE_V1, Signer
from truceline.services import keys, record, verify
from truceline.services.ingest import ingest

WITNESSES = {"UA": Signer("ua-witness", b"\x11" * 32, ALG_COSIGNATURE_V1),
             "RU": Signer("ru-witness", b"\x22" * 32, ALG_COSIGNATURE_V1)}
CLI = str(Path(sys.executable).with_name("truceline"))


def _export(store: SQLiteStore, out: Path) -> None:
    record.publish_checkpoint(store, LOG_KEY, NOW)
    for path, data in verify.export_tiles(store).items():
        (out / path).parent.mkdir(parents=True, exist_ok=True)
        (out / path).write_bytes(data)


@pytest.fixture()
def log(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The mission's store with both parties' witness keys, served on a loopback port."""
    db = tmp_path / "mission.db"
    store = new_store(db)
    ingest(store, list(enumerate(sample_rows(), 1)))
    for party, w in WITNESSES.items():
        keys.register_source_key(store, party, "witness", w.verifier().to_vkey())
    store.close()
    with serve(db) as url:
        yield db, url


def _witness(home: Path, tiles: Path, vkey: str, url: str) -> subprocess.CompletedProcess[str]:
    """`record witness --tiles --submit` in its own process, from its own directory."""
    return subprocess.run([CLI, "record", "witness", "--state", str(home / "state.json"),
                           "--key", str(home / "witness.key"), "--log-vkey", vkey,
                           "--tiles", str(tiles), "--submit", url],
                          capture_output=True, text=True, timeout=300, cwd=home)


def _machine(tmp_path: Path, party: str) -> Path:
    home = tmp_path / f"{party}-machine"
    home.mkdir()
    (home / "witness.key").write_text(WITNESSES[party].to_skey() + "\n")
    (home / "witness.key").chmod(0o600)
    return home


def test_witnesses_cosign_over_http_until_the_quorum(log: tuple[Path, str],
                                                     tmp_path: Path) -> None:
    db, url = log
    store = SQLiteStore(db)
    tiles = tmp_path / "published"
    _export(store, tiles)
    vkey = store.get_meta("log_vkey") or ""
    size = store.checkpoints()[-1].size
    out = {}
    for party in ("UA", "RU"):
        home = _machine(tmp_path, party)
        mirror = home / "tiles"
        shutil.copytree(tiles, mirror)  # all the witness has of the log
        res = _witness(home, mirror, vkey, url)
        assert res.returncode == 0, res.stderr
        out[party] = res.stderr
        assert json.loads((home / "state.json").read_text())["size"] == size
    assert "not final yet" in out["UA"] and "final (quorum reached)" in out["RU"]
    final = httpx.get(f"{url}/record/checkpoints").json()[-1]
    assert final["size"] == size
    from truceline.services.witnesses import final_checkpoint
    hit = final_checkpoint(SQLiteStore(db))
    assert hit is not None and hit[0].size == size


def test_a_witness_refuses_a_checkpoint_inconsistent_with_its_last(
        log: tuple[Path, str], tmp_path: Path) -> None:
    db, url = log
    store = SQLiteStore(db)
    tiles = tmp_path / "published"
    _export(store, tiles)
    vkey = store.get_meta("log_vkey") or ""
    home = _machine(tmp_path, "UA")
    assert _witness(home, tiles, vkey, url).returncode == 0
    state = (home / "state.json").read_bytes()
    # a fork: the same log key over another, longer history
    fork = new_store(tmp_path / "fork.db")
    ingest(fork, list(enumerate(synthetic(len(sample_rows()) + 4), 1)))
    forked = tmp_path / "forked"
    _export(fork, forked)
    before = [c.size for c in store.checkpoints()], store.cosignatures(store.checkpoints()[-1].size)
    res = _witness(home, forked, vkey, url)
    assert res.returncode == 3, res.stderr
    assert "fork" in res.stderr and res.stderr.count("\n") == 1
    assert (home / "state.json").read_bytes() == state
    after = [c.size for c in store.checkpoints()], store.cosignatures(store.checkpoints()[-1].size)
    assert after == before


def test_a_forged_cosignature_is_refused_and_nothing_stored(log: tuple[Path, str],
                                                            tmp_path: Path) -> None:
    db, url = log
    store = SQLiteStore(db)
    record.publish_checkpoint(store, LOG_KEY, NOW)
    size = store.checkpoints()[-1].size
    w = WITNESSES["UA"]
    sig = bytearray(base64.b64decode(
        _witness_line(store, w).split(" ")[-1]))
    sig[-1] ^= 1  # one bit of the signature
    forged = f"— {w.name} {base64.b64encode(bytes(sig)).decode()}"
    stranger = Signer("stranger", b"\x33" * 32, ALG_COSIGNATURE_V1)
    for line, field in ((forged, "cosignature"), (_witness_line(store, stranger), "cosignature"),
                        ("not a signature line", "cosignature")):
        r = httpx.post(f"{url}/record/cosignatures", json={"size": size, "cosignature": line})
        assert r.status_code in (400, 422), r.text
        assert r.json()["field"] == field
    r = httpx.post(f"{url}/record/cosignatures", json={"size": size + 1, "cosignature": forged})
    assert r.status_code == 404 and r.json()["field"] == "size"
    assert store.cosignatures(size) == []


def _witness_line(store: SQLiteStore, w: Signer) -> str:
    from truceline.services.witnesses import run_witness

    _, note = record.latest_checkpoint(store)
    sig, _ = run_witness(None, note, store.get_node, store.get_meta("log_vkey") or "", w, NOW)
    return sig.line().rstrip("\n")
