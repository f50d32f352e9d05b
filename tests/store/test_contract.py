"""The Store contract, once, against every store: SQLite and PostgreSQL + PostGIS.

The PostgreSQL-only tests at the end cover what only a shared server has: many processes
appending to the record at once, the PostGIS columns and indexes, and the CLI end to end giving
the same findings (and the same record) as SQLite.
"""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import truceline.adapters.cli.commands  # noqa: F401  (registers the commands)
from truceline.adapters.cli.main import cli
from truceline.adapters.store import open_store
from truceline.core.findings import Finding, Verdict
from truceline.core.incidents import singleton
from truceline.core.observations import Observation
from truceline.core.record.canonical import entry_bytes
from truceline.core.record.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from truceline.errors import ConflictError, NotFoundError, StoreError
from truceline.services import access
from truceline.services.ingest import ingest
from truceline.services.openings import full_entries
from truceline.services.ports import Store

from .conftest import Backend, PgServer, with_database

T0 = "2025-03-28T21:05:00+02:00"


def obs(oid: str, time: str = T0, lon: float | None = 37.75, lat: float | None = 48.28,
        **kw: Any) -> Observation:
    rec: dict[str, Any] = {"id": oid, "kind": "fire", "time": time, "source_id": "p1",
                           "fire_type": "explosion", "explosion_type": "impact", **kw}
    if lon is not None:
        rec.update(lon=lon, lat=lat)
    return Observation.model_validate(rec)


def items(*observations: Observation) -> list[tuple[Observation, bytes]]:
    return [(o, entry_bytes("observation", o.to_record())) for o in observations]


def finding(fid: str, provision: str = "P1", lon: float | None = 37.8,
            lat: float | None = 48.1) -> Finding:
    return Finding(fid, provision, "no_fire", Verdict.VIOLATION, "RU", (fid + "-ev",),
                   "why", time="2025-03-28T19:05:00Z", lon=lon, lat=lat, distance_m=1.5)


def record_is_whole(store: Store) -> int:
    """The record's entries are 0..n-1 and the stored tree's root is the entries' root."""
    entries = list(store.entries())
    assert [e.index for e in entries] == list(range(len(entries)))
    assert all(e.leaf_hash == leaf_hash(e.data) for e in entries)
    assert store.entry_count() == len(entries)
    assert store.tree_root() == (len(entries), root_of([e.leaf_hash for e in entries]))
    return len(entries)


# -- the contract ---------------------------------------------------------------------------------

def test_opening_without_a_schema_says_run_init(backend: Backend,
                                                opened: Callable[..., Store]) -> None:
    with pytest.raises(StoreError) as err:
        opened(create=False)
    assert err.value.field == "db"
    assert "truceline init --db" in err.value.message and "--agreement FILE" in err.value.message
    opened(create=True)
    assert opened(create=False).entry_count() == 0  # created once, then opens as it is


def test_agreement_versions(store: Store) -> None:
    with pytest.raises(StoreError, match="truceline init"):
        store.agreement_doc()
    doc = {"id": "a", "title": "ü", "n": 1}
    assert store.initialize(doc, entry_bytes("agreement_version", doc)) == 1
    assert store.initialize(doc, entry_bytes("agreement_version", doc)) == 1  # unchanged: no-op
    doc2 = {**doc, "n": 2}
    assert store.initialize(doc2, entry_bytes("agreement_version", doc2)) == 2
    assert store.agreement_doc() == doc2 and store.agreement_doc(1) == doc
    assert [e.type for e in store.entries()] == ["agreement_version"] * 2


