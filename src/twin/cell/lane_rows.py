"""Rows of the lane buffer: one block of ``LANES`` cells, every per-cell variable of the step in one flat array.

The lane-blocked kernel (:mod:`twin.cell.block`) keeps a block's variables in one float64 buffer ``b`` and
indexes variable X of lane j as ``b[X + j]``, where X = row · ``LANES`` is a compile-time constant (numba freezes
module-level integers). Every access of the lane loop is then one base pointer plus a constant offset plus the
lane, so LLVM sees that the rows cannot overlap (their distance, ``LANES`` elements, is at least one vector) and
vectorises the loop without run-time alias checks. 32 lanes × 90 rows × 8 B = 23.0 kB: the block stays in L1.
"""

from __future__ import annotations

LANES = 32  # cells per block


def _rows(*names: str) -> dict[str, int]:
    return {name: row * LANES for row, name in enumerate(names)}


_R = _rows(
    # cell state held over the block's run
    "M_DISS", "M_UNDISS", "T", "M_BATH", "M_ALF3", "M_CAF2", "M_METAL", "ACD", "AGE", "AE", "AE_TIME", "KILL",
    "MODE", "MODE_TIME", "DEMAND", "R_FAST", "R_SLOW", "REG_TIMER", "NOISE", "GAIN", "STRATEGY", "FEED_EFF", "FLAGS",
    "R_TARGET", "IN_LINE", "KAPPA", "T_LIQ", "C_SAT", "RATIO", "CE", "ENTHALPY", "AE_ANODE", "I_THERMAL",
    "LOSS_W", "STIR_I", "STIR",
    # terms held between refreshes (slow cadence or a change of current)
    "I_LAST", "I_A", "I_C", "D_B", "INV_I", "PCT", "E_REV", "ETA_CONC", "ETA_SURF", "ETA_CATH", "G", "PHI_BASE",
    "E_PROC", "E_CARBON", "CE_I", "TAFEL_I", "CATHODE_I", "CE_LOSS_I",
    # values of the last step, for the outputs
    "V_BATH", "V_BUBBLE", "V_NOISE", "V_AE", "V_CELL", "R_PSEUDO", "I_DONE",
    # accumulators over the call
    "A_CHARGE", "A_E_IN", "A_E_EXT", "A_E_RX", "A_E_FEED", "A_E_C", "A_TOP", "A_BOTTOM", "A_SIDE_B", "A_SIDE_M", "A_HX",
    "A_GAS", "A_NA2O_ALF3", "A_NA2O_CRYO", "A_CAO_ALF3", "A_CAO_CAF2", "A_AL", "A_FED", "A_CONSUMED", "A_DEFICIT",
    "A_AE_COUNT", "A_AE_S", "A_SHOTS", "A_MOVES", "A_ALF3", "A_VS",
    # anode-effect events of the step (0 none, 1 onset, 2 end) and their value; events recorded per lane
    "EV_CODE", "EV_VALUE", "EV_COUNT",
)
N_ROWS = len(_R)
BUFFER_SIZE = N_ROWS * LANES

M_DISS = _R["M_DISS"]
M_UNDISS = _R["M_UNDISS"]
T = _R["T"]
M_BATH = _R["M_BATH"]
M_ALF3 = _R["M_ALF3"]
M_CAF2 = _R["M_CAF2"]
M_METAL = _R["M_METAL"]
ACD = _R["ACD"]
AGE = _R["AGE"]
AE = _R["AE"]
AE_TIME = _R["AE_TIME"]
KILL = _R["KILL"]
MODE = _R["MODE"]
MODE_TIME = _R["MODE_TIME"]
DEMAND = _R["DEMAND"]
R_FAST = _R["R_FAST"]
R_SLOW = _R["R_SLOW"]
REG_TIMER = _R["REG_TIMER"]
NOISE = _R["NOISE"]
GAIN = _R["GAIN"]
STRATEGY = _R["STRATEGY"]
FEED_EFF = _R["FEED_EFF"]
FLAGS = _R["FLAGS"]
R_TARGET = _R["R_TARGET"]
IN_LINE = _R["IN_LINE"]
KAPPA = _R["KAPPA"]
T_LIQ = _R["T_LIQ"]
C_SAT = _R["C_SAT"]
RATIO = _R["RATIO"]
CE = _R["CE"]
ENTHALPY = _R["ENTHALPY"]
AE_ANODE = _R["AE_ANODE"]
I_THERMAL = _R["I_THERMAL"]
LOSS_W = _R["LOSS_W"]  # the liquids' heat loss booked each step between thermal updates (W)
STIR_I = _R["STIR_I"]  # the mean current (A) of the last thermal update's stirring factor (−1: none yet)
STIR = _R["STIR"]  # that stirring factor (twin.cell.physics.stirring_factor)
I_LAST = _R["I_LAST"]
I_A = _R["I_A"]
I_C = _R["I_C"]
D_B = _R["D_B"]
INV_I = _R["INV_I"]
PCT = _R["PCT"]
E_REV = _R["E_REV"]
ETA_CONC = _R["ETA_CONC"]
ETA_SURF = _R["ETA_SURF"]
ETA_CATH = _R["ETA_CATH"]
G = _R["G"]
PHI_BASE = _R["PHI_BASE"]
E_PROC = _R["E_PROC"]
E_CARBON = _R["E_CARBON"]
CE_I = _R["CE_I"]  # the CE at the lane's current (CE holds it at the nominal current)
# terms of the voltage and the CE that move with the lane's current only, refreshed when it changes
TAFEL_I = _R["TAFEL_I"]  # physics.tafel_current_term
CATHODE_I = _R["CATHODE_I"]  # physics.cathode_current_term
CE_LOSS_I = _R["CE_LOSS_I"]  # physics.ce_loss_factor
V_BATH = _R["V_BATH"]
V_BUBBLE = _R["V_BUBBLE"]
V_NOISE = _R["V_NOISE"]
V_AE = _R["V_AE"]
V_CELL = _R["V_CELL"]
R_PSEUDO = _R["R_PSEUDO"]
I_DONE = _R["I_DONE"]
A_CHARGE = _R["A_CHARGE"]
A_E_IN = _R["A_E_IN"]
A_E_EXT = _R["A_E_EXT"]
A_E_RX = _R["A_E_RX"]
A_E_FEED = _R["A_E_FEED"]
A_E_C = _R["A_E_C"]
A_TOP = _R["A_TOP"]
A_BOTTOM = _R["A_BOTTOM"]
A_SIDE_B = _R["A_SIDE_B"]
A_SIDE_M = _R["A_SIDE_M"]
A_HX = _R["A_HX"]
A_GAS = _R["A_GAS"]
A_NA2O_ALF3 = _R["A_NA2O_ALF3"]
A_NA2O_CRYO = _R["A_NA2O_CRYO"]
A_CAO_ALF3 = _R["A_CAO_ALF3"]
A_CAO_CAF2 = _R["A_CAO_CAF2"]
A_AL = _R["A_AL"]
A_FED = _R["A_FED"]
A_CONSUMED = _R["A_CONSUMED"]
A_DEFICIT = _R["A_DEFICIT"]
A_AE_COUNT = _R["A_AE_COUNT"]
A_AE_S = _R["A_AE_S"]
A_SHOTS = _R["A_SHOTS"]
A_MOVES = _R["A_MOVES"]
A_ALF3 = _R["A_ALF3"]
A_VS = _R["A_VS"]
EV_CODE = _R["EV_CODE"]
EV_VALUE = _R["EV_VALUE"]
EV_COUNT = _R["EV_COUNT"]
