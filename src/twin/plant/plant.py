"""The plant: SimPy environment, potlines in series behind their rectifiers, and the power supply.

One :class:`Plant` per run (no global state; style.md practice 1). The cells advance lazily: every
process that reads or changes cell state first brings its line up to ``env.now`` (performance.md §1.3).
Each dispatch interval the plant measures what the potlines actually drew, closes the power balance
with the grid tie as the slack (coal held at its dispatched output, renewables at what the dispatch left of
them; what the tie could not carry is recorded as shortfall or excess so the balance always closes), records
the interval and dispatches the next one. When the supply cannot cover the expected demand the lines
shed current (rectifier current reduction) until it can.

Power drawn (physics.md §5): P_DC = Σ I·V_cell + I²·R_busbar per line; P_AC = P_DC/η_rect;
auxiliaries = fraction × Σ P_AC; demand = Σ P_AC + auxiliaries.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np
import simpy

from twin.cell import Potline
from twin.cell.kernel_team import KernelTeam
from twin.errors import SimulationError
from twin.params import Component, PlantSpec, Technology
from twin.plant.control import Controls, PotroomControl, hold_heat_through_shed, keep_modulation_point
from twin.plant.demand import LineDraw, share_for_power
from twin.plant.exchangers import ExchangerControl
from twin.plant.line import PotlineSim
from twin.plant.operations import LineOperations, job_durations_s
from twin.plant.power import Dispatch, dispatch
from twin.plant.protection import protective_action
from twin.plant.restart import restart, start_restart

HOUR_S = 3600.0
RESTORE_GAIN = 0.5
MAX_THREADS = 64


def default_sync_s(interval_s: float, cadence_s: float, shortest_job_s: float) -> float:
    """The default sync grid (s): the most whole slow-term cadences that fit in the shortest crane job and the
    dispatch interval (one ``cadence_s`` = ``slow_every`` steps), or that span itself if one cadence is longer.

    Why these bounds (issue 12 item 3): an operation acts on its line as of the last grid point at or before
    the end of its crane job, so a grid no longer than the shortest job makes every job act while its crane is
    at the pot, never before the crane came; whole cadences make every kernel call split where the slow terms
    are refreshed anyway, so the cells follow the path of one long call. The interval closes sync exactly, so
    a grid up to the interval gives at least one sync per dispatch interval. Shipped plants: 4-min taps, 5-min
    anode changes, 5-min interval, slow_every 60 at 1 s: 240 s, 576 kernel calls a line-day (1 440 at 60 s).
    """
    span = min(shortest_job_s, interval_s)
    if cadence_s >= span:
        return span
    return cadence_s * math.floor(span / cadence_s + 1e-9)


@dataclass
class IntervalRecord:
    """What happened in one dispatch interval [start_s, end_s]."""

    start_s: float
    end_s: float
    line_current_kA: tuple[float, ...]
    line_voltage_V: tuple[float, ...]
    line_dc_MW: tuple[float, ...]
    line_ac_MW: tuple[float, ...]
    auxiliary_MW: float
    demand_MW: float
    coal_MW: tuple[float, ...]
    renewables_MW: float
    import_MW: float
    export_MW: float
    shortfall_MW: float
    excess_MW: float
    tariff_per_MWh: float
    fuel_GJ: float
    coal_t: float
    coal_co2_t: float
    fuel_cost: float
    import_cost: float
    export_revenue: float


@dataclass
class Plant:
    """A running plant. Build it with :meth:`build`; drive it with ``env.run``."""

    env: simpy.Environment
    spec: PlantSpec
    lines: list[PotlineSim]
    interval_s: float
    units_available: list[bool]
    coal_MW: list[float]
    records: list[IntervalRecord] = field(default_factory=list)
    last_close_s: float = 0.0
    last_dispatch: Dispatch | None = None
    hooks: list[Callable[[Plant], None]] = field(default_factory=list)  # called after each interval
    controls: Controls = field(default_factory=Controls)
    exchangers: dict[str, ExchangerControl] = field(default_factory=dict)  # per potline, where installed
    sync_s: float = 0.0  # > 0: the cells advance in spans that end on this grid, operations in between use it
    threads: int = 1  # threads sharing the lines' kernel calls at a plant sync (twin.cell.kernel_team)
    _team: KernelTeam | None = field(default=None, repr=False)
    _closed_tie: Component | None = field(default=None, repr=False)  # the tie's own limits while it is open

    @classmethod
    def build(
        cls,
        spec: PlantSpec,
        *,
        seed: int,
        dt_s: float = 1.0,
        slow_every: int = 60,
        interval_s: float = 300.0,
        technologies: dict[str, Technology] | None = None,
        routine_operations: bool = True,
        controls: Controls | None = None,
        sync_s: float | None = None,
        threads: int = 1,
    ) -> Plant:
        """Create the environment, the potlines (seeded from ``seed``) and start the plant processes.

        ``controls`` switches the potroom's loops (:mod:`twin.plant.control`, restart, protective actions,
        exchangers); their settings are the plant file's ``[potroom]`` table.

        ``sync_s`` is the sync grid (issue 12 item 3; at most ``interval_s``): the cells advance in spans that end
        on it, and an operation in between acts on its line as of the last grid point instead of advancing it to
        the operation's instant; ``0`` syncs exactly at every operation. A grid point is marked on each line and
        gone through at the line's next sync (:meth:`PotlineSim.catch_up`): the lines meet only at the interval
        closes, where ``threads`` threads share their kernel calls (:meth:`sync`; issue 12 item 4). The default is
        :func:`default_sync_s` (240 s for the shipped plants). Rounded to whole steps of ``dt_s``; with a multiple
        of ``slow_every · dt_s`` the chunks are whole slow-term cadences and the cells follow the path of one long
        kernel call to round-off.
        """
        if not isinstance(threads, int) or isinstance(threads, bool) or not 1 <= threads <= MAX_THREADS:
            raise SimulationError(f"threads = {threads!r} is invalid; expected an integer in [1, {MAX_THREADS}]")
        if sync_s is None:
            shortest_job_s = min(min(job_durations_s(line).values()) for line in spec.potlines)
            sync_s = default_sync_s(interval_s, slow_every * dt_s, shortest_job_s)
        if not 0.0 <= sync_s <= interval_s:
            raise SimulationError(
                f"sync_s = {sync_s!r} is invalid; expected seconds in [0, interval_s = {interval_s:g}]"
            )
        sync_s = max(round(sync_s / dt_s), 1) * dt_s if sync_s > 0 else 0.0
        controls = controls or Controls()
        env = simpy.Environment()
        seeds = np.random.SeedSequence(seed).spawn(len(spec.potlines))
        lines = []
        for line_spec, line_seed in zip(spec.potlines, seeds, strict=True):
            tech = (technologies or {}).get(line_spec.name, line_spec.technology)
            potline = Potline(
                tech,
                line_spec["cells"],
                dt=dt_s,
                seed=int(line_seed.generate_state(1)[0]),
                slow_every=slow_every,
                stop_on=(),
            )
            lines.append(
                PotlineSim(
                    line_spec,
                    potline,
                    line_spec["line_current_kA"],
                    line_spec["rectifier_units"],
                )
            )
        units = list(spec.coal_units)
        plant = cls(
            env,
            spec,
            lines,
            interval_s,
            [True] * len(units),
            [0.0] * len(units),
            controls=controls,
            sync_s=sync_s,
            threads=threads,
        )
        for line in lines:
            line.sync_grid_s = sync_s
        plant.coal_MW = list(plant._initial_dispatch().coal_MW)
        env.process(plant._dispatcher())
        if sync_s > 0:
            env.process(plant._syncer())
        control_seeds = np.random.SeedSequence([seed, 2]).spawn(len(lines))
        for line, control_seed in zip(lines, control_seeds, strict=True):
            line.control = PotroomControl(line, spec.potroom, controls, np.random.default_rng(control_seed))
        # A running potline, not one started in step: each pot at its own point of the feed cycle. After the
        # potroom's targets are taken, so they stay the technology's start-up operating point: the staggered
        # alumina (mean 2.85 against 2.6 wt % for HAL275) lowers the liquidus, and a superheat target read from
        # it held the 90-day baseline's ledge 0.7 cm thinner.
        for line, stagger_seed in zip(lines, np.random.SeedSequence([seed, 3]).spawn(len(lines)), strict=True):
            line.potline.stagger_feed_cycles(np.random.default_rng(stagger_seed))
        for line in lines:
            if controls.protection:
                line.listeners.append(protective_action(line.control))
            capacity = line.spec["heat_exchanger_capacity_kW"] * 1e3
            baseline = line.potline.technology.number("thermal.exchanger_design_duty_kW") * 1e3
            line.potline.set_hx_duty(None, min(baseline, capacity))  # the design duty, from the start
            if controls.heat_exchangers and capacity > 0:
                hx = ExchangerControl(line, capacity, baseline)
                plant.exchangers[line.name] = hx
                env.process(plant._exchanger_reference(hx))
        if routine_operations:
            op_seeds = np.random.SeedSequence([seed, 1]).spawn(len(lines))
            for line, op_seed in zip(lines, op_seeds, strict=True):
                # taps, anode changes, beam raises and feeder blockages: batched jobs
                line.operations = LineOperations(line, np.random.default_rng(op_seed))
        return plant

    # --- state changes the scenario events use -----------------------------------------------------
    def line(self, name: str) -> PotlineSim:
        for line in self.lines:
            if line.name == name:
                return line
        raise KeyError(name)

    def unit_index(self, name: str) -> int:
        return [u.name for u in self.spec.coal_units].index(name)

    def set_tie_open(self, is_open: bool) -> None:
        """Open (island) or close the grid tie: open, its import and export limits are 0 for the dispatch."""
        if is_open and self._closed_tie is None:
            self._closed_tie = tie = self.spec.grid
            values = MappingProxyType({**tie.values, "import_max_MW": 0.0, "export_max_MW": 0.0})
            self.spec = replace(self.spec, grid=Component(tie.name, values, tie.sources))
        elif not is_open and self._closed_tie is not None:
            self.spec = replace(self.spec, grid=self._closed_tie)
            self._closed_tie = None

    def hold_unit_outputs(self, outputs_MW: Mapping[str, float]) -> None:
        """Set the named units' outputs (MW) until the next dispatch, e.g. where their governors settled."""
        for name, mw in outputs_MW.items():
            self.coal_MW[self.unit_index(name)] = mw

    def set_unit_available(self, name: str, available: bool) -> None:
        """Commit (``True``) or decommit a unit; a decommitted unit produces nothing from now on."""
        i = self.unit_index(name)
        self.units_available[i] = available
        if not available:
            self.coal_MW[i] = 0.0

    def rebook_last_interval(self, **fields: Any) -> IntervalRecord:
        """Replace fields of the interval just closed (e.g. an islanded interval, booked with the tie at zero)."""
        self.records[-1] = replace(self.records[-1], **fields)
        return self.records[-1]

    def change(self, action: Callable[[], None]) -> None:
        """Close the running interval at ``env.now``, apply ``action``, and re-dispatch.

        The re-dispatch uses the demand expected after the change (each line unshed, its pots at the resistance
        last measured: :meth:`_line_draws`), since the last measured demand no longer describes the plant (e.g. at
        a restart after an outage).
        """
        self.close_interval()
        action()
        self._dispatch_next(after_change=True)

    def sync(self) -> None:
        """Bring every line up to ``env.now`` exactly; on ``threads`` threads when that is > 1.

        Each line's sync (the grid points passed since its last one, its crane jobs, cells, events and the
        potroom's reactions: :meth:`PotlineSim.sync_steps`) touches only that line. On several threads a kernel
        team (:class:`twin.cell.kernel_team.KernelTeam`) runs every line's Python in this thread, one line while
        the others' kernel calls run, and shares the kernel calls block by block with ``threads`` − 1 helper
        threads that never take the GIL: no thread sleeps on the GIL, and the helpers take over the kernel work
        while this thread runs Python. A sync comes every interval, 288 times a simulated day; the helpers stay
        ready between two of them. A run is the same with any number of threads, bit for bit; an error is raised
        for the first line that had one, after every line finished.
        """
        now = self.env.now
        if self.threads <= 1:
            for line in self.lines:
                line.sync(now, exact=True)
            return
        if self._team is None:
            self._team = KernelTeam(self.threads - 1, name="potline")
        errors = self._team.run(
            [line.potline for line in self.lines], [line.sync_steps(now, exact=True) for line in self.lines]
        )
        error = next((e for e in errors if e is not None), None)
        if error is not None:
            raise error

    def close(self) -> None:
        """Stop the helper threads (if any); the plant can still run, and starts them again at its next sync."""
        if self._team is not None:
            self._team.close()
            self._team = None

    def restore_power(self, lines: list[PotlineSim], outage: Callable[[bool], None]) -> None:
        """End an outage of ``lines``: re-energise them and, if switched on, run the restart procedure
        (:mod:`twin.plant.restart`); ``outage(False)`` clears the lines' outage flag."""

        def action() -> None:
            outage(False)
            if self.controls.restart:
                for line in lines:
                    if line.control is not None:
                        start_restart(line, line.control, self.env.now)

        self.change(action)
        if self.controls.restart:
            for line in lines:
                if line.control is not None:
                    self.env.process(restart(self.env, line, line.control, self.change))

    def _exchanger_reference(self, hx: ExchangerControl) -> Generator[Any, Any, None]:
        """Measure the exchanger controller's reference over the plant's first ``hx_reference_h``, then run it."""
        hx.start_reference()
        yield self.env.timeout(self.spec.potroom["hx_reference_h"] * HOUR_S)
        hx.end_reference(self.env.now)
        self.hooks.insert(0, hx.hook)  # before the recorder: the duty it sets applies to the next interval

    # --- the interval loop ------------------------------------------------------------------------
    def _syncer(self) -> Generator[Any, Any, None]:
        """Mark each grid point on every line; the cells go through it at the line's next sync (the interval
        close, or an operation on the line), so the lines meet only where the plant needs all of them."""
        while True:
            yield self.env.timeout(self.sync_s)
            for line in self.lines:
                line.pass_grid_point(self.env.now)

    def _dispatcher(self) -> Generator[Any, Any, None]:
        while True:
            yield self.env.timeout(self.interval_s)
            if self.close_interval():  # an event may just have closed and re-dispatched this instant
                self._dispatch_next()

    def close_interval(self) -> bool:
        """Measure the interval since the last close, balance it and record it; False if it was empty."""
        now = self.env.now
        if now <= self.last_close_s:
            return False
        self.sync()
        currents, volts, dc, ac = [], [], [], []
        for line in self.lines:
            currents.append(line.current_kA())  # the current during the interval, before any new limit
            power_w, v_line, _ = line.interval()
            volts.append(v_line)
            dc.append(power_w / 1e6)
            ac.append(power_w / 1e6 / line.spec["rectifier_efficiency"])
        aux = self.spec.plant["auxiliary_fraction"] * sum(ac)
        demand = sum(ac) + aux
        hours = (now - self.last_close_s) / HOUR_S
        hour_of_day = int((self.last_close_s % 86400.0) // HOUR_S)
        tariff = self.spec.grid["tariff_per_MWh"][hour_of_day]
        d = self.last_dispatch  # its coal outputs and its curtailment of the renewables hold for the interval
        renewables = min(self._renewables_MW(self.last_close_s), d.renewables_MW if d else math.inf)
        coal = tuple(p if up else 0.0 for p, up in zip(self.coal_MW, self.units_available, strict=True))
        net = demand - sum(coal) - renewables  # the grid tie is the slack
        export = max(-net, 0.0)
        import_ = max(net, 0.0)
        shortfall = max(import_ - self.spec.grid["import_max_MW"], 0.0)  # beyond the tie's import limit
        excess = max(export - self.spec.grid["export_max_MW"], 0.0)  # beyond its export limit
        fuel_per_h = d.fuel_GJ_per_h if d else 0.0
        self.records.append(
            IntervalRecord(
                self.last_close_s,
                now,
                tuple(currents),
                tuple(volts),
                tuple(dc),
                tuple(ac),
                aux,
                demand,
                coal,
                renewables,
                import_,
                export,
                shortfall,
                excess,
                tariff,
                fuel_per_h * hours,
                (d.coal_t_per_h if d else 0.0) * hours,
                (d.coal_co2_t_per_h if d else 0.0) * hours,
                (d.fuel_cost_per_h if d else 0.0) * hours,
                import_ * hours * tariff,
                (export - excess) * hours * tariff * self.spec.grid["export_price_fraction"],  # the tie's part is paid
            )
        )
        self.last_close_s = now
        for line in self.lines:
            duty_kW = float(line.potline.values("q_hx_W").mean()) / 1e3
            line.hx_max_kW = max(line.hx_max_kW, duty_kW)
        for hook in list(self.hooks):  # a hook may set exchanger duties for the next interval
            hook(self)
        return True

    def _dispatch_next(self, *, after_change: bool = False) -> None:
        """Dispatch the next interval for the expected demand: after a change, what the lines would draw unshed
        (:meth:`_estimated_demand_MW`), otherwise the demand just measured, at the present shed.

        Lines shed current when supply (ramp-limited coal + renewables + grid import) cannot cover it, and take
        it back as headroom appears. A shortfall of the measured demand deepens the present shed; one of the
        unshed demand sets the shed from the setpoint (docs/scenarios.md, "How much current a shed takes").
        """
        measured = not after_change and bool(self.records)
        held = measured and any(line.shed_held for line in self.lines)  # a compensated shed raises the anodes
        draws = None if measured and not held else self._line_draws(unshed=not measured)
        demand = self.records[-1].demand_MW if draws is None else self._demand_MW(draws)
        d = self._dispatch_for(demand)
        if d.shortfall_MW > 1e-6 and demand > 0:
            keep = 1.0 - d.shortfall_MW / demand
            if draws is None:
                draws = self._line_draws(unshed=False)
            current_share = share_for_power(draws, keep)  # that draws `keep` of the power (twin.plant.demand)
            for line in self.lines:
                if self._holds_heat_through_shed(line):
                    keep_modulation_point(line)  # the operating point before the shed, restored after it
                line.shed_fraction = 1.0 - (1.0 - (line.shed_fraction if measured else 0.0)) * current_share
            d = self._dispatch_for(demand * keep)
        elif any(line.shed_fraction > 0 for line in self.lines):
            # Take current back with half the grid headroom per interval: line power grows faster than
            # line current (P = I·(E + I·R), dP/P ≈ 1.6 dI/I at 4.2 V with a 1.65 V back EMF), and the
            # coal units ramp at their own pace, so a full step would overshoot the import limit. The headroom
            # is a share of the present demand, so the step is a share of the present current (not of the
            # setpoint: docs/scenarios.md).
            headroom = (self.spec.grid["import_max_MW"] - d.import_MW) / max(demand, 1e-9)
            for line in self.lines:
                kept = (1.0 - line.shed_fraction) * (1.0 + RESTORE_GAIN * max(headroom, 0.0))
                line.shed_fraction = max(1.0 - kept, 0.0)
        for line in self.lines:
            if (line.shed_fraction > 0.0 or line.shed_held) and self._holds_heat_through_shed(line):
                hold_heat_through_shed(line, *self.exchanger_margins_W(line))
                line.shed_held = line.shed_fraction > 0.0
        self.coal_MW = list(d.coal_MW)
        self.last_dispatch = d

    def _holds_heat_through_shed(self, line: PotlineSim) -> bool:
        """Whether the potroom compensates a shed of ``line`` by its resistance targets now: with the resistance
        loop and the shed compensation on, and not while the line is out or ramped back after a restart (the
        restart procedure sets the pots then)."""
        on = self.controls.resistance and self.controls.shed_compensation
        return on and not line.outage and line.ramp_fraction >= 1.0

    def exchanger_margins_W(self, line: PotlineSim) -> tuple[float, float]:
        """(down, up): how much less and how much more heat (W a pot) the shell exchangers of ``line`` can take
        than now, (0, 0) without exchangers; an exchanger not yet started (fitted for an event) adds none."""
        hx = self.exchangers.get(line.name)
        if hx is None:
            return 0.0, 0.0
        down = hx.baseline_W if hx.active else 0.0
        return down, hx.capacity_W - down

    def _dispatch_for(self, demand_MW: float) -> Dispatch:
        hour_of_day = int((self.env.now % 86400.0) // HOUR_S)
        return dispatch(
            demand_MW,
            self.spec.coal_units,
            self.coal_MW,
            self.units_available,
            self.interval_s,
            self._renewables_MW(self.env.now),
            self.spec.grid,
            self.spec.grid["tariff_per_MWh"][hour_of_day],
        )

    def _initial_dispatch(self) -> Dispatch:
        units = self.spec.coal_units
        self.coal_MW = [u["capacity_MW"] for u in units]  # start from a running plant
        d = self._dispatch_for(self._estimated_demand_MW())
        self.last_dispatch = d
        return d

    def _estimated_demand_MW(self) -> float:
        """The demand (MW, AC with the auxiliaries) the lines would draw unshed over the next interval."""
        return self._demand_MW(self._line_draws(unshed=True))

    def _demand_MW(self, draws: list[LineDraw]) -> float:  # AC, with the auxiliaries
        return sum(d.at(1.0) for d in draws) * (1.0 + self.spec.plant["auxiliary_fraction"])

    def _line_draws(self, *, unshed: bool) -> list[LineDraw]:
        """Each line's draw (:meth:`PotlineSim.draw`) at its present current, or at what it would carry unshed, its
        pots at the resistance the last interval measured, plus its rise since the interval before while the
        potroom compensates the line's shed (docs/scenarios.md, "How much current a shed takes")."""
        last = self.records[-1] if self.records else None
        before = self.records[-2] if len(self.records) > 1 else None
        draws = []
        for n, line in enumerate(self.lines):
            amps = line.current_kA() * 1e3
            if unshed:
                amps /= max(1.0 - line.shed_fraction, 1e-9)
            measured = (last.line_current_kA[n], last.line_voltage_V[n]) if last is not None else None
            rising = before is not None and line.shed_held and not unshed
            previous = (before.line_current_kA[n], before.line_voltage_V[n]) if rising else None
            draws.append(line.draw(amps, measured, previous))
        return draws

    def _renewables_MW(self, time_s: float) -> float:
        hour = int((time_s % 86400.0) // HOUR_S)
        return self.spec.renewables["capacity_MW"] * self.spec.renewables["profile"][hour]


__all__ = ["IntervalRecord", "Plant", "Potline"]
