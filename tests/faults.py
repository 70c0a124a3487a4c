"""Fault injection for tests: a TCP proxy in front of a real server that can cut every connection and refuse new
ones (a database restart or a network outage, as a client sees it), then let them through again."""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from collections.abc import Iterator
from typing import Any


class TcpProxy:
    """Forwards 127.0.0.1:``port`` to ``target``; :meth:`cut` drops every connection and refuses new ones until
    :meth:`restore`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = False
        threading.Thread(target=self._accept, name="tcp-proxy", daemon=True).start()

    def cut(self) -> None:
        """Every connection through the proxy is reset and new ones are refused (closed at once)."""
        self._open.clear()
        with self._lock:
            for s in self._sockets:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._sockets.clear()

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def postgres_behind_proxy() -> Iterator[tuple[Any, TcpProxy]]:
    """A PostgresStore (its own schema, dropped at the end) that reaches the server at 127.0.0.1:5432 through a
    :class:`TcpProxy`, so a test can cut the database away and bring it back."""
    from twin.store.pg import PostgresStore

    proxy = TcpProxy(("127.0.0.1", 5432))
    store = PostgresStore(
        f"host=127.0.0.1 port={proxy.port} user=postgres dbname=test connect_timeout=3",
        schema="t_" + uuid.uuid4().hex[:12],
    )
    try:
        yield store, proxy
    finally:
        proxy.restore()
        store.drop_schema()
        proxy.close()
