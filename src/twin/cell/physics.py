"""Scalar physics of one Hall-Héroult cell, as numba functions the step kernel inlines.

Units follow the sources: temperatures in °C at the interface (Kelvin inside the formulas where the
source uses K), concentrations in wt %, current densities in A/cm², lengths in cm, resistances in Ω.
Each function names its equation and source; the plain-Python references in ``tests/reference.py``
are written independently from the same equations.

Sources (see ``../shared/docs/physics.md`` §1 for the full provenance):

* [Haupin98] W. Haupin, "Interpreting the components of cell voltage", Light Metals 1998,
  doi 10.1007/978-3-319-48156-2_21 — equation numbers as implemented in M. Illingworth's open
  CellModel (2021, ``ElectroChemistry.py``), which cites them.
* [SSS97] Skybakmoen, Solheim & Sterten, "Alumina solubility in molten salt systems of interest for
  aluminum electrolysis", Metall. Mater. Trans. B 28 (1997) 81–86, doi 10.1007/s11663-997-0129-9.
* [GW88] Grjotheim & Welch, *Aluminium Smelter Technology*, 2nd ed. (1988), ch. 5 eq. 13 p. 131.
* [WPT93] Wang, Peterson & Tabereaux, "Electrical conductivity of cryolitic melts", Light Metals 1993,
  pp. 247–255 (form as implemented in CellModel ``BathProperties.py``).
* [Sol96] Solheim, Rolseth, Skybakmoen, Støen, Sterten & Store, "Liquidus temperatures for primary
  crystallization of cryolite in molten salt systems of interest for aluminum electrolysis",
  Metall. Mater. Trans. B 27 (1996) 739–744, doi 10.1007/BF02915602.
* [Dew91] E. W. Dewing, "Loss of current efficiency in aluminum electrolysis cells",
  Metall. Trans. B 22 (1991), doi 10.1007/BF02652482.
* [SS96] Sterten & Solli, "An electrochemical current efficiency model for aluminium electrolysis cells",
  J. Appl. Electrochem. 26 (1996) 187–193; [Sol18] Solheim, Gudbrandsen, Osen, Kongstein & Skybakmoen,
  "Current efficiency in Hall-Héroult cells: the role of mass transfer at the cathode", Light Metals 2018.
"""

from __future__ import annotations

import math

from twin._numba import jit

FARADAY = 96485.33212  # C/mol (CODATA 2018, exact since the 2019 SI)
GAS_CONSTANT = 8.314462618  # J/(mol K) (CODATA 2018)
M_AL = 26.9815385e-3  # kg/mol (IUPAC 2013)
M_AL2O3 = 101.961276e-3  # kg/mol (2 Al + 3 O, IUPAC 2013)
M_C = 12.011e-3  # kg/mol
KELVIN = 273.15
LN10 = math.log(10.0)
CE_SUPERHEAT_MIN = -10.0  # K, range over which Dewing's CE law is applied
CE_SUPERHEAT_MAX = 30.0
CE_CURRENT_RATIO_MIN = 0.5  # I/I_nom, range over which the CE's current-density term is applied
CE_CURRENT_RATIO_MAX = 1.5


@jit
def bath_ratio(alf3: float, al2o3: float, caf2: float, lif: float, mgf2: float) -> float:
    """Bath (NaF/AlF3 weight) ratio from excess AlF3, as in CellModel ``BathProperties.py``.

    BR = (1 − x)/(2/3 + x), x = AlF3/(100 − Al2O3 − CaF2 − LiF − MgF2)   [physics.md §1.1]
    """
    x = alf3 / (100.0 - al2o3 - caf2 - lif - mgf2)
    return (1.0 - x) / (2.0 / 3.0 + x)