def test_add_observations_idempotent_and_conflicts_change_nothing(store: Store) -> None:
    a, b, c = obs("a"), obs("b", lon=None), obs("c", count=3)
    res = store.add_observations(items(a, b, c, a))  # a repeated within the batch
    assert (res.added, res.duplicates, res.conflicts) == (["a", "b", "c"], ["a"], [])
    res = store.add_observations(items(obs("d"), a, obs("b", lon=None, count=9)))
    assert (res.added, res.duplicates, res.conflicts) == (["d"], ["a"], ["b"])
    assert store.observation("b") == b  # the stored one, unchanged
    assert store.observation("c") == c
    assert store.count_observations() == 4
    assert [e.type for e in store.entries()] == ["observation"] * 4
    assert store.add_observations([]).added == []
    bulk = [obs(f"bulk{i:02}", lon=None if i % 10 == 0 else 37 + i / 100)  # the bulk path
            for i in range(40)]
    assert store.add_observations(items(*bulk, a)).added == [o.id for o in bulk]
    assert store.observation("bulk39") == bulk[-1] and store.count_observations() == 44
    # stored after the first n (what a check that read n has not read)
    assert [store.count_observations(after=n) for n in (0, 4, 43, 44, 50)] == [44, 40, 1, 0, 0]
    with pytest.raises(NotFoundError):
        store.observation("zz")
    record_is_whole(store)


def test_observation_filters_order_and_paging(store: Store) -> None:
    from datetime import datetime

    # ids whose order differs between bytewise and locale-aware collation
    same_time = ["a-2", "A_1", "a1", "B", "b", "Ä", "a 3"]
    rows = [obs(i) for i in same_time]
    rows += [obs("early", time="2025-03-28T08:00:00Z", source_id="p2"),
             obs("late", time="2025-03-29T08:00:00+00:00"),
             Observation.model_validate({"id": "r1", "kind": "restriction", "time": T0,
                                         "source_id": "p2", "restriction_type": "checkpoint"})]
    store.add_observations(items(*reversed(rows)))
    assert store.observations() == sorted(rows, key=lambda o: (o.time, o.id))
    got = [o.id for o in store.observations()]
    assert got == ["early", *sorted([*same_time, "r1"]), "late"]  # bytewise, like Python's
    assert [o.id for o in store.observations(kinds=["restriction"])] == ["r1"]
    assert [o.id for o in store.observations(source_id="p2")] == ["early", "r1"]
    start, end = datetime.fromisoformat("2025-03-28T19:05:00Z"), datetime.fromisoformat(
        "2025-03-29T08:00:00Z")
    assert [o.id for o in store.observations(start=start, end=end)] == got[1:-1]
    assert [o.id for o in store.observations(start=end)] == ["late"]
    assert [o.id for o in store.observations(limit=3, offset=2)] == got[2:5]
    assert [o.id for o in store.observations(kinds=["fire", "restriction"], limit=2)] == got[:2]
    # pages of any size, one after another, are the whole store in the same order (the
    # same-time ids included: a page may end inside a run of one time)
    for size in (1, 2, 3, 20):
        assert [o.id for page in store.observation_pages(size) for o in page] == got
    # ``upto``: the first n stored (the log's order: the rows were added reversed), in time
    # order, whatever comes after them
    stored_first = [o.id for o in reversed(rows)]
    for n in (0, 1, 4, len(rows)):
        want = [i for i in got if i in stored_first[:n]]
        for size in (1, 3, 20):
            assert [o.id for page in store.observation_pages(size, upto=n)
                    for o in page] == want


def test_time_filters_are_instants(store: Store) -> None:
    from datetime import datetime

    store.add_observations(items(obs("half", time="2025-03-28T08:00:00.5Z"),
                                 obs("whole", time="2025-03-28T08:00:00Z")))
    assert [o.id for o in store.observations()] == ["whole", "half"]
    start = datetime.fromisoformat("2025-03-28T10:00:00+02:00")  # 08:00Z
    assert [o.id for o in store.observations(start=start)] == ["whole", "half"]


