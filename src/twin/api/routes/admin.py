"""API-key administration (admin scope): create, list, revoke. Secrets are returned once, never stored."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool

from twin.api.auth import create_api_key
from twin.api.deps import AdminKey, StoreDep
from twin.api.problems import responses
from twin.api.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic
from twin.store import ApiKeyRecord

router = APIRouter(prefix="/v1/admin/keys", tags=["admin"])


def public(rec: ApiKeyRecord) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(
        {
            "key_id": rec.key_id,
            "name": rec.name,
            "scopes": sorted(rec.scopes),
            "created": rec.created,
            "revoked": rec.revoked,
        }
    )


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=responses(401, 403, 422))
async def create(body: ApiKeyCreate, _: AdminKey, store: StoreDep) -> ApiKeyCreated:
    key = await run_in_threadpool(create_api_key, store, body.name, body.scopes)
    rec = store.get_api_key(key.split("_")[1])
    return ApiKeyCreated.model_validate({**public(rec).model_dump(), "key": key})


@router.get("", response_model=list[ApiKeyPublic], responses=responses(401, 403))
def list_keys(_: AdminKey, store: StoreDep) -> list[ApiKeyPublic]:
    return [public(r) for r in store.list_api_keys()]


@router.delete("/{key_id}", status_code=204, responses=responses(401, 403, 404))
def revoke(
    request: Request, key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{12}$")], _: AdminKey, store: StoreDep
) -> Response:
    store.revoke_api_key(key_id)
    request.app.state.verifier.forget()
    return Response(status_code=204)
