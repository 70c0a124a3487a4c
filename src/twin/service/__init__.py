"""`twin serve` and `twin demo`: the live service on one machine.

* ``twin serve --config FILE``: Sparkplug ingest from the configured broker, the live twin, the store and the
  API (settings file format in :mod:`twin.service.config`).
* ``twin demo``: the whole chain with nothing installed: an embedded MQTT broker (amqtt) unless ``--broker``
  names one, plant-backed simulated PLCs, the edge gateway, ingest, live twin, embedded DuckDB store and the
  API with its dashboard.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

from twin.errors import TwinError

log = logging.getLogger(__name__)


def run_serve(args: argparse.Namespace, announce: Callable[[str], None] = log.warning) -> int:
    from twin.service.chain import ServiceChain
    from twin.service.config import load_service_config

    if not args.config:
        raise TwinError("twin serve needs --config FILE (see twin.service.config for the format)")
    _check_http_args(args)
    config = load_service_config(args.config)
    with _StopSignals() as stop, ServiceChain(config) as chain:
        broker = f"{config.broker_host}:{config.broker_port}"
        announce(f"Smelter Twin: API http://{args.host}:{args.port}/v1 (MQTT {broker})")
        _serve_http(chain, args.host, args.port, getattr(args, "duration", None), stop)
    announce(f"Smelter Twin: stopped{stop.reason()}; telemetry flushed, offline STATE sent, store closed")
    return 0


def run_demo(args: argparse.Namespace, announce: Callable[[str], None] = log.warning) -> int:
    from twin.api.settings import Settings
    from twin.service.chain import ServiceChain
    from twin.service.config import MAX_CELLS_PER_POTLINE, ChainConfig
    from twin.service.embedded_broker import EmbeddedBroker
    from twin.speed import SPEED_RANGE, valid_speed

    _check_http_args(args)
    if not 1 <= args.pots <= MAX_CELLS_PER_POTLINE:
        raise TwinError(f"--pots = {args.pots!r} is invalid; expected an integer in [1, {MAX_CELLS_PER_POTLINE}]")
    if not valid_speed(args.speed):
        raise TwinError(f"--speed = {args.speed!r} is invalid; expected {SPEED_RANGE}")
    config = ChainConfig(
        potlines={"potline1": args.pots}, speed=args.speed, simulate_plant=True, store_url=args.store,
        api=Settings(open_access=True, compact_interval_s=3600.0), what_if_horizon_h=6.0,
        power_plant="models/plant_small.toml",
    )
    broker = None
    if args.broker:
        host, _, port = args.broker.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise TwinError(f"--broker = {args.broker!r} is invalid; expected HOST:PORT, e.g. 127.0.0.1:1883")
        config.broker_host, config.broker_port = host, int(port)
    else:
        broker = EmbeddedBroker().start()
        config.broker_host, config.broker_port = broker.host, broker.port
    try:
        with _StopSignals() as stop, ServiceChain(config) as chain:
            announce(f"Smelter Twin demo: dashboard http://{args.host}:{args.port}/  "
                     f"(MQTT {config.broker_host}:{config.broker_port}, {args.pots} pots, speed {args.speed:g}x; "
                     "Ctrl-C stops)")
            _serve_http(chain, args.host, args.port, args.duration, stop)
    finally:
        if broker is not None:
            broker.stop()
    return 0


def _check_http_args(args: argparse.Namespace) -> None:
    """The command-line values both commands share, checked before anything starts."""
    if not 1 <= args.port <= 65535:
        raise TwinError(f"--port = {args.port!r} is invalid; expected a TCP port in [1, 65535]")
    duration = getattr(args, "duration", None)
    if duration is not None and not (math.isfinite(duration) and duration > 0):
        raise TwinError(f"--for = {duration!r} is invalid; expected a number of seconds > 0 (or no --for: run until "
                        "stopped)")


class _StopSignals:
    """SIGTERM (systemd, docker, k8s) and SIGINT run the normal shutdown: the HTTP server stops, then the
    chain stops in order (final flush, offline STATE, store closed) and the process exits 0.

    uvicorn would re-raise a caught signal after its own shutdown, which kills the process (status 143)
    before the chain can stop; here the service owns the signals instead. A second SIGINT forces the HTTP
    server to stop at once. Only the main thread can own signals; elsewhere this does nothing.
    """

    def __init__(self) -> None:
        self.server: Any = None
        self.signals: list[int] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, sig: int, frame: object) -> None:
        if self.signals and sig == signal.SIGINT and self.server is not None:
            self.server.force_exit = True
        self.signals.append(sig)
        if self.server is not None:
            self.server.should_exit = True

    @property
    def stopping(self) -> bool:
        return bool(self.signals)

    def reason(self) -> str:
        return f" on {signal.Signals(self.signals[0]).name}" if self.signals else ""


def _serve_http(chain: object, host: str, port: int, duration: float | None, stop: _StopSignals) -> None:
    import uvicorn

    from twin.api.http_server import server_config

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the service's _StopSignals own SIGTERM and SIGINT

    app = chain.app()  # type: ignore[attr-defined]
    server = Server(server_config(app, host, port, app.state.settings, log_level="warning"))
    stop.server = server
    if stop.stopping:  # a signal came while the chain was starting
        return
    if duration:
        timer = threading.Timer(duration, lambda: setattr(server, "should_exit", True))
        timer.daemon = True
        timer.start()
    with contextlib.suppress(SystemExit):  # uvicorn exits (status 3) when it cannot bind; the chain stops in order
        server.run()
    if not server.started and not stop.stopping:
        raise TwinError(f"--host {host} --port {port}: the HTTP server could not listen there (the error above says "
                        "why: the port in use, or a host name or address this machine does not have)")


__all__ = ["run_demo", "run_serve"]

