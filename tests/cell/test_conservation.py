"""Conservation over 90 simulated days (issue 8, "How we know it works"): energy and every chemical component.

Four cells (HAL275, cell500) at dt = 1 s, slow_every = 60, tracking feed control, through a quarter with a 4-h line
outage (day 20), a week at +5 % current (days 40-46), a 2-h cut-out of one cell (day 70) and one cell unfed
for 3 h (day 30: anode effects, whose energy is split between bath, anode node and off-gas); one cell runs a
100 kW shell exchanger throughout and one a 400 kW exchanger in the +5 % week (more than its walls carry at
times: the duty is capped at the air temperature). The plant operations that hold a cell at its operating
point are emulated once a day between kernel calls (they belong to the plant layer): the metal is tapped back
to its start mass, excess AlF3 is added back to the model's target and crushed cryolite restores the nominal
bath mass (the bath still grows, by the cryolite the Na2O forms and the AlF3 added: no bath is tapped here).

Energy, per day between operations and summed over the quarter (thermal docstring):

    (I·V − I²·R_ext) = process (reaction at CE with the back reaction, alumina heating)
                       + losses (top, bath side, metal side, bottom, anode-effect off-gas, exchangers)
                       + Δ[C_liq·(T − T_ref) + C_a·T_a + C_c·T_c − L_f·m_ledge]

Components (chemistry docstring), liquid bath plus ledge: cryolite changes by what the Na2O formed, excess AlF3
by − lost − neutralised, CaF2 not at all, alumina by fed − consumed − the Na2O share that became cryolite, and
their sum by fed − consumed − AlF3 lost. Stored heat and inventories are computed here from the state rows
(tests/cell/inventory.py), independently of the kernel's helpers.

Round-off: the kernel sums ~10⁵ step energies of ~10⁶ J a day in float64 and moves heat between stores holding
up to 7·10¹⁰ J (the cathode node at 800 °C × 80 MJ/K), so a day closes to ~10⁻¹³ of its ~10¹¹ J; the
tolerance 1e-11 of the day's energy is a hundred times that and a billion times below the smallest booked
term that could be missing (a day's anode-effect off-gas share or exchanger duty, ≥ 10⁸ J when present).
Masses: 1e-11 of the cell's bath, alumina and ledge mass per day (~10⁴ transfers a day between bath and
ledge, each exact to ~10⁻¹⁶ of the mass; measured ≤ 5e-13).
"""

from __future__ import annotations

import numpy as np
import pytest
from tests.cell.inventory import energy_terms, expected_changes, inventories, stored_heat, total_stored_heat

from twin.cell import Potline
from twin.cell import layout as L
from twin.params import Technology, load_technology

DAY = 86400
DAYS = 90
N = 4
SLOW = 60


def line_current_pu(day: int, hour: int) -> float:
    if day == 20 and 8 <= hour < 12:
        return 0.0  # a 4-h outage of the whole line
    if 40 <= day < 47:
        return 1.05  # +5 %
    return 1.0


@pytest.fixture(scope="module", params=["hal275", "cell500"])
def tech(request, models_dir) -> Technology:
    return load_technology(models_dir / f"{request.param}.toml")