@jit
def alumina_saturation(t_c: float, alf3: float, caf2: float, lif: float, mgf2: float) -> float:
    """Alumina solubility (wt %) [SSS97]: C_sat = A·(t/1000)^B with t in °C.

    A = 11.9 − 0.062 AlF3 − 0.0031 AlF3² − 0.2 CaF2 − 0.5 LiF − 0.3 MgF2 + 42 AlF3·LiF/(2000 + AlF3·LiF)
    B = 4.8 − 0.048 AlF3 + 2.2 LiF^1.5/(10 + LiF + 0.001 AlF3³)
    """
    a = (
        11.9
        - 0.062 * alf3
        - 0.0031 * alf3 * alf3
        - 0.2 * caf2
        - 0.5 * lif
        - 0.3 * mgf2
        + 42.0 * alf3 * lif / (2000.0 + alf3 * lif)
    )
    b = 4.8 - 0.048 * alf3 + 2.2 * lif * math.sqrt(lif) / (10.0 + lif + 0.001 * alf3 * alf3 * alf3)
    return a * (t_c / 1000.0) ** b


@jit
def alumina_activity(ratio: float) -> float:
    """Alumina activity vs saturation ratio r = C/C_sat [Haupin98 eq. 10].

    a = −0.03791 r + 2.364 r² − 2.194 r³ + 0.8686 r⁴
    """
    r = ratio
    return r * (-0.03791 + r * (2.364 + r * (-2.194 + r * 0.8686)))


@jit
def reversible_voltage(t_c: float, activity: float) -> float:
    """Reversible decomposition voltage (V) [Haupin98 eq. 5], p_CO2 = 1 atm.

    E = 1.896 − 0.000572·T_K + (R·T_K/12F)·ln(1/a²)
    """
    t_k = t_c + KELVIN
    return 1.896 - 0.000572 * t_k - (GAS_CONSTANT * t_k / (6.0 * FARADAY)) * math.log(activity)


@jit
def critical_current_density(t_c: float, al2o3: float, single_anode_area_cm2: float) -> float:
    """Critical anode current density (A/cm²) [GW88 eq. 13].

    i_crit = 1e-4·[550000 + 1800·(T_K − 1323)]·[(C/100)^0.5 − 0.04]·A_anode^−0.1
    """
    return critical_current_density_of(t_c, al2o3, anode_area_factor(single_anode_area_cm2))


@jit
def anode_area_factor(single_anode_area_cm2: float) -> float:
    """A_anode^−0.1 of :func:`critical_current_density` [GW88 eq. 13]: a constant of the technology, which the
    kernel computes once per call instead of at every refresh."""
    return single_anode_area_cm2**-0.1


@jit
def critical_current_density_of(t_c: float, al2o3: float, area_factor: float) -> float:
    """:func:`critical_current_density` from its area factor (:func:`anode_area_factor`), the same operations in
    the same order."""
    t_k = t_c + KELVIN
    return 1e-4 * (550000.0 + 1800.0 * (t_k - 1323.0)) * (math.sqrt(al2o3 / 100.0) - 0.04) * area_factor


@jit
def anode_concentration_overvoltage(t_c: float, i_anode: float, i_crit: float) -> float:
    """Anode concentration overvoltage (V) [Haupin98 eq. 23]: (T_K/23209)·ln(i_crit/(i_crit − i_a)).

    The argument is clamped so that i_a never reaches i_crit (CellModel does the same); the anode effect
    itself is modelled as a separate state (see ``kernel``).
    """
    t_k = t_c + KELVIN
    margin = max(i_crit - i_anode, 0.01 * i_crit)
    return t_k / 23209.0 * math.log(i_crit / margin)


@jit
def anode_surface_overvoltage(t_c: float, i_anode: float, al2o3: float) -> float:
    """Anode reaction (Tafel) overvoltage (V) [Haupin98 eq. 26]: (T_K/12533)·ln(i_a/i_r), i_r = 0.0029·C^0.56."""
    return anode_surface_overvoltage_of(t_c, tafel_current_term(i_anode), al2o3)


@jit
def tafel_current_term(i_anode: float) -> float:
    """ln(i_a/0.0029) of :func:`anode_surface_overvoltage` [Haupin98 eq. 26]: it moves with the current only, so
    the kernel keeps it between changes of current."""
    return math.log(i_anode / 0.0029)


