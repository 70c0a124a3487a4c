"""Setpoints written back to the pot controllers (issue 10 item 7): propose, confirm, audit.

Thin routes over :class:`twin.api.setpoint_desk.SetpointDesk`, which the service puts on ``app.state.setpoints``
(without one every route answers 503: this API writes nothing). Every route needs an API key with the
``operate`` scope; open access (the demo) never writes to a PLC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from twin.api.auth import Principal
from twin.api.deps import OPEN, require
from twin.api.problems import Problem, responses
from twin.api.setpoint_desk import ProposalError, ProposalView, SetpointDesk
from twin.api.validators import text_if_str
from twin.store import SetpointEvent
from twin.telemetry.setpoints import SETPOINTS, SetpointError

router = APIRouter(prefix="/v1/setpoints", tags=["setpoints"])
OperateKey = Annotated[Principal, Depends(require("operate"))]
ProposalPath = Annotated[str, Path(pattern=r"^sp-[a-f0-9]{16}$")]
SetpointValue = Annotated[StrictFloat | StrictInt | StrictStr, text_if_str(40)]  # feed_mode names are short


class ProposalCreate(BaseModel):
    """Which pot, which setpoint, which value (``feed_mode`` also by name: tracking, fixed, none)."""

    model_config = ConfigDict(extra="forbid")
    potline: int = Field(ge=1, le=999, examples=[1])
    cell: int = Field(ge=1, le=999, examples=[17])
    setpoint: str = Field(pattern="^(" + "|".join(SETPOINTS) + ")$", examples=["resistance_target_uohm"])
    value: SetpointValue = Field(
        examples=[8.9], description="engineering units; feed_mode: a code or a name (never a boolean)"
    )


class AuditRow(BaseModel):
    event: str
    at: datetime
    actor: str
    target: str
    setpoint: str
    value: float | None
    detail: str


class ProposalPublic(BaseModel):
    proposal_id: str
    target: str
    setpoint: str
    value: float | None
    status: str
    events: list[AuditRow]
    links: dict[str, str]


class AuditPage(BaseModel):
    rows: list[AuditRow]


def _row(e: SetpointEvent) -> AuditRow:
    return AuditRow(
        event=e.event, at=e.at, actor=e.actor, target=e.target, setpoint=e.setpoint, value=e.value, detail=e.detail
    )


def _public(view: ProposalView) -> ProposalPublic:
    return ProposalPublic(
        proposal_id=view.proposal_id,
        target=view.target,
        setpoint=view.setpoint,
        value=view.value,
        status=view.status,
        events=[_row(e) for e in view.events],
        links={
            "self": f"/v1/setpoints/proposals/{view.proposal_id}",
            "confirm": f"/v1/setpoints/proposals/{view.proposal_id}/confirm",
        },
    )


def _desk(request: Request, principal: Principal) -> SetpointDesk:
    if principal is OPEN or principal.key_id == OPEN.key_id:
        raise Problem(
            403, "Forbidden", "setpoint writes need an API key with the 'operate' scope; open access never writes"
        )
    desk = getattr(request.app.state, "setpoints", None)
    if desk is None:
        raise Problem(503, "Setpoint writes are off", "this service has no Sparkplug host configured for writes")
    return desk


@router.post(
    "/proposals",
    status_code=201,
    response_model=ProposalPublic,
    responses=responses(401, 403, 422, 503),
    summary="Propose a setpoint write (step 1 of 2): range-checked against the technology, recorded, not sent",
)
async def propose(body: ProposalCreate, request: Request, response: Response, who: OperateKey) -> ProposalPublic:
    desk = _desk(request, who)
    try:
        view = await run_in_threadpool(desk.propose, who.key_id, body.potline, body.cell, body.setpoint, body.value)
    except SetpointError as exc:
        raise Problem(422, "Setpoint refused", str(exc)) from None
    response.headers["Location"] = f"/v1/setpoints/proposals/{view.proposal_id}"
    return _public(view)


@router.post(
    "/proposals/{proposal_id}/confirm",
    status_code=202,
    response_model=ProposalPublic,
    responses=responses(401, 403, 404, 409, 503),
    summary="Confirm a proposal (step 2 of 2): the host sends the DCMD; poll the proposal for the read-back",
)
async def confirm(proposal_id: ProposalPath, request: Request, who: OperateKey) -> ProposalPublic:
    desk = _desk(request, who)
    try:
        view = await run_in_threadpool(desk.confirm, who.key_id, proposal_id)
    except ProposalError as exc:
        raise Problem(exc.status, "Proposal not confirmed", str(exc)) from None
    return _public(view)


@router.get(
    "/proposals/{proposal_id}",
    response_model=ProposalPublic,
    responses=responses(401, 403, 404, 503),
    summary="A proposal and its audit rows: proposed, confirmed, written, readback, alarm",
)
async def proposal(proposal_id: ProposalPath, request: Request, who: OperateKey) -> ProposalPublic:
    desk = _desk(request, who)
    try:
        return _public(await run_in_threadpool(desk.view, proposal_id))
    except ProposalError as exc:
        raise Problem(exc.status, "Not found", str(exc)) from None


@router.get(
    "/audit",
    response_model=AuditPage,
    responses=responses(401, 403, 503),
    summary="The setpoint audit trail, newest first",
)
async def audit(request: Request, who: OperateKey, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> AuditPage:
    _desk(request, who)
    rows = await run_in_threadpool(request.app.state.store.setpoint_events, None, limit=limit)
    return AuditPage(rows=[_row(e) for e in rows])
