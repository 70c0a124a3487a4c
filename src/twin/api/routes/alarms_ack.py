"""Acknowledge and shelve alarms (operator actions, :mod:`twin.api.alarm_actions`); the dashboard's alarm list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from twin.api import views
from twin.api.deps import ReadKey, RunKey, SnapshotDep
from twin.api.problems import Problem, responses
from twin.api.schemas_dashboard import AlarmAction, AlarmActions
from twin.api.validators import finite_float

router = APIRouter(prefix="/v1/alarms", tags=["plant"])
AlarmPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,99}$", examples=["a-17"])]
ShelveHours = finite_float(Query, gt=0, le=24, description="how long, hours (at most 24)")


def _known(snap: SnapshotDep, alarm_id: str) -> None:
    """404 naming ``alarm_id`` unless it is one of the live twin's current alarms."""
    if not _current(snap, alarm_id):
        raise Problem(
            404, "Not found", f"alarm_id = {alarm_id!r} is not a current alarm; list them with GET /v1/alarms"
        )


def _current(snap: SnapshotDep, alarm_id: str) -> bool:
    return any(a.get("id") == alarm_id for a in views.alarms(snap, None, None))


@router.get(
    "/actions", response_model=AlarmActions, responses=responses(401, 403), summary="Acknowledged and shelved alarms"
)
def actions(request: Request, _: ReadKey) -> AlarmActions:
    return AlarmActions(actions=request.app.state.alarm_actions.all())


@router.post(
    "/{alarm_id}/acknowledge",
    response_model=AlarmAction,
    responses=responses(401, 403, 404),
    summary="Acknowledge an alarm (the first acknowledgement is kept)",
)
def acknowledge(request: Request, alarm_id: AlarmPath, who: RunKey, snap: SnapshotDep) -> AlarmAction:
    _known(snap, alarm_id)
    return AlarmAction.model_validate(request.app.state.alarm_actions.acknowledge(alarm_id, who.key_id))


@router.post(
    "/{alarm_id}/shelve",
    response_model=AlarmAction,
    responses=responses(401, 403, 404, 422),
    summary="Shelve an alarm (hidden from the alarm list) for some hours",
)
def shelve(
    request: Request,
    alarm_id: AlarmPath,
    who: RunKey,
    snap: SnapshotDep,
    hours: ShelveHours,
) -> AlarmAction:
    _known(snap, alarm_id)
    return AlarmAction.model_validate(request.app.state.alarm_actions.shelve(alarm_id, hours, who.key_id))


@router.delete(
    "/{alarm_id}/shelve", response_model=AlarmAction, responses=responses(401, 403, 404), summary="Unshelve"
)
def unshelve(request: Request, alarm_id: AlarmPath, _: RunKey, snap: SnapshotDep) -> AlarmAction:
    """Show the alarm again: one the book holds an action on (even if it has cleared since), or a current one
    (nothing to undo); any other id is a 404 naming it, as for acknowledge and shelve (it answered 200 and empty
    fields)."""
    entry = request.app.state.alarm_actions.unshelve(alarm_id)
    if entry is None and not _current(snap, alarm_id):
        raise Problem(
            404,
            "Not found",
            f"alarm_id = {alarm_id!r} is neither a current alarm nor one acted on; list them with GET /v1/alarms "
            "and GET /v1/alarms/actions",
        )
    return AlarmAction.model_validate(entry or {})
