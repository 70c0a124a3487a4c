"""Strong ETags and ``304 Not Modified`` for JSON answers that dashboards poll."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

LIVE_CACHE = "private, max-age=0, must-revalidate"


def iso_z(value: datetime) -> str:
    """ISO-8601 in UTC with a ``Z``, as every time the API returns."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return etag in tags


def json_safe(value: Any) -> Any:
    """Replace NaN and infinities (which JSON cannot carry) by null, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def cached_json(request: Request, payload: Any, cache_control: str) -> Response:
    """``payload`` as JSON with ETag and Cache-Control, or an empty 304 if the client already has it."""
    data = jsonable_encoder(payload, custom_encoder={datetime: iso_z})
    try:
        body = JSONResponse(data).body
    except ValueError:  # NaN or infinity from a provider
        body = JSONResponse(json_safe(data)).body
    return respond(request, bytes(body), '"' + hashlib.sha256(body).hexdigest()[:32] + '"', cache_control)


def respond(request: Request, body: bytes, etag: str, cache_control: str) -> Response:
    """A JSON body already serialised (and its ETag), or an empty 304 if the client already has it."""
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
