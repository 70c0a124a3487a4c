"""Request body limits on every route, checked before authentication and parsing (issue 9 item 4).

A pure-ASGI middleware: a ``Content-Length`` above the limit is answered ``413`` without reading a byte of
the body; a body without a length (chunked) is counted as it streams in and stopped at the limit. Inside it,
a JSON body is checked for what the parser would refuse without saying why (not UTF-8, nested too deep, a number
too long) and answered ``422`` naming that.
"""

from __future__ import annotations

import json
import re

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twin.api.problems import PROBLEM_JSON

MAX_JSON_DEPTH = 32  # nested arrays and objects in a JSON body (the TOML check allows as many)
MAX_JSON_DIGITS = 4300  # digits of a number in a JSON body: Python's int() refuses longer ones
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})  # the methods whose body a route reads (key_gate too)
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)  # to its end if unterminated
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


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
        await send_problem(scope, send, 413, "Payload too large", detail, close=True)


async def send_problem(
    scope: Scope, send: Send, status: int, title: str, detail: str, *, errors: list[dict[str, str]] | None = None,
    close: bool = False, headers: dict[str, str] | None = None,
) -> None:
    """Answer with a problem document from a middleware (outside the app's exception handlers)."""
    problem = {"type": "about:blank", "title": title, "status": status, "detail": detail,
               "instance": scope.get("path", "")}
    if errors is not None:
        problem["errors"] = errors
    body = json.dumps(problem).encode()
    raw = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class JsonBodyMiddleware:
    """Answer ``422`` (RFC 7807) to a JSON body the parser would refuse without saying why.

    A body sent as ``application/json`` (or ``…+json``) that is not UTF-8, is nested deeper than ``max_depth``
    arrays and objects, or holds a number of more than ``max_digits`` digits is refused before FastAPI parses
    it: its parser answered a bare ``400 "There was an error parsing the body"`` to each of these. The checks
    are linear in the body, which ``BodyLimitMiddleware`` (outside this one) has already bounded.

    Only a request whose method carries a body the app reads (``BODY_METHODS``) under ``/v1/`` is checked, the
    requests :class:`~twin.api.key_gate.KeyGateMiddleware` authenticates first: no route reads a GET's body,
    and every route that reads one is under ``/v1/``. Checking every ``application/json`` request answered a GET
    ``/v1/health`` with a garbage body (or a POST ``/metrics``) with a 422 describing that body, to a client
    without a key, and parsed bodies no route would read.
    """

    def __init__(self, app: ASGIApp, max_depth: int = MAX_JSON_DEPTH, max_digits: int = MAX_JSON_DIGITS) -> None:
        self.app, self.max_depth, self.max_digits = app, max_depth, max_digits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_checked(scope):
            await self.app(scope, receive, send)
            return
        messages, body = await _read_body(receive)
        wrong = None if body is None else json_body_problem(body, self.max_depth, self.max_digits)
        if wrong is not None:
            error = {"field": "body", "message": wrong, "type": "json_invalid"}
            await send_problem(scope, send, 422, "Invalid request", f"body: {wrong}", errors=[error])
            return

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


def json_body_problem(body: bytes, max_depth: int, max_digits: int) -> str | None:
    """What is wrong with a JSON body that the parser would refuse without saying why, or None.

    Invalid UTF-8 (with its byte offset), nesting deeper than ``max_depth``, a number of more than
    ``max_digits`` digits; other syntax errors are left to the parser, which names their position. The
    answer never echoes the body.

    Every step is linear in the body's length: one pass each to blank strings, sum bracket depths and find
    runs of digits. The digit check was ``re.search("[0-9]{4301}")``, which from each digit of a run of 4 300
    (one short of the limit) counted on to the run's end before failing and trying the next digit: thousands
    of steps per byte, 2.2 s on the event loop for a 1 MB body of such runs separated by commas.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 at byte offset {exc.start} (0x{body[exc.start]:02x}); expected JSON in UTF-8"
    outside = _JSON_STRING.sub('""', text)  # brackets and digits inside strings are text, not structure
    codes = np.frombuffer(outside.encode("utf-8", "replace"), np.uint8)
    steps = np.isin(codes, _OPEN).astype(np.int32) - np.isin(codes, _CLOSE).astype(np.int32)
    if codes.size and int(np.cumsum(steps).max()) > max_depth:
        return f"JSON nested deeper than {max_depth} arrays or objects; expected at most {max_depth}"
    if _longest_digit_run(codes) > max_digits:
        return f"a number of more than {max_digits} digits; expected at most {max_digits} digits"
    return None


def _longest_digit_run(codes: np.ndarray) -> int:
    """The length of the longest run of ASCII digits in ``codes`` (bytes), from where runs start and end."""
    digit = np.concatenate(([False], (codes >= ord("0")) & (codes <= ord("9")), [False]))
    edges = np.flatnonzero(digit[1:] != digit[:-1])  # alternately a run's first digit and the byte after its last
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


def _is_checked(scope: Scope) -> bool:
    """Whether the body is one a route will parse as JSON: a body-carrying method under ``/v1/``, sent as JSON."""
    return scope["method"] in BODY_METHODS and scope["path"].startswith("/v1/") and _is_json(scope)


def _is_json(scope: Scope) -> bool:
    """Whether the request says its body is JSON, as FastAPI decides to parse it (application/json, …+json)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return kind.startswith(b"application/") and (kind == b"application/json" or kind.endswith(b"+json"))
    return False


async def _read_body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The body's messages (to replay) and the body; None when the client went away before its end."""
    messages: list[Message] = []
    chunks: list[bytes] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return messages, b"".join(chunks)


def _content_length(scope: Scope) -> int | None:
    """The declared length: 0 when absent, None when it is not a number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return 0
