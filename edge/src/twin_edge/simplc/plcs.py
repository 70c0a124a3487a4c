"""A bank of simulated pot-controller PLCs: one pymodbus TCP server per pot on consecutive ports.

Like a real pot controller on a plant network, each PLC answers only its configured Modbus unit id (requests to
any other unit get no data) and is read-only for clients: every write request (function codes 5, 6, 15, 16, 22,
23) is refused with an exception response and counted in :attr:`SimulatedPlcs.rejected_writes`. The simulation
itself updates the registers directly.

Faults: :meth:`SimulatedPlcs.set_offline` stops a PLC's server (clients see refused connections) and
:meth:`SimulatedPlcs.stick` freezes one signal at its current value (a stuck sensor). Sensor noise is Gaussian
with a per-pot seeded generator, so a run is reproducible for a given seed and source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import ModbusTcpServer

from twin_edge.registers import encode_registers
from twin_edge.simplc.layout import BACK_EMF_V, POT_LAYOUT, REGISTER_COUNT
from twin_edge.simplc.source import PotSource

logger = logging.getLogger(__name__)
_HOLDING = 3  # Modbus function code used to address the holding-register block
_WRITE_CODES = frozenset({5, 6, 15, 16, 22, 23})


class _ReadOnlyDevice(ModbusSlaveContext):
    """A device context that refuses every client write (pymodbus validates each request before executing it)."""

    def __init__(self, on_write: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_write = on_write

    def validate(self, fc_as_hex: int, address: int, count: int = 1) -> bool:
        if fc_as_hex in _WRITE_CODES:
            self._on_write()
            return False
        return bool(super().validate(fc_as_hex, address, count))


class SimulatedPlcs:
    """``pots`` PLCs on ``host:first_port .. first_port + pots - 1``; use as ``async with``."""

    def __init__(
        self,
        source: PotSource,
        *,
        pots: int,
        first_port: int,
        host: str = "127.0.0.1",
        update_period_s: float = 0.1,
        noise: bool = True,
        seed: int = 0,
        unit: int = 1,
    ) -> None:
        if not 1 <= unit <= 247:
            raise ValueError(f"unit = {unit} is invalid; expected a Modbus unit id in [1, 247]")
        self._source = source
        self.pots = pots
        self.first_port = first_port
        self.host = host
        self._update_period_s = update_period_s
        self._noise = noise
        self._rngs = [random.Random(seed * 1_000_003 + i) for i in range(pots)]
        self.unit = unit
        self.rejected_writes = 0
        self._devices = [
            _ReadOnlyDevice(self._count_write, hr=ModbusSequentialDataBlock(0, [0] * (REGISTER_COUNT + 2)))
            for _ in range(pots)
        ]
        self._contexts = [ModbusServerContext(slaves={unit: device}, single=False) for device in self._devices]
        self._servers: list[ModbusTcpServer | None] = [None] * pots
        self._stuck: dict[tuple[int, str], float] = {}
        self._last: list[dict[str, float]] = [{} for _ in range(pots)]
        self._source_values: list[dict[str, float]] = [{} for _ in range(pots)]
        self._updater: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SimulatedPlcs:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self.update_all()
        for i in range(self.pots):
            await self._serve(i)
        self._updater = asyncio.create_task(self._update_loop(), name="simplc-update")
        logger.info(
            "%d simulated PLCs on %s:%d..%d",
            self.pots,
            self.host,
            self.first_port,
            self.first_port + self.pots - 1,
        )

    async def stop(self) -> None:
        if self._updater is not None:
            self._updater.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._updater
        for i in range(self.pots):
            await self._shutdown(i)

    # -- faults ----------------------------------------------------------------------------------------------
    async def set_offline(self, pot_index: int, offline: bool) -> None:
        """Take a PLC off the network (its server stops listening) or bring it back."""
        if offline:
            await self._shutdown(pot_index)
        elif self._servers[pot_index] is None:
            await self._serve(pot_index)

    def stick(self, pot_index: int, signal: str) -> None:
        """Freeze ``signal`` of pot ``pot_index`` at its current value (a stuck sensor)."""
        self._stuck[(pot_index, signal)] = self._last[pot_index].get(signal, 0.0)

    def unstick(self, pot_index: int, signal: str) -> None:
        self._stuck.pop((pot_index, signal), None)

    def _count_write(self) -> None:
        self.rejected_writes += 1

    def measured(self, pot_index: int) -> dict[str, float]:
        """The values pot ``pot_index`` shows now (engineering units, noise and stuck sensors included)."""
        return dict(self._last[pot_index])

    def is_offline(self, pot_index: int) -> bool:
        return self._servers[pot_index] is None

    # -- internals -------------------------------------------------------------------------------------------
    async def _serve(self, i: int) -> None:
        server = ModbusTcpServer(self._contexts[i], address=(self.host, self.first_port + i))
        await server.serve_forever(background=True)
        if server.transport is None:
            raise OSError(f"simulated PLC {i} cannot listen on {self.host}:{self.first_port + i}")
        self._servers[i] = server

    async def _shutdown(self, i: int) -> None:
        server = self._servers[i]
        self._servers[i] = None
        if server is not None:
            await server.shutdown()

    async def _update_loop(self) -> None:
        while True:
            await asyncio.sleep(self._update_period_s)
            self.update_all()

    def update_all(self) -> None:
        for i in range(self.pots):
            self._update(i)

    def _update(self, i: int) -> None:
        fresh = self._source.read(i)
        values = {**self._source_values[i], **fresh}
        self._source_values[i] = values
        rng = self._rngs[i]
        measured: dict[str, float] = {}
        for signal in POT_LAYOUT:
            if signal.name in values:
                noise = rng.gauss(0.0, signal.noise_sd) if self._noise and signal.noise_sd > 0 else 0.0
                measured[signal.name] = values[signal.name] + noise
        if "pseudo_resistance_uohm" not in fresh and measured.get("line_current_kA"):
            measured["pseudo_resistance_uohm"] = (
                (measured.get("cell_voltage_V", 0.0) - BACK_EMF_V) / (measured["line_current_kA"] * 1e3) * 1e6
            )
        for (pot, name), frozen in self._stuck.items():
            if pot == i:
                measured[name] = frozen
        self._last[i] = measured
        store = self._devices[i]
        for signal in POT_LAYOUT:
            if signal.name in measured:
                raw = measured[signal.name] / signal.scale
                store.setValues(_HOLDING, signal.register, encode_registers(signal.encoding, raw))
