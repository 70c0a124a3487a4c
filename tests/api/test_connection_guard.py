"""The HTTP server closes connections that hold a file descriptor without completing a request (twin.api.http_server):
nothing sent, a request head sent a line at a time ("slowloris"), a body that stops; and it closes a connection beyond
``max_connections`` as it opens. Before, uvicorn kept each such connection for ever: an audit opened 2 × 15 000 and
the server ran out of file descriptors (``Too many open files``, /v1/health timing out).

Each test waits for the server to close a raw socket (``recv`` returns b"") with a deadline several times the
configured timeout: a wait for an event, not a measurement of how long it took."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from tests.api.conftest import LiveServer

from twin.api import Settings, create_app

WAIT_S = 15.0  # far above the 1-s deadlines set here; only a server that never closes reaches it


@pytest.fixture
def guarded(store) -> Iterator[LiveServer]:
    settings = Settings(open_access=True, max_connections=4, request_head_timeout_s=1.0, request_body_timeout_s=1.0)
    with LiveServer(create_app(settings, store)) as server:
        yield server


def _connect(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S)


def _closed_by_server(sock: socket.socket) -> bool:
    """True when the server closes the connection before WAIT_S (whatever it sends first is read past)."""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return True
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.close()


def test_a_connection_that_sends_nothing_is_closed(guarded) -> None:
    assert _closed_by_server(_connect(guarded))


def test_a_request_head_that_never_ends_is_closed(guarded) -> None:
    sock = _connect(guarded)
    sock.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
    assert _closed_by_server(sock)


def test_a_body_that_stops_is_closed(guarded) -> None:
    sock = _connect(guarded)
    head = b"POST /v1/scenarios HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    sock.sendall(head + b"{")
    assert _closed_by_server(sock)


def test_connections_beyond_the_cap_are_closed_and_requests_still_served(guarded) -> None:
    idle = [_connect(guarded) for _ in range(4)]
    extra = _connect(guarded)
    extra.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _closed_by_server(extra)  # closed at once, unanswered
    for sock in idle:
        sock.close()
    with httpx.Client(base_url=guarded.url, timeout=WAIT_S) as client:  # the slots come back
        assert client.get("/v1/health").status_code == 200


def test_complete_requests_on_a_kept_alive_connection_are_served(guarded) -> None:
    with httpx.Client(base_url=guarded.url, timeout=WAIT_S) as client:
        for _ in range(3):
            assert client.get("/v1/health").status_code == 200