@jit
def anode_surface_overvoltage_of(t_c: float, current_term: float, al2o3: float) -> float:
    """:func:`anode_surface_overvoltage` from its current term (:func:`tafel_current_term`), the same operations
    in the same order."""
    t_k = t_c + KELVIN
    return t_k / 12533.0 * (current_term - 0.56 * math.log(al2o3))


@jit
def cathode_overvoltage(t_c: float, i_cathode: float, ratio: float) -> float:
    """Cathode concentration overvoltage (V) [Haupin98 eq. 28]: 5.7448e-5·T_K·(1.375 − 0.25·BR)·ln(3.891·i_c)."""
    return cathode_overvoltage_of(t_c, cathode_current_term(i_cathode), ratio)


@jit
def cathode_current_term(i_cathode: float) -> float:
    """ln(3.891·i_c) of :func:`cathode_overvoltage` [Haupin98 eq. 28]: it moves with the current only."""
    return math.log(3.891 * i_cathode)


@jit
def cathode_overvoltage_of(t_c: float, current_term: float, ratio: float) -> float:
    """:func:`cathode_overvoltage` from its current term (:func:`cathode_current_term`), the same operations in the
    same order."""
    t_k = t_c + KELVIN
    return 5.7448e-5 * t_k * (1.375 - 0.25 * ratio) * current_term


@jit
def bubble_thickness(i_anode: float) -> float:
    """Gas bubble layer thickness (cm) [Haupin98 eq. 30]: d_b = (0.5517 + i)/(1 + 2.167·i)."""
    return (0.5517 + i_anode) / (1.0 + 2.167 * i_anode)


@jit
def bubble_coverage(i_anode: float, ratio: float, al2o3: float, al2o3_ae: float) -> float:
    """Fraction of anode covered by bubbles [Haupin98 eq. 31].

    φ = 0.9·[0.509 + 0.1823 i − 0.1723 i² + 0.05504 i³ + (0.4322 − 0.3781 BR)/(1 + 1.637 BR)
             + (0.431 − 0.1437 (C − C_AE))/(1 + 7.353 (C − C_AE))]
    C − C_AE is floored at 0 (below the anode-effect threshold the cell is in anode effect). The kernel
    evaluates the two parts separately (:func:`bubble_coverage_base` on the slow cadence,
    :func:`bubble_coverage_alumina` every step); their sum is this function.
    """
    return bubble_coverage_base(i_anode, ratio) + bubble_coverage_alumina(al2o3, al2o3_ae)


@jit
def bubble_coverage_base(i_anode: float, ratio: float) -> float:
    """The current-density and bath-ratio part of φ [Haupin98 eq. 31] (see :func:`bubble_coverage`)."""
    i = i_anode
    return 0.9 * (
        0.509 + i * (0.1823 + i * (-0.1723 + i * 0.05504)) + (0.4322 - 0.3781 * ratio) / (1.0 + 1.637 * ratio)
    )


@jit
def bubble_coverage_alumina(al2o3: float, al2o3_ae: float) -> float:
    """The alumina part of φ [Haupin98 eq. 31]: 0.9·(0.431 − 0.1437 x)/(1 + 7.353 x), x = max(C − C_AE, 0)."""
    excess = max(al2o3 - al2o3_ae, 0.0)
    return 0.9 * (0.431 - 0.1437 * excess) / (1.0 + 7.353 * excess)


