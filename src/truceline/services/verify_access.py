"""API keys, endpoints and the pseudonym secret against the record, and their rebuild from it.

``record verify`` (:func:`truceline.services.verify_rows.check_rows`) calls :func:`check_rows`:
each ``api_keys`` row must be what the latest ``api_key`` entry of its token hash says (name,
role, party, revoked), each ``endpoints`` row what the latest ``endpoint`` entry of its
recipient says (URL, registration time, and a secret whose salted hash is the recorded one),
and the pseudonym secret in meta the one the latest ``pseudonym_secret`` entry hashes; a row
without its entry and an entry without its row are named. ``record replay --db`` calls
:func:`rebuild_entry`: a mirror gets the keys (their hashes) and the endpoints without their
secrets, which the log does not hold (such an endpoint is never delivered to), and its
pseudonym secret withheld too (the server then refuses to make pseudonyms); :func:`withheld`
lists them, and ``record verify`` prints them. :func:`adopt` brings a store made before these
entries in (``truceline record adopt-access``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from truceline.services import access
from truceline.services.access import API_KEY, ENDPOINT, PSEUDONYM, PSEUDONYM_KEY
from truceline.services.guarantees import OUTBOX_STATE, delivery_entry
from truceline.services.openings import full_entries
from truceline.services.ports import Store
from truceline.services.verify_guarantees import outbox

Issue = tuple[str, int | None, str]
Bodies = dict[str, list[tuple[int, dict[str, Any], bytes]]]


def _latest(bodies: Bodies, entry_type: str, key: str) -> dict[str, tuple[int, dict[str, Any]]]:
    out: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, b, _ in bodies.get(entry_type, []):
        if isinstance(b.get(key), str):
            out[b[key]] = (i, b)
    return out


def check_rows(store: Store, bodies: Bodies) -> Iterator[Issue]:
    """API keys, endpoints and the pseudonym secret against the entries (module doc)."""
    yield from _api_keys(store, bodies)
    yield from _endpoints(store, bodies)
    yield from _pseudonym(store, bodies)


def _rows_against(
    store: Store, bodies: Bodies, table: str, entry_type: str, key: str, columns: tuple[str, ...],
    what: Callable[[dict[str, Any]], str],
    more: Callable[[dict[str, Any], dict[str, Any]], str | None],
) -> Iterator[Issue]:
    """Each row of ``table`` against the latest entry with its ``key``, and back: a row with no
    entry, a column or check (``more``) that differs, an entry with no row."""
    said = _latest(bodies, entry_type, key)
    seen: set[str] = set()
    for row in store.table_rows(table):
        hit = said.get(row[key])
        if hit is None:
            yield ("unrecorded", None, f"{what(row)} has no entry{access.hint(bodies)}")
            continue
        seen.add(row[key])
        i, b = hit
        for col in columns:
            if row[col] != b.get(col):
                yield ("changed", i, f"{what(row)}: column {col} is {row[col]!r}, the record "
                       f"says {b.get(col)!r}")
        differs = more(row, b)
        if differs:
            yield ("changed", i, f"{what(row)}: {differs}")
    for k, (i, b) in said.items():
        if k not in seen:
            yield ("missing", i, f"{what({**b, key: k})} is in the record but not stored")


def _api_keys(store: Store, bodies: Bodies) -> Iterator[Issue]:
    def revoked(row: dict[str, Any], b: dict[str, Any]) -> str | None:
        if row["revoked"] not in (0, 1) or bool(row["revoked"]) is not b.get("revoked"):
            return "revocation differs from the record"
        return None

    yield from _rows_against(store, bodies, "api_keys", API_KEY, "token_hash",
                             ("name", "role", "party"),
                             lambda r: f"API key {r.get('name')!r}", revoked)


def _endpoints(store: Store, bodies: Bodies) -> Iterator[Issue]:
    def secret(row: dict[str, Any], b: dict[str, Any]) -> str | None:
        value = row["secret"]
        if value != "" and (not isinstance(value, str) or access.salted_digest(
                value, str(b.get("secret_salt"))) != b.get("secret_sha256")):
            return "its secret is not the one registered"
        return None

    yield from _rows_against(store, bodies, "endpoints", ENDPOINT, "recipient",
                             ("url", "registered"),
                             lambda r: f"the endpoint of {r['recipient']!r}", secret)


def _pseudonym(store: Store, bodies: Bodies) -> Iterator[Issue]:
    said = bodies.get(PSEUDONYM, [])
    value = store.get_meta(PSEUDONYM_KEY)
    if not said:
        if value is not None:
            yield ("unrecorded", None, f"meta {PSEUDONYM_KEY} (the pseudonym secret) has no "
                   f"entry{access.hint(bodies)}")
        return
    i, b, _ = said[-1]
    if value == "":
        return  # withheld: a mirror's (the server then refuses to make pseudonyms)
    if value is None:
        yield ("missing", i, f"the pseudonym secret is in the record but meta {PSEUDONYM_KEY} "
               "is not stored")
    elif access.salted_digest(value, str(b.get("salt"))) != b.get("sha256"):
        yield ("changed", i, f"meta {PSEUDONYM_KEY} is not the pseudonym secret the record "
               "hashes (public pseudonyms would change)")


def withheld(store: Store) -> list[str]:
    """The secrets this store holds only the hash of (a mirror's: it cannot deliver to those
    endpoints nor make pseudonyms): ``endpoint <recipient>`` and ``pseudonym secret``."""
    out = [f"endpoint {r['recipient']}" for r in store.table_rows("endpoints")
           if r["secret"] == ""]
    return out + (["pseudonym secret"] if store.get_meta(PSEUDONYM_KEY) == "" else [])


def rebuild_entry(store: Store, entry_type: str, body: dict[str, Any], data: bytes) -> bool:
    """Store one access entry's row with the entry (a rebuild); False if not one. Secrets
    are not in the log: a mirror's endpoints and pseudonym secret are withheld (empty)."""
    a = access._access(store)
    if entry_type == API_KEY:
        a.restore_api_key(body, data)
    elif entry_type == ENDPOINT:
        a.set_endpoint(body["recipient"], body["url"], "", body["registered"], data)
    elif entry_type == PSEUDONYM:
        store.delete_meta(PSEUDONYM_KEY)
        a.set_meta_once(PSEUDONYM_KEY, "", [(PSEUDONYM, data)])
    else:
        return False
    return True


