"""One exception tree for truceline.

Every error carries a stable ``code`` (for machines), a user-safe ``message`` (for people) and,
where it concerns a piece of input, the ``field`` it concerns. Adapters never invent their own
mapping: :data:`ERROR_TABLE` says which HTTP status and which CLI exit code each class gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class TrucelineError(Exception):
    """Base of every error truceline raises on purpose."""

    code = "truceline_error"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{where}{self.message}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON envelope used by the HTTP API and ``--json`` CLI output."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            out["field"] = self.field
        if self.details:
            out["details"] = self.details
        return out


class ValidationError(TrucelineError):
    """Input that does not match its schema: names the field (a JSON path) and the reason."""

    code = "invalid_input"


class QueryParameterError(ValidationError):
    """A query parameter a route does not define, or one it cannot read: 400, not 422, because
    OGC API - Features Part 1 requires that status of unknown and invalid parameters."""

    code = "invalid_query_parameter"


class AgreementError(ValidationError):
    """An agreement document that cannot be used as written."""

    code = "invalid_agreement"


class ObservationError(ValidationError):
    """An observation that cannot be accepted; ``line`` says where in the file it was."""

    code = "invalid_observation"

    def __init__(
        self, message: str, *, field: str | None = None, line: int | None = None, **details: Any
    ) -> None:
        if line is not None:
            details["line"] = line
        super().__init__(message, field=field, **details)
        self.line = line

    def __str__(self) -> str:
        prefix = f"line {self.line}: " if self.line is not None else ""
        return prefix + super().__str__()


class EncodingError(ObservationError):
    """A file that is not text in an encoding truceline reads; ``field`` is the file.

    Observation files are UTF-8 (a byte-order mark is dropped), or UTF-16/UTF-32 with a
    byte-order mark; dataset CSVs may also be cp1252. ``line`` and ``offset`` (bytes from the
    start of the file) say where the first undecodable byte is, when that can be told.
    """

    code = "bad_encoding"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        line: int | None = None,
        offset: int | None = None,
        **details: Any,
    ) -> None:
        if offset is not None:
            details["offset"] = offset
        super().__init__(message, field=field, line=line, **details)
        self.offset = offset

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        where += [f"byte {self.offset}"] if self.offset is not None else []
        parts = [p for p in (self.field, ", ".join(where), self.message) if p]
        return ": ".join(parts)


class OutsideAreaError(ObservationError):
    """Geometry that lies outside the agreement's area of interest (never silently used)."""

    code = "outside_area_of_interest"


class SignatureError(TrucelineError):
    """A signature or key that does not verify under truceline's single Ed25519 rule."""

    code = "bad_signature"


class NotFoundError(TrucelineError):
    code = "not_found"


class ConflictError(TrucelineError):
    """The request contradicts what is stored (e.g. same id, different content)."""

    code = "conflict"


class AuthError(TrucelineError):
    code = "unauthenticated"


class ForbiddenError(TrucelineError):
    code = "forbidden"


class RateLimitError(TrucelineError):
    code = "rate_limited"


class PayloadTooLargeError(TrucelineError):
    """A request body over the configured size limit."""

    code = "payload_too_large"


class UnsupportedMediaTypeError(TrucelineError):
    """A request body in a media type the route does not take (its Content-Type)."""

    code = "unsupported_media_type"


class StoreError(TrucelineError):
    """The store is missing, of the wrong version, or unreachable."""

    code = "store_error"


class IntegrityError(TrucelineError):
    """The record does not verify: a changed, missing, reordered or forked entry."""

    code = "record_integrity"


class ConfigError(TrucelineError):
    code = "bad_config"


@dataclass(frozen=True)
class ErrorMapping:
    http_status: int
    exit_code: int


#: The one table mapping error classes to HTTP statuses and CLI exit codes (most specific first).
ERROR_TABLE: dict[type[TrucelineError], ErrorMapping] = {
    OutsideAreaError: ErrorMapping(422, 65),
    EncodingError: ErrorMapping(422, 65),
    ObservationError: ErrorMapping(422, 65),
    AgreementError: ErrorMapping(422, 65),
    QueryParameterError: ErrorMapping(400, 65),
    ValidationError: ErrorMapping(422, 65),
    SignatureError: ErrorMapping(400, 77),
    NotFoundError: ErrorMapping(404, 66),
    ConflictError: ErrorMapping(409, 73),
    AuthError: ErrorMapping(401, 77),
    ForbiddenError: ErrorMapping(403, 77),
    RateLimitError: ErrorMapping(429, 75),
    PayloadTooLargeError: ErrorMapping(413, 65),
    UnsupportedMediaTypeError: ErrorMapping(415, 65),
    IntegrityError: ErrorMapping(409, 3),
    StoreError: ErrorMapping(503, 74),
    ConfigError: ErrorMapping(500, 78),
    TrucelineError: ErrorMapping(400, 1),
}

#: The CLI's exit code for a run that finished but left records out: ``ingest --on-invalid
#: skip`` stored every valid record and rejected at least one (each rejection is listed).
#: Not an error (nothing was refused as a whole), not a clean success. Rows an importer skips
#: on purpose (a blank New START value) are not rejections and leave the exit code 0.
EXIT_PARTIAL = 4


def mapping_for(exc: TrucelineError) -> ErrorMapping:
    """The HTTP status and exit code for ``exc`` (walks the class hierarchy)."""
    for cls in type(exc).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return ERROR_TABLE[TrucelineError]
