"""Turn a validated :class:`~twin.params.Technology` into the kernel's parameter vector and initial state.

Unit conversions happen here, once: µΩ → Ω, kWh/kg → J/kg, cm/day → cm/s, mV/min at nominal current →
Ω/s, so the kernel works in consistent units.
"""

from __future__ import annotations

import numpy as np

from twin.cell import layout as L
from twin.cell.slow import refresh_slow_terms
from twin.cell.thermal import ledge_mass_kg
from twin.params import Technology

UOHM = 1e-6
KWH = 3.6e6
DAY = 86400.0
SHELL_START_DEGC = 300.0  # [R] side shell in normal operation 250-350 °C (physics.md §1.6)
BOTTOM_SHELL_START_DEGC = 120.0  # [R] bottom shell ~100-150 °C


def pack_params(tech: Technology, slow_every: int = 1) -> np.ndarray:
    """The kernel's parameter vector for ``tech``; ``slow_every`` sets the slow-term refresh cadence."""
    n = tech.number
    p = np.zeros(L.N_PARAM)
    i_nom = n("cell.line_current_nominal_kA") * 1e3
    single = n("cell.anode_length_cm") * n("cell.anode_width_cm")
    p[L.P_I_NOMINAL_A] = i_nom
    p[L.P_ANODE_AREA_CM2] = single * n("cell.anode_count")
    p[L.P_SINGLE_ANODE_AREA_CM2] = single
    p[L.P_FANNING] = n("cell.anode_fanning_factor")
    p[L.P_CATHODE_AREA_CM2] = n("cell.cathode_area_cm2")
    p[L.P_CAVITY_AREA_M2] = n("cell.cavity_area_m2")
    p[L.P_R_ANODE_OHM] = n("cell.resistance_anode_uohm") * UOHM
    p[L.P_R_CATHODE_OHM] = n("cell.resistance_cathode_uohm") * UOHM
    p[L.P_R_EXTERNAL_OHM] = n("cell.resistance_external_uohm") * UOHM
    p[L.P_R_CALIBRATION_OHM] = n("cell.resistance_calibration_uohm") * UOHM
    p[L.P_METAL_DENSITY] = n("cell.metal_density_kg_m3")
    p[L.P_BATH_NOMINAL_KG] = n("cell.bath_mass_kg")
    p[L.P_MGF2_WTPCT] = n("bath.mgf2_wtpct")
    p[L.P_LIF_WTPCT] = n("bath.lif_wtpct")
    p[L.P_ALF3_LOSS_KG_PER_KG_AL] = n("bath.alf3_loss_kg_per_t_al") / 1000.0
    p[L.P_SHOT_KG] = n("alumina.shot_mass_kg")
    p[L.P_UNDISSOLVED_FRACTION] = n("alumina.undissolved_fraction")
    p[L.P_K_DISS] = n("alumina.dissolution_rate_per_s")
    p[L.P_ALUMINA_AE_WTPCT] = n("alumina.anode_effect_wtpct")
    p[L.P_REACTION_J_PER_KG_AL] = n("energy.reaction_energy_kWh_per_kg_al") * KWH
    p[L.P_BACK_REACTION_J_PER_KG_AL] = n("energy.back_reaction_kWh_per_kg_al") * KWH
    p[L.P_ALUMINA_HEAT_J_PER_KG] = n("energy.alumina_heating_kWh_per_kg") * KWH
    p[L.P_CP_BATH] = n("energy.bath_heat_capacity_J_per_kgK")
    p[L.P_CP_METAL] = n("energy.metal_heat_capacity_J_per_kgK")
    p[L.P_AE_HEAT_BATH_FRACTION] = n("energy.anode_effect_heat_bath_fraction")
    p[L.P_AE_HEAT_ANODE_FRACTION] = n("energy.anode_effect_heat_anode_fraction")
    p[L.P_NEW_ANODE_J_PER_K] = n("anode.anode_mass_kg") * n("energy.carbon_heat_capacity_J_per_kgK")
    p[L.P_NA2O_KG_PER_KG_ALUMINA] = n("alumina.na2o_wtpct") / 100.0
    p[L.P_T_AMBIENT] = n("thermal.ambient_degC")
    p[L.P_C_ANODE_J_PER_K] = n("thermal.anode_node_heat_capacity_MJ_per_K") * 1e6
    p[L.P_C_CATHODE_J_PER_K] = n("thermal.cathode_node_heat_capacity_MJ_per_K") * 1e6
    p[L.P_R_LIQ_ANODE] = n("thermal.resistance_liquids_anode_K_per_W")
    p[L.P_R_ANODE_AIR] = n("thermal.resistance_anode_air_K_per_W")
    p[L.P_R_LIQ_CATHODE] = n("thermal.resistance_liquids_cathode_K_per_W")
    p[L.P_R_CATHODE_AIR] = n("thermal.resistance_cathode_air_K_per_W")
    p[L.P_H_BATH_LEDGE] = n("thermal.film_bath_ledge_W_per_m2K")
    p[L.P_H_METAL_LEDGE] = n("thermal.film_metal_ledge_W_per_m2K")
    p[L.P_STIR_STILL_FRACTION] = n("thermal.film_still_fraction")
    p[L.P_STIR_EXPONENT] = n("thermal.film_current_exponent")
    p[L.P_R_LINING_SIDE] = n("thermal.lining_side_m2K_per_W")
    p[L.P_H_SHELL_CONVECTION] = n("thermal.shell_convection_W_per_m2K")
    p[L.P_SHELL_EMISSIVITY] = n("thermal.shell_emissivity")
    p[L.P_BOTTOM_SHELL_AREA_M2] = n("thermal.bottom_shell_area_m2")
    p[L.P_LEDGE_ENTRAPPED_FRACTION] = n("thermal.ledge_entrapped_bath_fraction")
    p[L.P_FROZEN_BATH_MAX_FRACTION] = n("thermal.frozen_bath_max_fraction")
    p[L.P_LEDGE_AREA_BATH_M2] = n("thermal.ledge_area_bath_m2")
    p[L.P_LEDGE_AREA_METAL_M2] = n("thermal.ledge_area_metal_m2")
    p[L.P_LEDGE_K] = n("thermal.ledge_conductivity_W_per_mK")
    p[L.P_LEDGE_DENSITY] = n("thermal.ledge_density_kg_m3")
    p[L.P_LEDGE_LATENT] = n("thermal.ledge_latent_heat_J_per_kg")
    p[L.P_LEDGE_MIN_CM] = n("thermal.ledge_min_cm")
    p[L.P_LEDGE_MAX_CM] = n("thermal.ledge_max_cm")
    p[L.P_BATH_TEMP_MAX] = n("thermal.bath_temp_max_degC")
    p[L.P_ANODE_CONSUMPTION_CM_PER_S] = n("anode.anode_consumption_cm_per_day") / DAY
    p[L.P_CARBON_KG_PER_KG_AL] = n("anode.carbon_net_kg_per_kg_al")
    p[L.P_BEMF_V] = n("anode.bemf_V")
    p[L.P_AE_VOLTAGE] = n("anode_effect.voltage_V")
    p[L.P_AE_DETECT_V] = n("anode_effect.detect_voltage_V")
    p[L.P_AE_KILL_TIME_S] = n("anode_effect.kill_time_s")
    p[L.P_AE_KILL_DOSE_KG] = n("anode_effect.kill_dose_kg")
    p[L.P_DEWING_CONSTANT] = n("emissions.ce_dewing_constant")
    p[L.P_NOISE_OHM] = n("noise.amplitude_uohm") * UOHM
    p[L.P_NOISE_TAU_S] = n("noise.time_constant_s")
    p[L.P_UNDERFEED] = n("control.underfeed_fraction")
    p[L.P_OVERFEED] = n("control.overfeed_fraction")
    p[L.P_OVERFEED_S] = n("control.overfeed_duration_s")
    p[L.P_UNDERFEED_MIN_S] = n("control.underfeed_min_s")
    p[L.P_UNDERFEED_MAX_S] = n("control.underfeed_max_s")
    p[L.P_SLOPE_THRESHOLD_OHM_PER_S] = n("control.slope_threshold_mV_per_min") * 1e-3 / 60.0 / i_nom
    p[L.P_SLOPE_FAST_S] = n("control.slope_fast_s")
    p[L.P_SLOPE_SLOW_S] = n("control.slope_slow_s")
    p[L.P_R_TARGET_OHM] = (n("control.target_voltage_V") - n("anode.bemf_V")) / i_nom
    p[L.P_DEADBAND_OHM] = n("control.deadband_mV") * 1e-3 / i_nom
    p[L.P_REG_INTERVAL_S] = n("control.regulation_interval_s")
    p[L.P_BEAM_MOVE_MAX_CM] = n("control.beam_move_max_cm")
    p[L.P_ACD_MIN_CM] = n("control.acd_min_cm")
    p[L.P_ACD_MAX_CM] = n("control.acd_max_cm")
    p[L.P_SLOW_EVERY] = float(slow_every)
    return p


