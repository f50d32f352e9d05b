"""Verify and replay the record: re-hash a store, export it as tiles, rebuild from tiles.

``verify_record`` is what ``truceline record verify`` runs against a store (the operator's, or a
party's rebuilt mirror); ``export_tiles`` publishes the log as C2SP tlog-tiles; ``replay`` and
``rebuild`` are what a party runs on those tiles alone. The checkpoints and proofs they rely
on are in :mod:`truceline.services.record`, the witnesses in :mod:`truceline.services.witnesses`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from truceline.core import disputes as dispute_life
from truceline.core.findings import Finding
from truceline.core.observations import Observation
from truceline.core.record import merkle, tiles
from truceline.core.record.canonical import canonical_bytes, parse_entry
from truceline.core.record.note import (
    Checkpoint,
    Note,
    NoteSignature,
    Verifier,
    format_note,
    open_checkpoint,
    verify_cosignature,
)
from truceline.errors import (
    IntegrityError,
    NotFoundError,
    SignatureError,
    StoreError,
    TrucelineError,
    ValidationError,
)
from truceline.services import openings, verify_access, verify_guarantees
from truceline.services.check import derive_findings, derive_incidents_and_sources
from truceline.services.context import context_for_doc
from truceline.services.ports import CHECKED_META, Store
from truceline.services.record import (
    MAX_ENTRY_BYTES,
    TileRead,
    doc_bytes,
    latest_checkpoint,
    log_verifier,
    open_log_checkpoint,
    unb64,
)
from truceline.services.sources import store_source_estimates
from truceline.services.verify_rows import (
    PUBLISHED_KEY,
    check_rows,
    incidents_digest,
    sources_digest,
)
from truceline.services.witnesses import add_cosignature, cosigned_note, witness_keys


@dataclass(frozen=True)
class Problem:
    """One way the stored record disagrees with itself; ``index`` is the entry concerned."""

    kind: str  # changed, missing, inserted, reordered, fork, unrecorded, bad_signature
    index: int | None
    message: str

    def __str__(self) -> str:
        where = f"entry {self.index}: " if self.index is not None else ""
        return f"{self.kind}: {where}{self.message}"


@dataclass
class RecordReport:
    size: int = 0
    root: bytes = merkle.EMPTY_ROOT
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)
    #: Entries in plaintext: stored before commitments, they carry what would be committed.
    plaintext: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        """The problem at the lowest entry index (the earliest point the history differs)."""
        ranked = sorted(self.problems, key=lambda p: (p.index is None, p.index or 0))
        return ranked[0] if ranked else None


def verify_record(store: Store) -> RecordReport:
    """Re-hash every stored entry, rebuild the tree and check it against everything stored.

    Checks, each reported with the entry it concerns: entry indexes are contiguous (a gap is
    a deleted row); each entry's bytes are canonical and hash to its stored leaf hash (else
    changed, or reordered when they hash to another entry's leaf); every full node stored
    equals the recomputed one; nothing is stored beyond the last entry (a deleted tail or an
    inserted node); every checkpoint is signed by the log key and commits to the recomputed
    root at its size (else a fork, bounded between the last agreeing checkpoint and it);
    stored cosignatures verify; and every row a reader serves follows from the entries, column
    by column, and every entry has its row (:func:`truceline.services.verify_rows.check_rows`:
    agreement versions, observations, the incident set, current findings, keys, disputes,
    the published set, the guarantee rows and outbox, API keys, endpoints and the pseudonym
    secret).
    """
    rep = RecordReport()
    add = rep.problems.append
    tree = merkle.CompactRange()
    node0: dict[bytes, int] = {}  # stored leaf nodes, to tell a reordering from a change
    bad: list[int] = []  # entries whose leaf is wrong: they explain wrong nodes above them
    leaf_issues: list[tuple[int, bytes]] = []
    bodies: dict[str, list[tuple[int, dict[str, Any], bytes]]] = {}
    roots: dict[int, bytes] = {0: merkle.EMPTY_ROOT}
    want_sizes = {c.size for c in store.checkpoints()}
    ops = store.openings()
    for e in store.entries():
        i = e.index
        if i != tree.size:
            add(Problem("missing", tree.size, "the entry row is missing (deleted)"))
            break
        h = merkle.leaf_hash(e.data)
        try:
            t, body = parse_entry(e.data)
            if t != e.type:
                add(Problem("changed", i, f"type column {e.type!r}, entry says {t!r}"))
            # the rows follow from the full entry: its committed form and its openings
            rep.plaintext += openings.plaintext(t, body)
            body, full, issue = openings.open_stored(i, t, body, ops.pop(i, {}), e.data)
            if issue is not None:
                add(Problem(*issue))
            odd = _unkeyed(t, body)
            if odd is not None:
                add(Problem("changed", i, f"the {t} entry's {odd} is not a string"))
            else:
                bodies.setdefault(t, []).append((i, body, full))
        except ValidationError as exc:
            add(Problem("changed", i, f"entry bytes are not canonical: {exc.message}"))
        new = tree.append(h)
        n0 = _node(store, 0, i)
        if n0 is None:
            add(Problem("inserted", i, "the entry has no tree node: added outside the log"))
            bad.append(i)
        else:
            node0.setdefault(n0, i)
            if h != e.leaf_hash or n0 != h:
                bad.append(i)
                leaf_issues.append((i, h))
        for level, idx, nh in new[1:]:
            lo = idx << level
            if bad and bad[-1] >= lo:
                continue
            got = _node(store, level, idx)
            if got != nh:
                what = "is missing" if got is None else "differs from the entries"
                add(Problem("changed", lo, f"tree node ({level}, {idx}) {what}"))
                bad.append(lo)
        if tree.size in want_sizes:
            roots[tree.size] = tree.root()
    for i, h in leaf_issues:
        j = node0.get(h)
        if j is not None and j != i:
            add(Problem("reordered", i, f"holds the entry recorded as entry {j}"))
        else:
            add(Problem("changed", i, "the entry bytes do not hash to its recorded leaf"))
    rep.size, rep.root = tree.size, tree.root()
    if _node(store, 0, tree.size) is not None:
        add(Problem("missing", tree.size,
                    "the tree has a leaf for an entry that is not stored (deleted)"))
    _check_checkpoints(store, roots, rep, min(bad, default=rep.size))
    rep.problems.extend(Problem(*issue) for issue in check_rows(store, bodies))
    for i in sorted(ops):  # openings of no stored entry (after the entries' own problems)
        add(Problem("unrecorded", i, f"openings of field(s) {', '.join(sorted(ops[i]))} of an "
                    "entry that is not stored or has no such commitment"))
    return rep


#: The fields of each entry type that the row checks look rows up by: strings, if present.
_KEYED = {"observation": ("id",), "finding": ("id",), "key_registration": ("key_id",),
          "status_change": ("subject", "status", "key_id", "finding_id")}


def _unkeyed(entry_type: str, body: dict[str, Any]) -> str | None:
    """The first key field of ``body`` that is present but not a string (a forged entry)."""
    for name in _KEYED.get(entry_type, ()):
        if name in body and not isinstance(body[name], str):
            return name
    return None


def _node(store: Store, level: int, index: int) -> bytes | None:
    try:
        return store.get_node(level, index)
    except NotFoundError:
        return None


def _check_checkpoints(store: Store, roots: dict[int, bytes], rep: RecordReport,
                       first_bad: int) -> None:
    """Signatures, roots and cosignatures; a root that a bad entry below it explains is not
    reported again as a fork."""
    add = rep.problems.append
    cps = store.checkpoints()
    rep.checkpoints = len(cps)
    if not cps:
        return
    try:
        v = log_verifier(store)
    except TrucelineError as e:
        add(Problem("bad_signature", None, f"checkpoints cannot be checked: {e}"))
        return
    keys = witness_keys(store)
    good = 0  # the largest size whose checkpoint agrees with the entries
    for c in cps:
        try:
            cp, note, _ = open_checkpoint(c.note, v.name, [v])
        except TrucelineError as e:
            add(Problem("bad_signature", max(c.size - 1, 0), f"checkpoint {c.size}: {e}"))
            continue
        if cp.size != c.size:
            add(Problem("fork", max(c.size - 1, 0),
                        f"checkpoint stored as size {c.size} says {cp.size}"))
        elif cp.size not in roots:
            add(Problem("missing", rep.size,
                        f"checkpoint {cp.size} commits to entries that are not stored"))
        elif roots[cp.size] != cp.root_hash:
            if first_bad < cp.size:
                continue
            add(Problem("fork", good, f"the signed checkpoint of size {cp.size} has another "
                        f"root: entries in [{good}, {cp.size}) were rewritten"))
        else:
            good = cp.size
        for witness, line in store.cosignatures(c.size):
            try:
                sig = NoteSignature.parse_line(line + "\n")
                party = [p for p, vs in keys.items() for w in vs if w.to_vkey() == witness]
                if not party:
                    raise SignatureError("by a key that is not a registered witness key")
                verify_cosignature(note.text, sig, Verifier.from_vkey(witness))
            except TrucelineError as e:
                add(Problem("bad_signature", None, f"cosignature of {c.size} by {witness}: {e}"))


# --------------------------------------------------------------------------- tiles and replay


def export_tiles(store: Store) -> dict[str, bytes]:
    """The log at its latest checkpoint as C2SP tlog-tiles: ``checkpoint`` (with every stored
    cosignature), hash tiles from the stored nodes, entry bundles, and each committed
    agreement document as ``agreement/<sha256 hex>`` (see :func:`agreement_entry`)."""
    cp, _ = latest_checkpoint(store)
    out = {"checkpoint": cosigned_note(store, cp.size)}
    for level, index, width in tiles.tiles_for_size(cp.size):
        out[tiles.tile_path(level, index, width)] = tiles.tile_bytes(
            level, index, width, store.get_node)
    data = []
    for e in store.entries(0, cp.size):
        if len(e.data) > MAX_ENTRY_BYTES:
            raise ValidationError(
                f"entry {e.index} ({e.type}) is {len(e.data)} bytes; a tile entry holds at "
                f"most {MAX_ENTRY_BYTES} (record large documents by hash)", field="entries")
        data.append(e.data)
    for i in range(0, cp.size, tiles.TILE_WIDTH):
        chunk = data[i : i + tiles.TILE_WIDTH]
        out[tiles.entries_path(i // tiles.TILE_WIDTH, len(chunk))] = tiles.encode_bundle(chunk)
    version = 1
    while True:
        try:
            doc = store.agreement_doc(version)
        except StoreError:
            break
        blob = doc_bytes(doc)
        out[f"agreement/{hashlib.sha256(blob).hexdigest()}"] = blob
        version += 1
    return out


@dataclass
class ReplayResult:
    """What a replay found: the log it read, the findings it derived and how they differ."""

    checkpoint: Checkpoint
    entries: list[bytes]
    documents: dict[str, dict[str, Any]]  # agreement documents by SHA-256 hex
    observations: int
    derived: list[Finding]
    published: list[Finding]
    differences: list[str]
    #: With a partial bundle: findings re-derived, findings verified by commitment only, and
    #: how many entries stayed (partly) committed; empty and 0 when everything was opened.
    rederived: list[str] = field(default_factory=list)
    by_commitment: list[str] = field(default_factory=list)
    sealed: int = 0

    @property
    def identical(self) -> bool:
        return not self.differences


def read_tiles(read: TileRead, log_vkey: str) -> tuple[Checkpoint, list[bytes]]:
    """Open the tiled log's checkpoint with ``log_vkey`` and read every entry, all verified."""
    cp = open_log_checkpoint(read("checkpoint"), log_vkey)
    return cp, tiles.read_log(read, cp)


