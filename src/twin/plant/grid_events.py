"""Grid services on a running plant: frequency response by rectifier droop and interruptible-load calls.

The SimPy processes here move a potline's current setpoint by a *delta they own* (the droop's or the call's
share, added to whatever the setpoint is, so line-current steps and creep compose with them) and measure what
the line then drew from its cells' own energy counters. The equations are in :mod:`twin.plant.grid_services`;
the island after a tie trip is in :mod:`twin.plant.island`.

What the services delivered is booked in the plant's :class:`GridLog` (one per plant, found or registered
with :meth:`GridLog.of`; it is also a plant hook that books each dispatch interval of an island).

* **Frequency response**: the line current follows the frequency profile by the droop of the plant file's
  ``[grid_services]`` (dead band, full activation, band), updated every ``step_s``. The reference is the
  setpoint and the measured AC power of the minute before the profile starts.
* **Reserve call** (interruptible load): the line sheds ``fraction`` of its current at the call's instant,
  which the thyristor rectifiers do within a few cycles, well inside the kernel's one-second step; after
  ``duration_h`` the current ramps back over ``reserve_restore_min``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.cell.physics import FARADAY, M_AL
from twin.errors import ScenarioError
from twin.params import Component
from twin.plant.grid_services import droop_fraction
from twin_edge.configfile import read_text

if TYPE_CHECKING:
    from twin.plant import Plant, PotlineSim

HOUR_S = 3600.0
REFERENCE_S = 60.0  # the reference power is measured over this long before a service starts
FAST_S = 10  # a call is measured every second for this many seconds, then every MEASURE_S
MEASURE_S = 60.0
RESTORE_STEPS = 10
MAX_PROFILE_POINTS = 200_000
MAX_PROFILE_BYTES = 8 * 1024 * 1024
FREQUENCY_RANGE_HZ = (40.0, 70.0)


@dataclass
class Meter:
    """Reads a line's AC power between two instants from its cells' energy counter and its busbar losses."""

    line: PotlineSim
    auxiliary_fraction: float
    time_s: float = 0.0
    energy_J: float = 0.0
    charge_C: float = 0.0
    al_kg: float = 0.0

    def start(self) -> None:
        self.time_s, self.energy_J, self.charge_C, self.al_kg = self._read()

    def _read(self) -> tuple[float, float, float, float]:
        pot = self.line.potline
        energy = float(pot.values("energy_in_J").sum()) + self.line.energy_busbar_J
        return pot.time_s, energy, float(pot.values("charge_C").sum()), float(pot.values("al_produced_kg").sum())

    def read(self) -> tuple[float, float, float, float]:
        """(seconds, mean AC MW with auxiliaries, charge C, aluminium kg) since the last read; call after a sync.

        P_AC = (Σ cell energy + busbar I²·R energy) / Δt / η_rect × (1 + auxiliary fraction), the plant's own
        power definition (twin.plant.plant module docstring; physics.md §5).
        """
        now, energy, charge, al = self._read()
        span = now - self.time_s
        ac = (energy - self.energy_J) / max(span, 1e-9) / 1e6 / self.line.spec["rectifier_efficiency"]
        out = (span, ac * (1.0 + self.auxiliary_fraction), charge - self.charge_C, al - self.al_kg)
        self.time_s, self.energy_J, self.charge_C, self.al_kg = now, energy, charge, al
        return out


@dataclass(frozen=True)
class ServiceSample:
    """One measurement of a service: line, frequency, current and power against the reference."""

    time_s: float
    service: str  # "frequency_response" or "reserve_call"
    potline: str
    frequency_Hz: float
    current_kA: float
    reference_kA: float
    ac_MW: float  # mean over the span that ended at time_s
    reference_MW: float
    span_s: float


@dataclass
class ServiceTotal:
    """What one service event delivered and cost on one line."""

    service: str
    potline: str
    start_s: float
    end_s: float = 0.0
    reserve_MWh: float = 0.0  # energy not drawn against the reference
    reserve_max_MW: float = 0.0
    reserve_min_MW: float = 0.0  # most negative: the largest increase of power (high frequency)
    first_second_MW: float = 0.0  # power shed over the first second of a call
    missing_C: float = 0.0  # charge not passed against the reference current (all cells)
    charge_C: float = 0.0  # charge passed while the service ran
    al_kg: float = 0.0  # aluminium produced while the service ran

    @property
    def al_lost_kg(self) -> float:
        """Aluminium not produced: the missing charge by Faraday's law (M_Al·Q/3F) at the current efficiency
        the cells showed while the service ran (physics.md §0)."""
        faraday_kg = M_AL * self.charge_C / (3.0 * FARADAY)
        efficiency = self.al_kg / faraday_kg if faraday_kg > 0 else 0.0
        return M_AL * self.missing_C / (3.0 * FARADAY) * efficiency


@dataclass
class IslandTotal:
    """One island: the transient, the shedding and how long it lasted."""

    start_s: float
    end_s: float
    lost_MW: float  # the tie's import (> 0) or export (< 0) when it tripped
    nadir_Hz: float
    final_Hz: float
    shed: list[tuple[str, float, float]]  # (block, time s after the trip, AC MW)
    shed_MWh: float = 0.0
    frequency_trace: tuple[tuple[float, float], ...] = ()  # (s after the trip, Hz), every 0.1 s


@dataclass
class GridLog:
    """Everything the grid services did in one run (owned by the plant's grid-service processes)."""

    samples: list[ServiceSample] = field(default_factory=list)
    services: list[ServiceTotal] = field(default_factory=list)
    islands: list[IslandTotal] = field(default_factory=list)
    island_rows: list[dict[str, float]] = field(default_factory=list)  # per dispatch interval while islanded
    islanded: bool = False
    transient_until_s: float = 0.0  # end of the running island's fast transient

    @classmethod
    def of(cls, plant: Plant) -> GridLog:
        """The plant's log: the one already registered among its hooks, or a new one registered now."""
        for hook in plant.hooks:
            owner = getattr(hook, "__self__", None)
            if isinstance(owner, GridLog):
                return owner
        log = cls()
        plant.hooks.insert(0, log.after_interval)  # before the run's recorder: it books islanded intervals
        return log

    @classmethod
    def find(cls, plant: Plant) -> GridLog | None:
        for hook in plant.hooks:
            owner = getattr(hook, "__self__", None)
            if isinstance(owner, GridLog):
                return owner
        return None

    def summary(self) -> tuple[list[dict[str, Any]], list[dict[str, float]]]:
        """Plain per-service and per-island totals, as :func:`twin.kpi.plant_kpis.grid_service_kpis` takes them."""
        services = [
            {
                "service": s.service,
                "reserve_MWh": s.reserve_MWh,
                "reserve_max_MW": s.reserve_max_MW,
                "reserve_min_MW": s.reserve_min_MW,
                "al_lost_kg": s.al_lost_kg,
                "first_second_MW": s.first_second_MW,
            }
            for s in self.services
        ]
        islands = [
            {
                "lost_MW": i.lost_MW,
                "nadir_Hz": i.nadir_Hz,
                "shed_MW": sum(mw for _, _, mw in i.shed),
                "shed_MWh": i.shed_MWh,
                "hours": (i.end_s - i.start_s) / HOUR_S,
            }
            for i in self.islands
        ]
        return services, islands

    def after_interval(self, plant: Plant) -> None:
        """While islanded, book the interval with the tie at zero (see :mod:`twin.plant.island`)."""
        if self.islanded:
            from twin.plant.island import book_island_interval

            book_island_interval(plant, self)


def settings(plant: Plant, what: str) -> Component:
    """The plant file's ``[grid_services]``; a plant without it cannot run ``what``."""
    gs = plant.spec.grid_services
    if gs is None:
        raise ScenarioError(f"{plant.spec.origin}: a {what} event needs a [grid_services] table in the plant file")
    return gs


def frequency_profile(points: Sequence[tuple[float, float]], time_s: float) -> float:
    """Frequency at ``time_s`` after the profile's start: linear between points, held outside them."""
    times = [p[0] for p in points]
    return float(np.interp(time_s, times, [p[1] for p in points]))


def load_profile_csv(path: Path, label: str) -> tuple[tuple[float, float], ...]:
    """A frequency profile from a CSV of ``time_s,frequency_Hz`` rows (a header row is allowed)."""
    text = read_text(path, ScenarioError, MAX_PROFILE_BYTES)
    points = []
    for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or (n == 1 and not _numbers(row)):
            continue
        values = _numbers(row)
        if values is None or len(values) != 2:
            raise ScenarioError(f"{path}: {label} row {n} is invalid; expected two numbers, time_s,frequency_Hz")
        points.append((values[0], values[1]))
        if len(points) > MAX_PROFILE_POINTS:
            raise ScenarioError(f"{path}: {label} has more than {MAX_PROFILE_POINTS} points")
    return check_profile(points, f"{path}: {label}")


def check_profile(points: Any, label: str) -> tuple[tuple[float, float], ...]:
    """Validate ``[[time_s, frequency_Hz], ...]``: at least two points, times rising from 0, plausible Hz."""
    if not isinstance(points, list | tuple) or len(points) < 2 or len(points) > MAX_PROFILE_POINTS:
        raise ScenarioError(f"{label} is invalid; expected 2 to {MAX_PROFILE_POINTS} [time_s, frequency_Hz] points")
    out = []
    for n, p in enumerate(points):
        if (
            not isinstance(p, list | tuple)
            or len(p) != 2
            or any(isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) for v in p)
        ):
            raise ScenarioError(f"{label}[{n}] = {p!r} is invalid; expected [time_s, frequency_Hz]")
        t, f = float(p[0]), float(p[1])
        if not FREQUENCY_RANGE_HZ[0] <= f <= FREQUENCY_RANGE_HZ[1]:
            raise ScenarioError(
                f"{label}[{n}] frequency = {f:g} is invalid; expected Hz in "
                f"[{FREQUENCY_RANGE_HZ[0]:g}, {FREQUENCY_RANGE_HZ[1]:g}]"
            )
        if (n == 0 and t != 0.0) or (out and t <= out[-1][0]):
            raise ScenarioError(f"{label}[{n}] time = {t:g} is invalid; expected times from 0 s, strictly rising")
        out.append((t, f))
    return tuple(out)