@dataclass
class Adopted:
    """What :func:`adopt` recorded."""

    api_keys: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)
    pseudonym_secret: bool = False
    deliveries: list[str] = field(default_factory=list)


def adopt(store: Store) -> Adopted:
    """Record, once, the rows of a store made before they were recorded: each API key,
    endpoint and outbox row that no entry mentions yet, and the pseudonym secret if no entry
    records it, each as it stands. A row that has entries and differs from them is left for
    ``record verify`` to report (adopting it would launder a tampering)."""
    seen: dict[str, set[str]] = {API_KEY: set(), ENDPOINT: set(), "delivery": set()}
    pseudonym = False
    bodies: dict[str, list[tuple[int, dict[str, Any], bytes]]] = {}
    for i, t, b in full_entries(store):
        if t == API_KEY:
            seen[API_KEY].add(str(b.get("token_hash")))
        elif t == ENDPOINT:
            seen[ENDPOINT].add(str(b.get("recipient")))
        elif t == PSEUDONYM:
            pseudonym = True
        elif t in ("notification", "status_change"):
            bodies.setdefault(t, []).append((i, b, b""))
            if b.get("subject") == "delivery":
                seen["delivery"].add(str(b.get("delivery_id")))
    out = Adopted()
    entries: list[tuple[str, bytes]] = []
    for r in store.table_rows("api_keys"):
        if r["token_hash"] not in seen[API_KEY]:
            entries.append((API_KEY, access.api_key_entry(
                r["token_hash"], r["name"], r["role"], r["party"], bool(r["revoked"]))))
            out.api_keys.append(r["name"])
    for r in store.table_rows("endpoints"):
        if r["recipient"] not in seen[ENDPOINT]:
            entries.append((ENDPOINT, access.endpoint_entry(
                r["recipient"], r["url"], r["secret"], r["registered"])))
            out.endpoints.append(r["recipient"])
    value = store.get_meta(PSEUDONYM_KEY)
    if value is not None and not pseudonym:
        entries.append((PSEUDONYM, access.pseudonym_entry(value)))
        out.pseudonym_secret = True
    derived = outbox(bodies)
    for r in store.table_rows("deliveries"):
        want = derived.get(r["id"])
        if (r["id"] in seen["delivery"] or want is None
                or (want[1]["notification_id"], want[1]["recipient"])
                != (r["notification_id"], r["recipient"])):
            continue
        if any(r[c] != want[1][c] for c in OUTBOX_STATE):
            entries.append(("status_change", delivery_entry(r)))
            out.deliveries.append(r["id"])
    if entries:
        store.append_entries(entries)
    return out
