"""Island operation: the grid tie trips and the captive units and potlines balance alone.

At the trip (:func:`run_tie_trip`):

1. The plant's load is measured over the minute before (each line's AC power from its cells' energy counters,
   with auxiliaries); the units run at their dispatched outputs, renewables as available. What the tie carried
   (import > 0, export < 0) is the step the island must absorb.
2. :func:`twin.plant.grid_services.island_transient` integrates the first ``island_transient_s`` seconds: the
   swing equation with the units' inertia, governor droop and dead band, the load's damping, the potlines'
   rectifier droop and the ``[[load_shed]]`` blocks in the plant file's order.
3. The cells see it: each block's share of its line's current comes off at the next whole second after its
   relay trips (a block that takes a line's current to zero is an outage of that line); the rectifier droop
   follows the transient's frequency second by second; then the units hold the outputs the governors reached
   and the plant dispatches on with the tie at zero (import and export limits 0), its units following the load
   within their ramps. Frequency is back at nominal by secondary control.
4. While islanded, each dispatch interval is booked with the tie at zero: the units carry the measured load less
   renewables (:func:`book_island_interval`).
5. When the tie closes again, the blocks are restored in reverse order; a line that was off comes back through
   the plant's restart procedure (:meth:`twin.plant.Plant.restore_power`).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from twin.errors import SimulationError
from twin.plant.grid_events import GridLog, IslandTotal, Meter, settings
from twin.plant.grid_services import ShedBlock, Unit, droop_fraction, island_transient, power_at_share
from twin.plant.power import heat_rate_GJ_per_MWh

if TYPE_CHECKING:
    from twin.plant import Plant, PotlineSim

HOUR_S = 3600.0
REFERENCE_S = 60.0
TRACE_EVERY = 10  # keep every 10th point of the 0.01 s transient in the log (0.1 s)


def run_tie_trip(plant: Plant, start_s: float, duration_s: float) -> Generator[Any, Any, None]:
    """The tie is open from ``start_s`` for ``duration_s`` (module docstring)."""
    gs = settings(plant, "tie_trip")
    log = GridLog.of(plant)
    yield plant.env.timeout(max(start_s - REFERENCE_S - plant.env.now, 0.0))
    plant.sync()
    meters = [Meter(line, plant.spec.plant["auxiliary_fraction"]) for line in plant.lines]
    for m in meters:
        m.start()
    yield plant.env.timeout(max(start_s - plant.env.now, 0.0))
    plant.sync()
    line_MW = [m.read()[1] for m in meters]
    load = sum(line_MW)
    volts = [float(line.potline.values("v_cell").mean()) for line in plant.lines]
    bemf = [line.potline.technology.number("anode.bemf_V") for line in plant.lines]
    units = [
        Unit(
            u.name,
            plant.coal_MW[i],
            u["capacity_MW"],
            gs["unit_inertia_H_s"],
            gs["governor_droop"],
            gs["governor_deadband_Hz"],
            gs["governor_time_constant_s"],
        )
        for i, u in enumerate(plant.spec.coal_units)
        if plant.units_available[i]
    ]
    if not units:
        raise SimulationError(
            f"tie_trip at {start_s / HOUR_S:g} h: no captive unit is running, so the island would be a blackout; "
            "model it as an outage event instead"
        )
    renewables = _renewables_MW(plant, plant.env.now)
    lost = load - sum(u.output_MW for u in units) - renewables
    index = {line.name: n for n, line in enumerate(plant.lines)}
    share_left = [1.0] * len(plant.lines)
    blocks = []
    for b in plant.spec.load_shed:
        n = index[b["potline"]]
        before = share_left[n]
        share_left[n] = max(before - b["fraction"], 0.0)
        mw = line_MW[n] * (power_at_share(before, bemf[n], volts[n]) - power_at_share(share_left[n], bemf[n], volts[n]))
        blocks.append(ShedBlock(b.name, b["potline"], before - share_left[n], b["frequency_Hz"], b["delay_s"], mw))
    band = gs["fcr_band_fraction"]
    flex = sum(p * (1.0 - power_at_share(1.0 - band, e, v)) for p, e, v in zip(line_MW, bemf, volts, strict=True))
    # the tie's flow is the step: units + renewables + lost = load
    transient = island_transient(
        units,
        load - renewables,
        blocks,
        nominal_Hz=gs["nominal_frequency_Hz"],
        load_damping=gs["load_damping"],
        flex_MW=flex,
        droop_deadband_Hz=gs["fcr_deadband_Hz"],
        droop_full_Hz=gs["fcr_full_activation_Hz"],
        duration_s=gs["island_transient_s"],
    )
    by_name = {b.name: b for b in blocks}
    total = IslandTotal(
        start_s,
        start_s + duration_s,
        lost,
        transient.nadir_Hz,
        transient.final_Hz,
        [(name, t, by_name[name].load_MW) for name, t in transient.shed],
        frequency_trace=tuple(
            (transient.time_s[k], transient.frequency_Hz[k]) for k in range(0, len(transient.time_s), TRACE_EVERY)
        ),
    )
    log.islands.append(total)

    def islanding() -> None:
        log.islanded = True
        log.transient_until_s = start_s + gs["island_transient_s"]

    plant.change(islanding)
    # the cells' side of the transient, second by second: the shedding and the rectifier droop
    lines_off: list[PotlineSim] = []
    shed_kA = [0.0] * len(plant.lines)  # wanted off by the blocks tripped so far
    applied = [0.0] * len(plant.lines)  # taken off the setpoints so far
    droop_kA = [0.0] * len(plant.lines)
    ref_kA = [line.setpoint_kA for line in plant.lines]
    trips = {name: max(math.ceil(t - 1e-9), 1) for name, t in transient.shed}
    dt = transient.time_s[1] - transient.time_s[0]

    def shed() -> None:
        for n, line in enumerate(plant.lines):
            line.setpoint_kA -= shed_kA[n] - applied[n]
            applied[n] = shed_kA[n]
            if shed_kA[n] >= ref_kA[n] * (1.0 - 1e-9) and not line.outage:
                line.outage = True
                line.outages_h.append((start_s + duration_s - plant.env.now) / HOUR_S)
                lines_off.append(line)

    for second in range(1, int(gs["island_transient_s"]) + 1):
        yield plant.env.timeout(start_s + second - plant.env.now)
        plant.sync()
        tripped = [b for b in blocks if trips.get(b.name) == second]
        for block in tripped:
            shed_kA[index[block.potline]] += block.fraction * ref_kA[index[block.potline]]
        if tripped:
            plant.change(shed)
        f = transient.frequency_Hz[min(round(second / dt), len(transient.frequency_Hz) - 1)]
        share = droop_fraction(f, gs["nominal_frequency_Hz"], gs["fcr_deadband_Hz"], gs["fcr_full_activation_Hz"], band)
        for n, line in enumerate(plant.lines):
            delta = share * (ref_kA[n] - shed_kA[n])
            line.setpoint_kA += delta - droop_kA[n]
            droop_kA[n] = delta
    outputs = dict(zip((u.name for u in units), (o[-1] for o in transient.unit_MW), strict=True))

    def settled() -> None:
        """Secondary control has the frequency back: the droop is released, the units hold what the governors
        reached, and the dispatch runs on with the tie open."""
        for n, line in enumerate(plant.lines):
            line.setpoint_kA -= droop_kA[n]
        plant.hold_unit_outputs(outputs)
        plant.set_tie_open(True)

    # no re-dispatch here: the plant's estimate of the demand at the target voltage would overstate the shed
    # lines' load; the next dispatch interval measures it
    plant.sync()
    settled()
    yield plant.env.timeout(max(start_s + duration_s - plant.env.now, 0.0))

    def reconnect() -> None:
        log.islanded = False
        plant.set_tie_open(False)

    plant.change(reconnect)
    # the blocks come back in reverse order, one per dispatch interval, as the units ramp up again
    restored: dict[str, float] = {}
    for block in reversed([b for b in blocks if b.name in trips]):
        n = index[block.potline]
        line = plant.lines[n]
        amount = block.fraction * ref_kA[n]

        def give_back(line: PotlineSim = line, n: int = n, amount: float = amount) -> None:
            line.setpoint_kA += amount
            applied[n] -= amount

        if line in lines_off:
            lines_off.remove(line)

            def set_outage(value: bool, line: PotlineSim = line) -> None:
                line.outage = value

            give_back()
            plant.restore_power([line], set_outage)
        else:
            plant.change(give_back)
        restored[block.name] = plant.env.now
        yield plant.env.timeout(plant.interval_s)
    total.shed_MWh = sum(mw * (restored[name] - start_s - t) / HOUR_S for name, t, mw in total.shed)


def book_island_interval(plant: Plant, log: GridLog) -> None:
    """Book the interval just closed with the tie open: the units carried the load less renewables.

    The plant's interval books the tie as the slack; islanded, the frequency balanced generation against load
    within seconds, so the units' electrical output is the measured load less renewables, shared in proportion
    to their dispatched outputs. During the transient it may exceed their capacity for seconds (the rotors'
    kinetic energy, which the frequency dip releases); after it the units are capped at capacity and what
    remains is a shortfall; a surplus is curtailed renewables. Fuel and emissions follow the units' heat rates
    (twin.plant.power).
    """
    rec = plant.records[-1]
    hours = (rec.end_s - rec.start_s) / HOUR_S
    need = rec.demand_MW - rec.renewables_MW
    caps = [u["capacity_MW"] if up else 0.0 for u, up in zip(plant.spec.coal_units, plant.units_available, strict=True)]
    dispatched = sum(rec.coal_MW)
    if rec.end_s <= log.transient_until_s + 1e-9:  # the rotors' kinetic energy covers seconds beyond capacity
        caps = [float("inf") if c > 0 else 0.0 for c in caps]
    served = max(need, 0.0)
    coal = [min(p * served / dispatched, c) if dispatched > 0 else 0.0 for p, c in zip(rec.coal_MW, caps, strict=True)]
    shortfall = max(served - sum(coal), 0.0)
    excess = max(-need, 0.0)
    units = plant.spec.coal_units
    fuel = sum(heat_rate_GJ_per_MWh(u, p) * p * hours for u, p in zip(units, coal, strict=True))
    plant.rebook_last_interval(
        coal_MW=tuple(coal),
        import_MW=0.0,
        export_MW=0.0,
        shortfall_MW=shortfall,
        excess_MW=excess,
        fuel_GJ=fuel,
        coal_t=sum(
            heat_rate_GJ_per_MWh(u, p) * p * hours / u["coal_heating_value_GJ_per_t"]
            for u, p in zip(units, coal, strict=True)
        ),
        coal_co2_t=sum(
            heat_rate_GJ_per_MWh(u, p) * p * hours * u["co2_t_per_TJ"] / 1000.0
            for u, p in zip(units, coal, strict=True)
        ),
        fuel_cost=sum(
            heat_rate_GJ_per_MWh(u, p) * p * hours * u["fuel_price_per_GJ"] for u, p in zip(units, coal, strict=True)
        ),
        import_cost=0.0,
        export_revenue=0.0,
    )
    log.island_rows.append(
        {
            "start_s": rec.start_s,
            "end_s": rec.end_s,
            "demand_MW": rec.demand_MW,
            "renewables_MW": rec.renewables_MW,
            "coal_MW": sum(coal),
            "shortfall_MW": shortfall,
            "excess_MW": excess,
        }
    )


def _renewables_MW(plant: Plant, time_s: float) -> float:
    hour = int((time_s % 86400.0) // HOUR_S)
    return plant.spec.renewables["capacity_MW"] * plant.spec.renewables["profile"][hour]
