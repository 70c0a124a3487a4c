"""Slow, obvious plain-Python twins of the cell physics and of the step kernel.

Written from the equations in ``../shared/docs/physics.md`` §1 and in the docstrings of ``twin.cell.kernel``,
``twin.cell.thermal`` and ``twin.cell.chemistry`` — never by calling the numba code. Only row/parameter
indices and constants that are definitions, not physics (``twin.cell.layout``), and documented numeric
constants (molar masses, the liquidus range, the ledge floor, the sub-step length) are shared by value.

Conventions reproduced here (kernel and thermal docstrings):

* explicit Euler, one step = ``dt`` seconds, cells see ``line_current[k] * in_line``;
* the slow terms (κ, T_liq, C_sat, bath ratio, CE), the log electrochemical terms, ``100/m_bath``, the
  limit checks and the noise-gain decay are refreshed when the global step count is a multiple of
  ``slow_every``; the current-dependent terms (and with them the voltage terms, ``100/m_bath`` and the
  limit checks) are also recomputed whenever the cell current changes, including the first step of a call;
* the thermal network (liquids, anode-and-cover and cathode-and-lining nodes, two ledge fronts, massless
  shells) is advanced at each slow refresh over the steps since the last one, and once more at the end of
  each call, with the mean current of those steps, in explicit-Euler sub-steps of at most 300 s; the
  liquids' temperature follows from the enthalpy H = (m_bath c_bath + m_metal c_metal)(T − T_ref) at those
  updates only; mass that freezes, melts, forms or leaves counts at T_ref; every step also takes from H the
  liquids' mean loss of the last update (``liquids_loss_W``), and each sub-step of an update gives its share
  back as it takes the losses it computes, then the update stores the new mean (thermal docstring,
  operator splitting);
* events: an anode-effect onset/end belongs to the end of the step (reported at step k + 1), a limit
  crossing is detected at a refresh at the start of step k (reported at k). The run stops after the
  complete step with a stopping AE event, or before step k for a stopping limit event, for *all* cells —
  i.e. the semantics of a step-outer loop, which is how this reference is written;
* noise: per-cell Marsaglia xorshift64 (13, 7, 17), top 53 bits mapped to [-1, 1).

``Model.counts`` counts how often each branch of the thermal and chemistry model ran (ledge freeze and melt,
ledge floor, superheat floor, Na2O limited by the AlF3 available, exchanger capped at the air temperature,
liquidus clamped), so a test can show that its window exercised them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from twin.cell import layout as L

F = 96485.33212
R_GAS = 8.314462618
M_AL = 26.9815385e-3
M_AL2O3 = 101.961276e-3
KELVIN = 273.15
MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------------------------------------------
# physics functions (physics.md §1.1-1.4)
# ---------------------------------------------------------------------------------------------------
def bath_ratio(alf3: float, al2o3: float, caf2: float, lif: float, mgf2: float) -> float:
    """NaF/AlF3 weight ratio; x is the AlF3 share of the cryolite-plus-AlF3 part (physics.md §1.1)."""
    solvent = 100.0 - al2o3 - caf2 - lif - mgf2
    x = alf3 / solvent
    return 3.0 * (1.0 - x) / (2.0 + 3.0 * x)


def alumina_saturation(t_c: float, alf3: float, caf2: float, lif: float, mgf2: float) -> float:
    """Skybakmoen, Solheim & Sterten 1997 (MMTB 28:81): C_sat = A (t/1000)^B, t in °C."""
    prod = alf3 * lif
    a = 11.9 - 0.062 * alf3 - 0.0031 * alf3**2 - 0.2 * caf2 - 0.5 * lif - 0.3 * mgf2 + 42.0 * prod / (2000.0 + prod)
    b = 4.8 - 0.048 * alf3 + 2.2 * math.pow(lif, 1.5) / (10.0 + lif + 0.001 * alf3**3)
    return a * math.exp(b * math.log(t_c / 1000.0))


def alumina_activity(r: float) -> float:
    """Haupin 1998 eq. 10, r = C/C_sat."""
    return -0.03791 * r + 2.364 * r**2 - 2.194 * r**3 + 0.8686 * r**4


def reversible_voltage(t_c: float, activity: float) -> float:
    """Haupin 1998 eq. 5: E = 1.896 − 0.000572 T_K + (R T_K / 12F) ln(1/a²)."""
    t_k = t_c + KELVIN
    return 1.896 - 0.000572 * t_k + R_GAS * t_k / (12.0 * F) * math.log(1.0 / activity**2)


def critical_current_density(t_c: float, al2o3: float, single_anode_cm2: float) -> float:
    """Grjotheim & Welch 1988 ch. 5 eq. 13 (A/cm²)."""
    t_k = t_c + KELVIN
    return (550000.0 + 1800.0 * (t_k - 1323.0)) * 1e-4 * ((al2o3 / 100.0) ** 0.5 - 0.04) / single_anode_cm2**0.1


def anode_concentration_overvoltage(t_c: float, i_a: float, i_crit: float) -> float:
    """Haupin 1998 eq. 23, with i_crit − i_a floored at 1 % of i_crit (CellModel clamp)."""
    gap = i_crit - i_a
    if gap < 0.01 * i_crit:
        gap = 0.01 * i_crit
    return (t_c + KELVIN) / 23209.0 * math.log(i_crit / gap)


def anode_surface_overvoltage(t_c: float, i_a: float, al2o3: float) -> float:
    """Haupin 1998 eq. 26: (T_K/12533) ln(i_a/i_r), i_r = 0.0029 C^0.56."""
    i_r = 0.0029 * al2o3**0.56
    return (t_c + KELVIN) / 12533.0 * math.log(i_a / i_r)


def cathode_overvoltage(t_c: float, i_c: float, ratio: float) -> float:
    """Haupin 1998 eq. 28."""
    return 5.7448e-5 * (t_c + KELVIN) * (1.375 - 0.25 * ratio) * math.log(3.891 * i_c)


def bubble_thickness(i_a: float) -> float:
    """Haupin 1998 eq. 30 (cm)."""
    return (0.5517 + i_a) / (1.0 + 2.167 * i_a)


def bubble_coverage(i_a: float, ratio: float, al2o3: float, al2o3_ae: float) -> float:
    """Haupin 1998 eq. 31; C − C_AE floored at 0."""
    d = al2o3 - al2o3_ae if al2o3 > al2o3_ae else 0.0
    poly = 0.509 + 0.1823 * i_a - 0.1723 * i_a**2 + 0.05504 * i_a**3
    return 0.9 * (poly + (0.4322 - 0.3781 * ratio) / (1.0 + 1.637 * ratio) + (0.431 - 0.1437 * d) / (1.0 + 7.353 * d))


def bath_conductivity(t_c: float, alf3: float, al2o3: float, caf2: float, lif: float, mgf2: float) -> float:
    """Wang, Peterson & Tabereaux 1993 form as in CellModel BathProperties.py (S/cm)."""
    naf = 0.6 * (100.0 - alf3 - al2o3 - caf2 - lif - mgf2)
    mol_naf_side = (naf / 41.99 + lif / 25.94 - mgf2 / 62.31) / 2.0
    mol_alf3_side = (alf3 + 2.0 * naf / 3.0) / 83.98
    bwr = mol_naf_side / mol_alf3_side
    exponent = 1.9362 + 0.3092 * bwr - 0.004132 * caf2 - 0.01755 * al2o3 + 0.008123 * lif - 0.00398 * mgf2
    return math.exp(exponent - 1751.1 / (t_c + KELVIN))


def liquidus_temperature(alf3: float, al2o3: float, caf2: float, lif: float, mgf2: float) -> float:
    """Solheim et al. 1996 (MMTB 27B:739), coefficients 0.50 and ^2.2 (physics.md §1.3), KF = 0."""
    t = 1011.0 + 0.50 * alf3 - 0.13 * math.pow(alf3, 2.2)
    t += -3.45 * caf2 / (1.0 + 0.0173 * caf2) + 0.124 * caf2 * alf3 - 0.00542 * math.pow(caf2 * alf3, 1.5)
    t -= 7.93 * al2o3 / (1.0 + 0.0936 * al2o3 - 0.0017 * al2o3**2 - 0.0023 * alf3 * al2o3)
    t -= 8.90 * lif / (1.0 + 0.0047 * lif + 0.0010 * alf3**2)
    return t - 3.95 * mgf2


def current_efficiency(superheat: float, alf3: float, lif: float, constant: float) -> float:
    """Dewing 1991: log10(loss %) = 0.0095 SH − 0.019 AlF3 − 0.060 LiF + const."""
    sh = min(max(superheat, -10.0), 30.0)  # the law is applied over superheat -10..30 K only
    log_loss = 0.0095 * sh - 0.019 * alf3 - 0.060 * lif + constant
    return 1.0 - math.pow(10.0, log_loss) / 100.0


def xorshift64(x: int) -> int:
    """Marsaglia (2003) xorshift64 with shifts 13, 7, 17."""
    x ^= (x << 13) & MASK64
    x ^= x >> 7
    x ^= (x << 17) & MASK64
    return x


def symmetric_uniform(x: int) -> float:
    """Top 53 bits of ``x`` as a float in [-1, 1)."""
    return (x >> 11) / 2.0**52 - 1.0


# ---------------------------------------------------------------------------------------------------
# heat transfer and bath chemistry (physics.md §1.6; twin.cell.thermal and twin.cell.chemistry docstrings)
# ---------------------------------------------------------------------------------------------------
SIGMA = 5.670374419e-8  # W/(m² K⁴), Stefan–Boltzmann (CODATA 2018)
M_NA2O = 61.979e-3  # kg/mol
M_ALF3 = 83.977e-3  # kg/mol
M_CAO = 56.077e-3  # kg/mol
SOLHEIM_MAX = {"alf3": 20.0, "caf2": 20.0, "lif": 20.0, "mgf2": 5.0}  # wt %, fitted range of Solheim 1996
LEDGE_FLOOR_CM = 0.05
MAX_SUBSTEP_S = 300.0
MIN_LIQUID_BATH_FRACTION = 0.02  # the superheat floor leaves at least 2 % of the nominal bath liquid
FLOOR_ITERATIONS = 6  # false-position steps of the superheat floor's frozen mass


# graphite c_p, cal/(g K), T in K (Butland & Maddison 1973 via the NIST WebBook; twin.cell.physics integrates it
# in closed form, this reference by 12-point Gauss-Legendre quadrature on each 100-K piece)
CP_GRAPHITE = (0.538657, 9.11129e-6, -90.2725, -43449.3, 1.59309e7, -1.43688e9)
CARBON_KG_PER_KG_AL = 3 * 12.011e-3 / (4 * M_AL)
_GAUSS_X, _GAUSS_W = np.polynomial.legendre.leggauss(12)


def carbon_heat(t_from_c: float, t_to_c: float) -> float:
    """J/kg to take graphite from ``t_from_c`` to ``t_to_c`` (°C; both clamped to the fit's 250-3000 K)."""
    lo, hi = (min(max(t, 250.0 - KELVIN), 3000.0 - KELVIN) + KELVIN for t in (t_from_c, t_to_c))
    pieces = max(math.ceil(abs(hi - lo) / 100.0), 1)
    total = 0.0
    for n in range(pieces):
        a = lo + (hi - lo) * n / pieces
        b = lo + (hi - lo) * (n + 1) / pieces
        for x, wgt in zip(_GAUSS_X, _GAUSS_W, strict=True):
            t = 0.5 * (a + b) + 0.5 * (b - a) * x
            cp = sum(c * t**e for c, e in zip(CP_GRAPHITE, (0, 1, -1, -2, -3, -4), strict=True))
            total += 0.5 * (b - a) * wgt * cp
    return total * 4184.0


def liquidus_in_range(alf3: float, al2o3: float, caf2: float, lif: float, mgf2: float, al2o3_sat: float) -> float:
    """Solheim's liquidus with AlF3, CaF2, LiF and MgF2 clamped into the range it was fitted on (wt %) and the
    alumina clamped to [0, saturation] ("Al2O3 up to saturation", physics.md §1.3)."""
    lim = SOLHEIM_MAX
    return liquidus_temperature(min(max(alf3, 0.0), lim["alf3"]), min(max(al2o3, 0.0), max(al2o3_sat, 0.0)),
                                min(max(caf2, 0.0), lim["caf2"]), min(lif, lim["lif"]), min(mgf2, lim["mgf2"]))


def saturation_in_range(t_c: float, alf3: float, caf2: float, lif: float, mgf2: float) -> float:
    """Skybakmoen's solubility at the composition clamped into Solheim's range (both correlations share it)."""
    lim = SOLHEIM_MAX
    return alumina_saturation(t_c, min(max(alf3, 0.0), lim["alf3"]), min(max(caf2, 0.0), lim["caf2"]),
                              min(lif, lim["lif"]), min(mgf2, lim["mgf2"]))


def stirring(current_A: float, nominal_A: float, still: float, exponent: float) -> float:
    """Film coefficient relative to nominal: still + (1 − still)·(I/I_nom)^n with I/I_nom in [0, 2]."""
    x = current_A / nominal_A
    x = 0.0 if x < 0.0 else (2.0 if x > 2.0 else x)
    return still + (1.0 - still) * math.pow(x, exponent)


def current_efficiency_at(
    ce_nominal: float, current_A: float, nominal_A: float, still: float, exponent: float
) -> float:
    """The CE loss flux is a current density of its own, ∝ the stirring (Sterten & Solli 1996; Solheim et al.
    LM 2018): its share of the current, (1 − CE_nom)·s(I)·I_nom/I, with I/I_nom held to [0.5, 1.5]."""
    x = min(max(current_A / nominal_A, 0.5), 1.5)
    return 1.0 - (1.0 - ce_nominal) * stirring(x * nominal_A, nominal_A, still, exponent) / x


def shell_coefficient(shell_c: float, air_c: float, h_conv: float, emissivity: float) -> float:
    """Convection plus linearised grey-body radiation, W/(m² K): h + εσ(Ts⁴ − Ta⁴)/(Ts − Ta)."""
    ts, ta = shell_c + KELVIN, air_c + KELVIN
    return h_conv + emissivity * SIGMA * (ts + ta) * (ts**2 + ta**2)


def massless_shell(t_in: float, r_in: float, g_out: float, t_air: float, duty: float) -> tuple[float, float]:
    """Shell temperature and exchanger duty delivered: (t_in − T_s)/r_in = g_out (T_s − t_air) + D, D ≥ 0,
    and an exchanger never cools the shell below the air (then D is what the inner path brings)."""
    d = duty if duty > 0.0 else 0.0
    t_s = (t_in / r_in + g_out * t_air - d) / (1.0 / r_in + g_out)
    if d > 0.0 and t_s < t_air:
        t_s = t_air
        d = (t_in - t_air) / r_in
        d = d if d > 0.0 else 0.0
    return t_s, d


def na2o_neutralisation(na2o: float, alf3_available: float) -> tuple[float, float, float, bool]:
    """3 Na2O + 4 AlF3 → 2 Na3AlF6 + Al2O3: (AlF3 used, cryolite formed, alumina formed, limited by AlF3).

    The reaction stops when the excess AlF3 runs out; all Na2O then ends in the solvent (cryolite), so the
    cryolite formed closes the mass balance: Na2O + AlF3 used − alumina formed.
    """
    wanted = na2o * 4.0 * M_ALF3 / (3.0 * M_NA2O)
    limited = wanted > alf3_available
    used = alf3_available if limited else wanted
    alumina = used * 3.0 * M_NA2O / (4.0 * M_ALF3) * M_AL2O3 / (3.0 * M_NA2O)
    return used, na2o + used - alumina, alumina, limited


def cao_to_caf2(cao: float, alf3_available: float) -> tuple[float, float, float, float, bool]:
    """3 CaO + 2 AlF3 → 3 CaF2 + Al2O3: (AlF3 used, CaF2 formed, alumina formed, CaO unreacted, limited by AlF3).

    Counted in moles of reaction: each mole takes 3 mol CaO and 2 mol AlF3 and gives 3 mol CaF2 and 1 mol
    Al2O3; CaO left when the excess AlF3 runs out stays in the solvent. The CaF2 closes the mass balance
    (CaO reacted + AlF3 used − alumina formed), as the cryolite does for Na2O.
    """
    wanted = cao * 2.0 * M_ALF3 / (3.0 * M_CAO)
    limited = wanted > alf3_available
    used = alf3_available if limited else wanted
    extent = used / (2.0 * M_ALF3)
    reacted, alumina = 3.0 * extent * M_CAO, extent * M_AL2O3
    return used, reacted + used - alumina, alumina, cao - reacted, limited


# ---------------------------------------------------------------------------------------------------
# the step model, one cell at a time
# ---------------------------------------------------------------------------------------------------
STATE_KEYS = L.STATE_NAMES
LEVELS = (  # ledge level: (thickness, area, film coefficient, shell temperature)
    ("ledge_bath_cm", L.P_LEDGE_AREA_BATH_M2, L.P_H_BATH_LEDGE, "shell_bath_degC"),
    ("ledge_metal_cm", L.P_LEDGE_AREA_METAL_M2, L.P_H_METAL_LEDGE, "shell_metal_degC"),
)


class Cell:
    """One cell: its state by name plus the per-call working values (held terms, pending thermal steps)."""

    def __init__(self, column: np.ndarray, rng_word: int) -> None:
        self.s = {name: float(column[row]) for row, name in enumerate(STATE_KEYS)}
        self.x = int(rng_word)
        self.w: dict[str, float] = {}  # held values and last-step outputs
        self.acc = dict.fromkeys(L.ACC_NAMES, 0.0)
        self.events: list[tuple[int, int, int, float]] = []

    def copy(self) -> Cell:
        twin = Cell.__new__(Cell)
        twin.s = dict(self.s)
        twin.x = self.x
        twin.w = dict(self.w)
        twin.acc = dict(self.acc)
        twin.events = list(self.events)
        return twin


class Model:
    """Parameters unpacked into names, plus the per-step rules of the kernel docstring."""

    def __init__(self, params: Sequence[float], dt: float) -> None:
        p = [float(v) for v in params]
        self.p = p
        self.dt = dt
        self.area = p[L.P_FANNING] * p[L.P_ANODE_AREA_CM2]
        self.slow_every = max(int(p[L.P_SLOW_EVERY]), 1)
        self.r_ohmic = p[L.P_R_ANODE_OHM] + p[L.P_R_CATHODE_OHM] + p[L.P_R_EXTERNAL_OHM] + p[L.P_R_CALIBRATION_OHM]
        self.noise_a = math.exp(-dt / p[L.P_NOISE_TAU_S])
        # uniform on [-1, 1) has variance 1/3: scale so the filtered noise has the stated RMS
        self.noise_b = p[L.P_NOISE_OHM] * math.sqrt(3.0 * (1.0 - self.noise_a**2))
        self.gain_decay = math.exp(-dt * self.slow_every / (4.0 * 3600.0))
        self.metal_cm_per_kg = 100.0 / (p[L.P_METAL_DENSITY] * p[L.P_CAVITY_AREA_M2])
        self.counts: dict[str, int] = {}

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    # --- composition and slow terms ---------------------------------------------------------------
    def composition(self, s: dict[str, float]) -> tuple[float, float, float]:
        """(Al2O3, excess AlF3, CaF2) in wt % of bath_kg (chemistry docstring convention)."""
        m = s["bath_kg"]
        return 100.0 * s["alumina_dissolved_kg"] / m, 100.0 * s["alf3_kg"] / m, 100.0 * s["caf2_kg"] / m

    def saturation(self, t: float, alf3: float, caf2: float) -> float:
        return saturation_in_range(t, alf3, caf2, self.p[L.P_LIF_WTPCT], self.p[L.P_MGF2_WTPCT])

    def liquidus(self, alf3: float, al2o3: float, caf2: float, al2o3_sat: float) -> float:
        """Solheim's liquidus at the composition clamped into its fitted range (never extrapolated)."""
        p = self.p
        if not (0.0 <= alf3 <= SOLHEIM_MAX["alf3"] and 0.0 <= caf2 <= SOLHEIM_MAX["caf2"] and al2o3 <= al2o3_sat):
            self.count("liquidus_clamped")
        return liquidus_in_range(alf3, al2o3, caf2, p[L.P_LIF_WTPCT], p[L.P_MGF2_WTPCT], al2o3_sat)

    def liquid_liquidus(self, s: dict[str, float]) -> float:
        al2o3, alf3, caf2 = self.composition(s)
        return self.liquidus(alf3, al2o3, caf2, self.saturation(max(s["temperature_degC"], 900.0), alf3, caf2))

    def freezable(self, s: dict[str, float]) -> float:
        """Most liquid that can freeze before the liquid's cryolite is used up (chemistry.freezable_kg)."""
        p = self.p
        f = p[L.P_LEDGE_ENTRAPPED_FRACTION]
        held = (p[L.P_MGF2_WTPCT] + p[L.P_LIF_WTPCT]) / 100.0
        cryolite = max(s["bath_kg"] * (1.0 - held) - s["alf3_kg"] - s["caf2_kg"], 0.0)
        liquid = s["bath_kg"] + s["alumina_dissolved_kg"]
        return cryolite / ((1.0 - f) + f * cryolite / liquid)

    def slow_terms(self, s: dict[str, float]) -> None:
        p = self.p
        al2o3, alf3, caf2 = self.composition(s)
        mgf2, lif = p[L.P_MGF2_WTPCT], p[L.P_LIF_WTPCT]
        t = s["temperature_degC"]
        # bath properties at the composition clamped to the fitted range and no colder than 900 °C (slow.py)
        t_b = max(t, 900.0)
        c_sat = self.saturation(t_b, alf3, caf2)
        t_liq = self.liquidus(alf3, al2o3, caf2, c_sat)
        alf3 = min(max(alf3, 0.0), SOLHEIM_MAX["alf3"])
        caf2 = min(max(caf2, 0.0), SOLHEIM_MAX["caf2"])
        s["kappa_S_per_cm"] = bath_conductivity(t_b, alf3, al2o3, caf2, lif, mgf2)
        s["liquidus_degC"] = t_liq
        s["alumina_saturation_wtpct"] = c_sat
        s["bath_ratio"] = bath_ratio(alf3, al2o3, caf2, lif, mgf2)
        s["current_efficiency"] = current_efficiency(t - t_liq, alf3, lif, p[L.P_DEWING_CONSTANT])

    # --- ledge chemistry ----------------------------------------------------------------------------
    def ledge_kg(self, s: dict[str, float]) -> float:
        p = self.p
        cm_m2 = s["ledge_bath_cm"] * p[L.P_LEDGE_AREA_BATH_M2] + s["ledge_metal_cm"] * p[L.P_LEDGE_AREA_METAL_M2]
        return p[L.P_LEDGE_DENSITY] * cm_m2 / 100.0

    def freeze(self, s: dict[str, float], kg: float) -> None:
        """kg of ledge grows from the liquid: (1 − f) kg cryolite and f kg of liquid at its composition."""
        entrapped = self.p[L.P_LEDGE_ENTRAPPED_FRACTION] * kg
        liquid = s["bath_kg"] + s["alumina_dissolved_kg"]
        moved = {k: entrapped * s[k] / liquid for k in ("alf3_kg", "caf2_kg", "alumina_dissolved_kg")}
        s["alf3_kg"] -= moved["alf3_kg"]
        s["caf2_kg"] -= moved["caf2_kg"]
        s["alumina_dissolved_kg"] -= moved["alumina_dissolved_kg"]
        s["bath_kg"] -= kg - moved["alumina_dissolved_kg"]  # bath_kg holds all liquid but the alumina
        s["ledge_alf3_kg"] += moved["alf3_kg"]
        s["ledge_caf2_kg"] += moved["caf2_kg"]
        s["ledge_alumina_kg"] += moved["alumina_dissolved_kg"]

    def melt(self, s: dict[str, float], kg: float) -> None:
        """kg of ledge returns to the liquid at the mean composition of the ledge of both levels."""
        total = self.ledge_kg(s)
        frac = min(kg / total, 1.0) if total > 0.0 else 0.0
        back = {k: frac * s[k] for k in ("ledge_alf3_kg", "ledge_caf2_kg", "ledge_alumina_kg")}
        for k, v in back.items():
            s[k] -= v
        s["alf3_kg"] += back["ledge_alf3_kg"]
        s["caf2_kg"] += back["ledge_caf2_kg"]
        s["alumina_dissolved_kg"] += back["ledge_alumina_kg"]
        s["bath_kg"] += kg - back["ledge_alumina_kg"]

    def move_ledge(self, s: dict[str, float], level: str, area_key: int, kg: float) -> None:
        if kg > 0.0:
            self.freeze(s, kg)
            self.count("ledge_freeze")
        elif kg < 0.0:
            self.melt(s, -kg)
            self.count("ledge_melt")
        s[level] += kg / (self.p[L.P_LEDGE_DENSITY] * self.p[area_key] / 100.0)

    # --- thermal network, applied over `span` seconds (thermal docstring) --------------------------------
    def side(self, s: dict[str, float], T: float, t_liq: float, level: str, area: float, film: float,
             shell: float, duty: float, h: float) -> tuple[float, float, float, float, float]:
        """One ledge level over h s: (kg frozen, J from the liquids, J to the air, J to the exchanger, shell °C).

        Stefan: ρ L A dδ/dt = q − G (T − T_liq), q = (T_liq − T_s)/(δ/(k A) + R_lining/A) through ledge and
        lining to the massless shell; below the floor δ = 0.05 cm the liquids' heat passes film, ledge,
        lining and shell in series from T.
        """
        p = self.p
        t_air, lat = p[L.P_T_AMBIENT], p[L.P_LEDGE_LATENT]
        r_wall = (s[level] / 100.0) / (p[L.P_LEDGE_K] * area) + p[L.P_R_LINING_SIDE] / area
        g_out = area * shell_coefficient(shell, t_air, p[L.P_H_SHELL_CONVECTION], p[L.P_SHELL_EMISSIVITY])
        t_s, d = massless_shell(t_liq, r_wall, g_out, t_air, duty)
        q = (t_liq - t_s) / r_wall
        g_film = film * area
        kg = (q - g_film * (T - t_liq)) * h / lat
        kg_per_cm = p[L.P_LEDGE_DENSITY] * area / 100.0
        most_melted = -(s[level] - LEDGE_FLOOR_CM) * kg_per_cm
        if kg >= most_melted:
            return kg, g_film * (T - t_liq) * h, g_out * (t_s - t_air) * h, d * h, t_s
        self.count("ledge_floor")
        r_series = 1.0 / g_film + r_wall
        t_s, d = massless_shell(T, r_series, g_out, t_air, duty)
        through = (T - t_s) / r_series
        # the liquids carry the series flux and melt the ledge down to the floor
        return most_melted, through * h + lat * (-most_melted), g_out * (t_s - t_air) * h, d * h, t_s

    def thermal(self, c: Cell, span: float) -> None:
        p, s, w = self.p, c.s, c.w
        t_air, lat = p[L.P_T_AMBIENT], p[L.P_LEDGE_LATENT]
        area_b, area_m = p[L.P_LEDGE_AREA_BATH_M2], p[L.P_LEDGE_AREA_METAL_M2]
        i_mean = w["I_sum"] / w["pending"]
        stir = stirring(i_mean, p[L.P_I_NOMINAL_A], p[L.P_STIR_STILL_FRACTION], p[L.P_STIR_EXPONENT])
        duty = max(s["hx_duty_W"], 0.0)
        # split by the inner conductance (ledge + lining) of each level at the start of the span (thermal.py)
        g_b = area_b / (s["ledge_bath_cm"] / 100.0 / p[L.P_LEDGE_K] + p[L.P_R_LINING_SIDE])
        g_m = area_m / (s["ledge_metal_cm"] / 100.0 / p[L.P_LEDGE_K] + p[L.P_R_LINING_SIDE])
        duties = (duty * g_b / (g_b + g_m), duty * g_m / (g_b + g_m))
        n_sub = max(math.ceil(span / MAX_SUBSTEP_S), 1)
        h = span / n_sub
        ae_anode = w["ae_anode_J"] / n_sub
        H = w["H"]
        sums = dict.fromkeys(("top", "bottom", "side_b", "side_m", "hx"), 0.0)
        given_back = s["liquids_loss_W"] * h  # the provisional loss the steps took, per sub-step
        from_liquids = 0.0

        def cap() -> float:
            return s["bath_kg"] * p[L.P_CP_BATH] + s["metal_kg"] * p[L.P_CP_METAL]

        for _ in range(n_sub):
            T = L.T_REF_DEGC + H / cap()
            t_liq = s["liquidus_degC"]
            t_a, t_c = s["anode_temp_degC"], s["cathode_temp_degC"]
            q_la = stir * (T - t_a) / p[L.P_R_LIQ_ANODE]
            q_top = (t_a - t_air) / p[L.P_R_ANODE_AIR]
            q_lc = (T - t_c) / p[L.P_R_LIQ_CATHODE]
            q_bottom = (t_c - t_air) / p[L.P_R_CATHODE_AIR]
            sides = [
                self.side(s, T, t_liq, level, p[area_key], stir * p[film_key], s[shell_key], d, h)
                for (level, area_key, film_key, shell_key), d in zip(LEVELS, duties, strict=True)
            ]
            # the ledge grows only while the liquid holds cryolite: what cannot freeze, the liquids pay
            wanted = max(sides[0][0], 0.0) + max(sides[1][0], 0.0)
            limit = self.freezable(s)
            if wanted > limit:
                self.count("freeze_capped")
                share = limit / wanted
                sides = [
                    (kg * share, liq + lat * kg * (1.0 - share), *rest) if kg > 0.0 else (kg, liq, *rest)
                    for kg, liq, *rest in sides
                ]
            taken = (q_la + q_lc) * h + sides[0][1] + sides[1][1]
            H += given_back - taken
            from_liquids += taken
            s["anode_temp_degC"] = t_a + ((q_la - q_top) * h + ae_anode) / p[L.P_C_ANODE_J_PER_K]
            s["cathode_temp_degC"] = t_c + (q_lc - q_bottom) * h / p[L.P_C_CATHODE_J_PER_K]
            for (_, _, _, shell_key), side, d in zip(LEVELS, sides, duties, strict=True):
                s[shell_key] = side[4]
                if side[3] < d * h:
                    self.count("hx_capped")
            for (level, area_key, _, _), side in zip(LEVELS, sides, strict=True):
                self.move_ledge(s, level, area_key, side[0])
            # superheat floor: a mixed bath freezes onto the ledge until its latent heat brings T to the liquidus
            # of the composition the sub-step left, evaluated after every sub-step
            T = L.T_REF_DEGC + H / cap()
            t_liq = self.liquid_liquidus(s)
            if t_liq > T:
                self.count("superheat_floor")
                room = max(min(s["bath_kg"] - MIN_LIQUID_BATH_FRACTION * p[L.P_BATH_NOMINAL_KG],
                               self.freezable(s)), 0.0)
                kg = self.floor_freeze(s, H, T - t_liq, min(cap() * (t_liq - T) / lat, room), room)
                self.move_ledge(s, "ledge_bath_cm", L.P_LEDGE_AREA_BATH_M2, kg * area_b / (area_b + area_m))
                self.move_ledge(s, "ledge_metal_cm", L.P_LEDGE_AREA_METAL_M2, kg * area_m / (area_b + area_m))
                H += lat * kg
                t_liq = self.liquid_liquidus(s)
            s["liquidus_degC"] = t_liq
            sums["top"] += q_top * h
            sums["bottom"] += q_bottom * h
            sums["side_b"] += sides[0][2]
            sums["side_m"] += sides[1][2]
            sums["hx"] += sides[0][3] + sides[1][3]
            g_bottom = shell_coefficient(s["shell_bottom_degC"], t_air, p[L.P_H_BOTTOM_CONVECTION],
                                         p[L.P_BOTTOM_EMISSIVITY])
            s["shell_bottom_degC"] = t_air + q_bottom / (g_bottom * p[L.P_BOTTOM_SHELL_AREA_M2])
        s["temperature_degC"] = L.T_REF_DEGC + H / cap()
        s["liquids_loss_W"] = from_liquids / span
        w["H"] = H
        c.acc["loss_top_J"] += sums["top"]
        c.acc["loss_bottom_J"] += sums["bottom"]
        c.acc["loss_side_bath_J"] += sums["side_b"]
        c.acc["loss_side_metal_J"] += sums["side_m"]
        c.acc["heat_extracted_J"] += sums["hx"]
        w.update(q_top_W=sums["top"] / span, q_side_bath_W=sums["side_b"] / span,
                 q_side_metal_W=sums["side_m"] / span, q_bottom_W=sums["bottom"] / span, q_hx_W=sums["hx"] / span)
        w.update(pending=0.0, I_sum=0.0, ae_anode_J=0.0)

    def floor_freeze(self, s: dict[str, float], H: float, r0: float, guess: float, room: float) -> float:
        """Superheat floor (thermal docstring): the frozen mass m in [0, room] with T(m) = T_liq(m), by
        FLOOR_ITERATIONS Illinois false-position steps from the bracket [0, the one-step guess or room]; each
        trial freezes a copy."""
        p = self.p
        area_b, area_m = p[L.P_LEDGE_AREA_BATH_M2], p[L.P_LEDGE_AREA_METAL_M2]

        def residual(kg: float) -> float:
            trial, counts = dict(s), dict(self.counts)  # a trial is not a branch the window ran

            self.move_ledge(trial, "ledge_bath_cm", L.P_LEDGE_AREA_BATH_M2, kg * area_b / (area_b + area_m))
            self.move_ledge(trial, "ledge_metal_cm", L.P_LEDGE_AREA_METAL_M2, kg * area_m / (area_b + area_m))
            cap = trial["bath_kg"] * p[L.P_CP_BATH] + trial["metal_kg"] * p[L.P_CP_METAL]
            r = L.T_REF_DEGC + (H + p[L.P_LEDGE_LATENT] * kg) / cap - self.liquid_liquidus(trial)
            self.counts = counts
            return r

        # Illinois false position on [0, room] (thermal docstring), the bracket as one list: lo, r(lo), hi, r(hi)
        bracket = [0.0, r0, guess, residual(guess)]
        if bracket[3] < 0.0 and guess < room:
            bracket[2:] = [room, residual(room)]
        if bracket[3] <= 0.0:
            return bracket[2]
        last = 0  # which end the previous step replaced: -1 the low end, +1 the high end
        for _ in range(FLOOR_ITERATIONS):
            lo, r_lo, hi, r_hi = bracket
            m = (lo * r_hi - hi * r_lo) / (r_hi - r_lo)
            r = residual(m)
            if r == 0.0:
                return m
            if r < 0.0:  # the root lies above m; a high end kept twice has its residual halved
                bracket = [m, r, hi, r_hi * 0.5 if last < 0 else r_hi]
                last = -1
            else:
                bracket = [lo, r_lo * 0.5 if last > 0 else r_lo, m, r]
                last = 1
        lo, r_lo, hi, r_hi = bracket
        return (lo * r_hi - hi * r_lo) / (r_hi - r_lo)

    def start_call(self, c: Cell) -> None:
        p, s = self.p, c.s
        cap = s["bath_kg"] * p[L.P_CP_BATH] + s["metal_kg"] * p[L.P_CP_METAL]
        c.w.update(H=cap * (s["temperature_degC"] - L.T_REF_DEGC), pending=0.0, I_sum=0.0, ae_anode_J=0.0,
                   I_last=-1.0)

    def end_call(self, c: Cell) -> None:
        if c.w["pending"] > 0:
            self.thermal(c, c.w["pending"] * self.dt)

    # --- start of a step: refreshes and limit checks; returns True for "stop before this step" ------
    def pre_step(self, c: Cell, I: float, global_step: int, k: int, stop_mask: int) -> bool:
        p, s, w = self.p, c.s, c.w
        cadence = global_step % self.slow_every == 0
        if cadence:
            if w["pending"] > 0:
                self.thermal(c, w["pending"] * self.dt)
            self.slow_terms(s)
        current_changed = w["I_last"] != I
        if current_changed:
            w["I_last"] = I
        if not (cadence or current_changed):
            return False
        w["pct_per_kg"] = 100.0 / s["bath_kg"]
        T = s["temperature_degC"]
        lb, lm = s["ledge_bath_cm"], s["ledge_metal_cm"]
        frozen = 1.0 - s["bath_kg"] / p[L.P_BATH_NOMINAL_KG]  # share of the nominal bath not liquid
        alf3 = s["alf3_kg"] * w["pct_per_kg"]
        caf2 = s["caf2_kg"] * w["pct_per_kg"]
        lif, mgf2 = p[L.P_LIF_WTPCT], p[L.P_MGF2_WTPCT]
        lim = SOLHEIM_MAX
        al2o3 = s["alumina_dissolved_kg"] * w["pct_per_kg"]
        in_range = (0.0 <= alf3 <= lim["alf3"] and 0.0 <= caf2 <= lim["caf2"] and 0.0 <= lif <= lim["lif"]
                    and 0.0 <= mgf2 <= lim["mgf2"] and al2o3 <= s["alumina_saturation_wtpct"])
        # reported: the first component out of its range, AlF3, else CaF2, else alumina
        out_of_range = alf3 if alf3 > lim["alf3"] else (caf2 if caf2 > lim["caf2"] else al2o3)
        checks = (
            (L.LIMIT_FREEZE, L.EV_FREEZE_RISK, frozen > p[L.P_FROZEN_BATH_MAX_FRACTION], frozen),
            (L.LIMIT_HOT, L.EV_BATH_HOT, p[L.P_BATH_TEMP_MAX] < T, T),
            (L.LIMIT_THIN, L.EV_LEDGE_THIN, min(lb, lm) < p[L.P_LEDGE_MIN_CM], min(lb, lm)),
            (L.LIMIT_THICK, L.EV_LEDGE_THICK, max(lb, lm) > p[L.P_LEDGE_MAX_CM], max(lb, lm)),
            (L.LIMIT_LIQUIDUS, L.EV_LIQUIDUS_RANGE, not in_range, out_of_range),
        )
        old = int(s["limit_flags"])
        new = 0
        stop = False
        for bit, code, crossed, value in checks:
            if crossed:
                new |= bit
                if not old & bit:
                    c.events.append((k, code, -1, value))
                    stop = stop or bool(stop_mask >> code & 1)
        s["limit_flags"] = float(new)
        if stop:
            return True
        if cadence:
            s["noise_gain"] = 1.0 + (s["noise_gain"] - 1.0) * self.gain_decay
        # electrochemical terms at the held temperature and composition (Haupin 1998)
        i_cell = max(I, 1.0)
        i_a = i_cell / self.area
        c_eval = max(s["alumina_dissolved_kg"] * w["pct_per_kg"], 0.3)
        ratio = s["bath_ratio"]
        # the activity polynomial is negative below r ≈ 0.016: floored at 1e-4 as in the kernel
        act = max(alumina_activity(min(c_eval / s["alumina_saturation_wtpct"], 1.0)), 1e-4)
        t_ec = max(T, 900.0)  # kernel convention: a frozen-out cell's electrochemistry is evaluated at >= 900 °C
        w["e_rev"] = reversible_voltage(t_ec, act)
        i_crit = critical_current_density(t_ec, c_eval, p[L.P_SINGLE_ANODE_AREA_CM2])
        w["eta_conc"] = anode_concentration_overvoltage(t_ec, i_a, i_crit)
        # no current, no reaction or cathode overvoltage (the electrodes at equilibrium; twin.cell.lane_open)
        w["eta_surf"] = anode_surface_overvoltage(t_ec, i_a, c_eval) if I > 0.0 else 0.0
        w["eta_cath"] = cathode_overvoltage(t_ec, i_cell / p[L.P_CATHODE_AREA_CM2], ratio) if I > 0.0 else 0.0
        w["i_a"] = i_a
        w["d_b"] = bubble_thickness(i_a)
        w["ohm_per_cm"] = 1.0 / (s["kappa_S_per_cm"] * self.area)
        w["ce_at_current"] = current_efficiency_at(
            s["current_efficiency"], I, p[L.P_I_NOMINAL_A], p[L.P_STIR_STILL_FRACTION], p[L.P_STIR_EXPONENT]
        )
        return False

    # --- the step itself; returns True if a stopping AE event happened ------------------------------
    def step(self, c: Cell, I: float, k: int, stop_mask: int) -> bool:
        p, s, w, acc, dt = self.p, c.s, c.w, c.acc, self.dt
        ce = w["ce_at_current"]
        c_ae = p[L.P_ALUMINA_AE_WTPCT]
        pct = w["pct_per_kg"]
        al2o3 = s["alumina_dissolved_kg"] * pct
        c_eval = max(al2o3, 0.3)
        phi = bubble_coverage(w["i_a"], s["bath_ratio"], c_eval, c_ae)
        v_bath = I * (s["acd_cm"] - w["d_b"]) * w["ohm_per_cm"]
        v_bubble = I * w["d_b"] * phi / (1.0 - phi) * w["ohm_per_cm"]
        c.x = xorshift64(c.x)
        s["noise_ohm"] = self.noise_a * s["noise_ohm"] + self.noise_b * symmetric_uniform(c.x)
        v_noise = I * s["noise_ohm"] * s["noise_gain"]
        v_normal = (w["e_rev"] + w["eta_conc"] + w["eta_surf"] + w["eta_cath"] + v_bath + v_bubble
                    + I * self.r_ohmic + v_noise)
        v_cell = p[L.P_AE_VOLTAGE] if s["ae_active"] == 1.0 else v_normal
        w.update(v_cell=v_cell, v_bath=v_bath, v_bubble=v_bubble, v_noise=v_noise,
                 v_ae=v_cell - v_normal, I=I)

        # Faraday's law and Yao 2017 alumina balance
        charge = I * dt
        al_made = ce * charge * M_AL / (3.0 * F)
        consumed = ce * charge * M_AL2O3 / (6.0 * F)
        deficit = max(consumed - s["alumina_dissolved_kg"], 0.0)
        dissolving = min(p[L.P_K_DISS] * dt, 1.0) * s["alumina_undissolved_kg"]
        s["alumina_dissolved_kg"] += -consumed + deficit + dissolving
        s["alumina_undissolved_kg"] -= dissolving

        # tracking feed control on the pseudo-resistance slope (GéniSim CIM 2011)
        s["feed_mode_time_s"] += dt
        r_pseudo = (v_cell - p[L.P_BEMF_V]) / max(I, 1.0)
        w["r_pseudo"] = r_pseudo
        if s["ae_active"] == 0.0 and I > 0.0:
            s["r_fast_ohm"] += min(dt / p[L.P_SLOPE_FAST_S], 1.0) * (r_pseudo - s["r_fast_ohm"])
            s["r_slow_ohm"] += min(dt / p[L.P_SLOPE_SLOW_S], 1.0) * (r_pseudo - s["r_slow_ohm"])
        slope = (s["r_fast_ohm"] - s["r_slow_ohm"]) / (p[L.P_SLOPE_SLOW_S] - p[L.P_SLOPE_FAST_S])
        nominal = ce * I * M_AL2O3 / (6.0 * F)
        rate = 0.0
        if s["feed_strategy"] == L.FEED_TRACKING:
            if s["feed_mode"] == 0.0:
                rate = p[L.P_UNDERFEED] * nominal
                t_mode = s["feed_mode_time_s"]
                if (t_mode >= p[L.P_UNDERFEED_MIN_S] and slope > p[L.P_SLOPE_THRESHOLD_OHM_PER_S]) or (
                        t_mode >= p[L.P_UNDERFEED_MAX_S]):
                    s["feed_mode"], s["feed_mode_time_s"] = 1.0, 0.0
            else:
                rate = p[L.P_OVERFEED] * nominal
                if s["feed_mode_time_s"] >= p[L.P_OVERFEED_S]:
                    s["feed_mode"], s["feed_mode_time_s"] = 0.0, 0.0
        else:  # fixed or none: no overfeed mode, so nothing blocks the regulation for one
            s["feed_mode"] = 0.0
            rate = nominal if s["feed_strategy"] == L.FEED_FIXED else 0.0
        if s["ae_active"] == 0.0:
            s["feed_demand_kg"] += rate * dt
        shot = p[L.P_SHOT_KG]
        n_shots = math.floor(s["feed_demand_kg"] / shot)
        s["feed_demand_kg"] -= n_shots * shot
        delivered = n_shots * shot * s["feed_efficiency"]
        if delivered > 0.0:
            # the Na2O of the shot neutralises excess AlF3: 3 Na2O + 4 AlF3 -> 2 Na3AlF6 + Al2O3
            na2o = p[L.P_NA2O_KG_PER_KG_ALUMINA] * delivered
            used, cryolite, alumina_formed, limited = na2o_neutralisation(na2o, s["alf3_kg"])
            if limited:
                self.count("na2o_limited")
            self.count("na2o")
            s["alf3_kg"] -= used
            s["bath_kg"] += cryolite - used  # cryolite joins the solvent, the AlF3 used leaves it
            acc["alf3_neutralised_kg"] += used
            acc["cryolite_formed_kg"] += cryolite
            # its CaO forms CaF2 with the excess AlF3 left: 3 CaO + 2 AlF3 -> 3 CaF2 + Al2O3
            cao = p[L.P_CAO_KG_PER_KG_ALUMINA] * delivered
            used_ca, caf2, alumina_ca, cao_left, limited_ca = cao_to_caf2(cao, s["alf3_kg"])
            if limited_ca:
                self.count("cao_limited")
            s["alf3_kg"] -= used_ca
            s["caf2_kg"] += caf2
            s["bath_kg"] += caf2 + cao_left - used_ca  # CaF2 (and any CaO left) join the bath, the AlF3 leaves
            acc["alf3_to_caf2_kg"] += used_ca
            acc["caf2_formed_kg"] += caf2
            alumina = delivered - na2o - cao + alumina_formed + alumina_ca
            r_u = p[L.P_UNDISSOLVED_FRACTION]
            s["alumina_dissolved_kg"] += (1.0 - r_u) * alumina
            s["alumina_undissolved_kg"] += r_u * alumina
        fed = delivered

        # anode effect onset, automatic kill, end
        stop = False
        if s["ae_active"] == 0.0:
            if al2o3 < c_ae and I > 0.0:
                s.update(ae_active=1.0, ae_time_s=0.0, ae_kill_timer_s=0.0)
                acc["ae_count"] += 1.0
                c.events.append((k + 1, L.EV_AE_ONSET, -1, al2o3))
                stop = bool(stop_mask >> L.EV_AE_ONSET & 1)
        else:
            s["ae_time_s"] += dt
            if v_cell > p[L.P_AE_DETECT_V]:  # the controller sees the effect: kill sequence and AE time run
                s["ae_kill_timer_s"] += dt
                acc["ae_seconds"] += dt
            if s["ae_kill_timer_s"] >= p[L.P_AE_KILL_TIME_S]:
                s["alumina_dissolved_kg"] += p[L.P_AE_KILL_DOSE_KG]
                fed += p[L.P_AE_KILL_DOSE_KG]
                s["ae_kill_timer_s"] = 0.0
                if s["alumina_dissolved_kg"] * pct >= c_ae or I <= 0.0:
                    tracking = s["feed_strategy"] == L.FEED_TRACKING  # tracking control overfeeds after a kill
                    s.update(ae_active=0.0, feed_mode=1.0 if tracking else 0.0, feed_mode_time_s=0.0)
                    c.events.append((k + 1, L.EV_AE_END, -1, s["ae_time_s"]))
                    stop = bool(stop_mask >> L.EV_AE_END & 1)

        # resistance regulation (beam moves) to the cell's own target
        s["reg_timer_s"] += dt
        if s["reg_timer_s"] >= p[L.P_REG_INTERVAL_S]:
            s["reg_timer_s"] = 0.0
            if s["ae_active"] == 0.0 and s["feed_mode"] == 0.0 and 0.5 * p[L.P_I_NOMINAL_A] <= I:
                err = s["r_target_ohm"] - s["r_slow_ohm"]
                if abs(err) > p[L.P_DEADBAND_OHM]:
                    lim = p[L.P_BEAM_MOVE_MAX_CM]
                    move = min(max(err * s["kappa_S_per_cm"] * self.area, -lim), lim)
                    target = min(max(s["acd_cm"] + move, p[L.P_ACD_MIN_CM]), p[L.P_ACD_MAX_CM])
                    if target != s["acd_cm"]:
                        dr = (target - s["acd_cm"]) * w["ohm_per_cm"]
                        s["r_slow_ohm"] += dr
                        s["r_fast_ohm"] += dr
                        s["acd_cm"] = target
                        acc["beam_moves"] += 1.0

        # energy (the liquids' share; losses follow at the thermal update), metal, AlF3, ACD drift
        p_in = I * v_cell
        p_ext = I * I * p[L.P_R_EXTERNAL_OHM]
        e_ae = I * w["v_ae"] * dt  # anode-effect energy: bath / anode node / off-gas
        to_anode = p[L.P_AE_HEAT_ANODE_FRACTION] * e_ae
        to_gas = (1.0 - p[L.P_AE_HEAT_BATH_FRACTION] - p[L.P_AE_HEAT_ANODE_FRACTION]) * e_ae
        e_process = 0.0
        if al_made > 0.0:  # e_rx per kg electrolysed (1/CE per kg net), less the back reaction's heat
            e_process = al_made * (p[L.P_REACTION_J_PER_KG_AL] / ce
                                   - p[L.P_BACK_REACTION_J_PER_KG_AL] * (1.0 / ce - 1.0))
        e_feed = fed * p[L.P_ALUMINA_HEAT_J_PER_KG]
        # the consumed carbon from the anode node's temperature to the bath's (held, like CE, between refreshes)
        e_carbon = al_made * CARBON_KG_PER_KG_AL / ce * carbon_heat(s["anode_temp_degC"], s["temperature_degC"])
        w["H"] += (p_in - p_ext - s["liquids_loss_W"]) * dt - to_anode - to_gas - e_process - e_feed - e_carbon
        w["ae_anode_J"] += to_anode
        w["I_sum"] += I
        lost = min(p[L.P_ALF3_LOSS_KG_PER_KG_AL] * al_made, s["alf3_kg"])
        s["bath_kg"] -= lost
        s["alf3_kg"] -= lost
        s["metal_kg"] += al_made
        s["acd_cm"] += p[L.P_ANODE_CONSUMPTION_CM_PER_S] / p[L.P_I_NOMINAL_A] * I * dt - al_made * self.metal_cm_per_kg
        s["anode_age_s"] += dt
        w["pending"] += 1.0

        acc["charge_C"] += charge
        acc["energy_in_J"] += p_in * dt
        acc["energy_external_J"] += p_ext * dt
        acc["energy_reaction_J"] += e_process
        acc["energy_feed_J"] += e_feed
        acc["energy_carbon_J"] += e_carbon
        acc["loss_offgas_J"] += to_gas
        acc["al_produced_kg"] += al_made
        acc["alumina_fed_kg"] += fed
        acc["alumina_consumed_kg"] += consumed - deficit
        acc["alumina_deficit_kg"] += deficit
        acc["feed_shots"] += n_shots
        acc["alf3_lost_kg"] += lost
        acc["voltage_seconds"] += v_cell * dt
        acc["carbon_kg"] += p[L.P_CARBON_KG_PER_KG_AL] * al_made
        return stop

    # --- outputs of the last step ---------------------------------------------------------------
    def write_outputs(self, c: Cell, out: np.ndarray, i: int) -> None:
        p, s, w = self.p, c.s, c.w
        if "v_cell" in w:
            I = w["I"]
            row = {
                "v_cell": w["v_cell"], "e_rev": w["e_rev"], "eta_anode_conc": w["eta_conc"],
                "eta_anode_surf": w["eta_surf"], "eta_cathode": w["eta_cath"], "v_bath": w["v_bath"],
                "v_bubble": w["v_bubble"], "v_anode": I * p[L.P_R_ANODE_OHM],
                "v_cathode": I * p[L.P_R_CATHODE_OHM], "v_external": I * p[L.P_R_EXTERNAL_OHM],
                "v_calibration": I * p[L.P_R_CALIBRATION_OHM], "v_noise": w["v_noise"],
                "v_anode_effect": w["v_ae"], "pseudo_resistance_ohm": w["r_pseudo"], "cell_current_A": I,
            }
            for name, value in row.items():
                out[L.OUT_NAMES.index(name), i] = value
        for name in ("q_top_W", "q_side_bath_W", "q_side_metal_W", "q_bottom_W", "q_hx_W"):
            if name in w:  # heat fluxes of the last thermal update of this call
                out[L.OUT_NAMES.index(name), i] = w[name]
        out[L.O_SUPERHEAT_K, i] = s["temperature_degC"] - s["liquidus_degC"]
        out[L.O_ALUMINA_WTPCT, i] = 100.0 * s["alumina_dissolved_kg"] / s["bath_kg"]
        out[L.O_ALF3_WTPCT, i] = 100.0 * s["alf3_kg"] / s["bath_kg"]
        out[L.O_CAF2_WTPCT, i] = 100.0 * s["caf2_kg"] / s["bath_kg"]
        out[L.O_METAL_CM, i] = s["metal_kg"] * self.metal_cm_per_kg


def advance(
    state: np.ndarray, rng: np.ndarray, params: np.ndarray, line_current_A: Sequence[float], dt: float,
    step0: int, stop_mask: int, acc: np.ndarray, out: np.ndarray, model: Model | None = None,
) -> tuple[int, list[tuple[int, int, int, float]]]:
    """Reference of ``twin.cell.kernel.advance``: same arrays updated in place, events returned as a list.

    Step-outer loop. Returns (steps done, events as (step, code, cell, value)) sorted by cell then step.
    Pass ``model`` to read its branch counts afterwards (it must be built from the same params and dt).
    """
    model = Model(params, dt) if model is None else model
    n_cell = state.shape[1]
    cells = [Cell(state[:, i], int(rng[i])) for i in range(n_cell)]
    for c in cells:
        model.start_call(c)
    currents = [float(v) for v in line_current_A]
    done = len(currents)
    for k, line_I in enumerate(currents):
        saved = [c.copy() for c in cells] if stop_mask else None
        stop_after = False
        stopped_before = -1
        for i, c in enumerate(cells):
            I = line_I * c.s["in_line"]
            if model.pre_step(c, I, step0 + k, k, stop_mask):
                stopped_before = i
                break
            if model.step(c, I, k, stop_mask):
                stop_after = True
        if stopped_before >= 0:
            assert saved is not None
            cells[:stopped_before] = saved[:stopped_before]  # the cells before it must not do step k
            done = k
            break
        if stop_after:
            done = k + 1
            break
    events = []
    for i, c in enumerate(cells):
        model.end_call(c)
        for row, name in enumerate(STATE_KEYS):
            state[row, i] = c.s[name]
        rng[i] = np.uint64(c.x)
        for row, name in enumerate(L.ACC_NAMES):
            acc[row, i] += c.acc[name]
        model.write_outputs(c, out, i)
        events.extend((step, code, i, value) for step, code, _, value in c.events)
    return done, events


def step_cell_once(model: Model, c: Cell, I: float, global_step: int) -> None:
    """Advance one cell by one step with no stop events (used by the SimPy per-cell benchmark).

    The thermal network runs at the slow cadence inside :meth:`Model.pre_step`, as in the kernel.
    """
    model.pre_step(c, I * c.s["in_line"], global_step, 0, 0)
    model.step(c, I * c.s["in_line"], 0, 0)