def test_incidents_are_replaced(store: Store) -> None:
    incs = [singleton(obs("x", explosion_type="outgoing")), singleton(obs("y", lon=None)),
            singleton(obs("w", time="2025-03-28T18:00:00Z"))]
    store.replace_incidents(incs)
    assert store.incident_records() == [i.to_record() for i in (incs[2], incs[0], incs[1])]
    store.replace_incidents(incs[:1])
    assert store.incident_records() == [incs[0].to_record()]
    store.replace_incidents([])
    assert store.incident_records() == []
    store.add_incidents(incs[:2])
    store.add_incidents(incs[2:])
    assert store.incident_records() == [i.to_record() for i in (incs[2], incs[0], incs[1])]


def test_findings_are_replaced_and_recorded(store: Store) -> None:
    fs = [finding("f2", "P2"), finding("f1", "P2"), finding("f3", "P1", lon=None, lat=None)]
    store.replace_findings(fs, [("finding", entry_bytes("finding", f.to_record())) for f in fs])
    assert store.findings() == [fs[2], fs[1], fs[0]]
    store.replace_findings(fs[:1], [])
    assert store.findings() == fs[:1]
    assert [e.type for e in store.entries()] == ["finding"] * 3
    # a check's writes in parts: put in place of the same ids, add, drop
    changed = finding("f2", "P1")
    store.put_findings([changed, fs[2]], [("finding", entry_bytes("finding", changed.to_record()))])
    assert store.findings() == [changed, fs[2]]
    assert store.finding_ids() == {"f2", "f3"}
    assert set(store.finding_texts(["f3", "nope"])) == {"f3"}
    store.drop_findings(["f3", "nope"])
    assert store.findings() == [changed]
    assert [e.type for e in store.entries()] == ["finding"] * 4


