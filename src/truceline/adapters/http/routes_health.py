"""Liveness (the process answers) and readiness (the store answers and holds an agreement)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from truceline.adapters.http.envelope import ErrorBody
from truceline.adapters.http.state import AppState, app_state

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    entries: int | None = None


@router.get("/healthz")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", responses={503: {"model": ErrorBody, "description": "Store not ready"}})
def readyz(st: AppState = Depends(app_state)) -> Health:
    st.reader.agreement_doc()  # StoreError (503) when the store is unreachable or empty
    return Health(status="ready", entries=st.raw_reader.entry_count())
