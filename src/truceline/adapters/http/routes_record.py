"""Agreement versions, the record's checkpoints, and inclusion and consistency proofs.

Checkpoints and proofs come from ``truceline.services.record`` when that service is installed
(it owns the log's signing key); proofs fall back to the store's tree nodes, which give the
same RFC 9162 paths.
"""

from __future__ import annotations

import base64
import importlib
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from truceline.adapters.http.auth import Principal, Role, require
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.core.record.merkle import consistency_proof, inclusion_proof
from truceline.errors import StoreError, ValidationError

router = APIRouter(tags=["agreement and record"])


def record_fn(name: str) -> Callable[..., Any] | None:
    """A function of ``truceline.services.record`` if that service is present."""
    try:
        mod = importlib.import_module("truceline.services.record")
    except ImportError:
        return None
    fn = getattr(mod, name, None)
    return fn if callable(fn) else None


class Checkpoint(BaseModel):
    size: int
    note: str


class Proof(BaseModel):
    kind: str
    size: int
    index: int | None = None
    first: int | None = None
    root: str
    hashes: list[str]


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


@router.get("/agreement", responses=error_responses(503))
def agreement(who: Principal = Depends(principal),
              st: AppState = Depends(app_state)) -> dict[str, Any]:
    """The current agreement version (the bundled document, geometry inline). Public."""
    return st.store.agreement_doc()


@router.get("/agreement/versions/{version}", responses=error_responses(404, 503))
def agreement_version(version: int, who: Principal = Depends(principal),
                      st: AppState = Depends(app_state)) -> dict[str, Any]:
    """One stored agreement version. Public."""
    if version < 1:
        raise ValidationError("must be 1 or more", field="version")
    try:
        return st.raw_store.agreement_doc(version)
    except StoreError:
        from truceline.errors import NotFoundError

        raise NotFoundError(f"no agreement version {version}", field="version") from None


@router.get("/record/checkpoints", responses=error_responses())
def checkpoints(who: Principal = Depends(principal),
                st: AppState = Depends(app_state)) -> list[Checkpoint]:
    """Signed checkpoints (C2SP signed notes), oldest first. Public."""
    return [Checkpoint(size=c.size, note=c.note.decode()) for c in st.raw_store.checkpoints()]


@router.post("/record/checkpoints", responses=error_responses(403, 503), status_code=201)
def publish_checkpoint(who: Principal = Depends(principal),
                       st: AppState = Depends(app_state)) -> Checkpoint:
    """Sign and store a checkpoint of the record as it is now (analysts)."""
    require(who, Role.ANALYST)
    fn = record_fn("publish_checkpoint")
    if fn is None:
        raise StoreError("checkpoint signing is not installed (truceline.services.record)",
                         field="record")
    fn(st.raw_store)
    last = st.raw_store.checkpoints()[-1]
    return Checkpoint(size=last.size, note=last.note.decode())


def _size(st: AppState, size: int | None) -> int:
    n = st.raw_store.entry_count()
    size = n if size is None else size
    if not 0 < size <= n:
        raise ValidationError(f"must be between 1 and the record's size {n}", field="size")
    return size


@router.get("/record/proof/inclusion", responses=error_responses())
def inclusion(index: int = Query(ge=0, le=2**62),
              size: int | None = Query(None, ge=1, le=2**62,
                                       description="Tree size (default: the current size)."),
              who: Principal = Depends(principal), st: AppState = Depends(app_state)) -> Proof:
    """Inclusion proof of entry ``index`` in the tree of ``size`` entries. Public."""
    size = _size(st, size)
    if index >= size:
        raise ValidationError(f"must be below size {size}", field="index")
    fn = record_fn("inclusion")
    hashes = fn(st.raw_store, index, size) if fn else inclusion_proof(
        index, size, st.raw_store.get_node)
    return Proof(kind="inclusion", size=size, index=index, root=_root(st, size),
                 hashes=[_b64(h) for h in hashes])


@router.get("/record/proof/consistency", responses=error_responses())
def consistency(first: int = Query(ge=1, le=2**62), size: int | None = Query(None, ge=1, le=2**62),
                who: Principal = Depends(principal), st: AppState = Depends(app_state)) -> Proof:
    """Consistency proof from the tree of ``first`` entries to the tree of ``size``. Public."""
    size = _size(st, size)
    if first > size:
        raise ValidationError(f"must not exceed size {size}", field="first")
    fn = record_fn("consistency")
    hashes = fn(st.raw_store, first, size) if fn else consistency_proof(
        first, size, st.raw_store.get_node)
    return Proof(kind="consistency", size=size, first=first, root=_root(st, size),
                 hashes=[_b64(h) for h in hashes])


def _root(st: AppState, size: int) -> str:
    from truceline.core.record.merkle import range_hash

    return _b64(range_hash(0, size, st.raw_store.get_node))
