"""A bank of simulated pot-controller PLCs: one pymodbus TCP server per pot on consecutive ports.

Like a real pot controller on a plant network, each PLC answers only its configured Modbus unit id (requests to
any other unit get no data) and its process values are read-only for clients: a write request (function codes 5,
6, 15, 16, 22, 23) is refused with an exception response and counted in :attr:`SimulatedPlcs.rejected_writes`
unless it is a register write (6 or 16) wholly inside the setpoint registers (``SETPOINT_LAYOUT``) and, when
``writers`` is given, comes from one of those client addresses (the gateway's). Accepted writes are counted in
:attr:`SimulatedPlcs.accepted_writes`. The simulation itself updates the process registers directly and never
touches the setpoints.

Faults: :meth:`SimulatedPlcs.set_offline` stops a PLC's server (clients see refused connections),
:meth:`SimulatedPlcs.stick` freezes one signal at its current value (a stuck sensor), and
:meth:`SimulatedPlcs.ignore_setpoint_writes` makes a PLC acknowledge setpoint writes without taking them (a
controller in local/manual mode), which the read-back must catch. Sensor noise is Gaussian
with a per-pot seeded generator, so a run is reproducible for a given seed and source.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Collection, Mapping
from typing import Any

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.pdu import ExceptionResponse
from pymodbus.server import ModbusTcpServer
from pymodbus.server.requesthandler import ServerRequestHandler

from twin_edge.registers import decode_registers, encode_registers
from twin_edge.simplc.layout import BACK_EMF_V, DEFAULT_SETPOINTS, POT_LAYOUT, REGISTER_COUNT, SETPOINT_LAYOUT
from twin_edge.simplc.source import PotSource

logger = logging.getLogger(__name__)
_HOLDING = 3  # Modbus function code used to address the holding-register block
_WRITE_CODES = frozenset({5, 6, 15, 16, 22, 23})
_REGISTER_WRITES = frozenset({6, 16})
_SETPOINT_FIRST = min(s.register for s in SETPOINT_LAYOUT)
_SETPOINT_END = max(s.register + s.encoding.register_count for s in SETPOINT_LAYOUT)


class _PlcDevice(ModbusSlaveContext):
    """A device context whose process registers are read-only for clients; register writes wholly inside the
    setpoint block are taken (pymodbus validates each request before executing it)."""

    def __init__(self, on_refused: Callable[[], None], on_taken: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_refused = on_refused
        self._on_taken = on_taken
        self.ignore_writes = False

    def validate(self, fc_as_hex: int, address: int, count: int = 1) -> bool:
        if fc_as_hex in _WRITE_CODES:
            if fc_as_hex in _REGISTER_WRITES and address >= _SETPOINT_FIRST and address + count <= _SETPOINT_END:
                return True
            self._on_refused()
            return False
        return bool(super().validate(fc_as_hex, address, count))

    async def async_setValues(self, fc_as_hex: int, address: int, values: Any) -> None:
        """Client writes only (the simulation calls :meth:`setValues`); acknowledged but dropped when ignoring."""
        self._on_taken()
        if not self.ignore_writes:
            self.setValues(fc_as_hex, address, values)


class _WriterCheck(ServerRequestHandler):  # type: ignore[misc]
    """Refuses write requests from clients whose address is not in the server's ``writers``."""

    async def handle_request(self) -> None:
        pdu = self.last_pdu
        writers = getattr(self.server, "writers", None)
        if pdu is not None and writers is not None and pdu.function_code in _WRITE_CODES:
            peer = self.transport.get_extra_info("peername") if self.transport is not None else None
            if peer is None or peer[0] not in writers:
                self.server.on_refused()
                response = ExceptionResponse(pdu.function_code, ExceptionResponse.ILLEGAL_FUNCTION)
                response.transaction_id = pdu.transaction_id
                response.dev_id = pdu.dev_id
                self.server_send(response, self.last_addr)
                return
        await super().handle_request()


class _PlcServer(ModbusTcpServer):  # type: ignore[misc]
    def __init__(self, *args: Any, writers: Collection[str] | None, on_refused: Callable[[], None], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.writers = None if writers is None else frozenset(writers)
        self.on_refused = on_refused

    def callback_new_connection(self) -> ServerRequestHandler:
        return _WriterCheck(self, self.trace_packet, self.trace_pdu, self.trace_connect)


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
        writers: Collection[str] | None = None,
        setpoints: Mapping[str, float] | None = None,
    ) -> None:
        """``writers``: client IP addresses allowed to write setpoints (None: any client that reaches the PLC);
        ``setpoints``: initial setpoint values (default :data:`~twin_edge.simplc.layout.DEFAULT_SETPOINTS`)."""
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
        self.accepted_writes = 0
        self._writers = writers
        self._devices = [
            _PlcDevice(
                self._count_write, self._count_taken, hr=ModbusSequentialDataBlock(0, [0] * (REGISTER_COUNT + 2))
            )
            for _ in range(pots)
        ]
        initial = {**DEFAULT_SETPOINTS, **(setpoints or {})}
        for device in self._devices:
            for signal in SETPOINT_LAYOUT:
                device.setValues(_HOLDING, signal.register, encode_registers(signal.encoding, initial[signal.name]))
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

    def ignore_setpoint_writes(self, pot_index: int, ignore: bool = True) -> None:
        """Acknowledge setpoint writes to pot ``pot_index`` without taking them (or take them again)."""
        self._devices[pot_index].ignore_writes = ignore

    def setpoint(self, pot_index: int, name: str) -> float:
        """The value the PLC holds in setpoint register ``name`` (engineering units)."""
        signal = next((s for s in SETPOINT_LAYOUT if s.name == name), None)
        if signal is None:
            raise ValueError(f"setpoint {name!r} is unknown; known: {', '.join(s.name for s in SETPOINT_LAYOUT)}")
        raw = self._devices[pot_index].getValues(_HOLDING, signal.register, signal.encoding.register_count)
        return float(decode_registers(signal.encoding, list(raw))) * signal.scale

    def write_setpoint(self, pot_index: int, name: str, value: float) -> bool:
        """A client's setpoint write over another protocol (OPC UA): counted like a Modbus write; False (and the
        register unchanged) when the PLC ignores writes."""
        signal = next((s for s in SETPOINT_LAYOUT if s.name == name), None)
        if signal is None:
            raise ValueError(f"setpoint {name!r} is unknown; known: {', '.join(s.name for s in SETPOINT_LAYOUT)}")
        device = self._devices[pot_index]
        self._count_taken()
        if device.ignore_writes:
            return False
        device.setValues(_HOLDING, signal.register, encode_registers(signal.encoding, value / signal.scale))
        return True

    def _count_write(self) -> None:
        self.rejected_writes += 1

    def _count_taken(self) -> None:
        self.accepted_writes += 1

    def measured(self, pot_index: int) -> dict[str, float]:
        """The values pot ``pot_index`` shows now (engineering units, noise and stuck sensors included)."""
        return dict(self._last[pot_index])

    def is_offline(self, pot_index: int) -> bool:
        return self._servers[pot_index] is None

    # -- internals -------------------------------------------------------------------------------------------
    async def _serve(self, i: int) -> None:
        server = _PlcServer(
            self._contexts[i],
            address=(self.host, self.first_port + i),
            writers=self._writers,
            on_refused=self._count_write,
        )
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