def _numbers(row: list[str]) -> list[float] | None:
    try:
        return [float(v) for v in row]
    except ValueError:
        return None


def _meters(plant: Plant, lines: Sequence[PotlineSim]) -> list[Meter]:
    return [Meter(line, plant.spec.plant["auxiliary_fraction"]) for line in lines]


def _reference(plant: Plant, lines: Sequence[PotlineSim], start_s: float) -> Generator[Any, Any, list[Meter]]:
    """Wait until ``REFERENCE_S`` before ``start_s``, then measure each line's power up to ``start_s``."""
    yield plant.env.timeout(max(start_s - REFERENCE_S - plant.env.now, 0.0))
    plant.sync()
    meters = _meters(plant, lines)
    for m in meters:
        m.start()
    yield plant.env.timeout(max(start_s - plant.env.now, 0.0))
    return meters


def _start_service(
    plant: Plant, lines: Sequence[PotlineSim], start_s: float, kind: str
) -> Generator[Any, Any, tuple[GridLog, list[Meter], list[float], list[float], list[ServiceTotal]]]:
    """Meter the lines up to ``start_s`` and open one running total per line in the run's grid log; returns
    (log, meters, reference MW and kA per line, totals)."""
    log = GridLog.of(plant)
    meters = yield from _reference(plant, lines, start_s)
    plant.sync()
    ref_MW = [m.read()[1] for m in meters]
    ref_kA = [line.setpoint_kA for line in lines]
    totals = [ServiceTotal(kind, line.name, plant.env.now) for line in lines]
    log.services.extend(totals)
    return log, meters, ref_MW, ref_kA, totals