@jit
def bath_conductivity(t_c: float, alf3: float, al2o3: float, caf2: float, lif: float, mgf2: float) -> float:
    """Bath electrical conductivity (S/cm) [WPT93], as in CellModel ``BathProperties.py``.

    κ = exp(1.9362 + 0.3092·BWR − 0.004132·CaF2 − 0.01755·Al2O3 + 0.008123·LiF − 0.00398·MgF2 − 1751.1/T_K)
    BWR = ((NaF/41.99 + LiF/25.94 − MgF2/62.31)/2) / ((AlF3 + 2·NaF/3)/83.98),
    NaF = 0.6·(100 − AlF3 − Al2O3 − CaF2 − LiF − MgF2)
    """
    t_k = t_c + KELVIN
    naf = 0.6 * (100.0 - alf3 - al2o3 - caf2 - lif - mgf2)
    bwr = ((naf / 41.99 + lif / 25.94 - mgf2 / 62.31) / 2.0) / ((alf3 + 2.0 * naf / 3.0) / 83.98)
    return math.exp(
        1.9362 + 0.3092 * bwr - 0.004132 * caf2 - 0.01755 * al2o3 + 0.008123 * lif - 0.00398 * mgf2 - 1751.1 / t_k
    )


@jit
def liquidus_temperature(alf3: float, al2o3: float, caf2: float, lif: float, mgf2: float) -> float:
    """Liquidus temperature of the bath (°C) [Sol96] (KF = 0), coefficients 0.50 and ^2.2 (physics.md §1.3).

    t = 1011 + 0.50·AlF3 − 0.13·AlF3^2.2 − 3.45·CaF2/(1 + 0.0173·CaF2) + 0.124·CaF2·AlF3
        − 0.00542·(CaF2·AlF3)^1.5 − 7.93·Al2O3/(1 + 0.0936·Al2O3 − 0.0017·Al2O3² − 0.0023·AlF3·Al2O3)
        − 8.90·LiF/(1 + 0.0047·LiF + 0.0010·AlF3²) − 3.95·MgF2
    """
    return (
        1011.0
        + 0.50 * alf3
        - 0.13 * alf3**2.2
        - 3.45 * caf2 / (1.0 + 0.0173 * caf2)
        + 0.124 * caf2 * alf3
        - 0.00542 * (caf2 * alf3) * math.sqrt(caf2 * alf3)
        - 7.93 * al2o3 / (1.0 + 0.0936 * al2o3 - 0.0017 * al2o3 * al2o3 - 0.0023 * alf3 * al2o3)
        - 8.90 * lif / (1.0 + 0.0047 * lif + 0.0010 * alf3 * alf3)
        - 3.95 * mgf2
    )


@jit
def current_efficiency(superheat: float, alf3: float, lif: float, dewing_constant: float) -> float:
    """Current efficiency (fraction) by Dewing's form [Dew91], with a per-technology constant.

    log10(CE loss in %) = 0.0095·superheat − 0.019·AlF3 − 0.060·LiF + const

    The law is used over the superheat range of industrial cells, [CE_SUPERHEAT_MIN, CE_SUPERHEAT_MAX]
    (physics.md §1.3: 5–15 K window; Dewing's plant data lie within it); outside it the CE is held at
    the end value, so an overheated cell cannot extrapolate to a negative CE.
    """
    sh = min(max(superheat, CE_SUPERHEAT_MIN), CE_SUPERHEAT_MAX)
    loss_pct = math.exp(LN10 * (0.0095 * sh - 0.019 * alf3 - 0.060 * lif + dewing_constant))  # 10**x
    return 1.0 - loss_pct / 100.0