@pytest.fixture(scope="module")
def quarter(tech):
    line = Potline(tech, N, slow_every=SLOW, seed=3, stop_on=())
    line.set_cells("hx_duty_W", 1, 100e3)
    n = tech.number
    nominal_kA = line.nominal_current_kA
    metal0 = line.state[L.S_METAL_KG].copy()
    bath_nominal = n("cell.bath_mass_kg")
    alf3_target = n("bath.alf3_excess_wtpct") / 100.0
    start = line.snapshot()
    days, superheat, ledge = [], [], []
    for day in range(DAYS):
        # daily plant operations (plant layer): tap, AlF3 back to target, crushed cryolite to the nominal bath
        s = line.state
        line.set_cells("metal_kg", slice(None), metal0)
        alf3_add = np.maximum(alf3_target * s[L.S_BATH_KG] - s[L.S_ALF3_KG], 0.0)
        line.set_cells("alf3_kg", slice(None), s[L.S_ALF3_KG] + alf3_add)
        line.set_cells("bath_kg", slice(None), s[L.S_BATH_KG] + alf3_add)
        line.set_cells("bath_kg", slice(None), np.maximum(s[L.S_BATH_KG], bath_nominal))
        line.set_cells("hx_duty_W", 2, 400e3 if 40 <= day < 47 else 0.0)
        before = line.snapshot()
        for hour in range(24):
            line.set_cells("in_line", 3, 0.0 if day == 70 and 10 <= hour < 12 else 1.0)
            # cell 0 unfed for 3 h on day 30: anode effects, their kills and the off-gas share of their energy
            line.set_cells("feed_strategy", 0, L.FEED_NONE if day == 30 and hour < 3 else L.FEED_TRACKING)
            line.advance(3600, nominal_kA * line_current_pu(day, hour))
            superheat.append(line.out[L.O_SUPERHEAT_K].copy())
            ledge.append(line.state[L.S_LEDGE_BATH_CM].copy())
        days.append((before, line.snapshot()))
    return start, days, np.array(superheat), np.array(ledge)


def delta(after, before, key: str) -> dict[str, np.ndarray]:
    return {name: getattr(after, key)[name] - getattr(before, key)[name] for name in getattr(after, key)}


def test_energy_closes_every_day_and_over_the_quarter(quarter, tech) -> None:
    _, days, *_ = quarter
    residuals, energy_in = [], []
    for before, after in days:
        terms = energy_terms(delta(after, before, "totals"))
        stored = total_stored_heat(tech, after.state) - total_stored_heat(tech, before.state)
        residual = terms["in"] - terms["process"] - terms["losses"] - stored
        residuals.append(residual)
        energy_in.append(terms["in"])
        assert np.all(np.abs(residual) < 1e-11 * np.abs(terms["in"]).max()), (residual, terms["in"])
    total_residual = np.sum(residuals, axis=0)
    assert np.all(np.abs(total_residual) < 1e-11 * np.sum(energy_in, axis=0)), total_residual


def test_every_store_and_loss_took_part(quarter, tech) -> None:
    """The quarter exercised each term of the balance: the nodes and the ledge moved, every loss surface and
    the exchangers carried heat, the off-gas took its share of the anode effects that happened."""
    _, days, superheat, ledge = quarter
    end = days[-1][1]
    t = end.totals
    for name in ("loss_top_J", "loss_side_bath_J", "loss_side_metal_J", "loss_bottom_J"):
        assert np.all(t[name] > 0.0), name
    assert t["heat_extracted_J"][1] > 0.9 * 100e3 * DAYS * DAY  # the 100-kW exchanger ran all quarter
    assert t["heat_extracted_J"][2] > 0.0
    assert t["ae_count"][0] > 0.0
    assert np.all((t["loss_offgas_J"] > 0.0) == (t["ae_count"] > 0.0))
    moved = {name: max(abs(stored_heat(tech, a.state)[name] - stored_heat(tech, b.state)[name]).max()
                       for b, a in days) for name in stored_heat(tech, end.state)}
    assert all(v > 1e6 for v in moved.values()), moved
    daily_ledge = np.diff(ledge[::24], axis=0)
    assert (daily_ledge > 0.0).any()  # the ledge froze
    assert (daily_ledge < 0.0).any()  # and melted
    assert superheat.min() < 0.5  # the outage brought the bath to its liquidus (the superheat floor)


COMPONENTS = ("cryolite", "alf3", "caf2", "alumina", "all")


