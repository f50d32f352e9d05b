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
lists them, and ``record verify`` prints them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from truceline.services import access
from truceline.services.access import API_KEY, ENDPOINT, PSEUDONYM, PSEUDONYM_KEY
from truceline.services.ports import Store

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


def _api_keys(store: Store, bodies: Bodies) -> Iterator[Issue]:
    said = _latest(bodies, API_KEY, "token_hash")
    seen: set[str] = set()
    for row in store.table_rows("api_keys"):
        what = f"API key {row['name']!r}"
        hit = said.get(row["token_hash"])
        if hit is None:
            yield ("unrecorded", None, f"{what} has no entry{access.hint(bodies)}")
            continue
        seen.add(row["token_hash"])
        i, b = hit
        for col in ("name", "role", "party"):
            if row[col] != b.get(col):
                yield ("changed", i, f"{what}: column {col} is {row[col]!r}, the record says "
                       f"{b.get(col)!r}")
        if row["revoked"] not in (0, 1) or bool(row["revoked"]) is not b.get("revoked"):
            yield ("changed", i, f"{what}: revocation differs from the record")
    for th, (i, b) in said.items():
        if th not in seen:
            yield ("missing", i, f"API key {b.get('name')!r} is in the record but not stored")


def _endpoints(store: Store, bodies: Bodies) -> Iterator[Issue]:
    said = _latest(bodies, ENDPOINT, "recipient")
    seen: set[str] = set()
    for row in store.table_rows("endpoints"):
        what = f"the endpoint of {row['recipient']!r}"
        hit = said.get(row["recipient"])
        if hit is None:
            yield ("unrecorded", None, f"{what} has no entry{access.hint(bodies)}")
            continue
        seen.add(row["recipient"])
        i, b = hit
        for col in ("url", "registered"):
            if row[col] != b.get(col):
                yield ("changed", i, f"{what}: column {col} is {row[col]!r}, the record says "
                       f"{b.get(col)!r}")
        secret = row["secret"]
        if secret != "" and (not isinstance(secret, str) or access.salted_digest(
                secret, str(b.get("secret_salt"))) != b.get("secret_sha256")):
            yield ("changed", i, f"{what}: its secret is not the one registered")
    for who, (i, _) in said.items():
        if who not in seen:
            yield ("missing", i, f"the endpoint of {who!r} is in the record but not stored")


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