# ---------------------------------------------------------------------------------------------------
# energy, heat transfer and bath chemistry (physics.md §1.6)
# ---------------------------------------------------------------------------------------------------
STEFAN_BOLTZMANN = 5.670374419e-8  # W/(m² K⁴) (CODATA 2018)
M_NA2O = 61.979e-3  # kg/mol (IUPAC 2013)
M_ALF3 = 83.977e-3  # kg/mol
M_CRYOLITE = 209.941e-3  # kg/mol, Na3AlF6
#: kg of excess AlF3 neutralised, cryolite formed and alumina formed per kg Na2O:
#: 3 Na2O + 4 AlF3 → 2 Na3AlF6 + Al2O3 (Grjotheim & Welch 1988 ch. 3; physics.md §1.6 feed-forward)
ALF3_PER_NA2O = 4.0 * M_ALF3 / (3.0 * M_NA2O)
CRYOLITE_PER_NA2O = 2.0 * M_CRYOLITE / (3.0 * M_NA2O)
ALUMINA_PER_NA2O = M_AL2O3 / (3.0 * M_NA2O)
M_CAO = 56.077e-3  # kg/mol (IUPAC 2013)
#: kg of excess AlF3 consumed and alumina formed per kg CaO of the alumina (the CaF2 formed closes the balance):
#: 3 CaO + 2 AlF3 → 3 CaF2 + Al2O3, the CaF2 source of industrial baths (Grjotheim & Kvande 1993 ch. 3;
#: Kvande, "Impurity materials balance in alumina reduction cells"; physics.md §1.6)
ALF3_PER_CAO = 2.0 * M_ALF3 / (3.0 * M_CAO)
ALUMINA_PER_CAO = M_AL2O3 / (3.0 * M_CAO)
#: fitted range of Solheim's liquidus [Sol96] (physics.md §1.3): AlF3, CaF2, LiF < 20 wt %, MgF2 < 5 wt %
LIQUIDUS_ALF3_MAX = 20.0
LIQUIDUS_CAF2_MAX = 20.0
LIQUIDUS_LIF_MAX = 20.0
LIQUIDUS_MGF2_MAX = 5.0
#: the bath-property and electrochemistry correlations are fitted on molten baths (~940-1000 °C; Grjotheim &
#: Welch's critical current density turns negative below ~1018 K): a cell frozen out by a long outage is
#: evaluated no colder than this, and at its composition clamped to the liquidus range (docs/physics.md §7)
MOLTEN_BATH_MIN_DEGC = 900.0


@jit
def liquidus_in_range(alf3: float, caf2: float, lif: float, mgf2: float, al2o3: float, al2o3_sat: float) -> bool:
    """Whether the composition lies inside the range Solheim's liquidus was fitted on [Sol96] (alumina up to
    saturation, ``al2o3_sat``)."""
    return (
        al2o3 <= al2o3_sat
        and 0.0 <= alf3 <= LIQUIDUS_ALF3_MAX
        and 0.0 <= caf2 <= LIQUIDUS_CAF2_MAX
        and 0.0 <= lif <= LIQUIDUS_LIF_MAX
        and 0.0 <= mgf2 <= LIQUIDUS_MGF2_MAX
    )


@jit
def process_energy_per_kg_al(ce: float, reaction_J_per_kg: float, back_reaction_J_per_kg: float) -> float:
    """Energy that leaves with the products per kg of net aluminium (J/kg), alumina heating excluded.

    Per kg of net Al, 1/CE kg is electrolysed (reaction enthalpy e_rx each, reactants to products at bath
    temperature) and 1/CE − 1 kg is re-oxidised by the back reaction 2 Al + 3 CO2 → Al2O3 + 3 CO, which
    releases e_back per kg inside the cell (physics.md §1.6, Haupin/Entner form; counted here once):

        e_proc(CE) = e_rx / CE − e_back · (1/CE − 1)

    With e_rx = 5.63 and e_back = 4.26 kWh/kg this gives 5.70 kWh/kg at CE 95 %, against 5.72 kWh/kg in
    Entner's 200 kA example (365 kW at 63.8 kg Al/h).
    """
    return reaction_J_per_kg / ce - back_reaction_J_per_kg * (1.0 / ce - 1.0)


