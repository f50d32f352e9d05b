"""Ed25519: the single verification rule on the ed25519-speccheck edge cases, and round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from truceline.core.record import signing
from truceline.errors import SignatureError, ValidationError

from .conftest import VECTORS

CASES = json.loads((VECTORS / "ed25519-speccheck" / "cases.json").read_text())

#: What truceline's rule says about each speccheck case, and why (first rule broken).
#: The case properties (checked independently with pure-Python curve arithmetic while writing
#: this table) are in docs/record.md. Only case 3 satisfies every rule.
EXPECTED: list[tuple[bool, str]] = [
    (False, "public key has small order"),  # 0: small A, small R, S = 0
    (False, "public key has small order"),  # 1: small A, mixed R
    (False, "signature R has small order"),  # 2: mixed A, small R
    (True, ""),  # 3: mixed A and R, both equations hold
    (False, "signature does not verify"),  # 4: only the cofactored equation holds
    (False, "signature does not verify"),  # 5: only the cofactored equation holds
    (False, "S is not reduced"),  # 6: S >= L
    (False, "S is not reduced"),  # 7: S >> L
    (False, "signature R is not canonically encoded"),  # 8: non-canonical R
    (False, "signature R is not canonically encoded"),  # 9: non-canonical R
    (False, "public key is not canonically encoded"),  # 10: non-canonical A
    (False, "public key is not canonically encoded"),  # 11: non-canonical A
]


def _case(i: int) -> tuple[bytes, bytes, bytes]:
    c = CASES[i]
    return bytes.fromhex(c["pub_key"]), bytes.fromhex(c["message"]), bytes.fromhex(c["signature"])


def test_speccheck_has_12_cases() -> None:
    assert len(CASES) == len(EXPECTED) == 12


@pytest.mark.parametrize("i", range(12))
def test_speccheck_case(i: int) -> None:
    pk, msg, sig = _case(i)
    ok, reason = EXPECTED[i]
    if ok:
        signing.verify(pk, msg, sig)
    else:
        with pytest.raises(SignatureError) as e:
            signing.verify(pk, msg, sig)
        assert reason in e.value.message


def test_verify_many_agrees_with_verify() -> None:
    pks, msgs, sigs = zip(*(_case(i) for i in range(12)), strict=True)
    got = signing.verify_many(pks, msgs, sigs)
    assert got.dtype == np.bool_
    assert got.tolist() == [ok for ok, _ in EXPECTED]
    with pytest.raises(ValidationError):
        signing.verify_many(pks, msgs[:-1], sigs)


@pytest.mark.parametrize("i", [0, 1, 2, 10])
def test_weak_keys_are_refused_at_registration(i: int) -> None:
    pk = _case(i)[0] if i != 2 else _case(2)[2][:32]  # case 2's weak point is its R
    with pytest.raises(SignatureError):
        signing.check_public_key(pk)


def test_case_3_key_is_acceptable() -> None:
    signing.check_public_key(_case(3)[0])


def test_sign_verify_round_trip_and_tamper() -> None:
    seed = bytes(range(32))
    pk = signing.public_key(seed)
    signing.check_public_key(pk)
    sig = signing.sign(seed, b"observation 1")
    signing.verify(pk, b"observation 1", sig)
    with pytest.raises(SignatureError, match="does not verify"):
        signing.verify(pk, b"observation 2", sig)
    bad = bytes([sig[0] ^ 1]) + sig[1:]
    with pytest.raises(SignatureError):
        signing.verify(pk, b"observation 1", bad)
    with pytest.raises(SignatureError, match="64 bytes"):
        signing.verify(pk, b"observation 1", sig[:63])
    with pytest.raises(ValidationError):
        signing.sign(seed[:31], b"x")


def test_small_order_list_is_the_8_torsion() -> None:
    """Each listed encoding decodes to a point P with 8P = identity (pure-Python check)."""
    p = 2**255 - 19
    d = -121665 * pow(121666, p - 2, p) % p

    def add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
        (x1, y1), (x2, y2) = a, b
        t = d * x1 * x2 * y1 * y2 % p
        return (
            (x1 * y2 + x2 * y1) * pow(1 + t, p - 2, p) % p,
            (y1 * y2 + x1 * x2) * pow(1 - t, p - 2, p) % p,
        )

    for enc in signing._SMALL_ORDER:
        y = int.from_bytes(enc, "little") % p
        x2 = (y * y - 1) * pow(d * y * y + 1, p - 2, p) % p
        x = pow(x2, (p + 3) // 8, p)
        if (x * x - x2) % p:
            x = x * pow(2, (p - 1) // 4, p) % p
        assert (x * x - x2) % p == 0
        q = (x, y)
        for _ in range(3):
            q = add(q, q)
        assert q == (0, 1)
