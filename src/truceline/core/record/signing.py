"""Ed25519 under one verification rule that every party applies identically.

Ed25519 implementations disagree on edge cases (ed25519-speccheck shows 12 of them), and a
record that some parties accept and others reject is a fork by other means. truceline's rule
is libsodium's strict rule, checked explicitly here before libsodium runs so it holds
whatever libsodium version is linked:

1. the public key ``A`` and the signature's ``R`` must be canonical encodings (y < p, and no
   "negative zero" x);
2. neither ``A`` nor ``R`` may be a point of small order (the 8-torsion subgroup; compared,
   as libsodium does, against the known encodings with the sign bit ignored);
3. the scalar ``S`` must be reduced: ``S < L``;
4. the *cofactorless* equation ``[S]B == R + [H(R || A || M)]A`` must hold, checked by
   libsodium as an encoding comparison.

Keys are 32-byte public keys and 32-byte seeds (what C2SP key strings carry).
"""

from __future__ import annotations

from collections.abc import Sequence

import nacl.bindings
import nacl.exceptions
import numpy as np
import numpy.typing as npt

from truceline.errors import SignatureError, ValidationError

__all__ = [
    "PUBLIC_KEY_SIZE",
    "SEED_SIZE",
    "SIGNATURE_SIZE",
    "check_public_key",
    "public_key",
    "sign",
    "verify",
    "verify_many",
]

PUBLIC_KEY_SIZE = 32
SEED_SIZE = 32
SIGNATURE_SIZE = 64

_P = 2**255 - 19
_L = 2**252 + 27742317777372353535851937790883648493

#: Encodings of the small-order points with the sign bit cleared (libsodium's list):
#: 0 (order 4), 1 (order 1), the two order-8 y values, p-1 (order 2), and the
#: non-canonical p (=0) and p+1 (=1).
_SMALL_ORDER = frozenset(
    bytes.fromhex(h)
    for h in (
        "00" * 32,
        "01" + "00" * 31,
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "ec" + "ff" * 30 + "7f",
        "ed" + "ff" * 30 + "7f",
        "ee" + "ff" * 30 + "7f",
    )
)


def _point_problem(enc: bytes) -> str | None:
    """Why an encoded point is unacceptable as ``A`` or ``R`` (None when it is fine)."""
    v = int.from_bytes(enc, "little")
    y = v & ((1 << 255) - 1)
    if y >= _P:
        return "is not canonically encoded (y >= p)"
    if v >> 255 and y in (1, _P - 1):  # x = 0 there, so a set sign bit is a second encoding
        return "is not canonically encoded (negative zero x)"
    if enc[:31] + bytes([enc[31] & 0x7F]) in _SMALL_ORDER:
        return "has small order"
    return None


def check_public_key(pk: bytes) -> None:
    """Reject a key that could sign ambiguously: wrong length, non-canonical or small-order.

    Run at key registration so a weak key never enters the record; :func:`verify` repeats
    the check because a verifier must not rely on who registered what.
    """
    if not isinstance(pk, bytes) or len(pk) != PUBLIC_KEY_SIZE:
        raise SignatureError("public key must be 32 bytes", field="public_key")
    problem = _point_problem(pk)
    if problem:
        raise SignatureError(f"public key {problem}", field="public_key")


def public_key(seed: bytes) -> bytes:
    """The Ed25519 public key of a 32-byte seed."""
    if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
        raise ValidationError("Ed25519 seed must be 32 bytes", field="seed")
    pk, _ = nacl.bindings.crypto_sign_seed_keypair(seed)
    return bytes(pk)


def sign(seed: bytes, msg: bytes) -> bytes:
    """Sign ``msg`` with the key derived from a 32-byte ``seed``; returns 64 bytes."""
    if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
        raise ValidationError("Ed25519 seed must be 32 bytes", field="seed")
    _, sk = nacl.bindings.crypto_sign_seed_keypair(seed)
    return bytes(nacl.bindings.crypto_sign(msg, sk)[:SIGNATURE_SIZE])


def _problem(pk: bytes, msg: bytes, sig: bytes) -> str | None:
    if not isinstance(pk, bytes) or len(pk) != PUBLIC_KEY_SIZE:
        return "public key must be 32 bytes"
    if not isinstance(sig, bytes) or len(sig) != SIGNATURE_SIZE:
        return "signature must be 64 bytes"
    problem = _point_problem(pk)
    if problem:
        return f"public key {problem}"
    problem = _point_problem(sig[:32])
    if problem:
        return f"signature R {problem}"
    if int.from_bytes(sig[32:], "little") >= _L:
        return "signature S is not reduced (S >= L)"
    try:
        nacl.bindings.crypto_sign_open(sig + msg, pk)
    except nacl.exceptions.BadSignatureError:
        return "signature does not verify"
    return None


def verify(pk: bytes, msg: bytes, sig: bytes) -> None:
    """Raise SignatureError (naming the rule broken) unless ``sig`` is valid for ``msg``."""
    problem = _problem(pk, msg, sig)
    if problem:
        raise SignatureError(problem, field="signature")


def verify_many(
    pks: Sequence[bytes], msgs: Sequence[bytes], sigs: Sequence[bytes]
) -> npt.NDArray[np.bool_]:
    """Verify many signatures under the same rule; element i is True when signature i holds.

    One libsodium call per signature (no batch equation: batch verification is cofactored
    and would accept signatures the single rule rejects).
    """
    if not len(pks) == len(msgs) == len(sigs):
        raise ValidationError("pks, msgs and sigs must have the same length", field="sigs")
    out = np.zeros(len(sigs), dtype=np.bool_)
    for i, (pk, msg, sig) in enumerate(zip(pks, msgs, sigs, strict=True)):
        out[i] = _problem(pk, msg, sig) is None
    return out
