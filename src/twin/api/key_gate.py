"""Authentication before a request body is read: a pure-ASGI middleware.

FastAPI reads and parses a route's JSON body before it runs the route's dependencies, and
:class:`~twin.api.limits.JsonBodyMiddleware` checks the body before FastAPI; so without this gate a client with
no key, or a bad one, sending a malformed body got a 422 describing (and echoing) its body instead of a 401, and
the server did the parsing for it. Every request that carries a body (POST, PUT, PATCH, DELETE) to ``/v1/`` is
authenticated here first (:func:`twin.api.deps.authenticate`: 401 without a valid key, 429 after too many bad
ones, 503 while the argon2 queue is full); the route's own dependency then checks the key's scope (a cached
look-up). All the API's body-carrying endpoints are under ``/v1/`` and require a key (docs/api.md).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from twin.api.deps import authenticate
from twin.api.limits import BODY_METHODS, send_problem
from twin.api.problems import Problem


class KeyGateMiddleware:
    """Answer 401/429/503 to an unauthenticated request with a body before any of its body is read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # headers and client only: the body stays unread
        try:
            await authenticate(request, request.headers.get("x-api-key"))
        except Problem as problem:
            await send_problem(scope, send, problem.status, problem.title, problem.detail, headers=problem.headers)
            return
        await self.app(scope, receive, send)
