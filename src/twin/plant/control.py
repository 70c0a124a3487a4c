"""The potroom's daily heat-balance and bath-chemistry control of each pot (physics.md §1.6).

What a smelter does every day, not what the pot controller does every second (that is in the kernel):

* **Measurements.** Bath temperature and superheat are measured once per pot every
  ``temperature_measurement_days`` with a measurement noise (STARprobe: temperature, superheat, ratio in
  one dip; Wang, Tarcy, Batista & Wood, "Active pot control using Alcoa STARprobe", LM 2011). A bath
  sample for excess AlF3 is taken every ``alf3_sample_days`` and its result arrives ``alf3_report_delay_h``
  later (Wang et al. 2011: "results are delayed as long as 24 hours").
* **AlF3 additions** = feed-forward + feedback (Entner LM 1992/93/96; Wilson LM 1992; physics.md §1.6):
  the feed-forward returns what the pot lost since the last addition, read from its running totals
  (``alf3_lost_kg``: emissions and sodium uptake; ``alf3_neutralised_kg``: Na2O of the alumina;
  ``alf3_to_caf2_kg``: its CaO), plus the AlF3 that brings the bath those reactions made (``cryolite_formed_kg``,
  ``caf2_formed_kg``; Lindsay, "Bath generation and management", AASTC 2011) to the target ratio, and is never
  capped. The feedback corrects ``alf3_feedback_fraction_per_day`` of the excess-AlF3 deficit estimated from the
  latest result, brought forward by what was added and lost and the bath generated since the sample, plus
  ``alf3_temperature_gain_kg_per_K`` per kelvin of measured temperature above target (a hot pot is a basic
  pot), limited to ± ``alf3_feedback_max_kg``:

      ff = Δlost + x*/(100 − x*)·Δgenerated
      x̂ = x_s + 100·((1 − x_s/100)·(Δadded − Δlost) − (x_s/100)·Δgenerated)/m_bath,nominal
      add = max(ff + clip(k_x·(x* − x̂)·m_bath/100 + k_T·(T_meas − T*), ±max), 0)

  Both follow from x = A/M, the excess AlF3 A (kg) in the liquid bath M (kg) [C]: adding a kg of AlF3 adds it to
  A and M, a kg lost takes it from both, a kg of generated bath adds to M only, so dx = ((1 − x)·(added − lost)
  − x·generated)/M, and x stays at x* when added = lost + x*/(1 − x*)·generated. Without the second term a
  proportional feedback settles the bath ≈ 0.4–0.6 wt % below its target (docs/validation.md, row 7c): HAL275's
  alumina makes ≈ 36 kg of bath per pot-day, which asks ≈ 5.6 kg of AlF3 at 13.5 wt %.

* **Dosing.** What a visit decides goes into the pot over the following ``addition_spread_h`` hours, not in one
  charge (:mod:`twin.plant.dosing`: AlF3 through the pot's feeder, crushed bath with the anode cover); the
  line's totals ``alf3_added_kg`` and ``bath_added_kg`` count what has gone in. The controller books an
  order when it makes it (:attr:`added_kg`), so its AlF3 estimate is the bath once its orders are in: a sample
  remembers what was ordered less what was still pending, and the bath-level error counts pending crushed
  bath as in the pot.

* **Resistance target** from the measured temperature and superheat in small daily steps (physics.md
  §1.6: ~5-30 mV): ΔV = −k_R·e with e = ½(SH_meas − SH*) + ½(T_meas − T*), the mean of the two errors
  (STARprobe measures both in one dip). Superheat alone misses a heat surplus: melting ledge dilutes the
  excess AlF3, so the liquidus rises with the temperature (a +150 mV target raises HAL275's bath 11 K
  but its superheat only 1.5 K). Not made below ``resistance_step_min_mV``, limited to
  ``resistance_step_max_mV``, and the target kept within ± ``resistance_offset_max_mV`` of the
  technology's nominal target (plus a running restart treatment, :mod:`twin.plant.restart`).
* **Bath level**: crushed bath is added, or bath tapped, for ``bath_level_fraction_per_day`` of the
  error of the liquid bath mass against the technology's nominal bath beyond a deadband (at most
  ``bath_level_max_kg_per_day``). No crushed bath goes into a pot measured cold (superheat below half
  its target): its bath is frozen into the ledge, not lost, and comes back when the ledge melts; cold
  crushed bath would only freeze more.

The targets are the technology's start-up operating point: excess AlF3 ``bath.alf3_excess_wtpct``,
temperature ``bath.temperature_initial_degC``, and the line's mean start-up superheat. Each loop can be
switched off in a scenario (:class:`Controls`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from twin.cell import operations as cell_ops
from twin.cell.physics import (
    FARADAY,
    M_AL,
    M_AL2O3,
    carbon_heating_per_kg_al,
    current_efficiency_at_current,
    process_energy_per_kg_al,
)
from twin.errors import SimulationError
from twin.params import Component
from twin.plant.dosing import Dosing

if TYPE_CHECKING:
    from twin.plant.line import PotlineSim

DAY_S = 86400.0
HOUR_S = 3600.0


@dataclass(frozen=True)
class Controls:
    """Which of the potroom's loops run (a scenario's ``[potroom]`` table switches them off)."""

    alf3: bool = True
    resistance: bool = True
    bath_level: bool = True
    restart: bool = True
    protection: bool = True
    heat_exchangers: bool = True
    measurement_noise: bool = True
    shed_compensation: bool = True  # the targets hold the pots' heat through a supply shed (resistance on)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(cls.__dataclass_fields__)


@dataclass
class _Sample:
    taken_s: float
    ready_s: float
    alf3_wtpct: float
    added_kg: float  # cumulative AlF3 fed to the pot when the sample was taken (ordered less pending)
    lost_kg: float  # cumulative AlF3 lost when the sample was taken
    generated_kg: float  # cumulative bath generated (cryolite and CaF2 formed) when the sample was taken


@dataclass
class PotroomControl:
    """The daily loops of one potline; :meth:`visit` is called once per pot at its daily tap."""

    line: PotlineSim
    settings: Component
    controls: Controls
    rng: np.random.Generator
    target_alf3_wtpct: float = 0.0
    target_temp_degC: float = 0.0
    target_superheat_K: float = 0.0
    nominal_target_ohm: float = 0.0
    target_offset_ohm: float = 0.0  # a restart treatment's raise on top of the routine band
    treatment_until_s: float = -1.0
    visits: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    lost_seen_kg: np.ndarray = field(default_factory=lambda: np.zeros(0))
    generated_seen_kg: np.ndarray = field(default_factory=lambda: np.zeros(0))
    samples: list[list[_Sample]] = field(default_factory=list)
    measured_temp_degC: np.ndarray = field(default_factory=lambda: np.zeros(0))
    measured_superheat_K: np.ndarray = field(default_factory=lambda: np.zeros(0))
    alf3_dosing: Dosing = field(init=False)  # AlF3 ordered and not yet fed (twin.plant.dosing)
    bath_dosing: Dosing = field(init=False)  # crushed bath ordered and not yet added
    unfed_s: float = 0.0  # seconds of feeding since the last dose (they go in together, see feed)

    def __post_init__(self) -> None:
        pot = self.line.potline
        n = pot.n_cells
        tech = pot.technology
        self.target_alf3_wtpct = tech.number("bath.alf3_excess_wtpct")
        self.target_temp_degC = tech.number("bath.temperature_initial_degC")
        self.target_superheat_K = float(np.mean(pot.values("temperature_degC") - pot.values("liquidus_degC")))
        self.nominal_target_ohm = pot.parameter("r_target_ohm")
        self.visits = np.zeros(n, dtype=np.int64)
        self.lost_seen_kg = self._lost()
        self.generated_seen_kg = self._generated()
        self.samples = [[] for _ in range(n)]
        self.measured_temp_degC = np.full(n, np.nan)
        self.measured_superheat_K = np.full(n, np.nan)
        spread_s = self.settings["addition_spread_h"] * HOUR_S
        self.alf3_dosing = Dosing(n, spread_s)
        self.bath_dosing = Dosing(n, spread_s)

    @property
    def added_kg(self) -> np.ndarray:
        """AlF3 each pot's visits have ordered so far (fed or still pending; one copy: the dosing's ledger)."""
        return self.alf3_dosing.ordered_kg

    # --- helpers ----------------------------------------------------------------------------------------
    def _lost(self, cell: int | None = None) -> np.ndarray | float:
        """AlF3 lost so far (emissions and sodium uptake, Na2O and CaO of the alumina): every pot's, or one pot's."""
        pot = self.line.potline

        def total(name: str) -> np.ndarray | float:
            return pot.values(name) if cell is None else pot.value(name, cell)

        return total("alf3_lost_kg") + total("alf3_neutralised_kg") + total("alf3_to_caf2_kg")

    def _generated(self, cell: int | None = None) -> np.ndarray | float:
        """Liquid bath the alumina's Na2O and CaO made so far (cryolite and CaF2 formed): every pot's, or one pot's."""
        pot = self.line.potline
        if cell is None:
            return pot.values("cryolite_formed_kg") + pot.values("caf2_formed_kg")
        return pot.value("cryolite_formed_kg", cell) + pot.value("caf2_formed_kg", cell)

    def ohm_per_mV(self) -> float:
        """Resistance-target change of 1 mV at nominal current."""
        return 1e-3 / (self.line.potline.nominal_current_kA * 1e3)

    def clamp_target(self, ohm: np.ndarray | float) -> np.ndarray:
        """A target within ± resistance_offset_max_mV of nominal (plus a running restart raise), and within what the
        pots' regulator takes (:meth:`~twin.cell.Potline.resistance_range`: a nominal moved by a power modulation can
        put one side of the band outside it)."""
        band = self.settings["resistance_offset_max_mV"] * self.ohm_per_mV()
        centre = self.nominal_target_ohm + self.target_offset_ohm
        low, high = self.line.potline.resistance_range()
        return np.clip(np.clip(ohm, centre - band, centre + band), low, high)

    def move_targets(self, cells: np.ndarray | int, mV: float | np.ndarray) -> None:
        """Move resistance targets by ``mV`` (at nominal current), kept in the band; ``cells`` one pot (an int)
        or an index array."""
        pot = self.line.potline
        if type(cells) is int:  # the daily visit: one pot, no copy of the row
            ohm: float | np.ndarray = pot.value("r_target_ohm", cells)
        else:
            cells = np.atleast_1d(np.asarray(cells, dtype=np.int64))
            ohm = pot.values("r_target_ohm")[cells]
        pot.set_resistance_target(cells, self.clamp_target(ohm + np.asarray(mV) * self.ohm_per_mV()))

    # --- the daily visit --------------------------------------------------------------------------------
    def visit(self, cell: int, now_s: float) -> None:
        """Measure pot ``cell`` and act on it (module docstring). The line is synced to ``now_s``."""
        self.visit_many(np.array([cell], dtype=np.int64), [now_s])

    def visit_many(self, cells: np.ndarray, times_s: list[float]) -> None:
        """Visit pots ``cells`` (distinct, int64) at ``times_s``, one after the other (measurement noise drawn in
        that order). Each visit changes only its own pot, so the order matters only for the noise and for the
        order in which the line's totals are summed.

        A visit is a few dozen numbers for one pot: it runs on Python floats and the cells' per-pot reads
        (:meth:`~twin.cell.Potline.value`) and named operations, not on one-element arrays (issue 12 item 3)."""
        pot = self.line.potline
        pots = cells.tolist()
        for k, cell in enumerate(pots):
            if not np.isfinite(pot.value("temperature_degC", cell)):
                raise SimulationError(
                    f"potline {self.line.name}: cell {cell + 1} left the model's valid range at "
                    f"t = {times_s[k]:.0f} s (non-finite temperature); the potroom cannot measure it"
                )
        for cell, now_s in zip(pots, times_s, strict=True):
            self._visit_one(cell, now_s)

    def _visit_one(self, cell: int, now_s: float) -> None:
        s = self.settings.values
        pot = self.line.potline
        temp_now = pot.value("temperature_degC", cell)
        visits = int(self.visits[cell])
        self.visits[cell] = visits + 1
        measure = visits % max(round(s["temperature_measurement_days"]), 1) == 0
        sample = visits % max(round(s["alf3_sample_days"]), 1) == 0
        noise_temp, noise_superheat, noise_sample = self._noises(measure, sample)
        if measure:
            sd = s["temperature_measurement_sd_K"]
            self.measured_temp_degC[cell] = temp_now + sd * noise_temp
            self.measured_superheat_K[cell] = pot.value("superheat_K", cell) + sd * noise_superheat
        lost = float(self._lost(cell))
        generated = float(self._generated(cell))
        if sample:
            self._sample(cell, now_s, lost, generated, noise_sample * s["alf3_measurement_sd_wtpct"])
        if self.controls.alf3:
            self._add_alf3(cell, now_s, lost, generated)
        self.lost_seen_kg[cell] = lost
        self.generated_seen_kg[cell] = generated
        if self.controls.resistance and now_s >= self.treatment_until_s:
            self._adjust_resistance(cell)
        if self.controls.bath_level:
            self._bath_level(cell)

    def feed(self, span_s: float) -> None:
        """Feed the pots what the next ``span_s`` seconds of their pending orders bring (:mod:`twin.plant.dosing`),
        as one operation per material over the pots with something pending. The line calls this before it
        advances its cells over the span, while it carries current
        (:meth:`twin.plant.line.PotlineSim.advance_cells`).

        The spans' seconds are gathered and fed together once they reach ``addition_dose_interval_min``: each dose
        is a few kg (≤ 0.3 K of the liquids' temperature), and feeding every pot at every sync cost 7 % of a
        line-day in Python (two operations over all the pots each time; benchmarks/README.md)."""
        self.unfed_s += span_s
        if self.unfed_s < self.settings["addition_dose_interval_min"] * 60.0 - 1e-6:
            return
        span_s, self.unfed_s = self.unfed_s, 0.0
        pot = self.line.potline
        cells, kg = self.alf3_dosing.take(span_s)
        if cells.size:
            self.line.alf3_added_kg += pot.add_alf3(cells, kg)
        cells, kg = self.bath_dosing.take(span_s)
        if cells.size:
            self.line.bath_added_kg += float(cell_ops.add_bath_each(pot, cells, kg).sum())

    def _noises(self, measure: bool, sample: bool) -> tuple[float, float, float]:
        """Standard normal measurement noise of one visit (temperature, superheat, sample), drawn in that order;
        zero where a loop has no noise."""
        s = self.settings.values
        if not self.controls.measurement_noise:
            return 0.0, 0.0, 0.0
        use_t = measure and s["temperature_measurement_sd_K"] > 0
        use_x = sample and s["alf3_measurement_sd_wtpct"] > 0
        total = 2 * use_t + use_x
        if total == 0:
            return 0.0, 0.0, 0.0
        z = self.rng.standard_normal(total).tolist()  # loc + scale·z is how Generator.normal draws
        if use_t:
            return z[0], z[1], z[2] if use_x else 0.0
        return 0.0, 0.0, z[0]

    def _sample(self, cell: int, now_s: float, lost: float, generated: float, noise: float) -> None:
        delay = self.settings["alf3_report_delay_h"] * HOUR_S
        measured = self.line.potline.value("alf3_wtpct", cell) + noise
        samples = self.samples[cell]
        in_pot = float(self.added_kg[cell]) - self.alf3_dosing.pending(cell)  # ordered and fed by now
        samples.append(_Sample(now_s, now_s + delay, measured, in_pot, lost, generated))
        del samples[:-4]  # keep the last few

    def latest_result(self, cell: int, now_s: float) -> _Sample | None:
        """The newest excess-AlF3 result that has arrived by ``now_s``."""
        ready = [x for x in self.samples[cell] if x.ready_s <= now_s]
        return ready[-1] if ready else None

    def alf3_estimate(self, cell: int, now_s: float, lost: float, generated: float) -> float | None:
        """x̂ (wt %): the latest excess-AlF3 result brought forward to now, the pot's orders counted as in (module
        docstring); None before a result has arrived. ``lost`` and ``generated`` are the pot's totals now."""
        result = self.latest_result(cell, now_s)
        if result is None:
            return None
        x = result.alf3_wtpct / 100.0
        net = (float(self.added_kg[cell]) - result.added_kg) - (lost - result.lost_kg)
        grown = generated - result.generated_kg
        bath = self.line.potline.parameter("bath_nominal_kg")
        return result.alf3_wtpct + 100.0 * ((1.0 - x) * net - x * grown) / bath

    def _add_alf3(self, cell: int, now_s: float, lost: float, generated: float) -> None:
        s = self.settings.values
        pot = self.line.potline
        target = self.target_alf3_wtpct
        grown = max(generated - float(self.generated_seen_kg[cell]), 0.0)
        feed_forward = max(lost - float(self.lost_seen_kg[cell]), 0.0) + target / (100.0 - target) * grown
        bath = pot.parameter("bath_nominal_kg")
        feedback = 0.0
        estimate = self.alf3_estimate(cell, now_s, lost, generated)
        if estimate is not None:
            feedback += s["alf3_feedback_fraction_per_day"] * (target - estimate) * bath / 100.0
        temp = float(self.measured_temp_degC[cell])
        if np.isfinite(temp):
            feedback += s["alf3_temperature_gain_kg_per_K"] * (temp - self.target_temp_degC)
        limit = s["alf3_feedback_max_kg"]
        add = max(feed_forward + min(max(feedback, -limit), limit), 0.0)
        if add > 0.0:
            now = self.alf3_dosing.order(cell, add)
            if now > 0.0:
                self.line.alf3_added_kg += pot.add_alf3(cell, now)

    def _adjust_resistance(self, cell: int) -> None:
        s = self.settings.values
        superheat = float(self.measured_superheat_K[cell])
        temp = float(self.measured_temp_degC[cell])
        error = 0.5 * (superheat - self.target_superheat_K) + 0.5 * (temp - self.target_temp_degC)
        step = -s["resistance_gain_mV_per_K"] * error
        if np.isfinite(step) and abs(step) >= s["resistance_step_min_mV"]:
            limit = s["resistance_step_max_mV"]
            self.move_targets(cell, min(max(step, -limit), limit))

    def _bath_level(self, cell: int) -> None:
        s = self.settings.values
        pot = self.line.potline
        nominal = pot.parameter("bath_nominal_kg")
        error = nominal - (pot.value("bath_kg", cell) + self.bath_dosing.pending(cell))
        amount = min(s["bath_level_fraction_per_day"] * abs(error), s["bath_level_max_kg_per_day"])
        if not (abs(error) > s["bath_level_deadband_fraction"] * nominal and amount > 0.0):
            return
        cold = self.measured_superheat_K[cell] < 0.5 * self.target_superheat_K
        if error > 0 and not cold:
            now = self.bath_dosing.order(cell, amount)
            if now > 0.0:
                self.line.bath_added_kg += float(cell_ops.add_bath_each(pot, cell, now)[0])
        elif error <= 0:
            amount -= self.bath_dosing.cancel(cell, amount)  # crushed bath not yet added is not added
            if amount > 0.0:
                self.line.bath_tapped_kg += float(cell_ops.tap_bath_each(pot, cell, amount)[0])