def replay(read: TileRead, log_vkey: str,
           bundle: openings.Openings | None = None) -> ReplayResult:
    """Rebuild from tiles alone and re-derive the findings; compare with the published ones.

    The published findings are, per finding id, the latest finding entry (a check appends
    only new or changed findings). They are compared with what :func:`derive_findings`
    gives for the agreement version and the observations the log held when the last finding
    entry was appended: observations ingested after the last check are not judged yet.
    """
    cp, entries = read_tiles(read, log_vkey)
    parsed, sealed = openings.apply([_entry(e, i) for i, e in enumerate(entries)], bundle or {})
    last = max((i for i, (t, b) in enumerate(parsed) if t == "finding" or (
        t == "status_change" and b.get("subject") == "finding")), default=len(parsed))
    judged, version = judged_by(parsed, last)
    doc: dict[str, Any] | None = None
    docs: dict[str, dict[str, Any]] = {}
    versions: list[dict[str, Any]] = []  # the agreement's versions, in the log's order
    obs: list[Observation] = []
    published: dict[str, Finding] = {}
    steps: list[dict[str, Any]] = []  # dispute steps the last check saw (upheld outcomes)
    for i, (t, body) in enumerate(parsed):
        if i in sealed:  # what stays committed is checked by partial_findings below
            continue
        with _about_entry(i, t):
            if t == "agreement_version":
                doc = body if i < last else doc
                if "document_sha256" in body:
                    sha = body["document_sha256"]
                    docs[sha] = _fetch_document(read, sha, i)
                    doc = docs[sha] if i < last else doc
                versions.append(docs.get(body.get("document_sha256", ""), body))
            elif t == "observation":  # each one must be valid, judged or not yet
                o = Observation.model_validate(body)
                if i < judged:
                    obs.append(o)
            elif t == "finding":
                published[body["id"]] = Finding.from_record(body)
            elif t == "status_change" and body.get("subject") == "finding":
                published.pop(body["finding_id"], None)  # withdrawn by a later check
            elif t == "status_change" and body.get("subject") == "dispute" and i < last:
                steps.append(body)
    upheld = dispute_life.upheld_outcomes(steps)
    if version is not None and 1 <= version <= len(versions):
        doc = versions[version - 1]  # what the check judged under, amended since or not
    if doc is None:
        raise IntegrityError("the log holds no agreement version", field="entries")
    if sealed:  # some entries stay committed: re-derive what the openings allow
        ctx = context_for_doc(doc)
        part = openings.partial_findings(parsed, sealed, judged,
                                         lambda o: derive_findings(ctx, o, upheld)[1])
        return ReplayResult(cp, entries, docs, part.observations, part.derived,
                            [], part.differences, part.rederived, part.by_commitment,
                            len(sealed))
    obs.sort(key=lambda o: (o.time, o.id))
    _, derived = derive_findings(context_for_doc(doc), obs, upheld)
    diffs = []
    got = {f.id: f for f in derived}
    for fid in sorted(set(got) | set(published)):
        a, b = got.get(fid), published.get(fid)
        if a is None:
            diffs.append(f"{fid}: published but not derived from the evidence")
        elif b is None:
            diffs.append(f"{fid}: derived ({a.provision_id}, {a.verdict.value}) "
                         "but never published")
        elif canonical_bytes(a.to_record()) != canonical_bytes(b.to_record()):
            ra, rb = a.to_record(), b.to_record()
            keys = sorted(k for k in ra.keys() | rb.keys() if ra.get(k) != rb.get(k))
            diffs.append(f"{fid}: differs in {', '.join(keys)}")
    return ReplayResult(cp, entries, docs, len(obs), derived, list(published.values()), diffs)


