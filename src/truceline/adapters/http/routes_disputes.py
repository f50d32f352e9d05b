"""Disputes over HTTP: a party files, withdraws and adds counter-evidence; analysts answer,
uphold and reject; everyone who may see a finding sees its disputes' status and history.

The lifecycle and who may take which step are the dispute service's
(:mod:`truceline.services.disputes`); a route parses, finds the dispute as this key may see
it, calls the service and renders. What each role sees (policy.dispute_visible): the dispute
in full for analysts, its party and the guarantors of its finding's provision; for anyone
else who may see the finding (the public: published findings) only its status, its steps and
their dates (:func:`truceline.core.disputes.public_view`), never text, replies or reasons.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field

from truceline.adapters.http.auth import Principal, Role, require
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.policy import (
    declarer,
    dispute_visible,
    guaranteed_ids,
    observation_visible,
    visible_findings,
)
from truceline.adapters.http.routes_findings import finding_for
from truceline.adapters.http.routes_observations import _check_submitter, _submit
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.core import disputes as life
from truceline.core.observations import Observation
from truceline.errors import NotFoundError, ValidationError
from truceline.services import disputes as svc

router = APIRouter(tags=["incidents, findings and disputes"])


class DisputeIn(BaseModel):
    text: str = Field(
        min_length=1, max_length=svc.MAX_TEXT, description="Why the finding is wrong."
    )
    evidence: list[str] = Field(
        default_factory=list,
        max_length=svc.MAX_EVIDENCE,
        description="Ids of stored observations that bear it out.",
    )


class Dispute(BaseModel):
    """A dispute as its reader may see it: text, evidence and the steps' bodies only for
    those who may read the dispute (the others get id, party, time, status, history)."""

    id: str
    finding_id: str
    party: str
    time: str | None = None
    status: str = "open"
    text: str | None = None
    evidence: list[str] | None = None
    history: list[dict[str, Any]] = Field(default_factory=list)


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(
        min_length=1,
        max_length=svc.MAX_TEXT,
        description="The mission's reply (the finding's evidence and rule are "
        "added from the finding).",
    )


class UpholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["withdrawn", "amended"] = Field(description="What becomes of the finding.")
    text: str = Field(
        min_length=1,
        max_length=svc.MAX_TEXT,
        description="How the finding is withdrawn or amended.",
    )


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reasons: str = Field(min_length=1, max_length=svc.MAX_TEXT)


class EvidenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    observations: list[dict[str, Any]] = Field(
        default_factory=list,
        max_length=svc.MAX_EVIDENCE,
        description="The party's own signed observations, ingested like any submission.",
    )
    evidence: list[str] = Field(
        default_factory=list,
        max_length=svc.MAX_EVIDENCE,
        description="Ids of its own signed observations already stored.",
    )


def _visible_ids(st: AppState, who: Principal) -> frozenset[str]:
    ctx = st.context()
    return frozenset(
        f.id for f in visible_findings(who, st.findings(), ctx.agreement, st.published())
    )


def _guaranteed(st: AppState, who: Principal) -> frozenset[str]:
    return guaranteed_ids(who, st.findings(), st.context().agreement)


def _render(who: Principal, state: dict[str, Any], guaranteed: frozenset[str]) -> Dispute:
    if dispute_visible(who, state, guaranteed):
        return Dispute(**{**state, "status": life.status_of(state)})
    return Dispute(**life.public_view(state))


def _dispute_for(st: AppState, who: Principal, dispute_id: str) -> dict[str, Any]:
    """The dispute if ``who`` may see at least its status (its finding), else not found."""
    try:
        state = st.raw_store.dispute(dispute_id)
    except NotFoundError:
        raise NotFoundError("no such dispute", field="dispute_id") from None
    if state["finding_id"] not in _visible_ids(st, who) and not dispute_visible(
        who, state, frozenset()
    ):
        raise NotFoundError("no such dispute", field="dispute_id")
    return state


def _cited(st: AppState, who: Principal, ids: list[str], field: str) -> None:
    """Every id names an observation ``who`` may see (its own, or the evidence of a finding
    it sees); any other is refused as missing, so citing ids cannot probe which exist."""
    if not ids:
        return
    seen = visible_findings(who, st.findings(), st.context().agreement, st.published())
    for i, oid in enumerate(ids):
        try:
            o: Observation | None = st.reader.observation(oid)
        except NotFoundError:
            o = None
        if o is None or not observation_visible(who, o.source_id, oid, seen, declarer(o)):
            raise ValidationError("no such observation", field=f"{field}[{i}]")


def _now() -> datetime:
    return datetime.now(UTC)


@router.post(
    "/findings/{finding_id}/disputes",
    response_model=Dispute,
    status_code=201,
    response_model_exclude_none=True,
    responses=error_responses(403, 404),
)
def file_dispute(
    finding_id: str,
    body: DisputeIn,
    who: Principal = Depends(principal),
    st: AppState = Depends(app_state),
) -> Dispute:
    """A party contests a finding about itself; the dispute is appended to the record.

    Idempotent: the same party, finding, text and evidence give the same dispute id.
    """
    require(who, Role.PARTY)
    assert who.bound is not None
    f = finding_for(st, who, finding_id)
    _cited(st, who, body.evidence, "evidence")
    rec, _ = svc.file_dispute(st.raw_store, f, who.bound, body.text, body.evidence, _now())
    return Dispute(**rec)


@router.get(
    "/disputes",
    response_model=list[Dispute],
    response_model_exclude_none=True,
    responses=error_responses(403),
)
def list_disputes(
    who: Principal = Depends(principal), st: AppState = Depends(app_state)
) -> list[Dispute]:
    """Disputes in full: analysts all, a party its own, a guarantor those on findings of
    provisions it guarantees."""
    require(who, Role.ANALYST, Role.PARTY, Role.GUARANTOR)
    ids = _guaranteed(st, who)
    rows = st.raw_store.disputes(who.bound if who.role is Role.PARTY else None)
    return [_render(who, d, ids) for d in rows if dispute_visible(who, d, ids)]


@router.get(
    "/disputes/{dispute_id}",
    response_model=Dispute,
    response_model_exclude_none=True,
    responses=error_responses(404),
)
def get_dispute(
    dispute_id: str, who: Principal = Depends(principal), st: AppState = Depends(app_state)
) -> Dispute:
    """One dispute: in full for who may read it, its status and history for who may see its
    finding."""
    state = _dispute_for(st, who, dispute_id)
    return _render(who, state, _guaranteed(st, who))


@router.get(
    "/findings/{finding_id}/disputes",
    response_model=list[Dispute],
    response_model_exclude_none=True,
    responses=error_responses(404),
)
def finding_disputes(
    finding_id: str, who: Principal = Depends(principal), st: AppState = Depends(app_state)
) -> list[Dispute]:
    """The disputes of a finding this key may see (the public: a published finding), each
    with its status and history; in full for who may read it."""
    f = finding_for(st, who, finding_id)
    ids = _guaranteed(st, who)
    return [_render(who, d, ids) for d in st.raw_store.disputes() if d["finding_id"] == f.id]


def _analyst_step(st: AppState, who: Principal, dispute_id: str) -> None:
    require(who, Role.ANALYST)
    _dispute_for(st, who, dispute_id)


@router.post(
    "/disputes/{dispute_id}/answer",
    response_model=Dispute,
    response_model_exclude_none=True,
    responses=error_responses(403, 404, 409),
)
def answer(
    dispute_id: str,
    body: AnswerIn,
    who: Principal = Depends(principal),
    st: AppState = Depends(app_state),
) -> Dispute:
    """The mission's reply to an open dispute (analysts), with the finding's evidence and rule."""
    _analyst_step(st, who, dispute_id)
    return Dispute(**svc.answer(st.raw_store, dispute_id, body.text, who.name or "", _now()))


@router.post(
    "/disputes/{dispute_id}/uphold",
    response_model=Dispute,
    response_model_exclude_none=True,
    responses=error_responses(403, 404, 409),
)
def uphold(
    dispute_id: str,
    body: UpholdIn,
    who: Principal = Depends(principal),
    st: AppState = Depends(app_state),
) -> Dispute:
    """Uphold an answered dispute (analysts): the finding is withdrawn or amended."""
    _analyst_step(st, who, dispute_id)
    return Dispute(
        **svc.uphold(st.raw_store, dispute_id, body.outcome, body.text, who.name or "", _now())
    )


@router.post(
    "/disputes/{dispute_id}/reject",
    response_model=Dispute,
    response_model_exclude_none=True,
    responses=error_responses(403, 404, 409),
)
def reject(
    dispute_id: str,
    body: RejectIn,
    who: Principal = Depends(principal),
    st: AppState = Depends(app_state),
) -> Dispute:
    """Reject an answered dispute, with reasons (analysts)."""
    _analyst_step(st, who, dispute_id)
    return Dispute(**svc.reject(st.raw_store, dispute_id, body.reasons, who.name or "", _now()))


def _party_step(st: AppState, who: Principal, dispute_id: str) -> str:
    require(who, Role.PARTY)
    assert who.bound is not None
    _dispute_for(st, who, dispute_id)
    return who.bound


@router.post(
    "/disputes/{dispute_id}/withdraw",
    response_model=Dispute,
    response_model_exclude_none=True,
    responses=error_responses(403, 404, 409),
)
def withdraw(
    dispute_id: str, who: Principal = Depends(principal), st: AppState = Depends(app_state)
) -> Dispute:
    """The party that filed a dispute withdraws it (while open or answered)."""
    party = _party_step(st, who, dispute_id)
    return Dispute(**svc.withdraw(st.raw_store, dispute_id, party, _now()))


@router.post(
    "/disputes/{dispute_id}/evidence",
    response_model=Dispute,
    response_model_exclude_none=True,
    responses=error_responses(400, 403, 404, 409),
)
async def add_evidence(
    dispute_id: str,
    body: EvidenceIn,
    who: Principal = Depends(principal),
    st: AppState = Depends(app_state),
) -> Dispute:
    """The filing party attaches its own signed observations as counter-evidence: new ones
    (``observations``) go through the same ingest, signature and area checks as any
    submission, all or nothing; stored ones are named by id (``evidence``)."""
    party = _party_step(st, who, dispute_id)
    if not body.observations and not body.evidence:
        raise ValidationError("give observations or evidence", field="observations")
    state = st.raw_store.dispute(dispute_id)
    svc.may_act(state, "evidence", party)  # refused before anything is ingested
    _cited(st, who, body.evidence, "observations")  # the service's name for the ids
    if life.status_of(state) not in life.ACTIONS["evidence"][0]:
        life.transition(state, "evidence", party, "")
    ids = list(body.evidence)
    if body.observations:
        _check_submitter(who, body.observations, "observations")
        await run_in_threadpool(_submit, st, body.observations, "raise", "observations")
        ids += [str(o.get("id")) for o in body.observations]
    out = await run_in_threadpool(svc.attach_evidence, st.raw_store, dispute_id, party, ids, _now())
    return Dispute(**out)