def run_frequency_response(
    plant: Plant, lines: Sequence[PotlineSim], start_s: float, points: Sequence[tuple[float, float]], step_s: float
) -> Generator[Any, Any, None]:
    """The lines follow the frequency ``points`` (s after ``start_s``, Hz) by rectifier droop (module docstring)."""
    gs = settings(plant, "frequency_response")
    log, meters, ref_MW, ref_kA, totals = yield from _start_service(plant, lines, start_s, "frequency_response")
    applied = [0.0] * len(lines)
    end_s = start_s + points[-1][0]
    f = points[0][1]
    while True:
        now = plant.env.now
        if now > start_s:
            plant.sync()
            for n, (line, meter) in enumerate(zip(lines, meters, strict=True)):
                span, ac, charge, al = meter.read()
                _book(log, totals[n], "frequency_response", line, f, ref_kA[n], ref_MW[n], span, ac, charge, al)
        if now >= end_s - 1e-9:
            break
        f = frequency_profile(points, now - start_s)
        share = droop_fraction(
            f, gs["nominal_frequency_Hz"], gs["fcr_deadband_Hz"], gs["fcr_full_activation_Hz"], gs["fcr_band_fraction"]
        )
        for n, line in enumerate(lines):
            delta = share * ref_kA[n]
            line.setpoint_kA += delta - applied[n]
            applied[n] = delta
        yield plant.env.timeout(min(step_s, end_s - now))
    for n, line in enumerate(lines):
        line.setpoint_kA -= applied[n]
    for total in totals:
        total.end_s = plant.env.now