def judged_by(parsed: Sequence[tuple[str, dict[str, Any]]], last: int
              ) -> tuple[int, int | None]:
    """What the check behind the finding entries up to entry ``last`` judged, as the
    incident entry before ``last`` records it: the end (exclusive) of its observation entries
    (the log's first ``n``: what it read; what was ingested while it ran comes after them)
    and the agreement version it judged under (None: not recorded). Without the count (no
    fusion yet, an older log): every observation before ``last``."""
    said: dict[str, Any] = next(
        (b for t, b in reversed(parsed[:last]) if t == "incident"), {})
    v = said.get("agreement_version")
    version = v if isinstance(v, int) and not isinstance(v, bool) else None
    n = said.get("observations")
    if not isinstance(n, int) or isinstance(n, bool):
        return last, version
    seen = 0
    for i, (t, _) in enumerate(parsed[:last]):
        if t == "observation":
            if seen == n:
                return i, version
            seen += 1
    return last, version


def _entry(data: bytes, index: int) -> tuple[str, dict[str, Any]]:
    """A log entry's type and body; one that does not parse is an IntegrityError naming it
    (the log signed it, so the log is at fault, not the reader's input)."""
    try:
        return parse_entry(data)
    except ValidationError as exc:
        raise IntegrityError(f"entry {index}: {exc.message}", field="entry",
                             index=index) from None


