"""Webhook signatures: HMAC-SHA256 over the delivery id, the time and the body.

The scheme is Standard Webhooks' (``webhook-id``, ``webhook-timestamp`` and
``webhook-signature: v1,<base64>`` headers; the secret is ``whsec_<base64>``), so a receiver
can check it with that project's libraries or a few lines of its own. Why a shared secret
and not the mission's Ed25519 key: the delivery worker runs unattended (cron, the server's
background task) and must not hold the log's key, which stays in its key file or outside
signer for checkpoints only; proof that the mission sent a notification is its entry in the
record (the body carries its leaf hash), whose checkpoints the log key signs. The HMAC only
tells the receiver that the request came from the mission and was not altered or replayed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from truceline.errors import SignatureError

SECRET_PREFIX = "whsec_"
#: How far a delivery's timestamp may be from the receiver's clock (replay protection).
TOLERANCE_S = 300


def _key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the endpoint secret is not whsec_<base64>",
                             field="secret") from None


def signature(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header value: ``v1,<base64 HMAC-SHA256>``."""
    msg = f"{delivery_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(_key(secret), msg, hashlib.sha256).digest()).decode()


def headers(secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers of one delivery (``webhook-id`` is also its idempotency key)."""
    return {"content-type": "application/json", "webhook-id": delivery_id,
            "idempotency-key": delivery_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, delivery_id, timestamp, body)}


def verify(secret: str, got: dict[str, str], body: bytes, now: int) -> str:
    """Check a received delivery's headers (lower-case names); returns its id."""
    try:
        did, ts = got["webhook-id"], int(got["webhook-timestamp"])
        sigs = got["webhook-signature"].split()
    except (KeyError, ValueError):
        raise SignatureError("webhook headers missing or malformed",
                             field="webhook-signature") from None
    if abs(now - ts) > TOLERANCE_S:
        raise SignatureError("webhook timestamp outside the tolerance", field="webhook-timestamp")
    want = signature(secret, did, ts, body)
    if not any(hmac.compare_digest(s, want) for s in sigs):
        raise SignatureError("webhook signature does not verify", field="webhook-signature")
    return did
