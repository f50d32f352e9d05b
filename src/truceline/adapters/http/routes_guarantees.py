"""Guarantee notifications over HTTP: read them, acknowledge them, register endpoints.

Who sees what (:func:`truceline.adapters.http.policy.notification_visible`): analysts every
notification with its deliveries; a guarantor or a party those it is a recipient of (named
by the clause's ``notify``, as its webhooks are); monitors and the public none. A guarantor
acknowledges only its own breach notifications. Times come from the app's clock
(``app.state.clock``, the :class:`~truceline.services.ports.Clock` port), so tests run the
deadlines on simulated time. The background delivery pass of ``truceline serve`` is
:func:`start_delivery`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any, cast

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from truceline.adapters.http.auth import Principal, Role, require
from truceline.adapters.http.envelope import error_responses
from truceline.adapters.http.policy import notification_visible
from truceline.adapters.http.state import AppState, app_state, principal
from truceline.core.notifications import Notification, awaiting
from truceline.errors import NotFoundError
from truceline.services import guarantees as svc
from truceline.services.ports import Clock, system_clock

router = APIRouter(tags=["guarantee notifications"])
log = logging.getLogger(__name__)


class AcknowledgementIn(BaseModel):
    signature: str | None = Field(
        None, max_length=200,
        description="Base64 Ed25519 signature of the acknowledgement message, required when the "
        "guarantor has keys registered (role guarantor); see docs/guarantees.md.")


class EndpointIn(BaseModel):
    recipient: str = Field(min_length=1, max_length=60)
    url: str = Field(min_length=1, max_length=2000)


class NotificationList(BaseModel):
    notifications: list[dict[str, Any]]
    awaiting: list[str]
    numberReturned: int


def clock_of(request: Request) -> Clock:
    return cast(Clock, getattr(request.app.state, "clock", system_clock))


def _visible(st: AppState, who: Principal, now: datetime) -> list[dict[str, Any]]:
    out = []
    for s in svc.states(st.raw_reader, now):
        if not notification_visible(who, s):
            continue
        if who.role is Role.ANALYST:
            s["deliveries"] = svc.guarantee_store(st.raw_reader).deliveries(s["id"])
        elif s.get("acknowledgement"):
            s["acknowledgement"] = {k: v for k, v in s["acknowledgement"].items() if k != "by"}
        out.append(s)
    return out


def _awaiting(rows: list[dict[str, Any]], now: datetime) -> list[str]:
    """The overdue lines of the rows this key sees (the daily report's wording and rule)."""
    keys = Notification.__dataclass_fields__
    late = [Notification.from_record({k: v for k, v in s.items() if k in keys})
            for s in rows if s["state"] == "overdue"]
    return awaiting(late, now)


@router.get("/notifications", response_model=NotificationList,
            responses=error_responses(401, 403))
def list_notifications(request: Request, overdue: bool = False,
                       who: Principal = Depends(principal),
                       st: AppState = Depends(app_state)) -> NotificationList:
    """The notifications this key may see, each with its state now (``overdue=true``: only
    those past their deadline unacknowledged), and the overdue summary lines."""
    require(who, Role.ANALYST, Role.GUARANTOR, Role.PARTY)
    now = clock_of(request)()
    rows = _visible(st, who, now)
    if overdue:
        rows = [s for s in rows if s["state"] == "overdue"]
    return NotificationList(notifications=rows, awaiting=_awaiting(rows, now),
                            numberReturned=len(rows))


@router.get("/notifications/endpoints", responses=error_responses(401, 403))
def list_endpoints(who: Principal = Depends(principal),
                   st: AppState = Depends(app_state)) -> list[dict[str, Any]]:
    """Registered webhook endpoints, without their secrets (analysts)."""
    require(who, Role.ANALYST)
    return svc.guarantee_store(st.raw_reader).endpoints()


@router.post("/notifications/endpoints", status_code=201,
             responses=error_responses(401, 403, 422))
def add_endpoint(body: EndpointIn, request: Request, who: Principal = Depends(principal),
                 st: AppState = Depends(app_state)) -> dict[str, str]:
    """Register or replace a recipient's endpoint (analysts); the secret is shown once."""
    require(who, Role.ANALYST)
    secret = svc.register_endpoint(st.raw_store, body.recipient, body.url, clock_of(request)())
    return {"recipient": body.recipient, "url": body.url, "secret": secret}


@router.get("/notifications/{notification_id}", responses=error_responses(401, 403, 404))
def get_notification(notification_id: str, request: Request,
                     who: Principal = Depends(principal),
                     st: AppState = Depends(app_state)) -> dict[str, Any]:
    require(who, Role.ANALYST, Role.GUARANTOR, Role.PARTY)
    for s in _visible(st, who, clock_of(request)()):
        if s["id"] == notification_id:
            return s
    raise NotFoundError("no such notification", field="notification_id")


@router.post("/notifications/{notification_id}/acknowledge", status_code=201,
             responses=error_responses(400, 401, 403, 404, 409, 422))
def acknowledge(notification_id: str, body: AcknowledgementIn, request: Request,
                who: Principal = Depends(principal),
                st: AppState = Depends(app_state)) -> dict[str, Any]:
    """A guarantor acknowledges its own notification (recorded as an entry)."""
    require(who, Role.GUARANTOR)
    assert who.bound is not None
    seen = {s["id"] for s in svc.states(st.raw_reader, clock_of(request)())
            if notification_visible(who, s)}
    if notification_id not in seen:
        raise NotFoundError("no such notification", field="notification_id")
    return svc.acknowledge(st.raw_store, notification_id, who.bound, who.name or "",
                           clock_of(request)(), body.signature)


def _pass(st: AppState, clock: Clock) -> None:
    from truceline.adapters.webhooks import HttpxTransport
    from truceline.services.delivery import deliver

    svc.notify(st.raw_store, clock())
    with HttpxTransport() as transport:
        held = deliver(st.raw_store, transport, clock).held
    if held:
        log.warning("%d deliveries held: their endpoint holds no secret (see record verify)",
                    len(held))


async def _loop(st: AppState, clock: Clock, interval_s: float) -> None:
    while True:
        try:
            await run_in_threadpool(_pass, st, clock)
        except Exception:  # a failed pass is logged and tried again next time
            log.exception("notification delivery pass failed")
        await asyncio.sleep(interval_s)


def start_delivery(app: FastAPI) -> asyncio.Task[None] | None:
    """Start the background delivery pass if the settings ask for it (``notify_in_serve``)."""
    st = cast(AppState, app.state.truceline)
    if not st.settings.notify_in_serve:
        return None
    return asyncio.get_running_loop().create_task(
        _loop(st, clock_of_app(app), st.settings.notify_interval_s))


def clock_of_app(app: FastAPI) -> Clock:
    return cast(Clock, getattr(app.state, "clock", system_clock))


async def stop_delivery(task: asyncio.Task[None] | None) -> None:
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