@contextlib.contextmanager
def _about_entry(index: int, entry_type: str) -> Iterator[None]:
    """Any failure to read entry ``index`` as its type is an IntegrityError naming it."""
    try:
        yield
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else (
            str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
        raise IntegrityError(f"entry {index} is not a valid {entry_type} entry: {reason}",
                             field="entry", index=index) from None


def _fetch_document(read: TileRead, sha: str, index: int) -> dict[str, Any]:
    """An agreement document published beside the tiles, checked against its entry's hash."""
    try:
        blob = read(f"agreement/{sha}")
    except (KeyError, FileNotFoundError):
        raise IntegrityError(f"agreement/{sha} is missing", field="entries", index=index) from None
    if hashlib.sha256(blob).hexdigest() != sha:
        raise IntegrityError(f"agreement/{sha} does not match entry {index}", field="entries",
                             index=index)
    doc: dict[str, Any] = json.loads(blob)
    return doc


def rebuild(store: Store, entries: Sequence[bytes], note: bytes, log_vkey: str,
            documents: dict[str, dict[str, Any]] | None = None,
            bundle: openings.Openings | None = None) -> None:
    """Load a verified log's entries into an empty store, entry for entry, in order.

    Each entry goes through the store's own use case (agreement, observations, findings,
    keys, disputes, publications), so the new database holds rows *and* the identical record;
    its root must equal the checkpoint's, else IntegrityError. The incidents are derived again
    from the observations the last incident entry names and must match its digest. The log's
    signed checkpoint is stored as it was. Committed entries need every opening (``bundle``:
    a database holds full rows); the store keeps the log's committed bytes and salts.
    """
    if store.entry_count():
        raise StoreError("rebuild needs an empty store", field="db")
    entries = openings.preset(store, entries, bundle or {})
    current: dict[str, Finding] = {}
    incidents_at: tuple[int, dict[str, Any]] | None = None  # the last incident set entry
    i = 0
    while i < len(entries):
        t, body = parse_entry(entries[i])
        j = i + 1
        while j < len(entries) and t in ("observation", "finding") and \
                parse_entry(entries[j])[0] == t:
            j += 1
        run = entries[i:j]
        if t == "observation":
            store.add_observations([(Observation.model_validate(parse_entry(d)[1]), d)
                                    for d in run])
        elif t == "finding":
            for d in run:
                f = Finding.from_record(parse_entry(d)[1])
                current[f.id] = f
            store.replace_findings(list(current.values()), [("finding", d) for d in run])
        elif t == "agreement_version":
            doc = (documents or {}).get(body.get("document_sha256", ""), body)
            store.initialize(doc, run[0])
        elif t == "key_registration":
            store.register_key(body["key_id"], body["owner"], body["role"],
                               unb64(body["public_key"], "public_key"), run[0])
        elif t == "status_change" and body.get("subject") == "observation":
            store.add_observations([], links={body["observation_id"]: (body["duplicate_of"],
                                                                       run[0])})
        elif t == "status_change" and body.get("subject") == "dispute":
            was = store.dispute(body["dispute_id"])
            store.update_dispute(body["dispute_id"], was, dispute_life.apply(was, body), run[0])
        elif t == "status_change" and body.get("subject") == "key":
            store.revoke_key(body["key_id"], run[0])
        elif t == "status_change" and body.get("subject") == "finding":
            current.pop(body["finding_id"], None)
            store.replace_findings(list(current.values()), [(t, run[0])])
        elif t == "status_change" and body.get("status") == "published":
            if not store.add_to_meta_set(PUBLISHED_KEY, body["finding_id"], [(t, run[0])]):
                store.append_entries([(t, run[0])])
        elif t == "dispute":
            store.add_dispute(body["id"], body["finding_id"], body["party"], body, run[0])
        elif verify_guarantees.rebuild_entry(store, t, body, run[0]) or \
                verify_access.rebuild_entry(store, t, body, run[0]):
            pass  # a notification, an acknowledgement, a delivery note, a key..., with its row
        else:
            store.append_entries([(t, run[0])])
            if t == "incident":
                incidents_at = (i, body)
        i = j
    store.preset_openings([])  # every preset was used: later appends are salted afresh
    if incidents_at is not None:
        _rebuild_incidents(store, entries, incidents_at, documents or {})
    v = Verifier.from_vkey(log_vkey)
    cp, opened, ok = open_checkpoint(note, v.name, [v])
    size, root = store.tree_root()
    if (size, root) != (cp.size, cp.root_hash):
        raise IntegrityError(f"rebuilt tree ({size}) does not match the checkpoint ({cp.size})",
                             field="root_hash")
    store.set_meta("log_vkey", log_vkey)
    store.add_checkpoint(cp.size, format_note(Note(opened.text, (ok[0][1],))))
    if len(opened.signatures) > 1:
        with contextlib.suppress(SignatureError):  # none by a witness key in the log
            add_cosignature(store, cp.size, note)


def _rebuild_incidents(store: Store, entries: Sequence[bytes], at: tuple[int, dict[str, Any]],
                       documents: dict[str, dict[str, Any]]) -> None:
    """Fuse the first ``observations`` observations of the log, under the agreement version
    then in force, as the check that appended entry ``at`` did; store them if they are the
    set it commits to, else IntegrityError naming it."""
    index, body = at
    doc: dict[str, Any] | None = None
    versions = 0
    obs: list[Observation] = []
    for data in entries[:index]:
        t, b = parse_entry(data)
        if t == "agreement_version":
            versions += 1
            if body.get("agreement_version") in (None, versions) or doc is None:
                doc = documents.get(b.get("document_sha256", ""), b)
        elif t == "observation" and len(obs) < body.get("observations", 0):
            obs.append(Observation.model_validate(b))
    if doc is None:
        raise IntegrityError(f"entry {index}: incidents before any agreement version",
                             field="entry", index=index)
    obs.sort(key=lambda o: (o.time, o.id))
    incidents, sources = derive_incidents_and_sources(context_for_doc(doc), obs)
    if incidents_digest([x.to_record() for x in incidents]) != body.get("sha256"):
        raise IntegrityError(f"entry {index}: the incidents fused from its {len(obs)} "
                             "observations are not the set it records", field="entry",
                             index=index)
    if "sources_sha256" in body and sources_digest(sources) != body["sources_sha256"]:
        raise IntegrityError(f"entry {index}: the per-source estimates fused from its "
                             f"{len(obs)} observations are not those it records",
                             field="entry", index=index)
    store.replace_incidents(incidents)
    store.set_meta(CHECKED_META, str(body.get("observations", 0)))  # what that check read
    if "sources_sha256" in body:
        store_source_estimates(store, sources)