def _process_voltage(line: PotlineSim, current_A: float) -> np.ndarray:
    """Voltage equivalent of the process energy per cell at line current ``current_A``: CE·(e_proc(CE) + carbon
    heating + alumina heating) per coulomb of Al, with the CE at that current (the kernel's terms,
    twin.cell.physics)."""
    pot = line.potline
    nominal_A = pot.nominal_current_kA * 1e3
    still, exponent = pot.parameter("stir_still_fraction"), pot.parameter("stir_exponent")
    ce = current_efficiency_at_current(pot.values("current_efficiency"), current_A, nominal_A, still, exponent)
    e_rx, e_back = pot.parameter("reaction_j_per_kg_al"), pot.parameter("back_reaction_j_per_kg_al")
    e_proc = process_energy_per_kg_al(ce, e_rx, e_back)
    bath, anode = pot.values("temperature_degC"), pot.values("anode_temp_degC")
    e_carbon = np.array([carbon_heating_per_kg_al(c, t, a) for c, t, a in zip(ce, bath, anode, strict=True)])
    e_feed = pot.parameter("alumina_heat_j_per_kg") * M_AL2O3 / (2.0 * M_AL)  # per kg Al
    return ce * M_AL / (3.0 * FARADAY) * (e_proc + e_carbon + e_feed)