def test_record_tree_roots_and_proofs(store: Store) -> None:
    roots: dict[int, bytes] = {}
    data: list[bytes] = []
    for size in (1, 1, 2, 3, 1, 5, 8, 1, 13, 7, 100):  # 100: the bulk (COPY) path
        batch = [f"entry {len(data) + k}".encode() for k in range(size)]
        first = len(data)
        assert store.append_entries([("test", d) for d in batch]) == list(
            range(first, first + size))
        data += batch
        n, root = store.tree_root()
        assert (n, root) == (len(data), root_of([leaf_hash(d) for d in data]))
        roots[n] = root
    assert record_is_whole(store) == len(data)
    assert [e.data for e in store.entries(3, 9)] == data[3:9]
    assert [e.index for e in store.entries(40)] == list(range(40, len(data)))
    for size, root in roots.items():
        for i in {*range(0, size, max(1, size // 20)), size - 1}:
            proof = inclusion_proof(i, size, store.get_node)
            verify_inclusion(leaf_hash(data[i]), i, size, proof, root)
        for size2, root2 in roots.items():
            if size <= size2:
                verify_consistency(size, size2, consistency_proof(size, size2, store.get_node),
                                   root, root2)
    with pytest.raises(NotFoundError):
        store.get_node(10, 0)
    assert store.append_entries([]) == []


def test_checkpoints_and_cosignatures(store: Store) -> None:
    store.add_checkpoint(5, b"note 5")
    store.add_checkpoint(2, b"note \x00\xff 2")
    store.add_checkpoint(5, b"another note")  # a size is checkpointed once
    assert [(c.size, c.note) for c in store.checkpoints()] == [(2, b"note \x00\xff 2"),
                                                               (5, b"note 5")]
    with pytest.raises(NotFoundError):
        store.add_cosignature(3, "w", "sig")
    store.add_cosignature(5, "witness-b", "s1")
    store.add_cosignature(5, "witness-a", "s2")
    store.add_cosignature(5, "witness-b", "s3")  # a witness's newer cosignature replaces it
    assert store.cosignatures(5) == [("witness-a", "s2"), ("witness-b", "s3")]
    assert store.cosignatures(2) == []


def test_keys_register_and_revoke(store: Store) -> None:
    pk = bytes(range(32))
    assert store.register_key("k1", "UA", "party", pk, b"reg k1")
    assert not store.register_key("k1", "RU", "party", b"x" * 32, b"again")
    assert store.register_key("k2", "RU", "party", b"\x00" * 32, b"reg k2")
    assert store.keys("UA") == [{"key_id": "k1", "owner": "UA", "role": "party",
                                 "public_key": pk, "revoked": False}]
    store.revoke_key("k2", b"revoke k2")
    listed = store.keys()
    assert [(k["key_id"], k["revoked"]) for k in listed] == [("k1", False), ("k2", True)]
    with pytest.raises(NotFoundError):
        store.revoke_key("nope", b"x")
    assert [e.type for e in store.entries()] == ["key_registration"] * 2 + ["status_change"]


def test_disputes(store: Store, backend: Backend, request: pytest.FixtureRequest) -> None:
    store.add_dispute("d2", "f1", "RU", {"reason": "not us", "n": 2}, b"dispute d2")
    store.add_dispute("d1", "f2", "UA", {"reason": "ours"}, b"dispute d1")
    assert store.disputes() == [{"reason": "ours"}, {"reason": "not us", "n": 2}]
    assert store.disputes("RU") == [{"reason": "not us", "n": 2}]
    with pytest.raises(ConflictError) as err:
        store.add_dispute("d1", "f3", "UA", {"reason": "again"}, b"dispute d1 again")
    assert err.value.field == "id"
    assert store.entry_count() == 2  # the failed transaction appended nothing
    assert store.disputes("UA") == [{"reason": "ours"}]


def test_api_keys(store: Store) -> None:
    """Each registration and revocation is an ``api_key`` entry in its row's transaction."""
    access.register_api_key(store, "h1", "alice", "analyst", None)
    access.register_api_key(store, "h2", "ru-liaison", "party", "RU")
    assert store.api_key("h2") == {"name": "ru-liaison", "role": "party", "party": "RU",
                                   "revoked": False}
    assert store.api_key("nope") is None
    with pytest.raises(ConflictError):
        access.register_api_key(store, "h3", "alice", "analyst", None)
    assert store.api_key("h3") is None and store.entry_count() == 2  # nothing written
    assert access.revoke_api_keys(store, "alice") == 1
    assert access.revoke_api_keys(store, "nobody") == 0
    assert store.api_key("h1") == {"name": "alice", "role": "analyst", "party": None,
                                   "revoked": True}
    assert [e.type for e in store.entries()] == ["api_key"] * 3


def test_meta(store: Store) -> None:
    assert store.get_meta("k") is None
    store.set_meta("k", "v1")
    store.set_meta("k", "v2")
    assert store.get_meta("k") == "v2"


def test_derived_cache_keeps_one_value(store: Store) -> None:
    assert store.derived("k1") is None and store.derived_rows() == []
    data = bytes(range(256)) * 3  # every byte value survives the round trip
    store.set_derived("k1", "d1", data)
    assert store.derived("k1") == ("d1", data)
    store.set_derived("k2", "d2", b"\x00new")
    assert store.derived("k1") is None  # a new key replaces what was kept
    assert store.derived_rows() == [("k2", "d2", b"\x00new")]
    assert [e.type for e in store.entries()] == []  # nothing of it in the record


def test_reopened_store_has_everything(store: Store, opened: Callable[..., Store]) -> None:
    doc = {"id": "a"}
    store.initialize(doc, entry_bytes("agreement_version", doc))
    store.add_observations(items(obs("a"), obs("b")))
    store.close()
    again = opened(create=False)
    assert again.agreement_doc() == doc
    assert [o.id for o in again.observations()] == ["a", "b"]
    assert record_is_whole(again) == 3


def test_threads_share_one_store(store: Store) -> None:
    def work(t: int) -> None:
        for i in range(25):
            store.append_entries([("test", f"t{t} b{i} k{k}".encode()) for k in range(1 + i % 3)])
            store.tree_root()

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert record_is_whole(store) == 4 * sum(1 + i % 3 for i in range(25))


# -- PostgreSQL only ------------------------------------------------------------------------------

BATCHES = 200


def _append_worker(url: str, worker: int, barrier: Any, out: Any) -> None:
    """One process appending BATCHES batches (1-3 entries each) as fast as it can."""
    store = open_store(url)
    barrier.wait()
    got = [store.append_entries([("test", f"w{worker} b{i} k{k}".encode())
                                 for k in range(1 + (i + worker) % 3)]) for i in range(BATCHES)]
    store.close()
    out.put((worker, got))


def _concurrent_url(backend_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend_name == "sqlite":
        return str(tmp_path / "concurrent.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.mark.parametrize("backend_name", ["sqlite", pytest.param("postgres",
                                                                  marks=pytest.mark.postgres)])
def test_concurrent_processes_keep_the_record_ordered(
    backend_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Four writer processes at once: SQLite's BEGIN IMMEDIATE (with its retry on 'database is
    locked') and PostgreSQL's advisory lock both keep the record whole and ordered."""
    pg_url = _concurrent_url(backend_name, tmp_path, request)
    open_store(pg_url, create=True).close()
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=_append_worker, args=(pg_url, w, barrier, out)) for w in range(4)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=300) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    store = open_store(pg_url)
    n = record_is_whole(store)
    assert n == sum(1 + (i + w) % 3 for w in range(4) for i in range(BATCHES))
    data = {e.index: e.data for e in store.entries()}
    owner = []
    for w, batches in results.items():
        assert len(batches) == BATCHES
        for i, idxs in enumerate(batches):  # each batch landed whole, where it was told
            assert idxs == list(range(idxs[0], idxs[0] + len(idxs)))
            assert [data[j] for j in idxs] == [f"w{w} b{i} k{k}".encode()
                                               for k in range(len(idxs))]
        assert [b[0] for b in batches] == sorted(b[0] for b in batches)
        owner += [(b[0], w) for b in batches]
    switches = sum(a[1] != b[1] for a, b in zip(sorted(owner), sorted(owner)[1:], strict=False))
    if backend_name == "postgres":  # SQLite's busy-wait is not fair, so it may run in turns
        assert switches > 50, "the workers did not actually run concurrently"
    size, root = store.tree_root()
    for i in (0, n // 3, n - 1):
        verify_inclusion(leaf_hash(data[i]), i, size, inclusion_proof(i, size, store.get_node),
                         root)
    store.close()


@pytest.mark.postgres
def test_postgis_geometry_and_gist_indexes(pg_url: str) -> None:
    import psycopg

    store = open_store(pg_url, create=True)
    lon, lat = 37.8, 48.0
    store.add_observations(items(
        obs("at-1km", lon=lon, lat=lat + 0.009), obs("at-5km", lon=lon + 0.0673, lat=lat),
        obs("at-20km", lon=lon, lat=lat - 0.18), obs("nowhere", lon=None)))
    store.replace_incidents([singleton(obs("i1", lon=lon, lat=lat))])
    store.replace_findings([finding("f1", lon=lon, lat=lat), finding("f2", lon=None, lat=None)],
                           [])
    store.close()
    near = ("SELECT id FROM observations WHERE ST_DWithin(geom::geography, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography, %s) ORDER BY id")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert [r[0] for r in conn.execute(near, (lon, lat, 10_000))] == ["at-1km", "at-5km"]
        assert [r[0] for r in conn.execute(near, (lon, lat, 30_000))] == [
            "at-1km", "at-20km", "at-5km"]
        assert conn.execute("SELECT geom IS NULL FROM observations WHERE id = 'nowhere'"
                            ).fetchone() == (True,)
        assert conn.execute("SELECT ST_AsText(geom), ST_SRID(geom) FROM incidents").fetchone() \
            == ("POINT(37.8 48)", 4326)
        assert conn.execute("SELECT id FROM findings WHERE geom && "
                            "ST_MakeEnvelope(37, 47, 38, 49, 4326)").fetchall() == [("f1",)]
        idx = {r[0]: r[1] for r in conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()")}
        for table in ("observations", "incidents", "findings"):
            assert "USING gist (geom)" in idx[f"{table}_geom"]
            assert "USING gist" in idx[f"{table}_geog"]
        with conn.transaction():
            conn.execute("SET LOCAL enable_seqscan = off")
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + near, (lon, lat, 10_000)))
        assert "observations_geog" in plan


@pytest.mark.postgres
def test_cli_end_to_end_matches_sqlite(pg_url: str, tmp_path: Path, examples: Path) -> None:
    sample = str(examples / "march2025_sample.jsonl")

    def run(*args: str) -> str:
        res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert res.exit_code == 0, res.output
        return res.output

    out = {}
    for db in (str(tmp_path / "t.db"), pg_url):
        assert "march-2025 version 1" in run("init", "--db", db, "--agreement", "march2025")
        assert "23 added" in run("ingest", "--db", db, sample)
        run("check", "--db", db)
        out[db] = run("findings", "--db", db, "--format", "json")
    sqlite_out, pg_out = out.values()
    assert json.loads(pg_out) and pg_out == sqlite_out
    lite, pg = open_store(str(tmp_path / "t.db")), open_store(pg_url)
    # the same record, entry for entry, once opened (each store salts its own commitments;
    # a notification carries the clock's time of the check that made it)
    assert [x for x in full_entries(pg) if x[1] != "notification"] == [
        x for x in full_entries(lite) if x[1] != "notification"]
    assert pg.tree_root()[0] == lite.tree_root()[0]
    assert pg.incident_records() == lite.incident_records()
    lines = Path(sample).read_text().splitlines()
    again = ingest(pg, enumerate((json.loads(line) for line in lines), 1))
    assert (again.added, again.duplicates) == (0, 23)
    lite.close()
    pg.close()


@pytest.mark.postgres
def test_postgres_errors_are_store_errors(pg_server: PgServer, pg_url: str) -> None:
    import psycopg
    from psycopg import sql

    with pytest.raises(StoreError) as err:
        open_store("postgresql://u:s3cret@127.0.0.1:1/x", create=True)
    assert err.value.field == "db" and "cannot connect" in err.value.message
    assert "s3cret" not in str(err.value)
    with pytest.raises(StoreError) as err:
        open_store(pg_url.replace("//postgres@", "//postgres:pw@"))
    assert "no truceline schema" in err.value.message
    assert "run `truceline init --db postgresql://postgres:***@" in err.value.message

    store = open_store(pg_url, create=True)
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.entry_count()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO schema_version(version) VALUES (99)")
    with pytest.raises(StoreError, match="newer"):
        open_store(pg_url)

    # A user who may not enable PostGIS in a database without it: a clear error, nothing created.
    name = pg_server.dbname + "_nogis"
    role = "truceline_nopriv_" + pg_server.dbname[-6:]
    with psycopg.connect(pg_server.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(role)))
        try:
            url = with_database(pg_server.admin_url, name).replace("//postgres@", f"//{role}@")
            with pytest.raises(StoreError, match="PostGIS is not enabled") as err:
                open_store(url, create=True)
            assert err.value.field == "db"
            with psycopg.connect(url) as conn:
                assert conn.execute("SELECT to_regclass('schema_version')").fetchone() == (None,)
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.mark.postgres
def test_a_dropped_connection_is_replaced(pg_url: str) -> None:
    """A server restart or idle timeout between calls costs a reconnect, not an error; inside a
    write it is a StoreError and nothing of the write is stored."""
    import psycopg

    store = open_store(pg_url, create=True)
    store.append_entries([("test", b"one")])

    def kill() -> None:
        pid = store._conn.info.backend_pid  # type: ignore[attr-defined]
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))

    kill()
    assert store.entry_count() == 1
    kill()
    assert store.append_entries([("test", b"two")]) == [1]
    with pytest.raises(StoreError, match="lost the connection"), store._tx():  # type: ignore[attr-defined]
        store.append_entries([("test", b"three")])
        kill()
        store.append_entries([("test", b"four")])
    assert record_is_whole(store) == 2
    store.close()