def run_reserve_call(
    plant: Plant, lines: Sequence[PotlineSim], start_s: float, fraction: float, duration_s: float
) -> Generator[Any, Any, None]:
    """An interruptible-load call: ``fraction`` of each line's current off for ``duration_s`` (module docstring)."""
    gs = settings(plant, "reserve_call")
    log, meters, ref_MW, ref_kA, totals = yield from _start_service(plant, lines, start_s, "reserve_call")
    shed = [fraction * kA for kA in ref_kA]
    f = gs["nominal_frequency_Hz"]

    def apply(amounts: Sequence[float]) -> None:
        for line, amount in zip(lines, amounts, strict=True):
            line.setpoint_kA += amount

    def measure() -> None:
        plant.sync()
        for n, (line, meter) in enumerate(zip(lines, meters, strict=True)):
            span, ac, charge, al = meter.read()
            _book(log, totals[n], "reserve_call", line, f, ref_kA[n], ref_MW[n], span, ac, charge, al)

    plant.change(lambda: apply([-s for s in shed]))
    for k in range(FAST_S):
        yield plant.env.timeout(1.0)
        measure()
        if k == 0:
            for n, total in enumerate(totals):
                total.first_second_MW = ref_MW[n] - log.samples[-len(lines) + n].ac_MW
    end_s = start_s + duration_s
    while plant.env.now < end_s - 1e-9:
        yield plant.env.timeout(min(MEASURE_S, end_s - plant.env.now))
        measure()
    restore_s = gs["reserve_restore_min"] * 60.0
    steps = RESTORE_STEPS if restore_s > 0 else 1
    for _ in range(steps):  # the current returns in even steps over reserve_restore_min
        plant.change(lambda: apply([s / steps for s in shed]))
        yield plant.env.timeout(restore_s / steps if restore_s > 0 else 1.0)
        measure()
    for total in totals:
        total.end_s = plant.env.now


def _book(
    log: GridLog,
    total: ServiceTotal,
    service: str,
    line: PotlineSim,
    f: float,
    ref_kA: float,
    ref_MW: float,
    span: float,
    ac: float,
    charge: float,
    al: float,
) -> None:
    if span <= 0.0:
        return
    current = charge / span / 1e3 / line.potline.n_cells
    log.samples.append(ServiceSample(line.potline.time_s, service, line.name, f, current, ref_kA, ac, ref_MW, span))
    total.reserve_MWh += (ref_MW - ac) * span / HOUR_S
    total.reserve_max_MW = max(total.reserve_max_MW, ref_MW - ac)
    total.reserve_min_MW = min(total.reserve_min_MW, ref_MW - ac)
    total.missing_C += ref_kA * 1e3 * span * line.potline.n_cells - charge
    total.charge_C += charge
    total.al_kg += al
