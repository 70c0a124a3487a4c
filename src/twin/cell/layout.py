"""Row layout of the kernel's structure-of-arrays: state, parameters, accumulators, outputs, events.

``state[S_x, i]`` is variable x of cell i (float64, C-contiguous, one row per variable), so one potline of
400 cells is ~100 kB and stays cache-resident (performance.md §2.1). Module-level integers are
compile-time constants for numba.
"""

from __future__ import annotations

# --- per-cell state rows -------------------------------------------------------------------------
S_ALUMINA_DISSOLVED_KG = 0
S_ALUMINA_UNDISSOLVED_KG = 1
S_TEMP_DEGC = 2  # the liquids node: bath and metal pad share one temperature (lumped)
S_LEDGE_BATH_CM = 3
S_LEDGE_METAL_CM = 4
S_BATH_KG = 5  # liquid bath excluding dissolved alumina
S_ALF3_KG = 6  # excess AlF3 in the liquid bath
S_METAL_KG = 7
S_ACD_CM = 8
S_ANODE_AGE_S = 9
S_AE_ACTIVE = 10  # 1 during an anode effect
S_AE_TIME_S = 11  # duration of the current anode effect
S_AE_KILL_TIMER_S = 12
S_FEED_MODE = 13  # 0 underfeed, 1 overfeed (tracking strategy)
S_FEED_MODE_TIME_S = 14
S_FEED_DEMAND_KG = 15  # alumina requested but not yet shot
S_R_FAST_OHM = 16
S_R_SLOW_OHM = 17
S_REG_TIMER_S = 18
S_NOISE_OHM = 19
S_NOISE_GAIN = 20  # multiplies noise amplitude; raised after anode change, decays to 1
S_FEED_STRATEGY = 21  # 0 tracking, 1 fixed, 2 none
S_FEED_EFFICIENCY = 22  # delivered/requested shot mass: the product of the feed-loss causes (potline owns it)
S_LIMIT_FLAGS = 23  # latched limit bits, see LIMIT_*
S_HX_DUTY_W = 24  # shell heat-exchanger duty asked for (>= 0: an exchanger only removes heat)
S_IN_LINE = 25  # 1 carries line current, 0 cut out / bypassed
# slow terms, refreshed every `slow_every` steps
S_KAPPA_S_PER_CM = 26
S_LIQUIDUS_DEGC = 27
S_ALUMINA_SAT_WTPCT = 28
S_CE = 29
S_BATH_RATIO = 30
# thermal network and bath chemistry (physics.md §1.6)
S_ANODE_TEMP_DEGC = 31  # anode-and-cover node
S_CATHODE_TEMP_DEGC = 32  # cathode-and-lining node
S_SHELL_BATH_DEGC = 33  # side shell at bath level (massless; held for the radiation coefficient)
S_SHELL_METAL_DEGC = 34  # side shell at metal level
S_SHELL_BOTTOM_DEGC = 35  # bottom shell
S_CAF2_KG = 36  # CaF2 in the liquid bath
S_LEDGE_ALF3_KG = 37  # excess AlF3 held in the ledge (entrapped bath), both levels
S_LEDGE_CAF2_KG = 38  # CaF2 held in the ledge
S_LEDGE_ALUMINA_KG = 39  # alumina held in the ledge
S_R_TARGET_OHM = 40  # the cell's resistance (pseudo-resistance) target; the potroom moves it
S_LIQUIDS_LOSS_W = 41  # the liquids' mean heat loss over the last thermal update: the steps book it until the next
N_STATE = 42

STATE_NAMES = (
    "alumina_dissolved_kg",
    "alumina_undissolved_kg",
    "temperature_degC",
    "ledge_bath_cm",
    "ledge_metal_cm",
    "bath_kg",
    "alf3_kg",
    "metal_kg",
    "acd_cm",
    "anode_age_s",
    "ae_active",
    "ae_time_s",
    "ae_kill_timer_s",
    "feed_mode",
    "feed_mode_time_s",
    "feed_demand_kg",
    "r_fast_ohm",
    "r_slow_ohm",
    "reg_timer_s",
    "noise_ohm",
    "noise_gain",
    "feed_strategy",
    "feed_efficiency",
    "limit_flags",
    "hx_duty_W",
    "in_line",
    "kappa_S_per_cm",
    "liquidus_degC",
    "alumina_saturation_wtpct",
    "current_efficiency",
    "bath_ratio",
    "anode_temp_degC",
    "cathode_temp_degC",
    "shell_bath_degC",
    "shell_metal_degC",
    "shell_bottom_degC",
    "caf2_kg",
    "ledge_alf3_kg",
    "ledge_caf2_kg",
    "ledge_alumina_kg",
    "r_target_ohm",
    "liquids_loss_W",
)

# --- parameters (one vector shared by all cells of a potline) -------------------------------------
# The P_* rows are generated from the technology schema (twin.cell.gen_param_rows); re-exported here so
# the kernel reads every row as L.P_NAME.
from twin.cell.param_rows import *  # noqa: E402, F403

