"""Any tampering with a stored record is found by verify_record and named by its entry.

Each example copies a real SQLite log (~317 entries, 4 checkpoints), edits the file with
sqlite3 directly, as someone with access to the disk would, and verifies it.
"""

from __future__ import annotations

import sqlite3
import tempfile
from hashlib import sha256
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.record import merkle
from truceline.core.record.note import Checkpoint, Signer
from truceline.services.verify import RecordReport, verify_record

from .conftest import LOG_KEY, copy_db

SIZE = 317  # the sample, its incident set and findings, then 3 x 90 observations
CHECKPOINTS = [47, 137, 227, 317]
PROPS = settings(max_examples=20, deadline=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture])


def _tampered(base: Path, sql: list[tuple[str, tuple[object, ...]]]) -> RecordReport:
    with tempfile.TemporaryDirectory() as d:
        path = copy_db(base, Path(d) / "t.db")
        with sqlite3.connect(path) as c:
            for q, args in sql:
                c.execute(q, args)
        store = SQLiteStore(path)
        try:
            return verify_record(store)
        finally:
            store.close()


def _row(base: Path, idx: int) -> tuple[bytes, bytes]:
    with sqlite3.connect(base) as c:
        data, leaf = c.execute("SELECT data, leaf_hash FROM entries WHERE idx = ?",
                               (idx,)).fetchone()
    return bytes(data), bytes(leaf)


def _flip(b: bytes, pos: int, x: int) -> bytes:
    pos %= len(b)
    return b[:pos] + bytes([b[pos] ^ x]) + b[pos + 1 :]


def test_untouched_log_verifies(base_log: Path) -> None:
    rep = _tampered(base_log, [])
    assert rep.ok, rep.problems
    assert (rep.size, rep.checkpoints) == (SIZE, 4)


@PROPS
@given(i=st.integers(0, SIZE - 1), pos=st.integers(0, 10**6), x=st.integers(1, 255),
       column=st.sampled_from(["data", "leaf_hash"]))
def test_any_changed_byte_is_found(base_log: Path, i: int, pos: int, x: int,
                                   column: str) -> None:
    data, leaf = _row(base_log, i)
    new = _flip(data if column == "data" else leaf, pos, x)
    rep = _tampered(base_log, [(f"UPDATE entries SET {column} = ? WHERE idx = ?", (new, i))])
    assert not rep.ok and rep.first is not None
    assert rep.first.index == i, rep.problems


@PROPS
@given(data=st.data())
def test_any_changed_tree_node_is_found(base_log: Path, data: st.DataObject) -> None:
    level = data.draw(st.integers(0, 8))
    idx = data.draw(st.integers(0, (SIZE >> level) - 1))
    pos, x = data.draw(st.integers(0, 31)), data.draw(st.integers(1, 255))
    with sqlite3.connect(base_log) as c:
        (h,) = c.execute("SELECT hash FROM nodes WHERE level = ? AND idx = ?",
                         (level, idx)).fetchone()
    rep = _tampered(base_log, [("UPDATE nodes SET hash = ? WHERE level = ? AND idx = ?",
                                (_flip(bytes(h), pos, x), level, idx))])
    assert rep.first is not None and rep.first.index == idx << level, rep.problems


@PROPS
@given(i=st.integers(0, SIZE - 1))
def test_any_deleted_row_is_found(base_log: Path, i: int) -> None:
    rep = _tampered(base_log, [("DELETE FROM entries WHERE idx = ?", (i,))])
    assert rep.first is not None and rep.first.index == i, rep.problems
    assert rep.first.kind == "missing"


@PROPS
@given(k=st.integers(0, SIZE), src=st.integers(0, SIZE - 1))
def test_any_insertion_is_found(base_log: Path, k: int, src: int) -> None:
    """A row slipped in at ``k`` (later rows renumbered), with a consistent leaf hash."""
    data, _ = _row(base_log, src)
    rep = _tampered(base_log, [
        ("UPDATE entries SET idx = idx + 1000000 WHERE idx >= ?", (k,)),
        ("UPDATE entries SET idx = idx - 999999 WHERE idx >= 1000000", ()),
        ("INSERT INTO entries(idx, type, data, leaf_hash) SELECT ?, type, data, ? "
         "FROM entries WHERE idx = ?", (k, merkle.leaf_hash(data), src + (src >= k))),
    ])
    with sqlite3.connect(base_log) as c:
        old = [bytes(r[0]) for r in c.execute("SELECT data FROM entries ORDER BY idx")]
    new = [*old[:k], data, *old[k:]]
    first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), SIZE)
    assert first in (k, k + 1)  # a copy of entry k inserted at k first differs at k + 1
    assert rep.first is not None and rep.first.index == first, rep.problems