def _heat_holding_target(
    line: PotlineSim, i0: float, r0: np.ndarray, i1: float, down_W: float, up_W: float
) -> np.ndarray:
    """Resistance targets at current ``i1`` (A) whose internal heat stays within [Q0 − down, Q0 + up] of the heat
    Q0 at ``i0`` with targets ``r0``; the natural heat at ``i1`` with ``r0`` is kept when it lies inside.

    Heat released inside the cell ≈ I·(V − V_proc), V = BEMF + R·I, V_proc the voltage equivalent of the process
    energy (physics.md §1.6; e_proc(CE) and carbon heating from twin.cell.physics, plus alumina heating). Solving for R:
    R1 = (Q1/I1 − BEMF + V_proc)/I1.
    """
    bemf = line.potline.parameter("bemf_v")
    v_proc0, v_proc1 = _process_voltage(line, i0), _process_voltage(line, i1)  # the CE moves with the current
    q0 = i0 * (bemf + r0 * i0 - v_proc0)
    natural = i1 * (bemf + r0 * i1 - v_proc1)
    q1 = np.clip(natural, q0 - down_W, q0 + up_W)
    return (q1 / i1 - bemf + v_proc1) / i1


def compensate_resistance(line: PotlineSim, control: PotroomControl | None, old_kA: float, new_kA: float) -> None:
    """Move every pot's resistance target so its internal heat stays what it was at the old line current —
    the potroom's compensation of an amperage increase by a lower voltage (EMAL, Pillai et al.; physics.md
    §1.10). See :func:`_heat_holding_target`."""
    if old_kA <= 0.0 or new_kA <= 0.0 or old_kA == new_kA:
        return
    pot = line.potline
    r0 = pot.values("r_target_ohm")
    r1 = _heat_holding_target(line, old_kA * 1e3, r0, new_kA * 1e3, 0.0, 0.0)
    if control is not None:
        control.nominal_target_ohm += float(np.mean(r1 - r0))  # the routine band follows the compensation
    low, high = pot.resistance_range()
    pot.set_resistance_target(None, np.clip(r1, low, high))


