"""A TCP relay between one MQTT client and a real broker whose link the test can cut like a pulled cable.

While cut, bytes in both directions are read and dropped and new connections are closed at once: the broker
hears nothing from the client (its keep-alive expires and it publishes the client's Will) and whatever the
broker sends the client is lost. Neither side is told: a side's socket is closed only when that side closed its
end. :meth:`heal` drops the dead connections and relays new ones again.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class PartitionableRelay:
    def __init__(self, broker_port: int, broker_host: str = "127.0.0.1") -> None:
        self._target = (broker_host, broker_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._cut = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, name="relay-accept", daemon=True).start()

    def cut(self) -> None:
        self._cut.set()

    def heal(self) -> None:
        with self._lock:
            dead, self._sockets = self._sockets, []
        for s in dead:
            _close(s)
        self._cut.clear()

    def close(self) -> None:
        _close(self._listener)
        self.heal()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self._cut.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=2.0)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), name="relay-pump", daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65_536):
                if not self._cut.is_set():
                    dst.sendall(data)
        except OSError:
            pass
        _close(src)
        if not self._cut.is_set():  # a connected link passes the end on; a cut one does not
            _close(dst)


def _close(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()