@PROPS
@given(pair=st.lists(st.integers(0, SIZE - 1), min_size=2, max_size=2, unique=True),
       with_leaf=st.booleans())
def test_any_reordering_is_found(base_log: Path, pair: list[int], with_leaf: bool) -> None:
    i, j = sorted(pair)
    (di, li), (dj, lj) = _row(base_log, i), _row(base_log, j)
    sets = "data = ?, leaf_hash = ?" if with_leaf else "data = ?"
    a, b = ((dj, lj), (di, li)) if with_leaf else ((dj,), (di,))
    rep = _tampered(base_log, [(f"UPDATE entries SET {sets} WHERE idx = ?", (*a, i)),
                               (f"UPDATE entries SET {sets} WHERE idx = ?", (*b, j))])
    assert rep.first is not None and rep.first.index == i, rep.problems
    if not with_leaf:
        assert ("reordered", i) in [(p.kind, p.index) for p in rep.problems]


def _rewrite(base: Path, k: int) -> list[tuple[str, tuple[object, ...]]]:
    """A consistent rewrite of history from entry ``k``: new bytes, leaf hashes and every
    tree node recomputed, so only the signed checkpoints still remember the old tree."""
    with sqlite3.connect(base) as c:
        rows = [bytes(r[0]) for r in c.execute("SELECT data FROM entries ORDER BY idx")]
    rows[k] = rows[k].replace(b'"source_id":"', b'"source_id":"X', 1)
    if rows[k] == _row(base, k)[0]:
        rows[k] = rows[k][:-1] + b" "  # not an observation: any different bytes will do
    levels = merkle.HashLevels.from_leaf_hashes([merkle.leaf_hash(d) for d in rows])
    sql: list[tuple[str, tuple[object, ...]]] = [
        ("UPDATE entries SET data = ?, leaf_hash = ? WHERE idx = ?",
         (rows[k], merkle.leaf_hash(rows[k]), k))]
    for level, arr in enumerate(levels.levels):
        for idx in range(len(arr)):
            sql.append(("UPDATE nodes SET hash = ? WHERE level = ? AND idx = ?",
                        (arr[idx].tobytes(), level, idx)))
    return sql


@settings(max_examples=6, deadline=None)
@given(k=st.integers(0, SIZE - 1))
def test_rewritten_history_is_a_fork_against_the_checkpoints(base_log: Path, k: int) -> None:
    rep = _tampered(base_log, _rewrite(base_log, k))
    forks = [p for p in rep.problems if p.kind == "fork"]
    assert forks, rep.problems
    good = max([0] + [s for s in CHECKPOINTS if s <= k])
    assert rep.first is not None and rep.first.index == good
    assert f"[{good}, " in forks[0].message


def test_a_forked_checkpoint_signed_by_the_log_key_is_found(base_log: Path) -> None:
    """A checkpoint the log's own key signed over another tree (a split view) is a fork."""
    signer = LOG_KEY
    size, before = CHECKPOINTS[2], CHECKPOINTS[1]
    forged = Checkpoint(signer.name, size, sha256(b"another history").digest()).sign([signer])
    rep = _tampered(base_log, [("UPDATE checkpoints SET note = ? WHERE size = ?",
                                (forged, size))])
    assert [p.kind for p in rep.problems] == ["fork"]
    assert rep.first is not None and rep.first.index == before
    assert str(size) in rep.first.message


def test_a_checkpoint_not_signed_by_the_log_is_found(base_log: Path) -> None:
    other = Signer("truceline.test/log", b"\x01" * 32)
    forged = Checkpoint(other.name, CHECKPOINTS[1], b"\x00" * 32).sign([other])
    rep = _tampered(base_log, [("UPDATE checkpoints SET note = ? WHERE size = ?",
                                (forged, CHECKPOINTS[1]))])
    assert [p.kind for p in rep.problems] == ["bad_signature"]


def test_rows_and_entries_cross_check(base_log: Path) -> None:
    """A deleted or edited observation row, or a finding row without entry, is reported."""
    with sqlite3.connect(base_log) as c:
        oid = c.execute("SELECT id FROM observations ORDER BY seq LIMIT 1 OFFSET 5").fetchone()[0]
    rep = _tampered(base_log, [("DELETE FROM observations WHERE id = ?", (oid,))])
    assert [(p.kind, p.index) for p in rep.problems] == [("missing", 6)]
    rep = _tampered(base_log, [
        ("UPDATE observations SET record = replace(record, '\"count\":', '\"count\":1') "
         "WHERE id = ?", (oid,))])
    assert [(p.kind, p.index) for p in rep.problems] == [("changed", 6)]
    rep = _tampered(base_log, [("UPDATE findings SET record = replace(record, "
                                "'\"violation\"', '\"compliant\"')", ())])
    assert rep.problems and {p.kind for p in rep.problems} == {"changed"}
