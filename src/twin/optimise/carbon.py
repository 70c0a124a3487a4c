"""CO2e per tonne of a replayed schedule, split by scope and source, beside the carbon-market benchmark.

* Scope 1: anode carbon (net carbon × 44/12), PFC (high-voltage anode effects by the IPCC Tier 2 slope
  method from the replay's simulated AE frequency and duration; low-voltage PFC by a per-tonne factor,
  :func:`twin.kpi.emissions.pfc_low_voltage`) and the captive coal units (fuel × emission factor).
* Scope 2: grid import × the grid's emission factor.
* Electricity by source: coal, grid, on-site renewables (MWh and t CO2); green-power share = (renewables used +
  the green share of the import) / electricity used.
* The carbon-market view: (anode + PFC + electricity used × the market's grid factor) per tonne, beside the
  benchmark of the dispatch file (sources there and in docs/optimise.md).
"""

from __future__ import annotations

from typing import Any

from twin.kpi.emissions import CO2_PER_C, pfc_co2e_t, pfc_low_voltage, pfc_slope_method
from twin.optimise.inputs import Inputs
from twin.optimise.replay import Replay


def carbon_report(inputs: Inputs, run: Replay) -> dict[str, Any]:
    """Emissions of a replayed schedule (module docstring); tonnes and tonnes per tonne of aluminium."""
    prod = max(run.production_t, 1e-12)
    carbon = inputs.dispatch.carbon
    hv_cf4 = hv_c2f6 = 0.0
    lines = inputs.plant.potlines
    weights = [line["cells"] * line["line_current_kA"] for line in lines]
    total_w = sum(weights)
    tech = lines[0].technology
    for line, w, rate, minutes in zip(lines, weights, run.ae_per_cell_day, run.ae_minutes, strict=True):
        t = line.technology
        cf4, c2f6 = pfc_slope_method(rate, minutes, prod * w / total_w,
                                     t.number("emissions.cf4_slope_kg_per_t_per_aemin"),
                                     t.number("emissions.c2f6_to_cf4_ratio"))
        hv_cf4 += cf4
        hv_c2f6 += c2f6
    lv_cf4, lv_c2f6 = pfc_low_voltage(carbon["lv_cf4_kg_per_t"], carbon["lv_c2f6_to_cf4_ratio"], prod)
    gwp = str(tech["emissions.gwp_set"])
    pfc_hv = pfc_co2e_t(hv_cf4, hv_c2f6, gwp)
    pfc_lv = pfc_co2e_t(lv_cf4, lv_c2f6, gwp)
    anode = sum(line.technology.number("anode.carbon_net_kg_per_kg_al") * prod * w / total_w
                for line, w in zip(lines, weights, strict=True)) * CO2_PER_C
    c = run.costs
    coal = c.coal_co2_t
    grid = c.import_MWh * inputs.plant.grid["co2_t_per_MWh"]
    scope1 = anode + pfc_hv + pfc_lv + coal
    energy = c.energy_MWh
    green = c.renewables_MWh + carbon["renewable_green_fraction"] * c.import_MWh
    ets = (anode + pfc_hv + pfc_lv + energy * carbon["ets_grid_t_per_MWh"]) / prod
    return {
        "production_t": run.production_t,
        "scope1_t": scope1,
        "scope2_t": grid,
        "total_t": scope1 + grid,
        "co2e_t_per_t": (scope1 + grid) / prod,
        "by_source_t_per_t": {
            "anodes": anode / prod,
            "pfc_high_voltage": pfc_hv / prod,
            "pfc_low_voltage": pfc_lv / prod,
            "electricity_coal": coal / prod,
            "electricity_grid": grid / prod,
            "electricity_renewables": 0.0,
        },
        "electricity_MWh": {"coal": c.coal_MWh, "grid": c.import_MWh, "renewables": c.renewables_MWh,
                            "used": energy},
        "green_power_share": green / max(energy, 1e-12),
        "pfc": {"method": "IPCC 2006/2019 Tier 2 slope (HVAE) + per-tonne LVAE factor", "gwp_set": gwp,
                "ae_per_cell_day": list(run.ae_per_cell_day), "ae_minutes": list(run.ae_minutes),
                "cf4_t": hv_cf4 + lv_cf4, "c2f6_t": hv_c2f6 + lv_c2f6},
        "carbon_market": {"intensity_t_per_t": ets, "benchmark_t_per_t": carbon["ets_benchmark_t_per_t"],
                          "grid_factor_t_per_MWh": carbon["ets_grid_t_per_MWh"],
                          "benchmark_source": inputs.dispatch.carbon.sources["ets_benchmark_t_per_t"]},
    }
