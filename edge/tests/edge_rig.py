"""Runs simulated PLCs and an edge gateway on a private asyncio loop in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from edge_mqtt import free_port_range
from twin_edge.config import GatewayConfig, load_config
from twin_edge.gateway import EdgeGateway
from twin_edge.simplc import SimulatedPlcs, SyntheticSource, write_tag_map


def write_gateway_config(
    directory: Path,
    *,
    group: str,
    node: str,
    broker_port: int,
    pots: int,
    first_port: int,
    period_s: float = 0.1,
    primary_host: str | None = None,
    deadband_scale: float = 1.0,
) -> Path:
    write_tag_map(directory / "tagmap.toml", pots=pots, host="127.0.0.1", first_port=first_port,
                  deadband_scale=deadband_scale)
    primary = f'primary_host_id = "{primary_host}"\n' if primary_host else ""
    path = directory / "gateway.toml"
    path.write_text(
        'tag_map = "tagmap.toml"\n'
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker_port}\nreconnect_min_s = 0.2\nreconnect_max_s = 1.0\n'
        f'keepalive_s = 5\n[sparkplug]\ngroup_id = "{group}"\nedge_node_id = "{node}"\n{primary}'
        f"[poll]\nperiod_s = {period_s}\ntimeout_s = 0.3\n"
        '[store]\npath = "state/store.sqlite"\n',
        encoding="utf-8",
    )
    return path


class GatewayRig:
    def __init__(self, config: GatewayConfig, *, pots: int, first_port: int, source: Any = None) -> None:
        self.config = config
        self.samples: list[tuple[str, str, int, Any]] = []
        self._lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.plcs = SimulatedPlcs(source or SyntheticSource(), pots=pots, first_port=first_port,
                                  update_period_s=0.02)
        self.gateway: EdgeGateway | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._run_task: Any = None

    def _observe(self, device: str, metric: str, ts: int, value: Any) -> None:
        with self._lock:
            self.samples.append((device, metric, ts, value))

    def observed(self) -> list[tuple[str, str, int, Any]]:
        with self._lock:
            return list(self.samples)

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self, *, plcs: bool = True) -> GatewayRig:
        self._thread.start()
        if plcs:
            self.call(self.plcs.start())
        self.start_gateway()
        return self

    def start_gateway(self) -> None:
        async def begin() -> None:
            self._stop = asyncio.Event()
            self.gateway = EdgeGateway(self.config, on_sample=self._observe)
            self._run_task = asyncio.ensure_future(self.gateway.run(self._stop))

        self.call(begin())

    def stop_gateway(self) -> None:
        async def end() -> None:
            assert self._stop is not None
            self._stop.set()
            await self._run_task

        self.call(end())

    def stop(self) -> None:
        try:
            if self._run_task is not None and not self._run_task.done():
                self.stop_gateway()
            self.call(self.plcs.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)


def make_rig(tmp_path: Path, *, group: str, node: str, broker_port: int, pots: int = 2, **kwargs: Any) -> GatewayRig:
    first_port = free_port_range(pots)
    source = kwargs.pop("source", None)
    cfg_path = write_gateway_config(tmp_path, group=group, node=node, broker_port=broker_port, pots=pots,
                                    first_port=first_port, **kwargs)
    return GatewayRig(load_config(cfg_path), pots=pots, first_port=first_port, source=source)
