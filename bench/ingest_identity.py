"""Digests of what signed ingest stores, to compare two versions of the code byte for byte.

Fills a new SQLite store from fixed signed input (the bench's signed batches, and records
with what ingest must tell apart: resubmitted copies, an id given again with the same and
with other content, a bad signature, a source without a key, an invalid record, a time in
the future), with the salts of the commitments drawn from a fixed stream instead of the
system's generator, in this process (no worker processes: the same code runs), and prints
a SHA-256 of each table that holds the record (observation rows, entries with their leaf
hashes, openings, tree nodes), the tree's root and the ingest reports. Run it under two
``PYTHONPATH``s: the same lines mean the same stored bytes.

    PYTHONPATH=/tmp/base/src python bench/ingest_identity.py > a.txt
    PYTHONPATH=src python bench/ingest_identity.py > b.txt && diff a.txt b.txt
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_http import make_batches, sources
from truceline.adapters.agreement_files import load_agreement_file
from truceline.adapters.store import open_store
from truceline.core.observations import parse_observation
from truceline.core.record import commit
from truceline.core.record.merkle import root_of
from truceline.services import verifiers
from truceline.services.ingest import ingest
from truceline.services.keys import register_source_key
from truceline.services.record import initialize_store
from truceline.services.submissions import sign_observation

#: The time of receipt (the future-time rule's reference), fixed so that its messages are too.
RECEIVED = datetime(2026, 12, 1, tzinfo=UTC)


class _Stream:
    """A fixed byte stream in place of ``os.urandom`` for the commitments' salts."""

    def __init__(self) -> None:
        self.n = 0

    def urandom(self, size: int) -> bytes:
        self.n += 1
        return hashlib.shake_256(b"salts-%d" % self.n).digest(size)


def tricky(signers: list[Any]) -> list[dict[str, Any]]:
    """Signed records with every case ingest tells apart (for ``on_invalid="skip"``)."""
    out: list[dict[str, Any]] = []
    for i in range(400):
        s = signers[i % 4]
        rec = {"id": f"odd-{i}", "kind": "fire", "fire_type": "explosion",
               "explosion_type": "impact", "source_id": s.name,
               "time": f"2025-03-23T1{i % 10}:{i % 60:02d}:{i % 7:02d}.{i * 137 % 1000:03d}+02:00",
               "lon": 37.5 + (i % 97) * 0.001, "lat": 48.2 + (i % 89) * 0.001,
               "weapon_class": "mortar", "location_uncertainty_m": 250.0 + i % 3,
               "description": "é \u2028 \"quoted\"" if i % 9 == 0 else ""}
        if i % 37 == 5:  # a resubmitted copy of the one 4 before (same source): new id
            rec = {**out[i - 4], "id": f"odd-copy-{i}"}
            rec.pop("signature", None)
        who = signers[(i + 1) % 4] if i % 41 == 9 else s  # another source's key
        rec["signature"] = sign_observation(parse_observation(rec), who).signature
        if i % 61 == 11:
            rec["lat"] = 123.0  # invalid
        if i % 67 == 13:
            rec["time"] = "2099-01-01T00:00:00Z"  # in the future (signature left stale)
        if i % 71 == 3:
            rec["source_id"] = "nobody"  # no registered key
        out.append(rec)
    out.insert(50, {**out[10], "location_uncertainty_m": 999.0})  # id again, other content
    out.insert(60, dict(out[12]))  # id again, the same record
    return out


def digests(url: str) -> list[str]:
    store = open_store(url)
    db = store._db  # type: ignore[attr-defined]  # SQLite: every row of each record table
    out = []
    for table, order in (("observations", "seq"), ("entries", "idx"),
                         ("entry_openings", "idx"), ("nodes", "level, idx")):
        h = hashlib.sha256()
        n = 0
        for row in db.execute(f"SELECT * FROM {table} ORDER BY {order}"):
            h.update(repr(tuple(bytes(v) if isinstance(v, memoryview) else v
                                for v in row)).encode())
            n += 1
        out.append(f"{table}: {n} rows, sha256 {h.hexdigest()}")
    leaves = [bytes(r[0]) for r in db.execute("SELECT leaf_hash FROM entries ORDER BY idx")]
    out.append(f"root of {len(leaves)} leaves: {root_of(leaves).hex()}")
    store.close()
    return out


def main() -> None:
    commit.os = SimpleNamespace(urandom=_Stream().urandom)  # type: ignore[assignment]
    verifiers.set_verifier_processes(0)
    signers = sources(8)
    tmp = Path(tempfile.mkdtemp(prefix="truceline-identity-"))
    url = str(tmp / "id.db")
    store = open_store(url, create=True)
    initialize_store(store, load_agreement_file("march2025")[1])
    for s in signers:
        register_source_key(store, s.name, "monitor", base64.b64encode(s.public_key).decode())
    lines = []
    odd = tricky(signers)
    by_name = {x.name: x for x in signers}
    late = []  # copies of stored reports, arriving later: a smaller id relinks their group
    for i, rec in enumerate(odd[:200:7]):
        if rec["source_id"] in by_name and rec["lat"] <= 90 and rec["time"] < "2099":
            copy = {k: v for k, v in rec.items() if k != "signature"} | {"id": f"aa-late-{i}"}
            who = by_name[copy["source_id"]]
            late.append(copy | {"signature": sign_observation(parse_observation(copy),
                                                              who).signature})
    for batch in [*make_batches(signers, 3000, 500, "load"), odd, late]:
        rep = ingest(store, list(enumerate(batch)), on_invalid="skip",
                     batch_size=len(batch) + 1, require_signatures=True,
                     clock=lambda: RECEIVED)
        why = [(r.line, r.field, r.reason) for r in rep.rejected]
        lines.append(f"report: added {rep.added}, duplicates {rep.duplicates}, copies "
                     f"{rep.copies}, rejected {why}")
    store.close()
    print("\n".join([*lines, *digests(url)]))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
