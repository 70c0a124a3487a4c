"""A "true plant" for the simulated PLCs: the twin's own cell model, advanced in step with a clock.

:class:`PlantSource` satisfies the simulated PLCs' source protocol (``twin_edge.simplc.PotSource``:
``read(pot_index) -> dict[str, float]`` keyed by the signal names of ``twin_edge.simplc.POT_LAYOUT``). It
owns a :class:`~twin.cell.Potline` whose hidden state (dissolved alumina, ACD, temperature) tests know, and
which a live twin has to estimate from the measured signals alone.

Time: plant seconds = ``(clock() - start) * speed``; :meth:`read` advances the plant to that time before
answering. Tests that need no wall clock call :meth:`advance_to` and :meth:`samples` directly.

Signals per pot (names and units as the PLC layout): ``cell_voltage_V`` and ``line_current_kA`` with
Gaussian sensor noise, ``pseudo_resistance_uohm`` derived from the *measured* voltage and current as the
PLC does (R = (V - E0)/I, E0 = 1.65 V), ``feed_count`` and ``beam_count`` (cumulative commanded feed shots
and beam moves), ``anode_effect`` (0/1), ``bath_temp_degC`` (a sparse dip sample: a new noisy value every
``bath_temp_period_s``, held in between, as a thermocouple dip a few times a day) and ``metal_height_cm``.

Faults act on the hidden plant or on the sensors: :meth:`stick_feeder` (the feeder is commanded but
delivers nothing: ``feed_efficiency`` = 0), :meth:`anode_problem` (noise gain held high, optional ACD
step), :meth:`sensor_fault` (voltage reading stuck at its last value, or offset by a bias).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from twin.cell import Potline
from twin.errors import SimulationError
from twin.params import Technology
from twin.speed import SPEED_RANGE, valid_speed
from twin.telemetry import Quality, Sample, SampleSink, pot_device_id

STUCK_FEEDER = "stuck_feeder"  # the feed-loss cause of an injected feeder fault

logger = logging.getLogger(__name__)

BACK_EMF_V = 1.65  # the PLC's back-EMF for the pseudo-resistance (twin_edge.simplc.layout.BACK_EMF_V)
CurrentProfile = float | Callable[[float], float]
#: plant time (s) -> additive error per pot of the signals it names (``cell_voltage_V``, ``line_current_kA``,
#: ``bath_temp_degC``, ``metal_height_cm``): sensor bias and drift (twin.live.mismatch)
SensorError = Callable[[float], dict[str, np.ndarray]]


@dataclass
class _SensorFault:
    mode: str  # "stuck" or "bias"
    bias_V: float = 0.0
    held_V: float | None = None


class PlantSource:
    """A simulated potline whose measured signals feed simulated PLCs (or a live twin directly).

    Parameters
    ----------
    technology, n_cells:
        the cell model and the number of pots.
    seed:
        seeds the kernel's noise and the sensor noise (a run is reproducible).
    speed:
        plant seconds per clock second (60 = one plant minute per second).
    clock:
        monotonic seconds; :meth:`read` advances the plant to ``(clock() - start) * speed``.
    line_current_kA:
        a constant, or a function of plant time (s) giving the line current.
    sensor_noise:
        add Gaussian sensor noise here; switch off when the simulated PLCs add their own.
    warmup_s:
        plant seconds run before time zero, so the cells start mid-feed-cycle, not at the model's
        initial state.
    sensor_error:
        optional function of plant time giving each pot's additive sensor error per signal (bias, drift;
        :mod:`twin.live.mismatch`); applied before a sensor fault.
    """

    def __init__(
        self,
        technology: Technology,
        n_cells: int,
        *,
        seed: int = 0,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        line_current_kA: CurrentProfile | None = None,
        dt: float = 1.0,
        sensor_noise: bool = True,
        voltage_noise_V: float = 0.004,
        current_noise_kA: float = 0.05,
        bath_temp_period_s: float = 4 * 3600.0,
        bath_temp_noise_degC: float = 1.0,
        metal_noise_cm: float = 0.2,
        warmup_s: float = 0.0,
        sensor_error: SensorError | None = None,
    ) -> None:
        if not valid_speed(speed):
            raise SimulationError(f"PlantSource speed = {speed!r} is invalid; expected {SPEED_RANGE}")
        if bath_temp_period_s <= 0:
            raise SimulationError(f"bath_temp_period_s = {bath_temp_period_s!r} is invalid; expected > 0")
        self.potline = Potline(technology, n_cells, dt=dt, seed=seed, stop_on=())
        self.n_cells = n_cells
        self.speed = float(speed)
        self._clock = clock
        self._start = clock()
        self._current: CurrentProfile = self.potline.nominal_current_kA if line_current_kA is None else line_current_kA
        self._rng = np.random.default_rng(seed + 7919)
        self._lock = threading.RLock()
        self._noise = sensor_noise
        self._sd_v = voltage_noise_V
        self._sd_i = current_noise_kA
        self._sd_t = bath_temp_noise_degC
        self._sd_metal = metal_noise_cm
        self._temp_period = bath_temp_period_s
        self._temp_sample = np.full(n_cells, np.nan)
        self._temp_slot = np.full(n_cells, -1, dtype=np.int64)
        self._noise_gain = np.full(n_cells, np.nan)  # held noise gain of an anode problem (NaN = none)
        self._sensor: dict[int, _SensorFault] = {}
        self._sensor_error = sensor_error
        self._offset = 0.0
        if warmup_s > 0:
            self._run_to(warmup_s)
            self._offset = self.potline.time_s
        self._sample_temperatures()

    # -- time ---------------------------------------------------------------------------------------------------
    @property
    def time_s(self) -> float:
        """Plant time since time zero (after any warm-up), in seconds."""
        return self.potline.time_s - self._offset

    def clock_time_s(self) -> float:
        """The plant time the clock asks for now."""
        return (self._clock() - self._start) * self.speed

    def advance_to(self, time_s: float) -> None:
        """Advance the hidden plant to ``time_s`` plant seconds (never backwards)."""
        with self._lock:
            self._run_to(time_s + self._offset)
            self._sample_temperatures()

    def sync(self) -> None:
        """Advance to the clock's time (what :meth:`read` does first)."""
        self.advance_to(self.clock_time_s())

    def line_current_kA(self, time_s: float | None = None) -> float:
        t = self.time_s if time_s is None else time_s
        return float(self._current(t)) if callable(self._current) else float(self._current)

    # -- the PLC source protocol -------------------------------------------------------------------------------
    def read(self, pot_index: int) -> dict[str, float]:
        """Measured values of pot ``pot_index`` (0-based) now; advances the plant to the clock first."""
        with self._lock:
            self.sync()
            return self._measure(pot_index)

    def measure_all(self) -> list[dict[str, float]]:
        """Measured values of every pot at the plant's current time (no clock sync)."""
        with self._lock:
            return [self._measure(i) for i in range(self.n_cells)]

    def samples(self, *, group: str, node: str, timestamp_ms: int) -> list[Sample]:
        """Every pot's measured values as host samples (what the ingest would deliver), for in-process use."""
        out: list[Sample] = []
        for i, values in enumerate(self.measure_all()):
            device = pot_device_id(i + 1)
            for metric, value in values.items():
                v: float | int | bool = bool(value) if metric == "anode_effect" else value
                out.append(Sample(timestamp_ms, group, node, device, metric, v, Quality.GOOD, False))
        return out

    # -- truth, for tests --------------------------------------------------------------------------------------
    def truth(self) -> dict[str, np.ndarray]:
        """The hidden plant state per pot: what a live twin has to estimate."""
        with self._lock:
            pot = self.potline
            return {
                "alumina_wtpct": 100.0 * pot.values("alumina_dissolved_kg") / pot.values("bath_kg"),
                "acd_cm": pot.values("acd_cm"),
                "temperature_degC": pot.values("temperature_degC"),
                "superheat_K": pot.values("superheat_K"),
                "feed_efficiency": pot.values("feed_efficiency"),
                "v_cell": pot.values("v_cell"),
                "anode_effect": pot.values("ae_active"),
            }

    # -- faults -----------------------------------------------------------------------------------------------
    def stick_feeder(self, pot_index: int, efficiency: float = 0.0) -> None:
        """The feeder of pot ``pot_index`` is commanded (the PLC counts shots) but delivers ``efficiency``."""
        with self._lock:
            self.potline.set_feed_loss(self._cell(pot_index), STUCK_FEEDER, 1.0 - efficiency)
        logger.info("fault: feeder of pot %d delivers %.0f %%", pot_index, 100 * efficiency)

    def anode_problem(self, pot_index: int, *, noise_gain: float = 4.0, acd_step_cm: float = 0.0) -> None:
        """A misbehaving anode: voltage noise held ``noise_gain`` times higher, and an optional ACD step."""
        with self._lock:
            i = self._cell(pot_index)
            self._noise_gain[i] = noise_gain
            self.potline.set_cells("noise_gain", i, noise_gain)
            if acd_step_cm:
                self.potline.set_cells("acd_cm", i, self.potline.values("acd_cm")[i] + acd_step_cm)
        logger.info("fault: anode problem on pot %d (noise x%.1f, ACD %+.2f cm)", pot_index, noise_gain, acd_step_cm)

    def sensor_fault(self, pot_index: int, mode: str = "stuck", *, bias_V: float = 0.0) -> None:
        """The voltage sensor of pot ``pot_index`` sticks at its last reading (``stuck``) or reads ``bias_V`` off."""
        if mode not in ("stuck", "bias"):
            raise SimulationError(f"sensor fault mode = {mode!r} is invalid; expected 'stuck' or 'bias'")
        with self._lock:
            i = self._cell(pot_index)
            held = self._measure(i)["cell_voltage_V"] if mode == "stuck" else None
            self._sensor[i] = _SensorFault(mode, bias_V, held)
        logger.info("fault: voltage sensor of pot %d %s", pot_index, mode)

    def clear_faults(self, pot_index: int) -> None:
        with self._lock:
            i = self._cell(pot_index)
            self._sensor.pop(i, None)
            self._noise_gain[i] = np.nan
            self.potline.set_feed_loss(i, STUCK_FEEDER, 0.0)

    # -- internals --------------------------------------------------------------------------------------------
    def _cell(self, pot_index: int) -> int:
        if not 0 <= pot_index < self.n_cells:
            raise SimulationError(f"pot_index = {pot_index!r} is invalid; expected 0..{self.n_cells - 1}")
        return int(pot_index)

    def _run_to(self, plant_time_s: float) -> None:
        line = self.potline
        steps = math.floor((plant_time_s - line.time_s) / line.dt + 1e-9)
        if steps <= 0:
            return
        held = ~np.isnan(self._noise_gain)
        if held.any():  # keep an anode problem's noise up (the kernel decays the gain otherwise)
            line.set_cells("noise_gain", held, self._noise_gain[held], refresh=False)
        if callable(self._current):
            t0 = line.time_s - self._offset
            profile = np.array([self._current(t0 + k * line.dt) for k in range(steps)])
            line.advance(steps, profile)
        else:
            line.advance(steps, float(self._current))
        if not np.isfinite(line.state).all():
            bad = np.where(~np.isfinite(line.state).all(axis=0))[0]
            raise SimulationError(
                f"the simulated plant left the model's valid range at t = {self.time_s:.0f} s in pots "
                f"{bad.tolist()} (e.g. a feeder stuck for hours: repeated anode effects overheat the cell)"
            )

    def _sample_temperatures(self) -> None:
        """A new dip sample per pot every period, staggered across pots."""
        t = self.time_s
        phase = np.arange(self.n_cells) * self._temp_period / self.n_cells
        slot = np.floor((t + phase) / self._temp_period).astype(np.int64)
        new = slot != self._temp_slot
        if new.any():
            noise = self._rng.normal(0.0, self._sd_t, self.n_cells) if self._noise else np.zeros(self.n_cells)
            self._temp_sample[new] = self.potline.values("temperature_degC")[new] + noise[new]
            self._temp_slot = slot

    def _measure(self, i: int) -> dict[str, float]:
        line = self.potline
        rng = self._rng
        noisy = self._noise
        current = line.values("cell_current_A")[i] / 1e3 if line.step_count else self.line_current_kA()
        volts = float(line.values("v_cell")[i]) + (rng.normal(0.0, self._sd_v) if noisy else 0.0)
        amps = float(current) + (rng.normal(0.0, self._sd_i) if noisy else 0.0)
        err = self._sensor_error(self.time_s) if self._sensor_error is not None else {}
        volts += float(err["cell_voltage_V"][i]) if "cell_voltage_V" in err else 0.0
        amps += float(err["line_current_kA"][i]) if "line_current_kA" in err else 0.0
        fault = self._sensor.get(i)
        if fault is not None:
            volts = fault.held_V if fault.mode == "stuck" and fault.held_V is not None else volts + fault.bias_V
        metal = float(line.values("metal_height_cm")[i]) + (rng.normal(0.0, self._sd_metal) if noisy else 0.0)
        metal += float(err["metal_height_cm"][i]) if "metal_height_cm" in err else 0.0
        dip = float(self._temp_sample[i]) + (float(err["bath_temp_degC"][i]) if "bath_temp_degC" in err else 0.0)
        return {
            "cell_voltage_V": volts,
            "line_current_kA": amps,
            "pseudo_resistance_uohm": (volts - BACK_EMF_V) / max(amps * 1e3, 1.0) * 1e6,
            "feed_count": float(line.values("feed_shots")[i]),
            "beam_count": float(line.values("beam_moves")[i]),
            "anode_effect": float(line.values("ae_active")[i]),
            "bath_temp_degC": dip,
            "metal_height_cm": metal,
        }


def drive(
    source: PlantSource,
    sink: SampleSink,
    *,
    until_s: float,
    period_s: float = 5.0,
    group: str = "potline1",
    node: str = "gw01",
    epoch_ms: int = 0,
    speed: float = 1.0,
    on_step: Callable[[float], None] | None = None,
) -> None:
    """Feed ``sink`` in process, without a broker: every ``period_s`` plant seconds, advance the plant and
    deliver every pot's measured values as samples stamped ``epoch_ms + t / speed``. ``on_step(t)`` runs
    after each delivery (tests inject faults or record errors there)."""
    t = source.time_s
    while t + period_s <= until_s + 1e-9:
        t += period_s
        source.advance_to(t)
        stamp = epoch_ms + round(t / speed * 1000.0)
        sink.accept(source.samples(group=group, node=node, timestamp_ms=stamp))
        if on_step is not None:
            on_step(t)
