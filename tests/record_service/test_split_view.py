"""A split view is a fork: two checkpoints the log signed for one size with different roots.

`record check-proof` must refuse them (IntegrityError, exit 3) naming both roots, never print
"the log of size N extends the log of size N".
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import truceline.adapters.cli.record  # noqa: F401
from truceline.adapters.cli.main import cli
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.record.note import Checkpoint
from truceline.errors import IntegrityError
from truceline.services import record

from .conftest import LOG_KEY, ORIGIN


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _fork(log_db: Path) -> tuple[bytes, bytes, str, int]:
    """The log's own checkpoint and a second one it signed for the same size, another root."""
    store = SQLiteStore(log_db)
    try:
        honest = record.publish_checkpoint(store, LOG_KEY)
        size, root = store.tree_root()
        vkey = store.get_meta("log_vkey")
    finally:
        store.close()
    assert vkey is not None
    other_root = hashlib.sha256(b"another history" + root).digest()
    forked = Checkpoint(ORIGIN, size, other_root).sign([LOG_KEY])
    return honest, forked, vkey, size


def test_service_refuses_two_roots_for_one_size(log_db: Path) -> None:
    honest, forked, vkey, size = _fork(log_db)
    honest_root = record.open_log_checkpoint(honest, vkey).root_hash
    forked_root = record.open_log_checkpoint(forked, vkey).root_hash
    proof = {"type": "consistency", "size1": size, "size2": size, "proof": []}
    with pytest.raises(IntegrityError) as info:
        record.check_proof(proof, [honest, forked], vkey)
    err = info.value
    assert err.field == "checkpoint"
    assert record.b64(honest_root) in err.message and record.b64(forked_root) in err.message
    assert "fork" in err.message
    # the same fork under an inclusion proof is refused too
    store = SQLiteStore(log_db)
    try:
        inc = record.inclusion_document(store, 3, size)
    finally:
        store.close()
    with pytest.raises(IntegrityError):
        record.check_proof(inc, [honest, forked], vkey)
    # the honest checkpoint alone (or twice) still proves what it proves
    assert record.check_proof(proof, [honest, honest], vkey) == (
        f"the log of size {size} extends the log of size {size}")


def test_cli_check_proof_refuses_a_split_view(log_db: Path, tmp_path: Path) -> None:
    honest, forked, vkey, size = _fork(log_db)
    a, b, p = tmp_path / "a.cp", tmp_path / "b.cp", tmp_path / "p.json"
    a.write_bytes(honest)
    b.write_bytes(forked)
    p.write_text(json.dumps({"type": "consistency", "size1": size, "size2": size, "proof": []}))
    res = run("record", "check-proof", str(p), "--checkpoint", str(a), "--checkpoint", str(b),
              "--log-vkey", vkey)
    assert res.exit_code == 3
    assert "ok:" not in res.stdout and "extends" not in res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: checkpoint: ")
    roots = [record.open_log_checkpoint(n, vkey).root_hash for n in (honest, forked)]
    assert all(record.b64(r) in lines[0] for r in roots)
