"""The running service: Sparkplug ingest → live twin + time-series store → FastAPI, and for the demo the
simulated plant side (plant-backed PLCs and the edge gateway) on the same machine.

``ServiceChain`` starts the parts in dependency order and stops them in reverse; it is what ``twin serve``
and ``twin demo`` run, and what the tests drive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from twin.api import create_app
from twin.api.operating import PlantInfo
from twin.api.setpoint_desk import SetpointDesk
from twin.api.views import as_of
from twin.errors import StoreError, StoreUnavailableError, TwinError
from twin.live import LiveConfig, LiveTwin, PlantSource
from twin.live.advice import Advisor
from twin.live.estimator import FilterConfig
from twin.live.twin import potline_label
from twin.params import Technology, load_plant, load_technology
from twin.service.catalogue import Catalogue, CatalogueRunner
from twin.service.config import ChainConfig, resolve
from twin.service.event_frames import EventFrameRecorder
from twin.service.live_scenario import LiveWithScenario
from twin.service.power_view import PowerView
from twin.service.store_sink import FanoutSink, StoreSink
from twin.store import Store, open_store
from twin.telemetry import HostConfig, SparkplugHost
from twin.telemetry.setpoints import ReadbackOutcome, setpoint_limits
from twin_edge.mqtt_settings import MqttSettings

log = logging.getLogger(__name__)
FLUSH_WAIT_S = 0.5  # the once-a-second flush waits at most this for the store (an outage must not stop the rest)
CLOSE_WAIT_S = 10.0  # at stop, what the sink holds gets this long to reach the store before it counts as lost


class _PlantSide:
    """Plant-backed simulated PLCs and an edge gateway per potline, on one asyncio loop in a thread."""

    def __init__(self, config: ChainConfig, technology: Technology, work_dir: Path) -> None:
        from twin.service.embedded_broker import free_port
        from twin_edge.config import load_config
        from twin_edge.simplc import SimulatedPlcs, write_tag_map

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="plant-side", daemon=True)
        self.sources: dict[str, PlantSource] = {}
        self.plcs: list[Any] = []
        self.gateways: list[Any] = []
        self._tasks: list[Any] = []
        self._stop: asyncio.Event | None = None
        for n, (group, pots) in enumerate(config.potlines.items()):
            source = PlantSource(technology, pots, seed=config.seed + n, speed=config.speed, warmup_s=3600.0)
            self.sources[group] = source
            first_port = free_port()
            while not all(_port_free(first_port + k) for k in range(pots)):
                first_port = free_port()
            directory = work_dir / group
            directory.mkdir(parents=True, exist_ok=True)
            write_tag_map(directory / "tagmap.toml", pots=pots, host="127.0.0.1", first_port=first_port,
                          setpoint_limits=setpoint_limits(technology).edge_limits())
            (directory / "gateway.toml").write_text(
                'tag_map = "tagmap.toml"\n'
                f'[mqtt]\nhost = "{config.broker_host}"\nport = {config.broker_port}\n'
                f'[sparkplug]\ngroup_id = "{group}"\nedge_node_id = "gw01"\nprimary_host_id = "{config.host_id}"\n'
                '[poll]\nperiod_s = 1.0\ntimeout_s = 0.5\n[store]\npath = "state/store.sqlite"\n',
                encoding="utf-8",
            )
            self.plcs.append(SimulatedPlcs(source, pots=pots, first_port=first_port, update_period_s=0.5,
                                           seed=config.seed + n))
            gateway = load_config(directory / "gateway.toml")
            if config.mqtt is not None:  # the simulated gateways log in as the service does
                gateway = replace(gateway, mqtt=replace(config.mqtt, client_id=None))
            self.gateways.append(gateway)

    def start(self) -> None:
        from twin_edge.gateway import EdgeGateway

        self.thread.start()

        async def begin() -> None:
            self._stop = asyncio.Event()
            for plcs in self.plcs:
                await plcs.start()
            for gw_config in self.gateways:
                self._tasks.append(asyncio.ensure_future(EdgeGateway(gw_config).run(self._stop)))

        asyncio.run_coroutine_threadsafe(begin(), self.loop).result(timeout=30)

    def stop(self) -> None:
        async def end() -> None:
            if self._stop is not None:
                self._stop.set()
            for task in self._tasks:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 10)
            for plcs in self.plcs:
                with contextlib.suppress(Exception):
                    await plcs.stop()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(end(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


#: how often the chain records the KPIs (s): the API's KPI history returns short ranges raw, so at most one
#: record a second keeps its answers within their row cap (twin.api.routes.kpis)
KPI_PERIOD_RANGE_S = (1.0, 3600.0)


class ServiceChain:
    """Ingest, live twin, store, API (and the simulated plant side for the demo)."""

    def __init__(self, config: ChainConfig) -> None:
        if not KPI_PERIOD_RANGE_S[0] <= config.kpi_period_s <= KPI_PERIOD_RANGE_S[1]:  # NaN fails too
            raise TwinError(
                f"ChainConfig.kpi_period_s = {config.kpi_period_s!r} is invalid; expected seconds in "
                f"[{KPI_PERIOD_RANGE_S[0]:g}, {KPI_PERIOD_RANGE_S[1]:g}] (KPI history reads assume at most one "
                "record a second)"
            )
        self.config = config
        self.technology = load_technology(resolve(config.technology))
        self.runner = CatalogueRunner(Catalogue.build(config.catalogue), config.max_horizon_h)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.store: Store | None = None
        self.host: SparkplugHost | None = None
        self.plant: _PlantSide | None = None
        self.live: LiveTwin | None = None
        self.sink: StoreSink | None = None
        self.provider: LiveWithScenario | None = None
        self.power: PowerView | None = None
        self.setpoints: SetpointDesk | None = None  # propose/confirm setpoint writes (issue 10 item 7)
        self.advisor: Advisor | None = None
        self.frames: EventFrameRecorder | None = None  # alarms and anode effects as event frames
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> ServiceChain:
        cfg = self.config
        url = cfg.store_url
        if url.startswith("duckdb:") and ":memory:" not in url:  # DuckDB needs the folder to exist
            Path(url.removeprefix("duckdb:").removeprefix("//")).parent.mkdir(parents=True, exist_ok=True)
        self.store = open_store(url)
        epoch_ms = time.time_ns() // 1_000_000
        live_config = LiveConfig(filter=FilterConfig(threads=cfg.filter_threads))
        self.live = LiveTwin(self.technology, cfg.potlines, live_config,
                             epoch_ms=epoch_ms, speed=cfg.speed)
        self.sink = StoreSink(self.store)
        self.frames = EventFrameRecorder(self.store)
        self.provider = LiveWithScenario(self.live, plant=cfg.what_if_plant, horizon_h=cfg.what_if_horizon_h)
        # per-pot advice by the potroom's own rules (issue 10 items 5, 6), those of the plant the service dispatches
        potroom = load_plant(resolve(cfg.power_plant or "models/plant_reference.toml")).potroom
        self.advisor = Advisor(self.live, list(cfg.potlines), potroom)
        if cfg.power_plant:  # the supply side and its assets (units, grid tie, rectifiers) from the plant file
            labels = [potline_label(g) for g in cfg.potlines]
            self.power = PowerView(load_plant(resolve(cfg.power_plant)), potlines=labels)
            self.provider.set_power(self.power.idle())
        limits = setpoint_limits(self.technology)  # writes need an operate key and a broker ACL that allows DCMD
        self.host = SparkplugHost(
            HostConfig(host_id=cfg.host_id, broker_host=cfg.broker_host, broker_port=cfg.broker_port,
                       group_ids=tuple(cfg.potlines), setpoint_limits=limits, **_credentials(cfg.mqtt)),
            FanoutSink(self.live, self.sink),
            on_setpoint=self._setpoint_settled,
        )
        self.setpoints = SetpointDesk(self.store, self.host, limits)
        self.live.warm_up()  # kernels compiled before the first telemetry, not while it queues
        self.host.start()
        if not self.host.wait_online(15):
            log.warning("Sparkplug host not online after 15 s; is the broker at %s:%d up?", cfg.broker_host,
                        cfg.broker_port)
        if cfg.simulate_plant:
            if cfg.work_dir is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="twin-demo-")
                work = Path(self._tmp.name)
            else:
                work = cfg.work_dir
            self.plant = _PlantSide(cfg, self.technology, work)
            self.plant.start()
        self._spawn(self._housekeeping, "twin-housekeeping")
        return self

    def app(self) -> Any:
        """The FastAPI application over this chain's store and live twin."""
        store = self.store
        assert store is not None
        host = self.host

        def ingest_stats() -> dict[str, float]:
            figures: dict[str, float] = dict(host.counters) if host is not None else {}
            if host is not None:
                figures["queue_depth"] = host.queue_depth  # messages waiting for the ingest worker
                figures["queued_bytes"] = host.queued_bytes  # their payload bytes (HostConfig.max_queued_bytes)
                figures["reorder_bytes"] = host.reorder_bytes  # payload bytes held out of order
            if self.sink is not None:
                figures.update(self.sink.counters)
                figures["store_slowest_write_ms"] = self.sink.slowest_write_ms
            with contextlib.suppress(StoreError):  # a store closing under /metrics: leave the figure out
                engine = store.engine_memory_bytes()
                if engine is not None:
                    figures["store_engine_memory_bytes"] = engine
            return figures

        info = PlantInfo(self.technology, speed=self.config.speed, timezone=self.config.timezone)
        app = create_app(self.config.api, store, live=self.provider, run_scenario=self.runner,
                         ingest_stats=ingest_stats, plant_info=info)
        app.state.setpoints = self.setpoints
        app.state.advisor = self.advisor
        return app

    def _setpoint_settled(self, outcome: ReadbackOutcome) -> None:
        if self.setpoints is not None:
            self.setpoints.record_outcome(outcome)

    def _spawn(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _housekeeping(self) -> None:
        """Advance the live twin's windows, flush telemetry to the store, record KPI history."""
        next_kpis = 0.0
        store_down = False
        while not self._stop.wait(1.0):
            try:
                if self.live is not None:
                    self.live.tick()
                    self._update_power()
                if self.sink is not None:  # bounded: a store outage must not stop the live twin's windows
                    self.sink.flush(timeout=FLUSH_WAIT_S)
                if self.frames is not None and self.live is not None:
                    snapshot = self.live.snapshot()
                    if self.setpoints is not None:  # failed setpoint writes are alarm frames too
                        snapshot = self.setpoints.alarms.merge(snapshot)
                    self.frames.record(snapshot)
                if time.monotonic() >= next_kpis and self.live is not None and self.store is not None:
                    self._record_kpis()
                    next_kpis = time.monotonic() + self.config.kpi_period_s
                if store_down:
                    log.warning("store reachable again: event frames and KPI history are recorded again")
                    store_down = False
            except StoreUnavailableError as exc:  # an outage: said once, not a traceback every second
                if not store_down:
                    log.warning("store unreachable (%s): event frames and KPI history wait for it", exc)
                    store_down = True
            except Exception:  # keep the service up; the failure is logged with its traceback
                log.exception("housekeeping step failed")

    def _update_power(self) -> None:
        if self.power is None or self.provider is None or self.live is None:
            return
        snap = self.live.snapshot()
        potlines = (snap.get("power") or {}).get("potlines") or {}
        numbers = {k: float(v) for k, v in potlines.items() if isinstance(v, int | float) and v == v}
        if numbers:  # dispatched as of the telemetry the potline power comes from
            self.provider.set_power(self.power.update(numbers, as_of(snap)))

    def _record_kpis(self) -> None:
        assert self.live is not None
        assert self.store is not None
        snapshot = self.live.snapshot()
        now = datetime.now(UTC)
        for scope, values in (snapshot.get("kpis") or {}).items():
            numbers = {k: float(v) for k, v in values.items() if isinstance(v, int | float) and v == v}
            if numbers:
                self.store.write_kpis(scope, now, numbers)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        if self.plant is not None:
            self.plant.stop()
        if self.host is not None:
            self.host.stop()
        if self.sink is not None:
            self.sink.close(timeout=CLOSE_WAIT_S)
        if self.store is not None:
            self.store.close()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> ServiceChain:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _credentials(mqtt: MqttSettings | None) -> dict[str, Any]:
    """The [mqtt] file settings' credentials and TLS as HostConfig keywords (none: anonymous plain TCP)."""
    if mqtt is None:
        return {}
    return {"client_id": mqtt.client_id, "keepalive_s": mqtt.keepalive_s, "reconnect_min_s": mqtt.reconnect_min_s,
            "reconnect_max_s": mqtt.reconnect_max_s, "username": mqtt.username, "password": mqtt.password,
            "tls": mqtt.tls}
