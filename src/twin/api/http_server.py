"""The HTTP server's connection guard: a cap on open connections and deadlines for a request's head and body.

uvicorn (h11) keeps a connection that never completes its request head open for ever, and its
``limit_concurrency`` only answers 503 once a request head has arrived, so a client that opens connections and
sends nothing, or a header line every few seconds ("slowloris"), holds a file descriptor each until the process
runs out (an audit: 2 × 15 000 such connections, ``OSError: [Errno 24] Too many open files`` in a loop and
``/v1/health`` timing out). Here each connection must complete its request head within ``head_timeout_s`` of
its first byte or of the previous response, and its body within ``body_timeout_s`` of the head; a connection
beyond ``max_connections`` is closed as it opens. Idle kept-alive connections keep uvicorn's own 5-s timeout.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger(__name__)


def guarded_protocol(max_connections: int, head_timeout_s: float, body_timeout_s: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the connection guard (module docstring), as a class for ``uvicorn.Config(http=)``."""
    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _deadline_for: str | None = None  # "head" or "body": what the armed deadline waits for

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:  # repeats are limited by the service's log filter
                logger.warning(
                    "HTTP connection from %s refused: %d connections open (max_connections = %d)",
                    self.client, len(self.connections) - 1, max_connections,
                )
                transport.close()
                return
            self._watch()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._watch()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._watch()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _watch(self) -> None:
            """Arm the deadline the request in progress needs: its head (nothing or part of it received), its
            body (head received, body not complete), or none (request complete: the app has it)."""
            if self.transport.is_closing():
                self._disarm()
                return
            state = self.conn.their_state
            if state is h11.IDLE and self.timeout_keep_alive_task is None:
                self._arm("head", head_timeout_s)  # kept-alive and idle: uvicorn's own timer runs instead
            elif state is h11.IDLE:
                self._disarm()
            elif state is h11.SEND_BODY:
                self._arm("body", body_timeout_s)
            else:
                self._disarm()

        def _arm(self, what: str, seconds: float) -> None:
            if self._deadline_for == what:
                return  # the deadline runs from when this part of the request began, not from its last byte
            self._disarm()
            self._deadline_for = what
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
            self._deadline, self._deadline_for = None, None

        def _expired(self) -> None:
            what = self._deadline_for
            self._deadline, self._deadline_for = None, None
            if not self.transport.is_closing():
                logger.info("HTTP connection from %s closed: its request %s did not arrive in time", self.client, what)
                self.transport.close()

    return GuardedH11Protocol


def server_config(app: Any, host: str, port: int, settings: Any, **options: Any) -> uvicorn.Config:
    """The uvicorn configuration of the API: ``app`` on ``host:port`` with the connection guard from ``settings``
    (:class:`twin.api.settings.Settings`: ``max_connections``, ``request_head_timeout_s``,
    ``request_body_timeout_s``); ``options`` go to ``uvicorn.Config``."""
    protocol = guarded_protocol(
        settings.max_connections, settings.request_head_timeout_s, settings.request_body_timeout_s
    )
    return uvicorn.Config(app, host=host, port=port, http=protocol, **options)
