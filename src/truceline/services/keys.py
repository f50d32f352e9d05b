"""Source and witness keys: parsing, registration and revocation, each an entry in the record.

A registered key is what the submission policy (:mod:`truceline.services.submissions`) checks a
source's signatures against, and what a party's cosignatures are checked against
(:mod:`truceline.services.witnesses`). Weak keys never enter the record.
"""

from __future__ import annotations

import re

from truceline.core.record.canonical import entry_bytes
from truceline.core.record.note import ALG_COSIGNATURE_V1, ALG_ED25519, Verifier
from truceline.core.record.signing import check_public_key
from truceline.errors import SignatureError, ValidationError
from truceline.services.ports import Store
from truceline.services.record import b64, unb64

#: The roles a key is registered for (a witness key cosigns checkpoints; a guarantor key
#: signs acknowledgements of notifications, docs/guarantees.md).
ROLES = ("monitor", "sensor", "party", "witness", "guarantor")


def parse_key(public_key: str, owner: str, role: str) -> Verifier:
    """A key from a C2SP vkey or raw base64; a raw key is named after its owner.

    Witness keys are cosignature/v1 keys (alg 0x04), every other role signs with plain
    Ed25519 (alg 0x01). ``check_public_key`` runs here: weak keys never enter the record.
    """
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}", field="role")
    alg = ALG_COSIGNATURE_V1 if role == "witness" else ALG_ED25519
    if re.match(r"[^+\s]+\+[0-9a-f]{8}\+", public_key):
        v = Verifier.from_vkey(public_key)
    else:
        raw = unb64(public_key, "public_key")
        check_public_key(raw)
        try:
            v = Verifier(owner, raw, alg)
        except ValidationError as e:
            raise ValidationError(
                f"owner {owner!r} cannot name a key ({e.message}); give a vkey", field="owner"
            ) from e
    if v.alg != alg:
        raise SignatureError(
            f"a {role} key must have algorithm {alg:#04x}, got {v.alg:#04x}", field="public_key"
        )
    return v


def register_source_key(store: Store, owner: str, role: str, public_key_b64: str,
                        custody: str | None = None) -> str:
    """Register a source's or witness's public key; returns its key id (the vkey).

    A weak key (non-canonical, small-order) raises SignatureError naming ``public_key``.
    ``custody``, when given, goes into the registration entry: who holds the private key when
    it is not the owner (a form account's key held by the server, services.account_keys).
    """
    if not owner:
        raise ValidationError("owner must not be empty", field="owner")
    v = parse_key(public_key_b64, owner, role)
    key_id = v.to_vkey()
    body = {"key_id": key_id, "owner": owner, "role": role, "public_key": b64(v.public_key)}
    if custody is not None:
        body["custody"] = custody
    store.register_key(key_id, owner, role, v.public_key, entry_bytes("key_registration", body))
    return key_id


def revoke_source_key(store: Store, key_id: str) -> None:
    """Revoke a key: its signatures are refused from now on (the revocation is an entry)."""
    body = {"subject": "key", "key_id": key_id, "status": "revoked"}
    store.revoke_key(key_id, entry_bytes("status_change", body))