#: kg of anode carbon the electrolysis consumes per kg of Al electrolysed: 2 Al2O3 + 3 C → 4 Al + 3 CO2
#: (physics.md §1.6; CO2 is the primary anode product, the back reaction's CO takes no further carbon)
CARBON_PER_AL = 3.0 * M_C / (4.0 * M_AL)
#: Butland & Maddison's fit of graphite's heat capacity, cal/(g K) with T in K, 250–3000 K:
#: c_p = a + b·T + c/T + d/T² + e/T³ + f/T⁴ (J. Nucl. Mater. 49 (1973) 45–56, as listed in the NIST Chemistry
#: WebBook's condensed-phase data for graphite, Domalski & Hearing compilation). It gives 0.71 kJ/(kg K) at 298 K
#: and 1.79 at 1000 K (JANAF: 0.71 and 1.80).
_CP_GRAPHITE = (0.538657, 9.11129e-6, -90.2725, -43449.3, 1.59309e7, -1.43688e9)
_CAL_PER_G_TO_J_PER_KG = 4184.0
CARBON_FIT_MIN_DEGC = 250.0 - KELVIN
CARBON_FIT_MAX_DEGC = 3000.0 - KELVIN


@jit
def carbon_enthalpy_J_per_kg(t_degC: float) -> float:
    """Enthalpy of graphite up to an additive constant (J/kg; only differences mean anything), integrated from
    Butland & Maddison's c_p fit (``_CP_GRAPHITE``, clamped to its 250–3000 K range):

        h(T) = a·T + b·T²/2 + c·ln T − d/T − e/(2T²) − f/(3T³)   [cal/g, T in K]

    From 25 to 960 °C it gives 1.41 MJ/kg (17.0 kJ/mol), the heat that brings consumed anode carbon to bath
    temperature (physics.md §1.6).
    """
    t = min(max(t_degC, CARBON_FIT_MIN_DEGC), CARBON_FIT_MAX_DEGC) + KELVIN
    a, b, c, d, e, f = _CP_GRAPHITE
    h = a * t + 0.5 * b * t * t + c * math.log(t) - d / t - e / (2.0 * t * t) - f / (3.0 * t * t * t)
    return h * _CAL_PER_G_TO_J_PER_KG


@jit
def carbon_heating_per_kg_al(ce: float, bath_degC: float, anode_degC: float) -> float:
    """Heat the liquids give the anode carbon the electrolysis consumes, per kg of net Al (J/kg):

        e_C = (3 M_C / 4 M_Al) / CE · (h_C(T_bath) − h_C(T_anode))

    Per kg of net Al, 1/CE kg is electrolysed and takes 3 M_C/(4 M_Al) kg of carbon (``CARBON_PER_AL``), which
    reacts at the anode's bottom face at bath temperature. The reaction enthalpy e_rx counts reactants at bath
    temperature, so the carbon's heating is a separate consumption term (Entner's 200 kA balance: "heating
    anodes" 9 kW of 409 kW; physics.md §1.6: ≈ 0.16 kWh/kg Al from 25 °C). The twin books it in two parts: a new
    anode takes its heat up to the anode-and-cover node's temperature from that node when it is set
    (:func:`twin.cell.operations.change_anode`), and the carbon consumed takes the rest, from the node's
    temperature to the bath's, from the liquids here. Over an anode cycle the two together are the carbon's
    heating from the potroom to the bath, plus the heat that leaves with the butts. Signed: an anode node hotter
    than the bath gives the difference back.
    """
    return CARBON_PER_AL / ce * (carbon_enthalpy_J_per_kg(bath_degC) - carbon_enthalpy_J_per_kg(anode_degC))


@jit
def stirring_factor(current_A: float, nominal_A: float, still_fraction: float, exponent: float) -> float:
    """Film coefficients relative to nominal: still + (1 − still)·(I/I_nom)^n, (I/I_nom) capped at 2.

    Magnetic stirring (metal) and gas-driven circulation (bath) keep the film coefficients at the ledge
    face high; when the current stops the pad flattens and they fall to a third to a half within minutes
    (Dupuis, Eick & Waldmann, 9th AASTC 2007; physics.md §1.6). Flow velocity ~ I and h ~ u^0.8 (turbulent
    forced convection, Dittus–Boelter) give the exponent 0.8.
    """
    ratio = min(max(current_A / nominal_A, 0.0), 2.0)
    return still_fraction + (1.0 - still_fraction) * ratio**exponent


