"""Request body-size limit on every route, checked before authentication and parsing (issue 9 item 4).

A pure-ASGI middleware: a ``Content-Length`` above the limit is answered ``413`` without reading a byte of
the body; a body without a length (chunked) is counted as it streams in and stopped at the limit.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twin.api.problems import PROBLEM_JSON


class BodyLimitMiddleware:
    """Answer ``413`` (RFC 7807) to any request whose body exceeds ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _content_length(scope)
        if length is None or length > self.max_bytes:
            shown = "an unparseable Content-Length" if length is None else f"Content-Length = {length}"
            await self._reject(scope, send, f"{shown} is invalid; expected a body of at most {self.max_bytes} bytes")
            return
        seen = 0
        started = rejected = False

        async def counting_receive() -> Message:
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes and not started:
                    rejected = True  # answer now; the app sees a disconnected client and its answer is dropped
                    await self._reject(scope, send, f"the body is invalid: more than {self.max_bytes} bytes were sent")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            if not rejected:
                raise

    async def _reject(self, scope: Scope, send: Send, detail: str) -> None:
        body = json.dumps(
            {"type": "about:blank", "title": "Payload too large", "status": 413, "detail": detail,
             "instance": scope.get("path", "")}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    """The declared length: 0 when absent, None when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return 0
