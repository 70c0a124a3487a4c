"""Stored heat and component inventories of a cell, written from the docstrings of ``twin.cell.thermal`` and
``twin.cell.chemistry`` (never by calling the kernel's code), for the conservation tests.

Stored heat (thermal docstring, "Energy bookkeeping"): the liquids hold C_liq·(T − T_ref) with
C_liq = m_bath·c_bath + m_metal·c_metal, the anode-and-cover node C_a·T_a, the cathode-and-lining node C_c·T_c,
and the frozen ledge −L_f per kg, ledge mass ρ_L·(A_b·δ_b + A_m·δ_m). Mass that freezes, melts, forms or
leaves counts at T_ref.

Components (chemistry docstring): the liquid bath is ``bath_kg`` (everything liquid but the dissolved alumina)
holding ``alf3_kg`` of excess AlF3 and ``caf2_kg`` of CaF2, the rest being the solvent (cryolite, with MgF2
and LiF at their fixed shares); the ledge holds ``ledge_alf3_kg``, ``ledge_caf2_kg`` and ``ledge_alumina_kg``
in its mass, the rest being cryolite. Sources and sinks booked by the kernel: AlF3 lost (emissions, lining),
AlF3 neutralised by the Na2O of the alumina and the cryolite formed by it (3 Na2O + 4 AlF3 → 2 Na3AlF6 +
Al2O3); the alumina formed is the Na2O's mass less what became cryolite net of the AlF3 it took.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from twin.cell import layout as L
from twin.params import Technology

State = Mapping[str, np.ndarray]


def ledge_kg(tech: Technology, s: State) -> np.ndarray:
    n = tech.number
    cm_m2 = (s["ledge_bath_cm"] * n("thermal.ledge_area_bath_m2")
             + s["ledge_metal_cm"] * n("thermal.ledge_area_metal_m2"))
    return n("thermal.ledge_density_kg_m3") * cm_m2 / 100.0


def stored_heat(tech: Technology, s: State) -> dict[str, np.ndarray]:
    """J in each store, relative to the kernel's reference states."""
    n = tech.number
    c_liq = s["bath_kg"] * n("energy.bath_heat_capacity_J_per_kgK") + s["metal_kg"] * n(
        "energy.metal_heat_capacity_J_per_kgK")
    return {
        "liquids": c_liq * (s["temperature_degC"] - L.T_REF_DEGC),
        "anode_node": n("thermal.anode_node_heat_capacity_MJ_per_K") * 1e6 * s["anode_temp_degC"],
        "cathode_node": n("thermal.cathode_node_heat_capacity_MJ_per_K") * 1e6 * s["cathode_temp_degC"],
        "ledge_latent": -n("thermal.ledge_latent_heat_J_per_kg") * ledge_kg(tech, s),
    }


def total_stored_heat(tech: Technology, s: State) -> np.ndarray:
    return sum(stored_heat(tech, s).values())


LOSS_TOTALS = ("loss_top_J", "loss_side_bath_J", "loss_side_metal_J", "loss_bottom_J", "loss_offgas_J",
               "heat_extracted_J")


def energy_terms(totals: State) -> dict[str, np.ndarray]:
    """Energy released in the cell and where the accumulators say it went (J)."""
    return {
        "in": totals["energy_in_J"] - totals["energy_external_J"],
        "process": totals["energy_reaction_J"] + totals["energy_feed_J"] + totals["energy_carbon_J"],
        "losses": sum(totals[name] for name in LOSS_TOTALS),
    }


def inventories(tech: Technology, s: State) -> dict[str, np.ndarray]:
    """kg of each conserved component in the cell, liquid bath plus ledge."""
    ledge = ledge_kg(tech, s)
    return {
        "cryolite": (s["bath_kg"] - s["alf3_kg"] - s["caf2_kg"])
        + (ledge - s["ledge_alf3_kg"] - s["ledge_caf2_kg"] - s["ledge_alumina_kg"]),
        "alf3": s["alf3_kg"] + s["ledge_alf3_kg"],
        "caf2": s["caf2_kg"] + s["ledge_caf2_kg"],
        "alumina": s["alumina_dissolved_kg"] + s["alumina_undissolved_kg"] + s["ledge_alumina_kg"],
        "all": s["bath_kg"] + s["alumina_dissolved_kg"] + s["alumina_undissolved_kg"] + ledge,
    }


def expected_changes(totals: State) -> dict[str, np.ndarray]:
    """Change of each inventory that the booked sources and sinks imply (kg)."""
    na2o_net = totals["cryolite_formed_kg"] - totals["alf3_neutralised_kg"]  # Na2O mass less the alumina formed
    cao_net = totals["caf2_formed_kg"] - totals["alf3_to_caf2_kg"]  # CaO mass less the alumina formed
    return {
        "cryolite": totals["cryolite_formed_kg"],
        "alf3": -totals["alf3_lost_kg"] - totals["alf3_neutralised_kg"] - totals["alf3_to_caf2_kg"],
        "caf2": totals["caf2_formed_kg"],
        "alumina": totals["alumina_fed_kg"] - na2o_net - cao_net - totals["alumina_consumed_kg"],
        "all": totals["alumina_fed_kg"] - totals["alumina_consumed_kg"] - totals["alf3_lost_kg"],
    }
