"""Every row a reader serves, checked against the record entries that say what it must be.

:func:`truceline.services.verify.verify_record` checks the log itself (entries, tree,
checkpoints); this module checks the tables the API, the OGC API and the reports read from:
each row must follow from the entries, column by column, and each entry's row must be there.
The table of what is covered, and of what is not and why, is in docs/record.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from truceline.core import disputes as dispute_life
from truceline.core.findings import Finding
from truceline.core.observations import Observation
from truceline.core.record.canonical import canonical_bytes, entry_bytes
from truceline.errors import TrucelineError
from truceline.services import verify_access, verify_guarantees
from truceline.services.kept_digest import KEPT_FIELD, stored_kept_digest
from truceline.services.ports import CHECKED_META, Store
from truceline.services.record import agreement_matches, unb64
from truceline.services.sources import SOURCES_META
from truceline.services.verify_pairs import columns, pair_rows

#: The meta key holding the published findings' ids (a JSON list), each one recorded by a
#: ``status_change`` entry with ``"status": "published"`` appended in the same transaction.
PUBLISHED_KEY = "http.published_findings"

#: One disagreement: (kind, entry index or None, message), as in ``verify.Problem``.
Issue = tuple[str, int | None, str]
#: Parsed entries by type: (index, body, bytes), in log order.
Bodies = dict[str, list[tuple[int, dict[str, Any], bytes]]]

_OBS_HEAD, _OBS_TAIL = b'{"body":', b',"type":"observation"}'


def incidents_digest(records: Sequence[dict[str, Any]]) -> str:
    """SHA-256 (hex) of the incident set: the canonical JSON array of the records by id.

    An ``incident`` entry commits to it, so a verifier recomputes it from the stored rows and
    a party from the incidents it derives, without the log holding every incident again."""
    ordered = sorted(records, key=lambda r: str(r.get("id")))
    return incidents_digest_of(canonical_bytes(r) for r in ordered)


def incidents_digest_of(encoded: Iterable[bytes]) -> str:
    """:func:`incidents_digest` from the records' canonical bytes, already in id order."""
    d = IncidentsDigest()
    d.update(encoded)
    return d.hexdigest()


