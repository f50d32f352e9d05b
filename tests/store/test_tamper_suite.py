"""Every edit of every table of a store is caught by `record verify`, or the test says why not.

A small real store (the March 2025 sample: agreement, 23 observations, a check's incidents and
findings, witness and source keys, a revocation, a dispute, a publication, a signed and
cosigned checkpoint, notifications with one delivery done and one to retry, two webhook
endpoints, API keys and a revoked one, the pseudonym secret) is copied per case and edited
with sqlite3 directly, as someone with the disk would: each column of one row changed, a row
deleted, a row inserted, two rows' keys swapped. Every column of every table is enumerated
from the database itself, so a column added later is tampered with too and must be covered
here or in ``UNCHECKED``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.cli.main import cli
from truceline.adapters.store import open_store
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.agreement_geometry import geometry_spec
from truceline.core.agreements import parse_agreement
from truceline.core.classify import compile_geometry
from truceline.core.record.canonical import entry_bytes
from truceline.core.record.note import ALG_COSIGNATURE_V1, Signer
from truceline.services import (
    access,
    delivery,
    geometry_cache,
    guarantees,
    keys,
    record,
    verify,
    witnesses,
)
from truceline.services.check import run_check
from truceline.services.context import doc_sha256
from truceline.services.ingest import ingest
from truceline.services.ports import Store
from truceline.services.verify_rows import PUBLISHED_KEY

from ..log_keys import fixed_key
from ..record_service.conftest import NOW, sample_rows

LOG_KEY = fixed_key("truceline.test/tamper")
UA = Signer("ua-witness", b"\x11" * 32, ALG_COSIGNATURE_V1)
POST = Signer("post-1", b"\x33" * 32)

#: (table, column or "*", edit) -> why an edit there is not detected, and why that is safe.
#: Everything not listed here must make `record verify` fail.
UNCHECKED: dict[tuple[str, str, str], str] = {
    **{("observations", "input_sha256", e): (
        "read only by ingest's shortcut for an input it stored before; a wrong digest at worst "
        "makes ingest validate a line again (or skip, as a duplicate, a resubmission of an id "
        "already stored): nothing stored or served changes") for e in ("change", "null")},
    ("cosignatures", "*", "delete"): (
        "nothing in the log commits to cosignatures (they arrive after their checkpoint); a "
        "reader sees fewer of them, never a false one (each is checked against its key)"),
    ("checkpoints", "*", "delete"): (
        "(one not cosigned yet; a cosigned one leaves its cosignatures behind, which verify "
        "reports) a reader then gets an older signed checkpoint, never a false one; witnesses "
        "keep the sizes they cosigned and refuse a rollback"),
    **{("meta", "log_checkpoint_time", e): "written by `record checkpoint`, read by no reader"
       for e in ("change", "delete")},
    ("meta", "*", "insert"): "a meta key no reader asks for is read by no reader",
    # the compiled geometry a report reads (services/geometry_cache.py): a row is read only
    # under this agreement's and this code's key and when it matches its digest; a row changed
    # with its digest recomputed is what verify reports (tests/adapters/
    # test_report_geometry_cache.py)
    **{("derived_cache", c, e): "a row under another key is never read: a reader compiles"
       for c, e in (("key", "change"), ("*", "insert"))},
    **{("derived_cache", c, "change"): "a row failing its digest is never read: a reader "
       "compiles" for c in ("sha256", "data")},
    ("derived_cache", "*", "delete"): "a reader compiles the agreement again",
}


#: Tables the store above leaves empty, and why no edit of them is tried here. Each must stay
#: empty in it (the test below fails when one gets rows, so the cases then cover it).
EMPTY: dict[str, str] = {}

# The incremental check's kept state (table ``fusion_days``, meta ``fusion_days`` and
# ``check_rules``) is bound to the last incident entry's ``kept_sha256``
# (services/kept_digest.py): every edit of it is detected, and never trusted by a check.


def build(store: Store) -> None:
    """The store every case starts from (see the module docstring)."""
    _, doc = load_agreement_file("march2025")
    store.initialize(doc, record.agreement_entry(doc))
    ingest(store, list(enumerate(sample_rows(), 1)))
    run_check(store)
    keys.register_source_key(store, "UA", "witness", UA.verifier().to_vkey())
    kid = keys.register_source_key(store, "post-1", "monitor", POST.verifier().to_vkey())
    keys.register_source_key(store, "post-2", "monitor", Signer("post-2", b"\x44" * 32)
                             .verifier().to_vkey())
    keys.revoke_source_key(store, kid)
    fs = store.findings()
    rec = {"id": "d-1", "finding_id": fs[0].id, "party": "UA", "text": "not us",
           "evidence": [], "time": "2025-03-25T10:00:00Z"}
    store.add_dispute("d-1", fs[0].id, "UA", rec, entry_bytes("dispute", rec))
    rec2 = {**rec, "id": "d-2", "finding_id": fs[1].id, "text": "nor this"}
    store.add_dispute("d-2", fs[1].id, "UA", rec2, entry_bytes("dispute", rec2))
    for f in fs[:2]:
        body = {"finding_id": f.id, "status": "published", "by": "analyst",
                "time": datetime(2025, 3, 26, tzinfo=UTC)}
        store.add_to_meta_set(PUBLISHED_KEY, f.id, [("status_change",
                                                     entry_bytes("status_change", body))])
    record.publish_checkpoint(store, LOG_KEY, NOW)
    _, note = record.latest_checkpoint(store)
    vkey = record.log_verifier(store).to_vkey()
    sig, new = witnesses.run_witness(None, note, store.get_node, vkey, UA, NOW)
    witnesses.add_cosignature(store, new.size, sig.line())
    keys.register_source_key(store, "post-3", "monitor", Signer("post-3", b"\x55" * 32)
                             .verifier().to_vkey())
    guarantees.notify(store, datetime(2025, 3, 28, 6, tzinfo=UTC))
    for who in ("UK", "FR"):
        guarantees.register_endpoint(store, who, f"https://{who.lower()}.example/hook",
                                     datetime(2025, 3, 28, tzinfo=UTC))
    sent = delivery.deliver(store, UkAnswers(), lambda: datetime(2025, 3, 28, 7, tzinfo=UTC))
    assert sent.delivered and sent.retrying  # a delivered row and one to retry (an error)
    uk = [r["id"] for r in guarantees.guarantee_store(store).notification_rows()
          if r["guarantor"] == "UK"]
    guarantees.acknowledge(store, uk[0], "UK", "uk-1", datetime(2025, 3, 28, 8, tzinfo=UTC))
    access.register_api_key(store, "ab" * 32, "analyst-1", "analyst", None)
    access.register_api_key(store, "cd" * 32, "ua-1", "party", "UA")
    access.register_api_key(store, "ef" * 32, "ua-2", "party", "UA")
    access.revoke_api_keys(store, "ua-2")
    access.pseudonym_secret(store)
    record.publish_checkpoint(store, LOG_KEY, NOW + 1)  # a later one, not cosigned yet
    geometry_cache.cached_geometry(  # the compiled geometry, as a report keeps it
        store, doc_sha256(doc), lambda: compile_geometry(geometry_spec(parse_agreement(doc)),
                                                         parse_agreement(doc).thresholds_km()))


class UkAnswers:
    """A fake of the delivery Transport port: UK's endpoint accepts, every other one fails."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        return 200 if url.startswith("https://uk.") else 503


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tamper") / "base.db"
    store = SQLiteStore(path, create=True)
    build(store)
    assert verify.verify_record(store).ok, verify.verify_record(store).problems
    store.close()
    return path