# --- accumulators (per cell, summed over steps since the driver last read them) --------------------
A_CHARGE_C = 0
A_ENERGY_IN_J = 1  # I·V_cell (including the external busbar share)
A_ENERGY_EXTERNAL_J = 2  # I²·R_ext, released outside the cell
A_ENERGY_REACTION_J = 3
A_ENERGY_FEED_J = 4
A_LOSS_TOP_J = 5
A_LOSS_BOTTOM_J = 6
A_LOSS_SIDE_BATH_J = 7
A_HEAT_EXTRACTED_J = 8
A_AL_PRODUCED_KG = 9
A_ALUMINA_FED_KG = 10
A_ALUMINA_CONSUMED_KG = 11
A_CARBON_KG = 12
A_AE_COUNT = 13
A_AE_SECONDS = 14
A_FEED_SHOTS = 15
A_BEAM_MOVES = 16
A_ALF3_LOST_KG = 17
A_VOLTAGE_SECONDS = 18  # ∫V dt, for mean voltage
A_ALUMINA_DEFICIT_KG = 19  # consumption that found no dissolved alumina (should stay 0)
A_LOSS_SIDE_METAL_J = 20
A_LOSS_OFFGAS_J = 21  # the off-gas share of the anode-effect energy
A_ALF3_NA2O_KG = 22  # excess AlF3 neutralised by the Na2O of the alumina
A_CRYOLITE_NA2O_KG = 23  # cryolite formed from it
A_ALF3_CAO_KG = 24  # excess AlF3 consumed by the CaO of the alumina
A_CAF2_CAO_KG = 25  # CaF2 formed from it
A_ENERGY_CARBON_J = 26  # the liquids' heat that brings consumed anode carbon to bath temperature
N_ACC = 27

ACC_NAMES = (
    "charge_C",
    "energy_in_J",
    "energy_external_J",
    "energy_reaction_J",
    "energy_feed_J",
    "loss_top_J",
    "loss_bottom_J",
    "loss_side_bath_J",
    "heat_extracted_J",
    "al_produced_kg",
    "alumina_fed_kg",
    "alumina_consumed_kg",
    "carbon_kg",
    "ae_count",
    "ae_seconds",
    "feed_shots",
    "beam_moves",
    "alf3_lost_kg",
    "voltage_seconds",
    "alumina_deficit_kg",
    "loss_side_metal_J",
    "loss_offgas_J",
    "alf3_neutralised_kg",
    "cryolite_formed_kg",
    "alf3_to_caf2_kg",
    "caf2_formed_kg",
    "energy_carbon_J",
)

# --- outputs (per cell, values at the last step) -------------------------------------------------
O_V_CELL = 0
O_E_REV = 1
O_ETA_ANODE_CONC = 2
O_ETA_ANODE_SURF = 3
O_ETA_CATHODE = 4
O_V_BATH = 5
O_V_BUBBLE = 6
O_V_ANODE = 7
O_V_CATHODE = 8
O_V_EXTERNAL = 9
O_V_CALIBRATION = 10
O_V_NOISE = 11
O_V_ANODE_EFFECT = 12  # extra voltage during an anode effect
O_R_PSEUDO_OHM = 13
O_SUPERHEAT_K = 14
O_ALUMINA_WTPCT = 15
O_ALF3_WTPCT = 16
O_METAL_CM = 17
O_LINE_CURRENT_A = 18
O_Q_TOP_W = 19  # heat flux of each loss surface at the last thermal update
O_Q_SIDE_BATH_W = 20
O_Q_SIDE_METAL_W = 21
O_Q_BOTTOM_W = 22
O_Q_HX_W = 23  # exchanger duty delivered (<= the duty asked for)
O_CAF2_WTPCT = 24
N_OUT = 25

OUT_NAMES = (
    "v_cell",
    "e_rev",
    "eta_anode_conc",
    "eta_anode_surf",
    "eta_cathode",
    "v_bath",
    "v_bubble",
    "v_anode",
    "v_cathode",
    "v_external",
    "v_calibration",
    "v_noise",
    "v_anode_effect",
    "pseudo_resistance_ohm",
    "superheat_K",
    "alumina_wtpct",
    "alf3_wtpct",
    "metal_height_cm",
    "cell_current_A",
    "q_top_W",
    "q_side_bath_W",
    "q_side_metal_W",
    "q_bottom_W",
    "q_hx_W",
    "caf2_wtpct",
)
#: output rows that add up to O_V_CELL
BREAKDOWN_ROWS = (
    O_E_REV,
    O_ETA_ANODE_CONC,
    O_ETA_ANODE_SURF,
    O_ETA_CATHODE,
    O_V_BATH,
    O_V_BUBBLE,
    O_V_ANODE,
    O_V_CATHODE,
    O_V_EXTERNAL,
    O_V_CALIBRATION,
    O_V_NOISE,
    O_V_ANODE_EFFECT,
)

# --- events --------------------------------------------------------------------------------------
EV_AE_ONSET = 1
EV_AE_END = 2
EV_FREEZE_RISK = 3
EV_BATH_HOT = 4
EV_LEDGE_THIN = 5
EV_LEDGE_THICK = 6
EV_LIQUIDUS_RANGE = 7  # the bath left the fitted range of the liquidus correlation
EVENT_NAMES = {
    1: "anode_effect_onset",
    2: "anode_effect_end",
    3: "freeze_risk",
    4: "bath_hot",
    5: "ledge_thin",
    6: "ledge_thick",
    7: "liquidus_out_of_range",
}
#: event record columns: time (s), code, cell index, value (AE duration for EV_AE_END, else the state)
N_EVENT_COLS = 4

LIMIT_FREEZE = 1
LIMIT_HOT = 2
LIMIT_THIN = 4
LIMIT_THICK = 8
LIMIT_LIQUIDUS = 16

FEED_TRACKING = 0
FEED_FIXED = 1
FEED_NONE = 2
FEED_STRATEGIES = {"tracking": FEED_TRACKING, "fixed": FEED_FIXED, "none": FEED_NONE}

#: enthalpy reference: metal and frozen ledge are formed at this temperature (see kernel docstring)
T_REF_DEGC = 950.0