class IncidentsDigest:
    """:func:`incidents_digest` hashed as the records' canonical bytes come, in id order, in
    as many parts as the writer likes: the array's bytes (``[``, the records joined by ``,``,
    ``]``) are never held whole (at ~1 KB an incident, a month's set is hundreds of MB)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256(b"[")
        self._sep = b""

    def update(self, encoded: Iterable[bytes]) -> None:
        parts = encoded if isinstance(encoded, list) else list(encoded)
        if parts:  # one call for a page, not two per record (the same bytes hashed)
            self._h.update(self._sep)
            self._h.update(b",".join(parts))
            self._sep = b","

    def copy(self) -> IncidentsDigest:
        """A digest of what this one has hashed so far, updated apart from it from here."""
        out = IncidentsDigest.__new__(IncidentsDigest)
        out._h, out._sep = self._h.copy(), self._sep
        return out

    def hexdigest(self) -> str:
        h = self._h.copy()
        h.update(b"]")
        return h.hexdigest()


def incidents_entry(records: Sequence[dict[str, Any]], observations: int,
                    sources: Sequence[dict[str, Any]] | None = None,
                    agreement_version: int | None = None) -> bytes:
    """The entry a check appends when its incidents differ from the last recorded set:
    their count and digest, how many observations (the first, in log order) they were
    fused from, the agreement version judged under, and the digest of the per-source
    estimates the same fusion gave (what ``truceline sources`` and GET /sources serve;
    they change only with the incidents)."""
    return incident_set_entry(len(records), incidents_digest(records), observations, sources,
                              agreement_version)


def incident_set_entry(count: int, digest: str, observations: int,
                       sources: Sequence[dict[str, Any]] | None = None,
                       agreement_version: int | None = None, kept: str | None = None) -> bytes:
    """:func:`incidents_entry` from the set's count and :func:`incidents_digest`;
    ``agreement_version``: the version the check judged under (a replay uses it, whatever
    was amended while the check ran or before a ruling's finding entries); ``kept``: the
    digest of what the check kept for the next one (services/kept_digest.py)."""
    body: dict[str, Any] = {"count": count, "observations": observations, "sha256": digest}
    if agreement_version is not None:
        body["agreement_version"] = agreement_version
    if kept is not None:
        body[KEPT_FIELD] = kept
    if sources is not None:
        body["sources_sha256"] = sources_digest(sources)
    return entry_bytes("incident", body)


def sources_digest(sources: Sequence[dict[str, Any]]) -> str:
    """SHA-256 (hex) of the per-source estimates as stored (canonical JSON)."""
    return hashlib.sha256(canonical_bytes(list(sources))).hexdigest()


def published_ids(bodies: Bodies) -> dict[str, int]:
    """The published findings by id, with the entry that published each (the first)."""
    out: dict[str, int] = {}
    for i, b, _ in bodies.get("status_change", []):
        if b.get("status") == "published" and isinstance(b.get("finding_id"), str):
            out.setdefault(b["finding_id"], i)
    return out


def check_rows(store: Store, bodies: Bodies) -> list[Issue]:
    """Every served table against the entries (see the module docstring)."""
    out: list[Issue] = []
    for check in (
        _agreements,
        _observations,
        _incidents,
        _findings,
        _keys,
        _disputes,
        _cosignatures,
        _published,
        _derived_cache,
        verify_guarantees.check_rows,
        verify_access.check_rows,
    ):
        out.extend(check(store, bodies))
    return out


def _agreements(store: Store, bodies: Bodies) -> Iterator[Issue]:
    rows = {r["version"]: r for r in store.table_rows("agreement_versions")}
    versions = bodies.get("agreement_version", [])
    for n, (i, _, data) in enumerate(versions, start=1):
        row = rows.pop(n, None)
        if row is None:
            yield ("missing", i, f"agreement version {n} is in the record but not stored")
            continue
        try:
            doc = json.loads(row["doc"])
            same = isinstance(doc, dict) and agreement_matches(doc, data)
        except (ValueError, TrucelineError):
            same = False
        if not same:
            yield ("changed", i, f"agreement version {n} differs from its entry")
        else:
            yield from columns(store, "agreement_versions", f"agreement version {n}", row, doc, i)
    for v in sorted(rows, key=str):
        yield ("unrecorded", None, f"agreement version {v} has no entry")


def _duplicate_links(bodies: Bodies) -> dict[str, Any]:
    """Each observation's ``duplicate_of`` as the latest status change about it says."""
    out: dict[str, Any] = {}
    for _, b, _ in bodies.get("status_change", []):
        if b.get("subject") == "observation" and isinstance(b.get("observation_id"), str):
            out[b["observation_id"]] = b.get("duplicate_of")
    return out


def _observations(store: Store, bodies: Bodies) -> Iterator[Issue]:
    links = _duplicate_links(bodies)
    recorded = {
        b.get("id"): (i, b, d, rank)
        for rank, (i, b, d) in enumerate(bodies.get("observation", []), start=1)
    }
    seen: set[str] = set()
    for row in store.table_rows("observations"):
        oid = row["id"]
        hit = recorded.get(oid)
        if hit is None or oid in seen:
            yield ("unrecorded", None, f"observation {oid!r} has no entry")
            continue
        seen.add(oid)
        i, body, data, rank = hit
        what = f"observation {oid!r}"
        if not _same_observation(row["record"], data):
            yield ("changed", i, f"{what} differs from its entry")
        if row.get("seq") != rank:
            yield (
                "changed",
                i,
                f"{what}: column seq is {row.get('seq')!r}, the record makes it observation {rank}",
            )
        yield from columns(store, "observations", what, row, body, i)
        if "duplicate_of" in row and row["duplicate_of"] != links.get(oid):
            yield (
                "changed",
                i,
                f"{what}: column duplicate_of is {row['duplicate_of']!r}, the record says "
                f"{links.get(oid)!r}",
            )
    for oid, (i, *_) in recorded.items():
        if oid not in seen:
            yield ("missing", i, f"observation {oid!r} is in the record but not stored")


def _same_observation(text: str, data: bytes) -> bool:
    """The stored record says what the entry says: byte for byte (the store keeps the
    entry's body), or failing that the same observation once parsed."""
    if (
        data.startswith(_OBS_HEAD)
        and text.encode("utf-8") == data[len(_OBS_HEAD) : -len(_OBS_TAIL)]
    ):
        return True
    try:
        o = Observation.model_validate_json(text)
        return entry_bytes("observation", o.to_record()) == data
    except (ValueError, TrucelineError):
        return False


def _incidents(store: Store, bodies: Bodies) -> Iterator[Issue]:
    rows = store.table_rows("incidents")
    last = bodies.get("incident", [])
    records: list[dict[str, Any]] = []
    for row in rows:
        try:
            rec = json.loads(row["record"])
            if not isinstance(rec, dict):
                raise ValueError
        except ValueError:
            yield (
                "changed",
                last[-1][0] if last else None,
                f"incident {row['id']!r}: its record is not a JSON object",
            )
            continue
        records.append(rec)
        yield from columns(
            store, "incidents", f"incident {row['id']!r}", row, rec, last[-1][0] if last else None
        )
    if not last:
        if rows:
            yield (
                "unrecorded",
                None,
                f"{len(rows)} incidents are stored and no entry "
                "records an incident set (run a check)",
            )
        if store.get_meta(CHECKED_META) is not None:
            yield ("unrecorded", None, f"meta {CHECKED_META} is stored and no check is recorded")
        return
    i, body, _ = last[-1]
    try:
        digest = incidents_digest(records)
    except TrucelineError:
        digest = ""
    if len(rows) != body.get("count") or digest != body.get("sha256"):
        yield (
            "changed",
            i,
            f"the {len(rows)} stored incidents are not the set of "
            f"{body.get('count')} that entry {i} records",
        )
    yield from _checked(store, i, body)
    if "sources_sha256" in body:  # entries from before the estimates existed have none
        text = store.get_meta(SOURCES_META)
        try:
            got = sources_digest(json.loads(text)) if text is not None else None
        except (ValueError, TypeError, TrucelineError):
            got = ""
        if got != body["sources_sha256"]:
            yield (
                "changed",
                i,
                f"the stored per-source estimates (meta {SOURCES_META}) are not those entry "
                f"{i} records",
            )
    if KEPT_FIELD in body:  # entries from before the digest was recorded have none
        now = stored_kept_digest(store)
        if now is not None and now != body[KEPT_FIELD]:  # none kept: the next check fuses all
            yield (
                "changed",
                i,
                "what the last check kept for the next one (table fusion_days, meta "
                f"fusion_days and check_rules) is not what entry {i} records (a next check "
                "fuses and judges every day again)",
            )


def _checked(store: Store, i: int, body: dict[str, Any]) -> Iterator[Issue]:
    """Meta ``checked_observations`` (what the daily report counts as unchecked from) is
    what the last incident entry says the last check read."""
    value, want = store.get_meta(CHECKED_META), str(body.get("observations"))
    if value != want:
        got = "not stored" if value is None else f"{value!r}"
        yield ("changed", i, f"meta {CHECKED_META} is {got}; entry {i} says the last check "
               f"read {want} observations (a store checked before the count was recorded: "
               "run a check)")


def _findings(store: Store, bodies: Bodies) -> Iterator[Issue]:
    current: dict[str, tuple[int, dict[str, Any], bytes]] = {}
    merged = sorted(
        [(i, t, b, d) for t in ("finding", "status_change") for i, b, d in bodies.get(t, [])],
        key=lambda x: x[0],
    )
    for i, t, b, d in merged:
        if t == "finding":
            current[b.get("id")] = (i, b, d)  # type: ignore[index]
        elif b.get("subject") == "finding" and b.get("status") == "withdrawn":
            current.pop(b.get("finding_id"), None)  # type: ignore[arg-type]
    seen: set[str] = set()
    for row in store.table_rows("findings"):
        fid = row["id"]
        hit = current.get(fid)
        if hit is None or fid in seen:
            yield ("unrecorded", None, f"finding {fid!r} has no current entry")
            continue
        seen.add(fid)
        i, body, data = hit
        try:
            same = (
                entry_bytes("finding", Finding.from_record(json.loads(row["record"])).to_record())
                == data
            )
        except (ValueError, TypeError, KeyError, TrucelineError):
            same = False
        if not same:
            yield ("changed", i, f"finding {fid!r} differs from its latest entry")
        yield from columns(store, "findings", f"finding {fid!r}", row, body, i)
    for fid, (i, _, _) in current.items():
        if fid not in seen:
            yield ("missing", i, f"finding {fid!r} is current in the record but not stored")


def _keys(store: Store, bodies: Bodies) -> Iterator[Issue]:
    regs = {b.get("key_id"): (i, b) for i, b, _ in bodies.get("key_registration", [])}
    revoked = {
        b.get("key_id")
        for _, b, _ in bodies.get("status_change", [])
        if b.get("subject") == "key" and b.get("status") == "revoked"
    }
    seen: set[str] = set()
    for row in store.table_rows("keys"):
        kid = row["key_id"]
        hit = regs.get(kid)
        if hit is None or kid in seen:
            yield ("unrecorded", None, f"key {kid!r} has no registration entry")
            continue
        seen.add(kid)
        i, body = hit
        what = f"key {kid!r}"
        yield from columns(store, "keys", what, row, body, i)
        try:
            same = bytes(row["public_key"]) == unb64(body["public_key"], "public_key")
        except (KeyError, TypeError, TrucelineError):
            same = False
        if not same:
            yield ("changed", i, f"{what}: column public_key differs from its registration")
        if row["revoked"] not in (0, 1) or bool(row["revoked"]) != (kid in revoked):
            yield ("changed", i, f"{what}: revocation differs from the record")
    for kid, (i, _) in regs.items():
        if kid not in seen:
            yield ("missing", i, f"key {kid!r} is registered in the record but not stored")


def _disputes(store: Store, bodies: Bodies) -> Iterator[Issue]:
    """Each row's record is its filing folded with its steps (status changes about it)."""
    recorded: dict[str, tuple[int, dict[str, Any]]] = {
        str(b.get("id")): (i, b) for i, b, _ in bodies.get("dispute", [])}
    for i, b, _ in bodies.get("status_change", []):
        did = b.get("dispute_id") if b.get("subject") == "dispute" else None
        if isinstance(did, str) and did in recorded:
            recorded[did] = (i, dispute_life.apply(recorded[did][1], b))
    for issue, _, _, _ in pair_rows(store, "disputes", "id", recorded, "dispute"):
        if issue is not None:
            yield issue


def _derived_cache(store: Store, bodies: Bodies) -> Iterator[Issue]:
    """The compiled geometry a report would read from the store must be what compiling the
    stored agreement gives (checked only when such a row is there: it costs one compile)."""
    if not bodies.get("agreement_version"):
        return
    from truceline.core.agreements import parse_agreement
    from truceline.services.context import compile_agreement, doc_sha256
    from truceline.services.geometry_cache import cache_issues

    try:  # an agreement that does not read is reported by _agreements
        doc = store.agreement_doc()
        issues = cache_issues(store, doc_sha256(doc),
                              lambda: compile_agreement(parse_agreement(doc)))
    except (ValueError, TrucelineError):
        return
    for msg in issues:
        yield ("changed", None, msg)


def _cosignatures(store: Store, bodies: Bodies) -> Iterator[Issue]:
    """A cosignature of a size with no checkpoint cosigns nothing: an inserted or moved row
    (those of stored checkpoints are checked with their checkpoint)."""
    sizes = {c.size for c in store.checkpoints()}
    for row in store.table_rows("cosignatures"):
        if row["size"] not in sizes:
            yield (
                "unrecorded",
                None,
                f"cosignature by {row['witness']!r} of size {row['size']}, which has no checkpoint",
            )


def _published(store: Store, bodies: Bodies) -> Iterator[Issue]:
    recorded = published_ids(bodies)
    value = store.get_meta(PUBLISHED_KEY)
    try:
        stored = json.loads(value) if value else []
        if not isinstance(stored, list) or not all(isinstance(x, str) for x in stored):
            raise ValueError
    except ValueError:
        yield ("changed", None, f"meta {PUBLISHED_KEY} is not a list of finding ids")
        return
    for fid in sorted(set(stored) - set(recorded)):
        yield ("unrecorded", None, f"finding {fid!r} is published but no entry publishes it")
    for fid, i in sorted(recorded.items(), key=lambda x: x[1]):
        if fid not in stored:
            yield (
                "missing",
                i,
                f"finding {fid!r} was published by the entry but is not in the published set",
            )
