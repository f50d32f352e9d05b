"""Agreement versions, the record's signed checkpoints, and inclusion and consistency proofs.

Every proof is the record service's document, which a third party checks offline with
``truceline.services.record.check_proof`` against the signed checkpoints and the log's key.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from typing import Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from truceline.adapters.http.auth import Principal, Role, require
from truceline.adapters.http.disclosure import may_open
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.policy import entry_readable, guaranteed_ids
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.core.recognition import status_of_areas
from truceline.core.record.canonical import parse_entry
from truceline.errors import NotFoundError, StoreError, TrucelineError, ValidationError
from truceline.services import record, witnesses
from truceline.services.openings import BUNDLE_FORMAT, bundle, plaintext

router = APIRouter(tags=["agreement and record"])


class Checkpoint(BaseModel):
    size: int
    note: str


class LogKey(BaseModel):
    vkey: str


class InclusionProof(BaseModel):
    type: str
    index: int
    size: int
    entry: str | None = Field(
        None, description="The entry's bytes (base64), only for a key that may read its "
        "content exactly; absent otherwise (the proof verifies from leaf_hash alone).")
    leaf_hash: str
    proof: list[str]


class FieldOpening(BaseModel):
    index: int
    field: str
    salt: str = Field(description="The field's 32-byte salt, hex.")
    value: Any = Field(description="The field's value (JSON).")


class OpeningsBundle(BaseModel):
    format: str = Field(description="Always 'truceline-openings/v1'.")
    openings: list[FieldOpening]


class ConsistencyProof(BaseModel):
    type: str
    size1: int
    size2: int
    proof: list[str]


@router.get("/agreement", responses=error_responses(503))
def agreement(who: Principal = Depends(principal),
              st: AppState = Depends(app_state)) -> dict[str, Any]:
    """The current agreement version (the bundled document, geometry inline). Public."""
    return st.reader.agreement_doc()


@router.get("/agreement/versions/{version}", responses=error_responses(404, 503))
def agreement_version(version: int = Path(ge=1, le=2**31), who: Principal = Depends(principal),
                      st: AppState = Depends(app_state)) -> dict[str, Any]:
    """One stored agreement version. Public."""
    try:
        return st.raw_store.agreement_doc(version)
    except StoreError:
        raise NotFoundError(f"no agreement version {version}", field="version") from None


@router.get("/agreement/areas", responses=error_responses(503))
def areas_status(date: str | None = Query(None, max_length=10,
                                          description="YYYY-MM-DD: only what is in force then."),
                 who: Principal = Depends(principal),
                 st: AppState = Depends(app_state)) -> dict[str, Any]:
    """The status of areas: who recognises (de facto, de jure) or disputes each area of
    control, when, and on what source, as the agreement states it. Public."""
    day = None
    if date is not None:
        try:
            day = dt.date.fromisoformat(date)
        except ValueError:
            raise ValidationError("not a date (YYYY-MM-DD)", field="date") from None
    ctx = st.context()
    rows = [x.to_json() for x in status_of_areas(ctx.agreement, day)]
    return {"agreement": ctx.agreement.id, "version": ctx.agreement.version,
            "date": date, "areas": rows}


@router.get("/record/checkpoints", responses=error_responses())
def checkpoints(who: Principal = Depends(principal),
                st: AppState = Depends(app_state)) -> list[Checkpoint]:
    """Signed checkpoints (C2SP signed notes), oldest first. Public."""
    return [Checkpoint(size=c.size, note=c.note.decode()) for c in st.raw_store.checkpoints()]


@router.get("/record/log-key", responses=error_responses(404))
def log_key(who: Principal = Depends(principal), st: AppState = Depends(app_state)) -> LogKey:
    """The log's verifier key (C2SP vkey): what checkpoints and proofs are checked with."""
    return LogKey(vkey=record.log_verifier(st.raw_store).to_vkey())


@router.post("/record/checkpoints", responses=error_responses(403), status_code=201)
def publish_checkpoint(who: Principal = Depends(principal),
                       st: AppState = Depends(app_state)) -> Checkpoint:
    """Sign and store a checkpoint of the record as it is now (analysts)."""
    require(who, Role.ANALYST)
    note = record.publish_checkpoint(st.raw_store, st.log_signer(), int(time.time()))
    size = int(note.decode().split("\n")[1])
    return Checkpoint(size=size, note=note.decode())


class CosignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: int = Field(ge=1, le=2**62, description="The size of the checkpoint cosigned.")
    cosignature: str = Field(min_length=1, max_length=1000, description="One cosignature/v1 "
                             "line, ``— <key name> <base64>``, as `record witness` prints it.")


class CosignatureResult(BaseModel):
    size: int
    counts_for: list[str] = Field(description="The party this cosignature counts for.")
    cosigned_by: list[str] = Field(description="Every party that has cosigned the checkpoint.")
    final: bool = Field(description="Whether the checkpoint now has the parties' quorum.")


