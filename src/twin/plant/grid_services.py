"""Grid services of the smelter: the equations, as pure functions over plain values (no SimPy, no state).

* **Rectifier droop** (frequency containment by the potlines): :func:`droop_fraction`.
* **Power of a potline against its current**: :func:`power_sensitivity`.
* **Island transient** after the grid tie trips: :func:`island_transient` integrates the aggregated swing
  equation with the units' governor droop, the load's frequency damping, the potlines' own droop and the
  plant file's under-frequency load-shedding blocks; :func:`steady_state_deviation_Hz` and
  :func:`initial_rocof_Hz_per_s` are the textbook closed forms it must agree with.

The SimPy drivers that apply these to a running plant are in :mod:`twin.plant.grid_events` and
:mod:`twin.plant.island`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from twin.plant.demand import line_draw


def droop_fraction(f_Hz: float, nominal_Hz: float, deadband_Hz: float, full_Hz: float, band: float) -> float:
    """Change of line current (a share of the reference current) that frequency ``f_Hz`` asks for.

    Proportional frequency containment: nothing inside the dead band ``|Δf| <= deadband_Hz``, then linear in
    ``|Δf| - deadband_Hz`` up to the whole ``band`` at ``|Δf| = full_Hz``, and held there beyond. A load
    answers with the opposite sign of a generator: less current when the frequency is low.

    Source: ENTSO-E System Operation Guideline, Commission Regulation (EU) 2017/1485, Annex V Table 1 (the
    FCR properties of Continental Europe: full activation at ±200 mHz, response insensitivity ±10 mHz,
    full activation within 30 s); the linear characteristic between them is the FCR definition of Art. 3.
    """
    if full_Hz <= deadband_Hz:
        raise ValueError(f"full_Hz = {full_Hz!r} must exceed deadband_Hz = {deadband_Hz!r}")
    df = f_Hz - nominal_Hz
    excess = abs(df) - deadband_Hz
    if excess <= 0.0:
        return 0.0
    share = min(excess / (full_Hz - deadband_Hz), 1.0)
    return band * share if df > 0 else -band * share


def power_sensitivity(bemf_V: float, cell_voltage_V: float) -> float:
    """Relative change of a potline's DC power per relative change of its current, (dP/P)/(dI/I).

    With the cell voltage split into a back EMF and an ohmic part, V = E + I·R (Haupin 1998 eq. A1 lumped;
    physics.md §1.1), P = I·E + I²·R and (dP/P)/(dI/I) = (E + 2·I·R)/(E + I·R) = (2·V − E)/V: about 1.6 at
    4.2 V with a 1.65 V back EMF.
    """
    if cell_voltage_V <= 0.0:
        raise ValueError(f"cell_voltage_V = {cell_voltage_V!r} must be positive")
    return (2.0 * cell_voltage_V - bemf_V) / cell_voltage_V


def power_at_share(share: float, bemf_V: float, cell_voltage_V: float) -> float:
    """A potline's DC power at ``share`` of its current, as a share of its power at the full current.

    Same lumped cell voltage V = E + I·R as :func:`power_sensitivity`: P(c·I)/P(I) = c·(E + c·(V − E))/V,
    the resistance held (the pot control has minutes, not seconds, to move the anodes).
    """
    if cell_voltage_V <= 0.0:
        raise ValueError(f"cell_voltage_V = {cell_voltage_V!r} must be positive")
    one_cell = line_draw(current_A=1.0, cell_voltage_V=cell_voltage_V, n_cells=1, bemf_V=bemf_V, busbar_ohm=0.0,
                         efficiency=1.0)  # the equation's one copy (twin.plant.demand)
    return one_cell.at(share) / one_cell.at(1.0)


@dataclass(frozen=True)
class Unit:
    """A captive unit's state and dynamics at the instant the tie trips."""

    name: str
    output_MW: float
    capacity_MW: float
    inertia_H_s: float  # stored kinetic energy at nominal speed / rating (MW·s/MW)
    droop: float  # speed droop R (per unit frequency per unit power)
    deadband_Hz: float
    time_constant_s: float  # governor and turbine, lumped first order


@dataclass(frozen=True)
class ShedBlock:
    """One under-frequency load-shedding block: trips ``delay_s`` after frequency falls below its threshold."""

    name: str
    potline: str
    fraction: float  # share of the line current shed (1 = the whole line)
    frequency_Hz: float
    delay_s: float
    load_MW: float  # the AC power it removes


@dataclass(frozen=True)
class Transient:
    """The island's first seconds: frequency, unit outputs and the shedding, on the integration grid."""

    time_s: tuple[float, ...]
    frequency_Hz: tuple[float, ...]
    unit_MW: tuple[tuple[float, ...], ...]  # per unit, per time
    load_MW: tuple[float, ...]
    shed: tuple[tuple[str, float], ...]  # (block name, trip time s) in the order they tripped
    potline_droop_MW: tuple[float, ...]

    @property
    def nadir_Hz(self) -> float:
        return min(self.frequency_Hz)

    @property
    def final_Hz(self) -> float:
        return self.frequency_Hz[-1]


