"""``GET /plan``: the force plan of ``truceline plan`` for the stored agreement (analysts only).

The same JSON as ``plan.json`` (``docs/planning.md``), with the shipped force model and
uniform weights, unmeasured (``measured`` is null: a simulated week per layout is a batch
job for ``truceline plan --days N``, not a request), and range-only (no DEM on the server:
``coverage_model.terrain`` says so). A plan names every site, so only the roles in
``policy.PLANNERS`` may ask. Plans are cached per agreement, figures and mission.
"""

from __future__ import annotations

import threading
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool

from truceline.adapters.http.auth import Principal, require
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.policy import PLANNERS
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.errors import ValidationError

router = APIRouter(tags=["plan"])

_lock = threading.Lock()
_plans: dict[tuple[Any, ...], dict[str, Any]] = {}
MAX_FIGURES = 6


def _figures(text: str) -> list[int]:
    try:
        out = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ValidationError("must be comma-separated whole numbers",
                              field="personnel") from None
    if not out or len(out) > MAX_FIGURES or min(out) <= 0 or max(out) > 10_000_000:
        raise ValidationError(f"give 1-{MAX_FIGURES} figures between 1 and 10,000,000",
                              field="personnel")
    return sorted(set(out))


def _plan(st: AppState, figures: list[int], mission: str) -> dict[str, Any]:
    from truceline.core.planning.force import default_force_model
    from truceline.services.context import load_context
    from truceline.services.planning import PlanOptions, plan

    ctx = load_context(st.reader)
    key = (id(ctx.doc), tuple(figures), mission)
    with _lock:
        hit = _plans.get(key)
    if hit is None:
        hit = plan(ctx, default_force_model(), figures,
                   PlanOptions(mission=mission, time_limit_s=20.0))
        with _lock:
            if len(_plans) >= 16:
                _plans.pop(next(iter(_plans)))
            _plans[key] = hit
    return hit


@router.get("/plan", responses=error_responses(401, 403, 422))
async def get_plan(
    personnel: str = Query("10000,30000,120000", max_length=100,
                           description="Comma-separated force sizes."),
    mission: str = Query("unarmed", pattern="^(unarmed|armed)$"),
    who: Principal = Depends(principal), st: AppState = Depends(app_state),
) -> dict[str, Any]:
    """What each force size staffs along the agreement's line, where, and what it covers.

    The posts, patrols, cameras and acoustic arrays each figure staffs under the shipped force
    model (every assumption listed with its source), their placement (exact and greedy), and
    the share of the line they cover. Analysts only (it names every site).
    """
    require(who, *PLANNERS)
    figs = _figures(personnel)
    return await run_in_threadpool(_plan, st, figs, mission)