def keep_modulation_point(line: PotlineSim) -> None:
    """Keep the line's present operating point (line current, resistance targets, the daily loop's nominal
    target) as the one a power modulation restores, unless one is kept already."""
    if line.modulation_reference is None:
        control = line.control
        nominal = control.nominal_target_ohm if control is not None else 0.0
        line.modulation_reference = (line.current_kA(), line.potline.values("r_target_ohm").copy(), nominal)


def end_modulation(line: PotlineSim) -> None:
    """Put back the targets and the nominal kept by :func:`keep_modulation_point`, and forget them."""
    if line.modulation_reference is None:
        return
    _, r_ref, nominal_ref = line.modulation_reference
    line.potline.set_resistance_target(None, r_ref)
    if line.control is not None:
        line.control.nominal_target_ohm = nominal_ref
    line.modulation_reference = None


def modulate_resistance(line: PotlineSim, new_kA: float, down_W: float, up_W: float) -> None:
    """Power modulation: keep each pot's heat balance within what its exchanger (if any) can absorb.

    The exchanger can take ``down_W`` less (its duty in use, down to zero) or ``up_W`` more (up to its capacity)
    than at the operating point before the modulation; beyond that the resistance target carries the rest, as
    TRIMET and EnPot run their ±25-30 % (physics.md §1.10: "changes of ±20-30 % need added or removed heat or
    ledge-limited excursions"; without exchangers, both 0, the target carries all of it: "a sustained
    line-current change beyond ~±5 % must be offset by ACD (voltage) changes"; the regulator then moves the ACD,
    within its limits). The targets before the modulation are kept and restored when the line current returns to
    where it was.
    """
    pot = line.potline
    control = line.control
    keep_modulation_point(line)
    ref_kA, r_ref, nominal_ref = line.modulation_reference
    if new_kA <= 0.0 or ref_kA <= 0.0:
        return
    if abs(new_kA - ref_kA) < 1e-9:
        end_modulation(line)
        return
    low, high = pot.resistance_range()
    r1 = np.clip(_heat_holding_target(line, ref_kA * 1e3, r_ref, new_kA * 1e3, down_W, up_W), low, high)
    if control is not None:  # the daily loop's band follows the modulation, as for amperage creep
        control.nominal_target_ohm = nominal_ref + float(np.mean(r1 - r_ref))
    pot.set_resistance_target(None, r1)


def hold_heat_through_shed(line: PotlineSim, down_W: float, up_W: float) -> None:
    """The potroom's answer to a supply shed (the plant's dispatch cutting the line current because the supply
    is short, :mod:`twin.plant.plant`): as in a curtailment, every pot's resistance target holds its heat at the
    shed current (:func:`modulate_resistance`), and the targets go back when the dispatch has taken the current
    back. A potroom would raise the voltage for a shed as for a curtailment (physics.md §1.10 [C]: without
    exchangers a sustained change beyond ~±5 % must be offset by the voltage); a shed is not known to be short
    when it starts, so every shed is compensated, as every curtailment is.

    Called after each dispatch for a line that is shed or was at the last one, with the operating point before
    the shed kept (:func:`keep_modulation_point`). A curtailment still running when the shed ends keeps its own
    modulation.
    """
    if line.shed_fraction > 0.0 or line.curtail_fraction > 0.0:
        modulate_resistance(line, line.current_kA(), down_W, up_W)
    else:
        end_modulation(line)