def island_transient(
    units: Sequence[Unit],
    load_MW: float,
    blocks: Sequence[ShedBlock],
    *,
    nominal_Hz: float,
    load_damping: float,
    flex_MW: float,
    droop_deadband_Hz: float,
    droop_full_Hz: float,
    duration_s: float,
    dt_s: float = 0.01,
) -> Transient:
    """Frequency of the islanded plant after the tie trips, from the aggregated swing equation.

    The plant had been balanced with the tie: its units produced ``Σ output_MW`` against ``load_MW``; the
    difference (the lost import, or export) is the step the island must absorb.

    Swing equation of the units in one frequency, on the base S = Σ capacity (Kundur, *Power System Stability
    and Control*, 1994, eq. 3.214 and §11.1.4, Fig. 11.6)::

        (2·H/f0) · df/dt = (Σ Pm_i − P_e) / S,        H = Σ H_i·S_i / S
        P_e = (P_L − P_shed − P_droop) · (1 + D·(f − f0)/f0)

    with D the load damping (per unit load per unit frequency, Kundur §11.1.4). Each unit's governor is a
    speed droop with a dead band and a lumped first-order governor-turbine lag (Kundur §11.1.3, Fig. 11.13
    with the reheat terms lumped)::

        T_i · dPm_i/dt = P0_i − (S_i/R_i)·max(|f − f0| − db_i, 0)·sign(f − f0)/f0 − Pm_i,   0 <= Pm_i <= S_i

    The potlines' rectifier droop takes ``flex_MW`` (the AC power the lines shed at full activation) through
    :func:`droop_fraction`, within a rectifier's reaction time (below the step). Definite-time
    under-frequency relays: a block trips ``delay_s`` after the frequency first falls below its threshold
    that resets if the frequency recovers first (ENTSO-E Network Code on Emergency and Restoration,
    Regulation (EU) 2017/2196, Art. 15 and Annex, low-frequency demand disconnection). Explicit Euler on
    ``dt_s`` (stable for dt << T_i, 2H).
    """
    if not units:
        raise ValueError("an island needs at least one running unit")
    base = sum(u.capacity_MW for u in units)
    h_sys = sum(u.inertia_H_s * u.capacity_MW for u in units) / base
    pm = [u.output_MW for u in units]
    f = nominal_Hz
    shed_MW = 0.0
    armed: dict[str, float] = {}  # block -> time its threshold was crossed
    tripped: list[tuple[str, float]] = []
    done: set[str] = set()
    times, freqs, loads, droops = [0.0], [f], [load_MW], [0.0]
    outputs: list[list[float]] = [[p] for p in pm]
    steps = round(duration_s / dt_s)
    for k in range(1, steps + 1):
        t = k * dt_s
        droop_MW = -flex_MW * droop_fraction(f, nominal_Hz, droop_deadband_Hz, droop_full_Hz, 1.0)
        p_e = (load_MW - shed_MW - droop_MW) * (1.0 + load_damping * (f - nominal_Hz) / nominal_Hz)
        dfdt = nominal_Hz / (2.0 * h_sys) * (sum(pm) - p_e) / base
        for i, u in enumerate(units):
            dev = abs(f - nominal_Hz) - u.deadband_Hz
            gov = (u.capacity_MW / u.droop) * max(dev, 0.0) / nominal_Hz * (1.0 if f > nominal_Hz else -1.0)
            target = min(max(u.output_MW - gov, 0.0), u.capacity_MW)
            pm[i] += dt_s * (target - pm[i]) / u.time_constant_s
        f += dt_s * dfdt
        for block in blocks:
            if block.name in done:
                continue
            if f < block.frequency_Hz:
                armed.setdefault(block.name, t)
            else:
                armed.pop(block.name, None)  # the relay resets when the frequency recovers before its delay
            if block.name in armed and t - armed[block.name] >= block.delay_s - 1e-12:
                tripped.append((block.name, t))
                done.add(block.name)
                shed_MW += block.load_MW
        times.append(t)
        freqs.append(f)
        loads.append(p_e)
        droops.append(droop_MW)
        for i, p in enumerate(pm):
            outputs[i].append(p)
    return Transient(
        tuple(times), tuple(freqs), tuple(tuple(o) for o in outputs), tuple(loads), tuple(tripped), tuple(droops)
    )


def steady_state_deviation_Hz(
    imbalance_MW: float, units: Sequence[Unit], load_MW: float, load_damping: float, nominal_Hz: float
) -> float:
    """Settled frequency deviation after a step ``imbalance_MW`` (load above generation > 0), no dead bands,
    no limits: Δf/f0 = −ΔP / (Σ S_i/R_i + D·P_L) (Kundur 1994, eq. 11.7 for several units, §11.1.5)."""
    stiffness = sum(u.capacity_MW / u.droop for u in units) + load_damping * load_MW
    return -imbalance_MW / stiffness * nominal_Hz


def initial_rocof_Hz_per_s(imbalance_MW: float, units: Sequence[Unit], nominal_Hz: float) -> float:
    """Rate of change of frequency at the instant of a step ``imbalance_MW``, before any governor acts:
    df/dt = −ΔP·f0 / (2·Σ H_i·S_i) (the swing equation at t = 0+, Kundur 1994 eq. 3.214)."""
    return -imbalance_MW * nominal_Hz / (2.0 * sum(u.inertia_H_s * u.capacity_MW for u in units))
