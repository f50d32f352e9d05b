"""The compiled geometry kept in the store (issue 21): the report made from it is the report
made by compiling, byte for byte, and a value the reader should not trust is compiled again.

Each test works on its own copy of the checked sample store (a real SQLite file). The
process's own cache of compiled agreements is emptied first, so each report really reads
the store (or compiles)."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from truceline.adapters.render.report import write_report
from truceline.adapters.store import open_store
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.agreement_geometry import geometry_spec
from truceline.core.classify import classify, compile_geometry
from truceline.services import context, geometry_cache, verify
from truceline.services.check import run_check
from truceline.services.report import daily_report

DAY = "2025-03-24"


@pytest.fixture()
def store(sample_db: Path, tmp_path: Path) -> Iterator[SQLiteStore]:
    path = tmp_path / "copy.db"
    shutil.copy(sample_db, path)
    context._CACHE.clear()
    s = open_store(str(path))
    assert isinstance(s, SQLiteStore)
    yield s
    s.close()
    context._CACHE.clear()


def _report_bytes(store: SQLiteStore, out: Path) -> tuple[bytes, bytes]:
    context._CACHE.clear()  # a new process: only the store remembers
    write_report(daily_report(store, DAY), out / "day.md")
    return (out / "day.md").read_bytes(), (out / "day.png").read_bytes()


def _doc_key(store: SQLiteStore) -> tuple[str, str]:
    sha = context.doc_sha256(store.agreement_doc())
    return sha, geometry_cache.cache_key(sha)


def test_a_check_keeps_the_geometry_it_compiled_for_the_first_report(
    store: SQLiteStore, tmp_path: Path
) -> None:
    """A check (in a new process: nothing compiled yet) keeps what compiling the agreement
    gives, under the key a report reads, so the first report after it reads it (and writes
    nothing)."""
    _, key = _doc_key(store)
    right = geometry_cache.dump(context.compile_agreement(context.load_context(store).agreement))
    store._execute("DELETE FROM derived_cache")
    context._CACHE.clear()
    run_check(store)
    rows = store.derived_rows()
    assert rows == [(key, hashlib.sha256(right).hexdigest(), right)]
    context._CACHE.clear()
    write_report(daily_report(store, DAY), tmp_path / "day.md")
    assert store.derived_rows() == rows


def test_a_geometry_read_from_a_store_is_never_kept_by_a_check(store: SQLiteStore) -> None:
    """A process that read a store's kept value (here one that is not the agreement's, its
    digest recomputed) never writes it into a store as what it compiled."""
    _, key = _doc_key(store)
    wrong = _other_geometry(store)
    right = geometry_cache.dump(context.compile_agreement(context.load_context(store).agreement))
    store.set_derived(key, hashlib.sha256(wrong).hexdigest(), wrong)
    context._CACHE.clear()
    read = context.load_context(store, keep=True)  # a report's read: the wrong value
    assert read.geometry is not None and geometry_cache.dump(read.geometry) != right
    store._execute("DELETE FROM derived_cache")
    ctx = context.load_context(store)  # a check's, in this process
    context.keep_compiled(store, ctx, context.pack_compiled(ctx))
    assert store.derived_rows() == []


def test_a_geometry_used_is_never_kept_by_a_check(store: SQLiteStore) -> None:
    """A compiled geometry that has been used holds what its use built lazily, so its pickle
    is not a fresh compile's (which ``record verify`` compares a kept one with): a process
    keeps only one it compiled and handed out once, unused (a check's, just compiled)."""
    store._execute("DELETE FROM derived_cache")
    context._CACHE.clear()
    used = context.load_context(store)
    assert used.geometry is not None
    n = 2_000
    rng = np.random.default_rng(32)
    t = np.full(n, np.datetime64("2025-03-24", "ns"))
    classify(used.geometry, rng.uniform(32.0, 41.0, n), rng.uniform(45.0, 51.0, n), t)
    again = context.load_context(store)  # handed out before: used
    context.keep_compiled(store, again, context.pack_compiled(again))
    assert store.derived_rows() == []
    context._CACHE.clear()
    ctx = context.load_context(store)  # just compiled: kept
    context.keep_compiled(store, ctx, context.pack_compiled(ctx))
    assert [k for k, _, _ in store.derived_rows()] == [_doc_key(store)[1]]
    assert verify.verify_record(store).ok


def test_a_geometry_packed_before_its_use_is_kept_as_compiled_after_it(
    store: SQLiteStore,
) -> None:
    """A check packs what it compiled before using it and keeps it at its end, past its
    peak: what is kept is the fresh compile's pickle, though the geometry has been used
    since (its pickle then differs), and ``record verify`` finds it sound."""
    store._execute("DELETE FROM derived_cache")
    context._CACHE.clear()
    ctx = context.load_context(store)
    right = geometry_cache.dump(context.compile_agreement(ctx.agreement))
    packed = context.pack_compiled(ctx)
    assert packed is not None and len(packed.data) < len(right) / 4
    assert context.pack_compiled(ctx) is None  # packed once
    assert ctx.geometry is not None
    n = 2_000
    rng = np.random.default_rng(33)
    t = np.full(n, np.datetime64("2025-03-24", "ns"))
    classify(ctx.geometry, rng.uniform(32.0, 41.0, n), rng.uniform(45.0, 51.0, n), t)
    assert geometry_cache.dump(ctx.geometry) != right  # used: not what compiling gives
    context.keep_compiled(store, ctx, packed)
    assert store.derived_rows() == [(_doc_key(store)[1], hashlib.sha256(right).hexdigest(),
                                     right)]
    assert verify.verify_record(store).ok


def test_the_report_from_the_kept_geometry_is_the_compiled_report(
    store: SQLiteStore, tmp_path: Path
) -> None:
    store._execute("DELETE FROM derived_cache")  # a store no check of this code kept it in
    assert store.derived_rows() == []
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    compiled = _report_bytes(store, tmp_path / "a")  # compiles, keeps it
    rows = store.derived_rows()
    assert [k for k, _, _ in rows] == [_doc_key(store)[1]]
    kept = _report_bytes(store, tmp_path / "b")  # reads it back
    assert kept == compiled
    assert store.derived_rows() == rows  # read, not written again
    assert verify.verify_record(store).ok


def test_the_kept_geometry_classifies_as_the_compiled_one(store: SQLiteStore) -> None:
    fresh = context.compile_agreement(context.load_context(store).agreement)
    context._CACHE.clear()
    context.load_context(store, keep=True)
    context._CACHE.clear()
    kept = context.load_context(store, keep=True).geometry
    assert fresh is not None and kept is not None and kept is not fresh
    rng = np.random.default_rng(21)
    n = 50_000  # the area of interest and well beyond it, every side of the line
    lon, lat = rng.uniform(32.0, 41.0, n), rng.uniform(45.0, 51.0, n)
    t = np.full(n, np.datetime64("2025-03-24", "ns"))
    a, b = classify(fresh, lon, lat, t), classify(kept, lon, lat, t)
    for name, x in vars(a).items():
        y = vars(b)[name]
        if isinstance(x, dict):
            assert x.keys() == y.keys(), name
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], err_msg=f"{name}[{k}]")
        else:
            np.testing.assert_array_equal(x, y, err_msg=name)


