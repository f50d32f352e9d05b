"""Real SQLite stores holding the March 2025 example, built once and copied per test."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.services import record, verify
from truceline.services.check import run_check
from truceline.services.ingest import ingest
from truceline.services.openings import Openings, bundle, parse_bundle

from ..log_keys import fixed_key

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "src" / "truceline" / "examples" / "march2025_sample.jsonl"
ORIGIN = "truceline.test/log"
#: The log's key (in a real log it lives in an encrypted key file or an outside signer).
LOG_KEY = fixed_key(ORIGIN)
NOW = 1_743_100_000


def sample_rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]


def synthetic(n: int, start: int = 0, prefix: str = "syn") -> list[dict[str, Any]]:
    """``n`` valid observations inside the area of interest: sample rows under new ids, each
    2 s later per index (so none is a resubmission of another: core/resubmissions.py)."""
    rows = sample_rows()
    return [{**rows[i % len(rows)], "id": f"{prefix}-{i}",
             "time": (datetime.fromisoformat(rows[i % len(rows)]["time"])
                      + timedelta(seconds=2 * (i + 1))).isoformat()}
            for i in range(start, start + n)]


def new_store(path: Path) -> SQLiteStore:
    """An initialised store with the March 2025 agreement."""
    store = SQLiteStore(path, create=True)
    _, doc = load_agreement_file("march2025")
    store.initialize(doc, record.agreement_entry(doc))
    return store


def build_log(path: Path) -> SQLiteStore:
    """Sample + synthetic observations, findings, and a checkpoint after each step (~330
    entries, so the log spans a full 256-entry tile and a partial one)."""
    store = new_store(path)
    ingest(store, list(enumerate(sample_rows(), 1)))
    run_check(store)
    record.publish_checkpoint(store, LOG_KEY, NOW)
    for k in range(3):
        ingest(store, list(enumerate(synthetic(90, 90 * k), 1)))
        record.publish_checkpoint(store, LOG_KEY, NOW + k)
    return store


@pytest.fixture(scope="session")
def base_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("base") / "base.db"
    build_log(path).close()
    return path


def copy_db(src: Path, dst: Path) -> Path:
    shutil.copy(src, dst)
    return dst


@pytest.fixture()
def log_db(base_log: Path, tmp_path: Path) -> Iterator[Path]:
    yield copy_db(base_log, tmp_path / "log.db")


def replay_everything(store: SQLiteStore
                      ) -> tuple[verify.ReplayResult, dict[str, bytes], Openings, str]:
    """A party holding every opening: a checkpoint signed, the tiles exported and replayed.
    The result, the tiles, the openings and the log's key (what a rebuild needs too)."""
    record.publish_checkpoint(store, LOG_KEY, NOW)
    tiles = verify.export_tiles(store)
    everything = parse_bundle(bundle(store, lambda i, t, b: None))
    vkey = store.get_meta("log_vkey") or ""
    return verify.replay(lambda p: tiles[p], vkey, everything), tiles, everything, vkey