def initial_state(tech: Technology, params: np.ndarray, n_cells: int) -> np.ndarray:
    """Every cell at the technology's start-up values; slow terms evaluated; filters at target."""
    n = tech.number
    s = np.zeros((L.N_STATE, n_cells))
    bath = n("cell.bath_mass_kg")
    s[L.S_ALUMINA_DISSOLVED_KG] = n("alumina.dissolved_initial_wtpct") / 100.0 * bath
    s[L.S_ALUMINA_UNDISSOLVED_KG] = n("alumina.undissolved_initial_kg")
    s[L.S_TEMP_DEGC] = n("bath.temperature_initial_degC")
    s[L.S_LEDGE_BATH_CM] = n("thermal.ledge_bath_initial_cm")
    s[L.S_LEDGE_METAL_CM] = n("thermal.ledge_metal_initial_cm")
    s[L.S_BATH_KG] = bath
    s[L.S_ALF3_KG] = n("bath.alf3_excess_wtpct") / 100.0 * bath
    s[L.S_CAF2_KG] = n("bath.caf2_wtpct") / 100.0 * bath
    s[L.S_ANODE_TEMP_DEGC] = n("thermal.anode_node_initial_degC")
    s[L.S_CATHODE_TEMP_DEGC] = n("thermal.cathode_node_initial_degC")
    # shells start at a typical running temperature; they are massless and settle at the first update
    s[L.S_SHELL_BATH_DEGC] = s[L.S_SHELL_METAL_DEGC] = SHELL_START_DEGC
    s[L.S_SHELL_BOTTOM_DEGC] = BOTTOM_SHELL_START_DEGC
    # slowly grown ledge: cryolite with the entrapped share of bath at the start composition
    ledge_kg = ledge_mass_kg(s[L.S_LEDGE_BATH_CM], s[L.S_LEDGE_METAL_CM], params)
    entrapped = n("thermal.ledge_entrapped_bath_fraction") * ledge_kg / (bath + s[L.S_ALUMINA_DISSOLVED_KG])
    s[L.S_LEDGE_ALF3_KG] = entrapped * s[L.S_ALF3_KG]
    s[L.S_LEDGE_CAF2_KG] = entrapped * s[L.S_CAF2_KG]
    s[L.S_LEDGE_ALUMINA_KG] = entrapped * s[L.S_ALUMINA_DISSOLVED_KG]
    s[L.S_METAL_KG] = n("cell.metal_mass_kg")
    s[L.S_ACD_CM] = n("cell.acd_nominal_cm")
    s[L.S_R_FAST_OHM] = params[L.P_R_TARGET_OHM]
    s[L.S_R_SLOW_OHM] = params[L.P_R_TARGET_OHM]
    s[L.S_R_TARGET_OHM] = params[L.P_R_TARGET_OHM]
    s[L.S_NOISE_GAIN] = 1.0
    s[L.S_FEED_STRATEGY] = L.FEED_STRATEGIES[str(tech["control.feed_strategy"])]
    s[L.S_FEED_EFFICIENCY] = 1.0
    s[L.S_IN_LINE] = 1.0
    # anode ages spread evenly over the anode cycle, as in a line at steady state
    s[L.S_ANODE_AGE_S] = (np.arange(n_cells) % 30) / 30.0 * n("anode.anode_cycle_h") * 3600.0
    for i in range(n_cells):
        refresh_slow_terms(s, params, i)
    return s


def seed_generators(seed: int, n_cells: int) -> np.ndarray:
    """Per-cell xorshift64 states derived from one seed (SplitMix64 expansion via numpy's SeedSequence)."""
    words = np.random.SeedSequence(seed).generate_state(n_cells, dtype=np.uint64)
    return np.where(words == 0, np.uint64(0x9E3779B97F4A7C15), words).astype(np.uint64)
