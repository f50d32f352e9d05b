"""Schema 8 on SQLite (issue 21): a store of schema 7 opens with its openings folded into one
row per entry and the copies index in place, and every entry still opens to what it
committed to."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import truceline
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store import open_store
from truceline.adapters.store.sqlite import MIGRATIONS
from truceline.core.record.commit import json_canonical
from truceline.services.ingest import ingest
from truceline.services.openings import full_entries
from truceline.services.record import initialize_store

SAMPLE = Path(truceline.__file__).parent / "examples" / "march2025_sample.jsonl"


def _as_schema_7(path: Path) -> dict[int, dict[str, tuple[bytes, str]]]:
    """Rewrite a new store's openings and index as schema 7 had them; the openings by entry."""
    db = sqlite3.connect(path)
    rows = db.execute("SELECT idx, fields FROM entry_openings").fetchall()
    db.executescript("""
        CREATE TABLE openings (idx INTEGER NOT NULL, field TEXT NOT NULL, salt BLOB NOT NULL,
            value TEXT NOT NULL, PRIMARY KEY (idx, field));
        DROP TABLE entry_openings;
        DROP INDEX observations_copies;
        CREATE INDEX observations_source_time ON observations(source_id, time);
        DROP INDEX entries_incident;
        DROP TABLE fusion_days;
        PRAGMA user_version=7;""")
    old: dict[int, dict[str, tuple[bytes, str]]] = {}
    for idx, text in rows:
        for name, (salt, value) in json.loads(text).items():
            canon = json_canonical(value).decode("utf-8")
            db.execute("INSERT INTO openings VALUES (?, ?, ?, ?)",
                       (idx, name, bytes.fromhex(salt), canon))
            old.setdefault(idx, {})[name] = (bytes.fromhex(salt), value)
    db.commit()
    db.close()
    return old


def test_a_schema_7_store_opens_with_its_openings_folded(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = open_store(str(path), create=True)
    initialize_store(store, load_agreement_file("march2025")[1])
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()[:200]
    ingest(store, [(k, json.loads(x)) for k, x in enumerate(lines, 1)])
    before = [(i, t, body) for i, t, body in full_entries(store)]
    store.close()
    old = _as_schema_7(path)
    assert len(old) >= 20  # every observation entry of the sample, and the key entries

    store = open_store(str(path))
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)  # 8 and on
    names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert "openings" not in names and {"entry_openings", "observations_copies",
                                        "entries_incident", "fusion_days"} <= names
    db.close()
    assert store.openings() == old  # same salts, same values, every entry
    assert [(i, t, body) for i, t, body in full_entries(store)] == before