@dataclass(frozen=True)
class Case:
    table: str
    column: str  # "*" for a whole row
    edit: str  # change, json, null, delete, insert, reorder
    sql: tuple[tuple[str, tuple[Any, ...]], ...]

    @property
    def id(self) -> str:
        return f"{self.table}.{self.column}.{self.edit}"

    def unchecked(self) -> str | None:
        for col in (self.column, "*"):
            why = UNCHECKED.get((self.table, col, self.edit))
            if why is not None:
                return why
        return None


def _tables(db: sqlite3.Connection) -> dict[str, list[tuple[str, str, int]]]:
    """Each table's columns: (name, declared type, position in the primary key)."""
    names = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: [(c[1], c[2].upper(), c[5]) for c in db.execute(f"PRAGMA table_info({t})")]
            for t in sorted(names)}


def _other(value: Any, decl: str) -> Any:
    """A different value of the same kind."""
    if value is None:
        return 1.5 if "DOUBLE" in decl or "REAL" in decl else ("x" if "TEXT" in decl else 1)
    if isinstance(value, bytes):
        return bytes([value[0] ^ 1]) + value[1:]
    if isinstance(value, bool | int):
        return value + 1
    if isinstance(value, float):
        return value + 0.001
    return value + "x"


def _json_edit(text: str) -> str | None:
    """The JSON object with one of its values changed (None if ``text`` is not one)."""
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    for k in sorted(obj):
        v = obj[k]
        if k != "id" and isinstance(v, str | int | float) and not isinstance(v, bool):
            obj[k] = v + "x" if isinstance(v, str) else v + 1
            return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return None


