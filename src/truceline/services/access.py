"""Who may read and where notifications go, recorded: API keys, endpoints, the pseudonym secret.

These rows decide what the API serves and to whom (an API key's role and binding), where a
notification goes and what signs it (a recipient's webhook endpoint), and which pseudonym a
source gets in public (the per-store pseudonym secret). Each change is an entry appended in
the transaction that writes the row, so ``record verify`` checks the rows against the log
(:mod:`truceline.services.verify_access`): a row edited, inserted or deleted on disk is named.

None of it is public: the entry types are not in :data:`truceline.core.record.commit.CLEAR`,
so every field is a salted commitment and only analysts open them. Secrets never enter the
log: an API key is recorded by the hash of its token (all the store keeps), an endpoint's
signing secret and the pseudonym secret by a salted SHA-256 (:func:`salted_digest`).

A store made before these entries existed is brought in once by
:func:`truceline.services.verify_access.adopt` (``truceline record adopt-access``): it records
every row that has no entry yet as it stands.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, Protocol, cast

from truceline.core.record.canonical import entry_bytes
from truceline.errors import StoreError
from truceline.services.ports import Store

API_KEY, ENDPOINT, PSEUDONYM = "api_key", "endpoint", "pseudonym_secret"
#: The meta key of the pseudonym secret (hex), what public pseudonyms are derived from.
PSEUDONYM_KEY = "http.pseudonym_secret"
#: What ``record verify`` tells an operator whose store predates these entries.
ADOPT_HINT = ("the log holds no such entry at all: a store from before API keys, endpoints, the "
              "pseudonym secret and delivery attempts were recorded; run `truceline record "
              "adopt-access` once")


def predates(bodies: dict[str, list[tuple[int, dict[str, Any], bytes]]]) -> bool:
    """Whether a log holds none of these entries (a store made before them): only then does
    ``record verify`` suggest ``adopt-access`` for a row without its entry (elsewhere such a row
    is a tampering, and adopting it would launder it)."""
    return not any(bodies.get(t) for t in (API_KEY, ENDPOINT, PSEUDONYM)) and not any(
        b.get("subject") == "delivery" for _, b, _ in bodies.get("status_change", []))


def hint(bodies: dict[str, list[tuple[int, dict[str, Any], bytes]]]) -> str:
    """`` (ADOPT_HINT)`` for a store that :func:`predates` the entries, else nothing."""
    return f" ({ADOPT_HINT})" if predates(bodies) else ""


class AccessStore(Store, Protocol):
    """The store methods this module needs (both SQL stores have them)."""

    def restore_api_key(self, row: dict[str, Any], entry: bytes) -> None: ...

    def set_endpoint(self, recipient: str, url: str, secret: str, registered: str,
                     entry: bytes) -> None: ...

    def set_meta_once(self, key: str, value: str, entries: list[tuple[str, bytes]]) -> str: ...


def _access(store: Store) -> AccessStore:
    return cast(AccessStore, store)


def salted_digest(secret: str, salt_hex: str) -> str:
    """SHA-256 (hex) of ``salt || secret``: what the log holds of a secret."""
    try:
        salt = bytes.fromhex(salt_hex)
    except (TypeError, ValueError):
        salt = b""
    return hashlib.sha256(salt + secret.encode("utf-8")).hexdigest()


def api_key_entry(token_hash: str, name: str, role: str, party: str | None,
                  revoked: bool) -> bytes:
    """An API key's state after a registration or a revocation (the row it must be)."""
    return entry_bytes(API_KEY, {"token_hash": token_hash, "name": name, "role": role,
                                 "party": party, "revoked": revoked})


def register_api_key(store: Store, token_hash: str, name: str, role: str,
                     party: str | None) -> None:
    """Store a key and its entry in one transaction; ConflictError (field ``name``) if an
    unrevoked key has this name (nothing written)."""
    store.add_api_key(token_hash, name, role, party,
                      api_key_entry(token_hash, name, role, party, False))


def revoke_api_keys(store: Store, name: str, every: bool = False) -> int:
    """Revoke the key named ``name`` (or, with ``every``, all of them), each revocation an
    entry in the transaction that marks it; how many were revoked."""
    return store.revoke_api_key(
        name, every, lambda row: api_key_entry(row["token_hash"], row["name"], row["role"],
                                               row["party"], True))


def endpoint_entry(recipient: str, url: str, secret: str, registered: str,
                   salt_hex: str | None = None) -> bytes:
    """An endpoint's registration: its URL and time, and a salted hash of its secret."""
    salt = salt_hex if salt_hex is not None else secrets.token_bytes(32).hex()
    return entry_bytes(ENDPOINT, {"recipient": recipient, "url": url, "registered": registered,
                                  "secret_salt": salt,
                                  "secret_sha256": salted_digest(secret, salt)})


def set_endpoint(store: Store, recipient: str, url: str, secret: str, registered: str) -> None:
    """Store (or replace) a recipient's endpoint with its entry, in one transaction."""
    _access(store).set_endpoint(recipient, url, secret, registered,
                                endpoint_entry(recipient, url, secret, registered))


def pseudonym_entry(secret_hex: str) -> bytes:
    salt = secrets.token_bytes(32).hex()
    return entry_bytes(PSEUDONYM, {"salt": salt, "sha256": salted_digest(secret_hex, salt)})


def pseudonym_secret(store: Store) -> bytes:
    """The store's pseudonym secret, made (with its entry, in one transaction) on first use;
    concurrent first uses agree on one. StoreError if it is withheld (a mirror holds only the
    entry: the secret is not in the log) or not hex."""
    value = store.get_meta(PSEUDONYM_KEY)
    if value is None:
        fresh = secrets.token_hex(32)
        value = _access(store).set_meta_once(PSEUDONYM_KEY, fresh,
                                             [(PSEUDONYM, pseudonym_entry(fresh))])
    try:
        secret = bytes.fromhex(value)
    except ValueError:
        secret = b""
    if not secret:  # withheld (a mirror rebuilt from the log) or tampered with
        raise StoreError("this store holds no usable pseudonym secret (a mirror's is withheld;"
                         " `truceline record verify` tells which)", field=PSEUDONYM_KEY)
    return secret
