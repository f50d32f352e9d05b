"""Submit observations (one or a batch) and read them back.

Submissions are validated by the ingest service, idempotent by id, and all-or-nothing by
default (``on_invalid=raise``: a bad record is a 422 naming ``observations[i].field`` and nothing
of the batch is stored). A monitor or party key may only submit for the source it is bound
to. Every HTTP submission must carry a valid Ed25519 signature by a registered key of its
source (the record service's one policy); a batch with one bad signature stores nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from truceline.adapters.http.auth import Principal, Role, require
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.policy import (
    declarer,
    observation_visible,
    own_submission,
    visible_findings,
)
from truceline.adapters.http.redaction import redact_observation
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.core.findings import Finding
from truceline.core.observations import is_text
from truceline.core.taxonomy import Kind
from truceline.errors import (
    EncodingError,
    ForbiddenError,
    NotFoundError,
    ObservationError,
    SignatureError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from truceline.services.ingest import ingest

router = APIRouter(tags=["observations"])

MAX_BATCH = 10_000
SUBMITTERS = (Role.MONITOR, Role.ANALYST, Role.PARTY)


class Rejected(BaseModel):
    index: int | None
    field: str | None
    reason: str
    id: str | None = None


class IngestResult(BaseModel):
    added: int
    duplicates: int
    rejected: list[Rejected]


class ObservationList(BaseModel):
    observations: list[dict[str, Any]]
    numberReturned: int


def _require_json(request: Request) -> None:
    """A body declared as anything but JSON (``application/json`` or ``application/*+json``)
    is a 415 naming ``content-type``; a body without a Content-Type is read as JSON."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.split(";", 1)[0].strip().lower()
    if media == "application/json" or (media.startswith("application/")
                                       and media.endswith("+json")):
        return
    raise UnsupportedMediaTypeError(
        f"the body must be application/json, not {media[:100]!r}", field="content-type")


def _json_body(raw: bytes) -> Any:
    """The body as JSON: UTF-8 (with or without a byte-order mark), UTF-16 or UTF-32.

    A body that is not text in these is a 422 ``bad_encoding`` naming the first bad byte;
    one nested too deeply to read is a 422 naming ``body``.
    """
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValidationError("nested too deeply (arrays or objects within each other)",
                              field="body") from None
    except UnicodeDecodeError as exc:
        bad = exc.object[exc.start : exc.start + 1].hex()
        raise EncodingError(
            f"not decodable as {exc.encoding.upper()} (0x{bad}: {exc.reason})",
            field="body",
            offset=exc.start,
        ) from None
    except ValueError as exc:
        raise ValidationError(f"not valid JSON: {exc}", field="body") from None


def _check_submitter(who: Principal, records: list[Any], prefix: str) -> None:
    require(who, *SUBMITTERS)
    for i, rec in enumerate(records):
        where = f"{prefix}[{i}]" if prefix else ""
        if not isinstance(rec, dict):
            raise ValidationError("must be an object", field=where or "body")
        if who.role is not Role.ANALYST and rec.get("source_id") not in (None, who.bound):
            raise ForbiddenError(f"this key submits only for source {who.bound!r}",
                                 field=f"{where}.source_id" if where else "source_id")
        oid = rec.get("id")
        if who.role is Role.PARTY and isinstance(oid, str) and not oid.startswith(
                f"{who.bound}:"):
            # Ids are shared by every source: a conflict on another's would tell the
            # party that it exists. In its own namespace a refused id is its own record.
            raise ValidationError(f"a party's observation ids begin with '{who.bound}:'",
                                  field=f"{where}.id" if where else "id")


def _submit(st: AppState, records: list[dict[str, Any]], on_invalid: str, prefix: str
            ) -> IngestResult:
    """Validate, verify and store one request's records as one ingest batch (one pass each).

    Ingest verifies the signatures itself (``require_signatures``, in verifier processes, so
    the event loop never waits for them on the GIL) and encodes the records once;
    ``on_bad_signature="raise"`` keeps the API's rule that a request with one bad signature
    stores nothing, in ``skip`` mode too.
    """
    try:
        rep = ingest(st.store, list(enumerate(records)), on_invalid=on_invalid,  # type: ignore[arg-type]
                     batch_size=len(records) + 1, require_signatures=True,
                     on_bad_signature="raise", context=st.write_context(),
                     future_tolerance=timedelta(minutes=st.settings.future_tolerance_minutes))
    except SignatureError as exc:
        line = exc.details.get("line")
        at = f"{prefix}[{line}]." if prefix and line is not None else ""
        reason = exc.message.removeprefix(f"line {line}: ")  # the field says where
        raise SignatureError(reason, field=f"{at}signature", id=exc.details.get("id")) from None
    except ObservationError as exc:
        at = f"{prefix}[{exc.line}]" if prefix and exc.line is not None else ""
        field = f"{at}.{exc.field}" if at and exc.field else (at or exc.field)
        raise type(exc)(exc.message, field=field, id=exc.details.get("id")) from None
    return IngestResult(added=rep.added, duplicates=rep.duplicates, rejected=[
        Rejected(index=r.line, field=r.field, reason=r.reason, id=r.id) for r in rep.rejected])


_OBS = {"$ref": "#/components/schemas/ObservationIn"}
_ONE = {"requestBody": {"required": True, "content": {"application/json": {"schema": _OBS}}}}
_MANY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["observations"], "additionalProperties": False,
    "properties": {"observations": {"type": "array", "items": _OBS, "minItems": 1,
                                    "maxItems": MAX_BATCH}}}}}}}


@router.post("/observations", openapi_extra=_ONE,
             responses=error_responses(400, 403, 409, 415))
async def submit_one(request: Request, who: Principal = Depends(principal),
                     st: AppState = Depends(app_state)) -> IngestResult:
    """Submit one observation (monitors, parties for their own source; analysts)."""
    _require_json(request)
    rec = _json_body(await request.body())
    _check_submitter(who, [rec], "")
    return await run_in_threadpool(_submit, st, [rec], "raise", "")


@router.post("/observations/batch", openapi_extra=_MANY,
             responses=error_responses(400, 403, 409, 415))
async def submit_batch(request: Request,
                       on_invalid: Literal["raise", "skip"] = Query(
                           "raise", description="raise: all or nothing; skip: store the valid "
                           "ones and list the rejected"),
                       who: Principal = Depends(principal),
                       st: AppState = Depends(app_state)) -> IngestResult:
    """Submit up to 10,000 observations in one request."""
    _require_json(request)
    return await run_in_threadpool(_submit_body, st, who, await request.body(), on_invalid)


def _submit_body(st: AppState, who: Principal, raw: bytes, on_invalid: str) -> IngestResult:
    """Read a batch's body and submit it, off the event loop (a body of 10,000 observations
    takes tens of milliseconds to parse, which reads of ``/findings`` would wait for)."""
    body = _json_body(raw)
    if not isinstance(body, dict) or set(body) != {"observations"}:
        raise ValidationError("expected {\"observations\": [...]}", field="observations")
    records = body["observations"]
    if not isinstance(records, list) or not 1 <= len(records) <= MAX_BATCH:
        raise ValidationError(f"must be a list of 1 to {MAX_BATCH} observations",
                              field="observations")
    _check_submitter(who, records, "observations")
    return _submit(st, records, on_invalid, "observations")


def _aware(text: str | None, field: str) -> datetime | None:
    """An RFC 3339 time with its offset (a number or a naive time is refused, not guessed)."""
    if text is None:
        return None
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError("not an RFC 3339 date-time", field=field) from None
    if t.utcoffset() is None:
        raise ValidationError("needs a UTC offset (e.g. ...Z or +02:00)", field=field)
    try:
        return t.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is in the year 0 in UTC
        raise ValidationError("is out of range: in UTC it must be in the years 1 to 9999",
                              field=field) from None


@router.get("/observations", response_model=ObservationList,
            responses=error_responses(403))
def list_observations(
    kind: list[Kind] | None = Query(None),
    start: str | None = Query(None, max_length=40, json_schema_extra={"format": "date-time"},
                              description="From this time (inclusive, RFC 3339 with offset)."),
    end: str | None = Query(None, max_length=40, json_schema_extra={"format": "date-time"},
                            description="Until this time (exclusive, RFC 3339 with offset)."),
    source_id: str | None = Query(None, max_length=200, description="Analysts only."),
    limit: int = Query(1000, ge=1, le=10_000), offset: int = Query(0, ge=0, le=10**9),
    who: Principal = Depends(principal), st: AppState = Depends(app_state),
) -> ObservationList:
    """Observations in time order: a monitor or party sees its own submissions, an analyst all."""
    require(who, *SUBMITTERS)
    if source_id is not None and not is_text(source_id):
        raise ValidationError("must be text without NUL characters", field="source_id")
    if who.role is not Role.ANALYST:
        if source_id not in (None, who.bound):
            raise ForbiddenError("this key reads only its own submissions", field="source_id")
        source_id = who.bound
    obs = st.reader.observations([k.value for k in kind] if kind else None,
                                _aware(start, "start"), _aware(end, "end"), source_id,
                                limit, offset)
    return ObservationList(observations=[o.to_record() for o in obs], numberReturned=len(obs))


@router.get("/observations/{obs_id}", responses=error_responses(403, 404))
def get_observation(obs_id: str, who: Principal = Depends(principal),
                    st: AppState = Depends(app_state)) -> dict[str, Any]:
    """One observation: your own exactly; a finding's evidence redacted (parties, guarantors)."""
    require(who, *SUBMITTERS, Role.GUARANTOR)
    # One answer for a missing observation and a hidden one: the store's own not-found
    # (the id in its details) would tell the two apart.
    missing = NotFoundError("no such observation", field="id")
    if not is_text(obs_id):  # no stored id holds a NUL or a lone surrogate
        raise missing
    try:
        o = st.reader.observation(obs_id)
    except NotFoundError:
        raise missing from None
    seen: list[Finding] = []
    if who.role in (Role.PARTY, Role.GUARANTOR) and not own_submission(who, o.source_id):
        seen = visible_findings(who, st.findings(), st.context().agreement, st.published())
    if not observation_visible(who, o.source_id, o.id, seen, declarer(o)):
        raise missing
    rec = o.to_record()
    if who.role is Role.ANALYST or own_submission(who, o.source_id):
        return rec
    return redact_observation(rec, st.secret, st.grid)
