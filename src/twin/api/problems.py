"""RFC 7807 ``application/problem+json`` bodies for every 4xx/5xx, including validation errors."""

from __future__ import annotations

import logging
import reprlib
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from twin.errors import StoreError, StoreUnavailableError, TwinError
from twin.store import UnknownKeyError

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
MAX_FIELD_ERRORS = 50  # errors listed in one 422; more are counted in its detail, not listed
STORE_RETRY_AFTER_S = 5  # [C] a PostgreSQL restart takes seconds; the telemetry sink retries at most every 5 s
_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 80
_SHOWN.maxlist = _SHOWN.maxdict = 5


class ProblemDetail(BaseModel):
    """An RFC 7807 problem: ``type``, ``title``, ``status``, ``detail``; ``errors`` lists bad fields."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str = ""
    instance: str | None = None
    errors: list[dict[str, Any]] | None = Field(None, description="Per-field validation errors.")


class Problem(Exception):  # noqa: N818 - RFC 7807 names it a "problem"
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str = "", headers: dict[str, str] | None = None) -> None:
        super().__init__(detail or title)
        self.status, self.title, self.detail, self.headers = status, title, detail, headers


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str = "",
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = ProblemDetail(title=title, status=status, detail=detail, instance=request.url.path, errors=errors)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _field_errors(validation_errors: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for err in validation_errors:
        if err.get("type") == "json_invalid":  # FastAPI's: loc (body, position), the parser's message in ctx
            out.append(_json_error(err))
            continue
        loc = [str(p) for p in err.get("loc", ())]
        entry = {"field": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type", "")}
        if err.get("type") != "missing" and "input" in err:
            entry["value"] = shown(err["input"])
        out.append(entry)
    return out


def _json_error(err: dict[str, Any]) -> dict[str, Any]:
    """A body that is not JSON, named by position and the parser's reason (never echoed): it read
    "body.9 = {} is invalid: JSON decode error"."""
    loc = err.get("loc", ())
    where = f" at character {loc[1]}" if len(loc) > 1 else ""
    reason = str((err.get("ctx") or {}).get("error", "JSON decode error"))
    return {"field": "body", "message": f"invalid JSON{where}: {reason}", "type": "json_invalid"}


def shown(value: Any) -> str:
    """A client's value as it may be echoed in an error: its repr, cut short (a 1 MB string, a long list)."""
    try:
        return _SHOWN.repr(value)
    except ValueError:  # an integer too long to print
        return "an integer of more than 4300 digits"


def _detail(error: dict[str, Any]) -> str:
    if "value" in error:
        return f"{error['field']} = {error['value']} is invalid: {error['message']}"
    return f"{error['field']}: {error['message']}"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(request, exc.status, exc.title, exc.detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        everything = exc.errors()
        errors = _field_errors(everything[:MAX_FIELD_ERRORS])
        detail = "; ".join(_detail(e) for e in errors[:5])
        if len(everything) > MAX_FIELD_ERRORS:  # a 1 MB body of 90 000 unknown fields got a 9.3 MB answer
            detail += f" ({len(everything)} errors in all; the first {MAX_FIELD_ERRORS} are listed)"
        return problem_response(request, 422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
        return problem_response(request, exc.status_code, title, str(exc.detail), headers=exc.headers)

    @app.exception_handler(UnknownKeyError)
    async def _unknown(request: Request, exc: UnknownKeyError) -> JSONResponse:
        return problem_response(request, 404, "Not found", str(exc))

    @app.exception_handler(StoreUnavailableError)
    async def _store_down(request: Request, exc: StoreUnavailableError) -> JSONResponse:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return problem_response(
            request, 503, "Service unavailable", str(exc), headers={"Retry-After": str(STORE_RETRY_AFTER_S)}
        )

    @app.exception_handler(StoreError)
    async def _store(request: Request, exc: StoreError) -> JSONResponse:
        return problem_response(request, 400, "Bad request", str(exc))

    @app.exception_handler(TwinError)
    async def _twin(request: Request, exc: TwinError) -> JSONResponse:
        return problem_response(request, 400, "Bad request", str(exc))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "Internal server error", "see the service log")


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem bodies for the given status codes."""
    return {code: {"model": ProblemDetail, "content": {PROBLEM_JSON: {}}} for code in codes}
