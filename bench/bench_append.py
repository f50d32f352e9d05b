"""Benchmark appends with signature checks through the real SQLite store, and proofs from it.

In one run, on the same signed observations:

(a) raw Ed25519 verification, PyNaCl ``crypto_sign_open``: the physical limit per entry;
(b) the core-only append (as bench_record): canonical bytes + truceline's verify rule + leaf
    hash + incremental tree append, no storage;
(c) the whole store path: raw records -> ``ingest(require_signatures=True)`` (validation,
    area of interest, signature policy, ``verify_many`` in verifier processes) -> SQLite
    store (observation rows, entries, tree nodes, one durable commit per batch);
(d) inclusion and consistency proofs served by the store (``get_node`` queries) on a large
    log built quickly by bulk-inserting leaf hashes and the nodes CompactRange completes.

Writes bench/results/append.md.
    python bench/bench_append.py [--size 10000000] [--n 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path

import nacl
import nacl.bindings

from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store.sqlite import SQLiteStore
from truceline.core.observations import parse_observation
from truceline.core.record import canonical, merkle, signing
from truceline.core.record.note import Signer
from truceline.services import record, verifiers
from truceline.services.context import load_context
from truceline.services.ingest import ingest
from truceline.services.keys import register_source_key
from truceline.services.submissions import sign_observation, submission_message
from truceline.services.verify import verify_record

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "src" / "truceline" / "examples" / "march2025_sample.jsonl"
OUT = ROOT / "bench" / "results" / "append.md"
SOURCES = 16
NOTES = """
(c) is ingest as the CLI runs it: batches of 1,000, each validated (pydantic), checked against
the area of interest and turned into canonical bytes once (the signed message is cut out of the
record's bytes, the entry wraps them); its signatures are then verified under the strict rule in
verifier processes (`truceline.services.verifiers`, one per CPU) while this process validates
the next batch and stores the one before in one durable commit (WAL, synchronous=FULL). The
first round also starts the verifier processes (~0.2 s); the best round is the steady state.
Processes rather than threads: libsodium releases the GIL, but each signature needs it back
for a few µs, and a verifying thread beside a thread running Python got it once per switch
interval (measured: ~4 ms per signature instead of 58 µs), so the old two-thread pipeline
could only overlap verification with SQLite's own C code.
CPU per entry, all processes: ~58 µs verify (the limit, (a)) + ~60 µs here (validation ~13,
to_record ~4, canonical bytes ~9, store ~26: SQL ~17 of which the observation row with its
indexes ~6, entry ~3, ~2 tree nodes ~4; Python ~9) ≈ 120 µs. The rate is therefore bounded
by how much of the two CPUs this (shared, virtual) machine gets: 1e6 / 120 µs ≈ 8,300/s on
one free core, ~16,000/s on two. Two parallel CPU-bound processes ran at full speed at times
and at ~60 % each at others during these measurements (the host is shared), so runs spread
widely; the CPU per entry is the stable number.
(d) proofs: each is O(log n) `get_node` point queries on the (level, idx) key, ~10-12 µs
each; at 10,000,000 entries the store is ~1.5 GB and built by bulk inserts (time above).
"""


def signed_records(n: int) -> tuple[list[dict[str, object]], list[Signer]]:
    """``n`` signed observations from 16 monitors, shaped like the March 2025 sample."""
    rows = [json.loads(x) for x in SAMPLE.read_text().splitlines() if x.strip()]
    signers = [Signer(f"post-{k}", sha256(bytes([k])).digest()) for k in range(SOURCES)]
    out = []
    for i in range(n):
        s = signers[i % SOURCES]
        obs = parse_observation({**rows[i % len(rows)], "id": f"b-{i}", "source_id": s.name})
        out.append(sign_observation(obs, s).to_record())
    return out, signers


def new_store(path: Path, signers: list[Signer]) -> SQLiteStore:
    store = SQLiteStore(path, create=True)
    _, doc = load_agreement_file("march2025")
    store.initialize(doc, record.agreement_entry(doc))
    for s in signers:
        register_source_key(store, s.name, "monitor", s.verifier().to_vkey())
    load_context(store)  # compile the agreement outside the timed part
    return store


def bench_appends(rows: list[tuple[str, str, str]], n: int, tmp: Path,
                  rounds: int) -> None:
    recs, signers = signed_records(n)
    obs = [parse_observation(r) for r in recs]
    pks = {s.name: s.public_key for s in signers}
    msgs = [submission_message(o) for o in obs]
    sigs = [record.unb64(o.signature or "", "signature") for o in obs]
    keys = [pks[o.source_id] for o in obs]
    signed = [s + m for s, m in zip(sigs, msgs, strict=True)]

    def raw() -> float:
        t0 = time.perf_counter()
        for sm, pk in zip(signed, keys, strict=True):
            nacl.bindings.crypto_sign_open(sm, pk)
        return n / (time.perf_counter() - t0)

    def core() -> float:
        t0 = time.perf_counter()
        cr = merkle.CompactRange()
        for o, m, pk, s in zip(obs, msgs, keys, sigs, strict=True):
            data = canonical.entry_bytes("observation", o.to_record())
            signing.verify(pk, m, s)
            cr.append(merkle.leaf_hash(data))
        return n / (time.perf_counter() - t0)

    def store_path(k: int) -> tuple[float, float]:
        """Entries/s and CPU µs per entry (this process and its verifier processes)."""
        store = new_store(tmp / f"append-{k}.db", signers)
        c0 = time.process_time() + _children_cpu()
        t0 = time.perf_counter()
        rep = ingest(store, list(enumerate(recs, 1)), require_signatures=True)
        dt = time.perf_counter() - t0
        cpu = (time.process_time() + _children_cpu() - c0) / n * 1e6
        assert rep.added == n and not rep.rejected
        assert verify_record(store).ok if n <= 20_000 else True
        store.close()
        return n / dt, cpu

    best = [0.0, 0.0]
    runs: list[tuple[float, float]] = []
    for k in range(rounds):  # interleaved rounds, best of each: the machine is noisy and shared
        best = [max(best[0], raw()), max(best[1], core())]
        runs.append(store_path(k))
    r_raw, r_core = best
    r_store = max(r for r, _ in runs)
    lo, hi = min(r for r, _ in runs), max(r for r, _ in runs)
    cpus = sorted(c for _, c in runs)
    rows += [
        ("(a) raw Ed25519 verify, PyNaCl `crypto_sign_open` (baseline)",
         f"{r_raw:,.0f} /s", "1.00"),
        ("(b) core-only append: canonical bytes + verify rule + leaf hash + tree append",
         f"{r_core:,.0f} /s", f"{r_core / r_raw:.2f}"),
        (f"(c) store append with signature checks: ingest -> SQLite, {n:,} signed "
         f"observations, committed (best of {rounds}; all runs {lo:,.0f}–{hi:,.0f})",
         f"{r_store:,.0f} entries/s", f"{r_store / r_raw:.2f}"),
        ("(c) CPU per entry, all processes (ingest + verifier processes), median",
         f"{cpus[len(cpus) // 2]:.0f} µs", ""),
    ]


def _children_cpu() -> float:
    """CPU seconds used so far by the verifier processes (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in verifiers.pids():
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def bulk_log(path: Path, size: int) -> tuple[SQLiteStore, dict[int, bytes]]:
    """A store of ``size`` entries built by bulk inserts (entry data is the index), with the
    full nodes CompactRange completes; returns the store and the roots at sample sizes."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")  # 256 MB: the nodes' b-tree fronts stay cached
    store = SQLiteStore(path, create=True)  # creates the schema
    store.close()
    cr = merkle.CompactRange()
    roots: dict[int, bytes] = {}
    marks = set(random.Random(3).sample(range(1, size + 1), 200)) | {size}
    chunk = 100_000
    for lo in range(0, size, chunk):
        ents, nodes = [], []
        for i in range(lo, min(lo + chunk, size)):
            data = i.to_bytes(8, "big")
            h = merkle.leaf_hash(data)
            ents.append((i, "status_change", data, h))
            nodes += cr.append(h)
            if cr.size in marks:
                roots[cr.size] = cr.root()
        db.executemany("INSERT INTO entries(idx, type, data, leaf_hash) VALUES (?,?,?,?)", ents)
        db.executemany("INSERT INTO nodes(level, idx, hash) VALUES (?,?,?)", nodes)
    db.commit()
    db.close()
    return SQLiteStore(path), roots


def _per(fn: Callable[[int], object], n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - t0) / n * 1e6


def bench_proofs(rows: list[tuple[str, str, str]], size: int, tmp: Path) -> None:
    t0 = time.perf_counter()
    store, roots = bulk_log(tmp / "big.db", size)
    rows.append((f"bulk-build a {size:,}-entry store (leaf hashes + {2 * size - 1:,} nodes)",
                 f"{time.perf_counter() - t0:.0f} s", ""))
    rng = random.Random(4)
    marks = sorted(roots)
    n = 2000
    idx = [rng.randrange(size) for _ in range(n)]
    pairs: list[tuple[int, int]] = []
    for _ in range(n):
        a, b = sorted(rng.sample(marks, 2))
        pairs.append((a, b))
    incl = [record.inclusion(store, i, size) for i in idx]
    cons = [record.consistency(store, a, b) for a, b in pairs]
    for i, p in zip(idx, incl, strict=True):
        merkle.verify_inclusion(store.get_node(0, i), i, size, p, roots[size])
    us = {
        "inclusion proof from the store": _per(
            lambda k: record.inclusion(store, idx[k], size), n),
        "inclusion proof, verify": _per(
            lambda k: merkle.verify_inclusion(store.get_node(0, idx[k]), idx[k], size, incl[k],
                                              roots[size]), n),
        "consistency proof from the store": _per(
            lambda k: record.consistency(store, *pairs[k]), n),
        "consistency proof, verify": _per(
            lambda k: merkle.verify_consistency(*pairs[k], cons[k], roots[pairs[k][0]],
                                                roots[pairs[k][1]]), n),
    }
    for name, v in us.items():
        rows.append((f"(d) {name}, {size:,} entries", f"{v:,.1f} µs", ""))
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--size", type=int, default=10_000_000, help="entries in the proof log")
    ap.add_argument("--n", type=int, default=20_000, help="signed observations appended")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds of (a)-(c)")
    args = ap.parse_args()
    rows: list[tuple[str, str, str]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        bench_appends(rows, args.n, Path(d), args.rounds)
        bench_proofs(rows, args.size, Path(d))
    head = (f"Append benchmark — {platform.python_implementation()} "
            f"{platform.python_version()}, PyNaCl {nacl.__version__}, SQLite "
            f"{sqlite3.sqlite_version} (WAL, synchronous=FULL), {platform.machine()}, "
            f"total {time.perf_counter() - t0:.0f} s\n\n")
    table = "| measurement | result | ratio to (a) |\n|---|---:|---:|\n" + "".join(
        f"| {a} | {b} | {c} |\n" for a, b, c in rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(head + table + NOTES, encoding="utf-8")
    print(head + table)


if __name__ == "__main__":
    main()