def test_components_close_every_day(quarter, tech) -> None:
    _, days, *_ = quarter
    for before, after in days:
        scale = inventories(tech, after.state)["all"]  # kg of bath, alumina and ledge in the cell
        change = expected_changes(delta(after, before, "totals"))
        inv_b, inv_a = inventories(tech, before.state), inventories(tech, after.state)
        for name in COMPONENTS:
            residual = inv_a[name] - inv_b[name] - change[name]
            assert np.all(np.abs(residual) < 1e-11 * scale), (name, residual)


def test_caf2_grows_by_what_the_alumina_cao_forms(quarter, tech) -> None:
    """The bath's only CaF2 source is the CaO of the alumina, 3 CaO + 2 AlF3 → 3 CaF2 + Al2O3 (chemistry
    docstring), and a bare line taps no bath: bath plus ledge hold the start mass plus what formed, every day;
    what formed is M_CaF2/M_CaO of the shots' CaO (kill doses carry none: the ratio holds to their share)."""
    start, days, *_ = quarter
    caf2_0 = inventories(tech, start.state)["caf2"]
    for _, after in days:
        np.testing.assert_allclose(inventories(tech, after.state)["caf2"], caf2_0 + after.totals["caf2_formed_kg"],
                                   rtol=1e-11)  # sums of ~10^5 small additions: the closure test's tolerance
    t = days[-1][1].totals
    cao = tech.number("alumina.cao_wtpct") / 100.0 * t["alumina_fed_kg"]
    m_cao, m_caf2, m_alf3 = 56.077, 78.075, 83.977
    np.testing.assert_allclose(t["caf2_formed_kg"], m_caf2 / m_cao * cao, rtol=0.01)
    np.testing.assert_allclose(t["alf3_to_caf2_kg"], 2.0 * m_alf3 / (3.0 * m_cao) * cao, rtol=0.01)
    assert np.all(t["caf2_formed_kg"] > 0.0)
    end = days[-1][1].state
    assert np.all(end["ledge_caf2_kg"] != start.state["ledge_caf2_kg"])  # it moved between bath and ledge


def test_na2o_neutralises_alf3(quarter, tech) -> None:
    """Every shot's Na2O takes excess AlF3, 4 M_AlF3/(3 M_Na2O) kg per kg (3 Na2O + 4 AlF3 → 2 Na3AlF6 + Al2O3),
    and forms cryolite (chemistry docstring); kill doses carry no Na2O, so the ratio holds to the AE share."""
    _, days, *_ = quarter
    t = days[-1][1].totals
    na2o = tech.number("alumina.na2o_wtpct") / 100.0 * t["alumina_fed_kg"]
    m_na2o, m_alf3, m_al2o3 = 61.979, 83.977, 101.961
    np.testing.assert_allclose(t["alf3_neutralised_kg"], 4.0 * m_alf3 / (3.0 * m_na2o) * na2o, rtol=0.01)
    formed = na2o + t["alf3_neutralised_kg"] - na2o * m_al2o3 / (3.0 * m_na2o)
    np.testing.assert_allclose(t["cryolite_formed_kg"], formed, rtol=0.01)
    assert np.all(t["alumina_deficit_kg"] == 0.0)


def test_a_long_outage_keeps_every_component_non_negative(tech) -> None:
    """An 8-h total outage (issue 8 lists outages of five hours and more): the bath freezes onto the ledge and
    its AlF3 concentrates beyond Solheim's range, but no component of the liquid can go negative — a frozen kg
    takes (1 − f) kg of cryolite only while the liquid still holds it (chemistry docstring)."""
    line = Potline(tech, 1, slow_every=SLOW, stop_on=())
    line.advance(3600, line.nominal_current_kA)
    for _ in range(8):
        line.advance(3600, 0.0)
        s = line.snapshot().state
        solvent = s["bath_kg"] - s["alf3_kg"] - s["caf2_kg"]
        assert solvent.min() >= 0.0, (line.time_s / 3600, solvent, s["bath_kg"], s["alf3_kg"], s["caf2_kg"])
        ledge_solvent = inventories(tech, s)["cryolite"] - solvent
        assert ledge_solvent.min() >= 0.0