def cases(base: Path) -> list[Case]:
    out: list[Case] = []
    with sqlite3.connect(base) as db:
        for table, cols in _tables(db).items():
            names = [c[0] for c in cols]
            pk = [c[0] for c in sorted(cols, key=lambda c: c[2]) if c[2]] or names[:1]
            rows = db.execute(f"SELECT {', '.join(names)} FROM {table} "
                              f"ORDER BY {', '.join(pk)}").fetchall()
            if not rows:
                continue
            # meta: every key (each is its own setting); elsewhere the middle row
            targets = rows if table == "meta" else [rows[len(rows) // 2]]
            for target in targets:
                row = dict(zip(names, target, strict=True))
                where = " AND ".join(f"{k} = ?" for k in pk)
                key = tuple(row[k] for k in pk)
                label = row["key"] if table == "meta" else None  # meta: the key is the column
                for name, decl, _ in cols:
                    upd = f"UPDATE {table} SET {name} = ? WHERE {where}"
                    value = _other(row[name], decl)
                    if name in pk and isinstance(value, int):  # a key no other row has
                        value = max(r[names.index(name)] for r in rows) + 1
                    out.append(Case(table, label or name, "change", ((upd, (value, *key)),)))
                    if row[name] is not None and name not in pk and not _notnull(db, table, name):
                        out.append(Case(table, label or name, "null", ((upd, (None, *key)),)))
                    if isinstance(row[name], str) and (j := _json_edit(row[name])) is not None:
                        out.append(Case(table, label or name, "json", ((upd, (j, *key)),)))
                out.append(Case(table, label or "*", "delete",
                                ((f"DELETE FROM {table} WHERE {where}", key),)))
                new = dict(row)
                last = pk[-1]  # a copy of the row under a key no row has (at the end, if a number)
                same = [r for r in rows if table != "nodes" or r[0] == row["level"]]
                new[last] = (max(r[names.index(last)] for r in same) + 1
                             if isinstance(row[last], int) else _other(row[last], "TEXT"))
                if "id" in names and last != "id":  # observations: id is unique too
                    new["id"] = row["id"] + "x"
                marks = ", ".join("?" * len(names))
                ins = f"INSERT INTO {table}({', '.join(names)}) VALUES ({marks})"
                out.append(Case(table, label or "*", "insert", ((ins, tuple(new.values())),)))
            if len(rows) > 1:
                out.append(_swap(table, names, pk, rows))
    return out


def _notnull(db: sqlite3.Connection, table: str, name: str) -> bool:
    return any(c[1] == name and c[3] for c in db.execute(f"PRAGMA table_info({table})"))


def _swap(table: str, names: list[str], pk: list[str], rows: list[tuple[Any, ...]]) -> Case:
    """Two rows trade their ordering key (the primary key's last column; the first row and
    the last with the same leading key), so a reader that orders or looks up by it gets them
    the other way round."""
    col, lead = pk[-1], [names.index(k) for k in pk[:-1]]
    a = rows[0]
    b = [r for r in rows if all(r[i] == a[i] for i in lead)][-1]
    ka, kb = a[names.index(col)], b[names.index(col)]
    tmp = -1 if isinstance(ka, int) else "~swap"
    where = "".join(f" AND {k} = ?" for k in pk[:-1])
    args = tuple(a[i] for i in lead)
    upd = f"UPDATE {table} SET {col} = ? WHERE {col} = ?{where}"
    return Case(table, "*", "reorder", ((upd, (tmp, ka, *args)), (upd, (ka, kb, *args)),
                                        (upd, (kb, tmp, *args))))


def _verify(path: Path) -> verify.RecordReport:
    store = SQLiteStore(path)
    try:
        return verify.verify_record(store)
    finally:
        store.close()


def _tampered(base: Path, tmp: Path, case: Case) -> Path:
    path = tmp / "t.db"
    shutil.copy(base, path)
    with sqlite3.connect(path) as db:
        for q, args in case.sql:
            db.execute(q, args)
    return path


def test_the_untouched_store_verifies_and_every_table_has_rows(base: Path) -> None:
    assert _verify(base).ok
    with sqlite3.connect(base) as db:
        empty = [t for t in _tables(db) if not db.execute(f"SELECT 1 FROM {t}").fetchone()]
    assert [t for t in empty if t not in EMPTY] == [], \
        f"tables the suite cannot tamper with: {empty}"
    assert sorted(EMPTY) == sorted(set(empty) & set(EMPTY)), "a table listed empty has rows"


def test_every_edit_of_every_table_is_detected(base: Path, tmp_path: Path) -> None:
    """Each case alone; the unchecked ones must really pass (so the list stays honest)."""
    missed: list[str] = []
    wrongly_listed: list[tuple[str, str]] = []
    passed: list[str] = []
    caught = 0
    for case in cases(base):
        d = tmp_path / str(len(missed) + len(wrongly_listed) + caught + len(passed))
        d.mkdir()
        rep = _verify(_tampered(base, d, case))
        why = case.unchecked()
        if why is None and rep.ok:
            missed.append(case.id)
        elif why is not None and not rep.ok:
            wrongly_listed.append((case.id, str(rep.first)))
        elif why is not None:
            passed.append(case.id)
        else:
            caught += 1
            assert rep.first is not None and rep.first.message
    assert not missed, f"edits record verify does not detect: {missed}"
    assert not wrongly_listed, f"listed as unchecked but detected: {wrongly_listed}"
    assert caught >= 80  # the suite really ran its cases (about 100 on this store)


@pytest.mark.parametrize("edit", ["finding-delete", "dispute-text", "incident-record",
                                  "published-set", "observation-time"])
def test_the_cli_exits_3_naming_what_differs(base: Path, tmp_path: Path, edit: str) -> None:
    sql, words = {
        "finding-delete": ("DELETE FROM findings WHERE rowid = (SELECT min(rowid) FROM "
                           "findings)", "not stored"),
        "dispute-text": ("UPDATE disputes SET record = replace(record, 'not us', 'guilty')",
                         "dispute 'd-1' differs"),
        "incident-record": ("UPDATE incidents SET record = replace(record, '\"count\":1', "
                            "'\"count\":2') WHERE rowid = (SELECT min(rowid) FROM incidents)",
                            "stored incidents are not the set"),
        "published-set": (f"UPDATE meta SET value = '[]' WHERE key = '{PUBLISHED_KEY}'",
                          "not in the published set"),
        "observation-time": ("UPDATE observations SET time = '2030-01-01T00:00:00.000000Z' "
                             "WHERE seq = 3", "column time"),
    }[edit]
    path = tmp_path / "t.db"
    shutil.copy(base, path)
    with sqlite3.connect(path) as db:
        assert db.execute(sql).rowcount >= 1
    res = CliRunner().invoke(cli, ["record", "verify", "--db", str(path)])
    assert res.exit_code == 3, res.output
    assert words in res.stderr, res.stderr


def test_a_mirror_rebuilt_from_the_tiles_verifies(base: Path, tmp_path: Path) -> None:
    """Disputes, publications and the incident set are rebuilt from the log alone (the
    incidents fused again from the observations the incident entry names)."""
    store = SQLiteStore(base)
    files = verify.export_tiles(store)
    vkey = record.log_verifier(store).to_vkey()
    every = store.openings()  # a database is rebuilt from every opening (an analyst's bundle)
    res = verify.replay(files.__getitem__, vkey, every)
    assert res.identical and not res.sealed, res.differences
    mirror = SQLiteStore(tmp_path / "mirror.db", create=True)
    verify.rebuild(mirror, res.entries, files["checkpoint"], vkey, res.documents, every)
    rep = verify.verify_record(mirror)
    assert rep.ok, rep.problems
    assert mirror.openings() == every and mirror.tree_root() == store.tree_root()
    for t in ("incidents", "disputes", "findings"):
        assert sorted(map(str, mirror.table_rows(t))) == sorted(map(str, store.table_rows(t)))
    assert mirror.get_meta(PUBLISHED_KEY) == store.get_meta(PUBLISHED_KEY)
    store.close()
    mirror.close()


#: One edit per served table, on PostgreSQL (its own column types and generated geometry).
PG_EDITS: dict[str, str] = {
    "observation-lon": "UPDATE observations SET lon = lon + 0.01 WHERE seq = 2",
    "observation-source": "UPDATE observations SET source_id = 'other' WHERE seq = 5",
    "finding-delete": "DELETE FROM findings WHERE id = (SELECT min(id) FROM findings)",
    "incident-time": "UPDATE incidents SET time = '2000-01-01T00:00:00Z' "
                     "WHERE id = (SELECT min(id) FROM incidents)",
    "dispute-delete": "DELETE FROM disputes WHERE id = 'd-2'",
    "dispute-insert": "INSERT INTO disputes SELECT 'd-9', finding_id, party, record "
                      "FROM disputes WHERE id = 'd-1'",
    "key-owner": "UPDATE keys SET owner = 'RU' WHERE owner = 'UA'",
    "published": f"UPDATE meta SET value = '[\"f-x\"]' WHERE key = '{PUBLISHED_KEY}'",
    "api-key-role": "UPDATE api_keys SET role = 'analyst' WHERE name = 'ua-1'",
    "api-key-insert": "INSERT INTO api_keys(token_hash, name, role, party) "
                      "VALUES ('ff', 'forged', 'analyst', NULL)",
    "endpoint-url": "UPDATE endpoints SET url = 'https://evil.example/' WHERE recipient = 'UK'",
    "delivery-attempts": "UPDATE deliveries SET attempts = attempts + 5 WHERE recipient = 'FR'",
    "delivery-delete": "DELETE FROM deliveries WHERE recipient = 'UK'",
    "pseudonym-secret": f"UPDATE meta SET value = '{'00' * 32}' "
                        f"WHERE key = '{access.PSEUDONYM_KEY}'",
}


class _Undo(Exception):
    """Raised to roll an edit back once it has been verified."""


@pytest.mark.postgres
def test_a_representative_subset_on_postgresql(pg_url: str) -> None:
    """Each edit runs in the store's own write transaction, is verified there (the same
    connection sees it) and is rolled back, so one built store serves every case."""
    import psycopg

    store = open_store(pg_url, create=True)
    build(store)
    assert verify.verify_record(store).ok
    tx, execute = store._tx, store._execute  # type: ignore[attr-defined]
    for name, sql in PG_EDITS.items():
        with pytest.raises(_Undo), tx():
            assert execute(sql).rowcount >= 1, name
            rep = verify.verify_record(store)
            assert not rep.ok, name
            raise _Undo
    with psycopg.connect(pg_url, autocommit=True) as conn, pytest.raises(psycopg.Error):
        conn.execute("UPDATE observations SET geom = NULL")  # generated from lon, lat
    assert verify.verify_record(store).ok  # every edit was rolled back
    store.close()
