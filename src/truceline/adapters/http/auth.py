"""API keys: bearer tokens, stored only as SHA-256 hashes, each with one role and one binding.

A token is shown once when it is created; the store keeps ``sha256(token)``, so a stolen
database does not give working credentials. A key is bound to what its role acts for: a party
key to a party id, a monitor key to a source id, a guarantor key to a guarantor id. Revoking a
key (by name) takes effect on the next request: keys are looked up on every request, never cached.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from truceline.errors import AuthError, ForbiddenError, RateLimitError, ValidationError
from truceline.services import access
from truceline.services.ports import Store


class Role(StrEnum):
    MONITOR = "monitor"
    ANALYST = "analyst"
    PARTY = "party"
    GUARANTOR = "guarantor"
    PUBLIC = "public"


#: Which roles must name what they act for (and which option of `apikey create` names it).
BINDING: dict[Role, str | None] = {
    Role.MONITOR: "source",
    Role.PARTY: "party",
    Role.GUARANTOR: "guarantor",
    Role.ANALYST: None,
    Role.PUBLIC: None,
}

#: Roles inside the mission: they see monitors' identities and exact positions.
MISSION = frozenset({Role.ANALYST})

TOKEN_PREFIX = "tl_"


@dataclass(frozen=True)
class Principal:
    """Who is asking: the role, the key's name, and the id the key is bound to (if any)."""

    role: Role
    name: str | None = None
    bound: str | None = None
    #: What the rate limit counts against: the token hash, or the client address if anonymous.
    rate_key: str = "anonymous"

    @property
    def authenticated(self) -> bool:
        return self.name is not None


ANONYMOUS = Principal(Role.PUBLIC)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_key(store: Store, name: str, role: str, bound: str | None) -> str:
    """Store a new key and return its token (the only time the token exists in clear); the
    registration is an ``api_key`` entry in the same transaction (:mod:`services.access`)."""
    try:
        r = Role(role)
    except ValueError:
        raise ValidationError(f"unknown role {role!r}; one of {', '.join(Role)}",
                              field="role") from None
    need = BINDING[r]
    if need is not None and not bound:
        raise ValidationError(f"a {r.value} key must be bound: give --{need}", field=need)
    if need is None and bound:
        raise ValidationError(f"a {r.value} key is not bound to anything", field="role")
    if not name.strip():
        raise ValidationError("must not be empty", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    access.register_api_key(store, hash_token(token), name, r.value, bound)
    return token


def revoke_api_key(store: Store, name: str, every: bool = False) -> int:
    """Revoke the key with this name (names are unique among unrevoked keys); ``every``
    revokes all keys that share a name from before names were unique. How many were revoked."""
    return access.revoke_api_keys(store, name, every)


def authenticate(store: Store, authorization: str | None, client: str) -> Principal:
    """The principal for an ``Authorization`` header; no header means the public role.

    A header that is present but wrong, unknown or revoked is an error (401), never a silent
    fall-back to the public role, so a client learns at once that its key stopped working.
    """
    if not authorization:
        return Principal(Role.PUBLIC, rate_key=f"ip:{client}")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("expected 'Authorization: Bearer <token>'", field="authorization")
    digest = hash_token(token.strip())
    row = store.api_key(digest)
    if row is None:
        raise AuthError("unknown API key", field="authorization")
    if row["revoked"]:
        raise AuthError("this API key was revoked", field="authorization")
    return Principal(Role(row["role"]), row["name"], row["party"], rate_key=digest)


def require(who: Principal, *roles: Role) -> None:
    """Refuse a role that may not use an endpoint: 401 if anonymous, 403 otherwise."""
    if who.role in roles:
        return
    if not who.authenticated:
        raise AuthError("this needs an API key", field="authorization")
    raise ForbiddenError(f"a {who.role.value} key may not do this", field="authorization")


class RateLimiter:
    """A fixed one-minute window per key: cheap, exact enough, and in memory (one process)."""

    def __init__(self, per_minute: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        #: Seconds on a steady clock (a port: a test holds it still, so that its requests
        #: cannot straddle a minute's edge however slowly the machine serves them).
        self.clock = clock
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        minute = int(now // 60)
        with self._lock:
            start, n = self._windows.get(key, (minute, 0))
            if start != minute:
                start, n = minute, 0
            n += 1
            self._windows[key] = (start, n)
            if len(self._windows) > 100_000:  # forget idle clients so memory stays bounded
                self._windows = {k: v for k, v in self._windows.items() if v[0] == minute}
        if n > self.per_minute:
            raise RateLimitError(
                f"more than {self.per_minute} requests in a minute; slow down",
                field="authorization", retry_after_s=60 - int(now % 60))