@jit
def current_efficiency_at_current(
    ce_nominal: float, current_A: float, nominal_A: float, still_fraction: float, exponent: float
) -> float:
    """Current efficiency at line current I from the CE at the nominal current (Dewing's, whose constant is
    fitted at the cell design's own current density [Dew91]).

        1 − CE(I) = (1 − CE_nom) · s(I) / (I/I_nom),   s(I) = :func:`stirring_factor`

    The CE loss is the flux of dissolved metal carried away from the cathode by ordinary mass transfer [SS96],
    a current density of its own that does not scale with the cell's current: Solheim et al. [Sol18] measured
    the CE loss linear in the mass-transfer coefficient k. So the loss's share of the current is the loss flux
    (∝ k) over the current, and k follows the stirring like the film coefficients at the ledge face (the
    Chilton–Colburn analogy between heat and mass transfer): at fixed stirring the metal lost per unit area is
    constant, as Grjotheim & Welch state for industrial cells (*Aluminium Smelter Technology*, 2nd ed. 1988).
    At I = I_nom it is CE_nom itself. Below ``CE_CURRENT_RATIO_MIN`` of the nominal current (a restart's
    ramp, an outage: the cathode's dissolved-metal activity then falls with its overvoltage, and the law's
    premise no longer holds) and above ``CE_CURRENT_RATIO_MAX`` the term is held at its end value, as
    :func:`current_efficiency` holds Dewing's superheat term.
    """
    return current_efficiency_of(ce_nominal, ce_loss_factor(current_A, nominal_A, still_fraction, exponent))


@jit
def ce_loss_factor(current_A: float, nominal_A: float, still_fraction: float, exponent: float) -> float:
    """s(I)/(I/I_nom) of :func:`current_efficiency_at_current`, I/I_nom held to its range: it moves with the
    current only, so the kernel keeps it between changes of current."""
    ratio = min(max(current_A / nominal_A, CE_CURRENT_RATIO_MIN), CE_CURRENT_RATIO_MAX)
    stirring = stirring_factor(ratio * nominal_A, nominal_A, still_fraction, exponent)
    return stirring / ratio


@jit
def current_efficiency_of(ce_nominal: float, loss_factor: float) -> float:
    """:func:`current_efficiency_at_current` from its loss factor (:func:`ce_loss_factor`):
    1 − (1 − CE_nom)·s(I)/(I/I_nom)."""
    return 1.0 - (1.0 - ce_nominal) * loss_factor


@jit
def shell_film_coefficient(shell_degC: float, air_degC: float, convection: float, emissivity: float) -> float:
    """Shell-to-potroom coefficient (W/m² K): convection plus linearised grey-body radiation.

    h = h_conv + ε·σ·(T_s² + T_a²)·(T_s + T_a), T in K (physics.md §1.6: ≈ 17 W/m² K of radiation alone at a
    300 °C shell with ε 0.8).
    """
    ts = shell_degC + KELVIN
    ta = air_degC + KELVIN
    return convection + emissivity * STEFAN_BOLTZMANN * (ts * ts + ta * ta) * (ts + ta)


@jit
def shell_temperature(
    inner_degC: float, inner_resistance: float, outer_conductance: float, air_degC: float, duty_W: float
) -> tuple[float, float]:
    """(shell temperature, duty delivered) of a massless shell between an inner face and the potroom.

    Heat through the inner path (ledge, lining) equals the heat to the air plus an exchanger duty D ≥ 0:
    (T_in − T_s)/R_in = G_out·(T_s − T_air) + D, so T_s = (T_in/R_in + G_out·T_air − D)/(1/R_in + G_out).
    An exchanger cools the shell no lower than the air: the duty delivered is capped there.
    """
    g_in = 1.0 / inner_resistance
    duty = max(duty_W, 0.0)
    shell = (inner_degC * g_in + outer_conductance * air_degC - duty) / (g_in + outer_conductance)
    if duty > 0.0 and shell < air_degC:
        shell = air_degC
        duty = max((inner_degC - air_degC) * g_in, 0.0)
    return shell, duty
