"""Plant, potline and cell KPIs: pure functions from a finished run's totals and records.

Definitions (units in the names):
* current efficiency = aluminium produced / Faraday aluminium of the charge passed, M_Al·Q/(3F);
* DC specific energy = Σ I·V_cell dt over the cells / aluminium (kWh/kg, physics.md §0: 2.98·V/CE);
* AC specific energy = (potline AC energy + auxiliaries) / aluminium;
* anode-effect frequency = AE / (cell · day); AEM = frequency × mean duration (min);
* shell heat exchangers: heat extracted (MWh, the kernel's delivered duty integrated), mean duty per cell
  over the run and the largest interval-mean duty per cell (kW);
* cost per tonne = (coal fuel + grid import − export revenue + alumina + anode carbon + AlF3
  + CO2e × price) / t Al;
* grid services (:func:`grid_service_kpis`): reserve delivered = energy not drawn against the power measured in
  the minute before each service (MWh) and its largest power (MW); its cost in production = aluminium not
  made, the missing charge by Faraday's law at the measured current efficiency (t); island: the frequency
  nadir (Hz), the load the under-frequency blocks shed (MW at the trip) and its energy until restored (MWh).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.cell.physics import FARADAY, M_AL
from twin.kpi.emissions import CO2_PER_C, pfc_co2e_t, pfc_slope_method

KWH = 3.6e6


@dataclass(frozen=True)
class LineTotals:
    """What one potline did over the run (from the kernel accumulators and the plant layer)."""

    name: str
    cells: int
    totals: Mapping[str, np.ndarray]  # the kernel's running totals per cell, by name (CellSnapshot.totals)
    ac_energy_MWh: float
    busbar_energy_J: float
    alf3_added_kg: float
    metal_tapped_kg: float
    taps: int
    anode_changes: int
    cf4_slope: float
    c2f6_ratio: float
    gwp_set: str
    outages_h: Sequence[float]
    freeze_risk_cells: int  # cells at freeze risk (frozen bath or a long outage; runner docstring)
    undercooled_cells: int  # cells whose kernel raised freeze_risk (frozen_bath_max_fraction)
    hx_max_kW: float = 0.0  # largest interval-mean exchanger duty per cell
    bath_added_kg: float = 0.0  # crushed bath added by the bath-level control
    bath_tapped_kg: float = 0.0
    protective_actions: int = 0  # the potroom's actions on limit events


def line_kpis(t: LineTotals, days: float) -> dict[str, float]:
    """KPIs of one potline over ``days`` simulated days."""
    acc = {name: float(np.sum(values)) for name, values in t.totals.items()}
    al_kg = acc["al_produced_kg"]
    charge = acc["charge_C"]
    faraday_kg = M_AL * charge / (3.0 * FARADAY)
    ae = acc["ae_count"]
    ae_s = acc["ae_seconds"]
    ae_freq = ae / (t.cells * days) if days > 0 else 0.0
    ae_min = ae_s / 60.0 / ae if ae > 0 else 0.0
    production_t = al_kg / 1000.0
    cf4, c2f6 = pfc_slope_method(ae_freq, ae_min, production_t, t.cf4_slope, t.c2f6_ratio)
    dc_kwh = acc["energy_in_J"] / KWH
    return {
        "production_t": production_t,
        "current_efficiency_pct": 100.0 * al_kg / faraday_kg if faraday_kg > 0 else 0.0,
        "dc_energy_MWh": dc_kwh / 1000.0,
        "dc_specific_energy_kWh_per_kg": dc_kwh / al_kg if al_kg > 0 else 0.0,
        "ac_energy_MWh": t.ac_energy_MWh,
        "mean_cell_voltage_V": acc["voltage_seconds"] / max(days * 86400.0 * t.cells, 1e-9),
        "anode_effects": ae,
        "anode_effects_per_cell_day": ae_freq,
        "anode_effect_mean_duration_min": ae_min,
        "cf4_t": cf4,
        "c2f6_t": c2f6,
        "pfc_co2e_t": pfc_co2e_t(cf4, c2f6, t.gwp_set),
        "anode_carbon_t": acc["carbon_kg"] / 1000.0,
        "anode_co2_t": acc["carbon_kg"] / 1000.0 * CO2_PER_C,
        "alumina_fed_t": acc["alumina_fed_kg"] / 1000.0,
        "alf3_added_t": t.alf3_added_kg / 1000.0,
        "metal_tapped_t": t.metal_tapped_kg / 1000.0,
        "taps": float(t.taps),
        "anode_changes": float(t.anode_changes),
        "beam_moves": acc["beam_moves"],
        "cells": float(t.cells),
        "cells_freeze_risk": float(t.freeze_risk_cells),
        "cells_undercooled": float(t.undercooled_cells),
        "longest_outage_h": max(t.outages_h, default=0.0),
        "bath_added_t": t.bath_added_kg / 1000.0,
        "bath_tapped_t": t.bath_tapped_kg / 1000.0,
        "protective_actions": float(t.protective_actions),
        "hx_extracted_MWh": acc["heat_extracted_J"] / KWH / 1000.0,
        "hx_mean_kW": acc["heat_extracted_J"] / max(days * 86400.0 * t.cells, 1e-9) / 1e3,
        "hx_max_kW": t.hx_max_kW,
    }


def net_energy_cost(fuel_cost: float, import_cost: float, export_revenue: float) -> float:
    """What the plant pays for its electricity: coal burnt plus grid imports, less what exports earn."""
    return fuel_cost + import_cost - export_revenue


def plant_kpis(
    lines: Mapping[str, Mapping[str, float]],
    power: Mapping[str, float],
    economics: Mapping[str, float],
    cells_extremes: Mapping[str, float],
) -> dict[str, float]:
    """Plant KPIs from the potline KPIs, the power-supply totals, prices and cell extremes."""
    cells_per_line = [k["cells"] for k in lines.values()]
    total = {key: sum(k[key] for k in lines.values()) for key in next(iter(lines.values()))}
    production = total["production_t"]
    al_kg = production * 1000.0
    co2e = total["anode_co2_t"] + total["pfc_co2e_t"] + power["coal_co2_t"] + power["grid_co2_t"]
    energy_cost = net_energy_cost(power["fuel_cost"], power["import_cost"], power["export_revenue"])
    material_cost = (
        total["alumina_fed_t"] * economics["alumina_price_per_t"]
        + total["anode_carbon_t"] * economics["carbon_price_per_t"]
        + total["alf3_added_t"] * economics["alf3_price_per_t"]
    )
    cost = energy_cost + material_cost + co2e * economics["co2_price_per_t"]
    faraday_weighted = sum(k["production_t"] / max(k["current_efficiency_pct"], 1e-9) for k in lines.values())
    aes = total["anode_effects"]
    return {
        "production_t": production,
        "current_efficiency_pct": production / faraday_weighted if faraday_weighted > 0 else 0.0,
        "dc_specific_energy_kWh_per_kg": total["dc_energy_MWh"] * 1000.0 / al_kg if al_kg else 0.0,
        "ac_specific_energy_kWh_per_kg": power["potline_energy_MWh"] * 1000.0 / al_kg if al_kg else 0.0,
        "mean_power_MW": power["mean_power_MW"],
        "max_power_MW": power["max_power_MW"],
        "energy_MWh": power["potline_energy_MWh"],
        "anode_effects": aes,
        "anode_effects_per_cell_day": total["anode_effects_per_cell_day"] / max(len(lines), 1),
        "anode_effect_mean_duration_min": (
            sum(k["anode_effect_mean_duration_min"] * k["anode_effects"] for k in lines.values()) / aes if aes else 0.0
        ),
        "cf4_t": total["cf4_t"],
        "c2f6_t": total["c2f6_t"],
        "pfc_co2e_t": total["pfc_co2e_t"],
        "anode_co2_t": total["anode_co2_t"],
        "coal_co2_t": power["coal_co2_t"],
        "grid_co2_t": power["grid_co2_t"],
        "total_co2e_t": co2e,
        "co2e_t_per_t_al": co2e / production if production else 0.0,
        "coal_burned_t": power["coal_t"],
        "import_MWh": power["import_MWh"],
        "export_MWh": power["export_MWh"],
        "shortfall_MWh": power["shortfall_MWh"],
        "excess_MWh": power["excess_MWh"],
        "energy_cost": energy_cost,
        "cost_per_t_al": cost / production if production else 0.0,
        "min_superheat_K": cells_extremes["min_superheat_K"],
        "ledge_change_cm": cells_extremes["ledge_change_cm"],
        "min_ledge_cm": cells_extremes["min_ledge_cm"],
        "min_line_bath_temp_degC": cells_extremes["min_line_bath_temp_degC"],
        "max_bath_deficit_pct": cells_extremes["max_bath_deficit_pct"],
        "cells_freeze_risk": total["cells_freeze_risk"],
        "cells_undercooled": total["cells_undercooled"],
        "longest_outage_h": max(k["longest_outage_h"] for k in lines.values()),
        "alf3_added_t": total["alf3_added_t"],
        "bath_added_t": total["bath_added_t"],
        "bath_tapped_t": total["bath_tapped_t"],
        "protective_actions": total["protective_actions"],
        "hx_extracted_MWh": total["hx_extracted_MWh"],
        "hx_mean_kW": (
            sum(k["hx_mean_kW"] * cells for k, cells in zip(lines.values(), cells_per_line, strict=True))
            / max(sum(cells_per_line), 1)
        ),
        "hx_max_kW": max(k["hx_max_kW"] for k in lines.values()),
    }


def grid_service_kpis(
    services: Sequence[Mapping[str, Any]], islands: Sequence[Mapping[str, float]]
) -> dict[str, float]:
    """KPIs of the grid services of a run (module docstring), from plain per-service and per-island totals.

    ``services``: ``service`` (``reserve_call`` or ``frequency_response``), ``reserve_MWh``, ``reserve_max_MW``,
    ``reserve_min_MW``, ``al_lost_kg``, ``first_second_MW`` per line and event; ``islands``: ``lost_MW``,
    ``nadir_Hz``, ``shed_MW``, ``shed_MWh``, ``hours`` per tie trip. Reserve calls give ``reserve_*``, frequency
    response ``fcr_*`` (its energy is net: the droop takes power at high frequency and gives it at low).
    """
    out: dict[str, float] = {}
    calls = [s for s in services if s["service"] == "reserve_call"]
    if calls:
        reserve = sum(s["reserve_MWh"] for s in calls)
        lost_t = sum(s["al_lost_kg"] for s in calls) / 1000.0
        out.update(
            {
                "reserve_MWh": reserve,
                "reserve_max_MW": sum(s["reserve_max_MW"] for s in calls),
                "reserve_first_second_MW": sum(s["first_second_MW"] for s in calls),
                "reserve_al_lost_t": lost_t,
                "reserve_MWh_per_t_al_lost": reserve / lost_t if lost_t > 0 else 0.0,
            }
        )
    fcr = [s for s in services if s["service"] == "frequency_response"]
    if fcr:
        out.update(
            {
                "fcr_net_MWh": sum(s["reserve_MWh"] for s in fcr),
                "fcr_max_down_MW": sum(s["reserve_max_MW"] for s in fcr),
                "fcr_max_up_MW": -sum(s["reserve_min_MW"] for s in fcr),
                "fcr_al_lost_t": sum(s["al_lost_kg"] for s in fcr) / 1000.0,
            }
        )
    if islands:
        out.update(
            {
                "island_h": sum(i["hours"] for i in islands),
                "island_lost_MW": max(abs(i["lost_MW"]) for i in islands),
                "frequency_nadir_Hz": min(i["nadir_Hz"] for i in islands),
                "shed_MW": max(i["shed_MW"] for i in islands),
                "shed_MWh": sum(i["shed_MWh"] for i in islands),
            }
        )
    return out