def _other_geometry(store: SQLiteStore) -> bytes:
    """A compiled geometry of the same agreement that is not the one it compiles to."""
    ag = context.load_context(store).agreement
    return geometry_cache.dump(
        compile_geometry(geometry_spec(ag), ag.thresholds_km(), cell_m=5_000.0)
    )


def test_a_value_under_another_code_or_agreement_is_never_read(store: SQLiteStore) -> None:
    sha, key = _doc_key(store)
    wrong = _other_geometry(store)
    right = geometry_cache.dump(context.compile_agreement(context.load_context(store).agreement))
    for stale in (f"geometry:{sha}:{'0' * 64}", f"geometry:{'0' * 64}:{key.rsplit(':', 1)[1]}"):
        store.set_derived(stale, hashlib.sha256(wrong).hexdigest(), wrong)
        context._CACHE.clear()
        got = context.load_context(store, keep=True).geometry
        assert got is not None and geometry_cache.dump(got) == right
        assert [k for k, _, _ in store.derived_rows()] == [key]  # replaced by the right one


def test_a_value_that_fails_its_digest_is_compiled_again(store: SQLiteStore) -> None:
    _, key = _doc_key(store)
    wrong = _other_geometry(store)
    right = geometry_cache.dump(context.compile_agreement(context.load_context(store).agreement))
    store.set_derived(key, hashlib.sha256(right).hexdigest(), wrong)
    context._CACHE.clear()
    got = context.load_context(store, keep=True).geometry
    assert got is not None and geometry_cache.dump(got) == right
    assert store.derived(key) == (hashlib.sha256(right).hexdigest(), right)


class _Runs:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


def test_a_value_naming_anything_else_is_not_run(store: SQLiteStore, tmp_path: Path) -> None:
    _, key = _doc_key(store)
    marker = tmp_path / "ran"
    bad = pickle.dumps(_Runs(marker), protocol=5)
    store.set_derived(key, hashlib.sha256(bad).hexdigest(), bad)
    assert geometry_cache.load(bad, hashlib.sha256(bad).hexdigest()) is None
    context._CACHE.clear()
    got = context.load_context(store, keep=True).geometry
    assert got is not None and not marker.exists()


def test_record_verify_reports_a_kept_geometry_that_is_not_the_agreements(
    store: SQLiteStore,
) -> None:
    _, key = _doc_key(store)
    wrong = _other_geometry(store)
    store.set_derived(key, hashlib.sha256(wrong).hexdigest(), wrong)
    rep = verify.verify_record(store)
    assert [p.kind for p in rep.problems] == ["changed"]
    assert "derived_cache" in str(rep.problems[0])