@router.post("/record/cosignatures", status_code=201, responses=error_responses(400, 404, 409))
def cosign(body: CosignatureIn, who: Principal = Depends(principal),
           st: AppState = Depends(app_state)) -> CosignatureResult:
    """A witness's cosignature of a stored checkpoint, from anywhere (no key needed: the
    cosignature is the credential). It must verify against a registered witness key, and the
    checkpoint must extend the last one that key cosigned here; else 4xx and nothing stored."""
    mine, parties, final = witnesses.submit_cosignature(st.raw_store, body.size,
                                                        body.cosignature)
    return CosignatureResult(size=body.size, counts_for=mine, cosigned_by=parties, final=final)


def _size(st: AppState, size: int | None) -> int:
    n = st.raw_store.entry_count()
    size = n if size is None else size
    if not 0 < size <= n:
        raise ValidationError(f"must be between 1 and the record's size {n}", field="size")
    return size


def _readable(st: AppState, who: Principal, entry_b64: str) -> bool:
    """Whether ``who`` may read this entry's bytes: everyone, for an entry in committed form
    (or with nothing to commit); an older plaintext entry as policy.entry_readable says; an
    entry that does not parse, analysts only."""
    if who.role is Role.ANALYST:
        return True
    try:
        entry_type, body = parse_entry(base64.b64decode(entry_b64))
    except (TrucelineError, ValueError, RecursionError):
        return False
    if not plaintext(entry_type, body):
        return True

    def guaranteed() -> frozenset[str]:
        return guaranteed_ids(who, st.findings(), st.context().agreement)

    return entry_readable(who, entry_type, body, guaranteed)


@router.get("/record/proof/inclusion", response_model=InclusionProof,
            response_model_exclude_none=True, responses=error_responses())
def inclusion(index: int = Query(ge=0, le=2**62),
              size: int | None = Query(None, ge=1, le=2**62,
                                       description="Tree size (default: the current size)."),
              who: Principal = Depends(principal),
              st: AppState = Depends(app_state)) -> InclusionProof:
    """Inclusion proof of entry ``index`` in the tree of ``size`` entries, for everyone.

    The entry comes in committed form (its private fields as salted hashes; the openings a
    key may have are at ``/record/openings``); an older plaintext entry only for a key that
    may read it (docs/record.md, "Who reads which entry"). Without the entry the proof still
    verifies from ``leaf_hash`` against the signed checkpoint.
    """
    size = _size(st, size)
    if index >= size:
        raise ValidationError(f"must be below size {size}", field="index")
    doc = record.inclusion_document(st.raw_store, index, size)
    if not _readable(st, who, doc["entry"]):
        del doc["entry"]
    return InclusionProof(**doc)


@router.get("/record/proof/consistency", responses=error_responses())
def consistency(size1: int = Query(ge=1, le=2**62),
                size2: int | None = Query(None, ge=1, le=2**62,
                                          description="Newer size (default: the current)."),
                who: Principal = Depends(principal),
                st: AppState = Depends(app_state)) -> ConsistencyProof:
    """Consistency proof that the tree of ``size2`` extends the tree of ``size1``. Public."""
    size2 = _size(st, size2)
    if size1 > size2:
        raise ValidationError(f"must not exceed size2 {size2}", field="size1")
    return ConsistencyProof(**record.consistency_document(st.raw_store, size1, size2))


#: At most this many entries per ``/record/openings`` answer (page with ``start``).
OPENINGS_PAGE = 10_000


@router.get("/record/openings", response_model=OpeningsBundle, responses=error_responses())
def openings(start: int = Query(0, ge=0, le=2**62, description="First entry index."),
             end: int | None = Query(None, ge=1, le=2**62,
                                     description="Entry index to stop before (default: "
                                     f"start + {OPENINGS_PAGE}, at most the record's size)."),
             who: Principal = Depends(principal),
             st: AppState = Depends(app_state)) -> OpeningsBundle:
    """The openings of committed fields of entries ``[start, end)`` this key may have.

    Each opens one field of one entry against the commitment in the signed log (the rule:
    docs/record.md, "Who opens which field"); each page is a bundle that
    ``truceline record replay --openings FILE`` takes (once per page). Everyone may ask; the
    public gets the published findings' fields outside the mission's exact ones.
    """
    if end is not None and not start < end <= start + OPENINGS_PAGE:
        raise ValidationError(f"must be above start and at most start + {OPENINGS_PAGE}",
                              field="end")
    stop = min(st.raw_store.entry_count(), start + OPENINGS_PAGE if end is None else end)
    doc = bundle(st.raw_store, may_open(st.raw_store, who), start, stop) if start < stop \
        else {"format": BUNDLE_FORMAT, "openings": []}
    return OpeningsBundle(**doc)
