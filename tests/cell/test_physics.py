"""Each scalar physics function against its plain-Python twin and against published / cross-check numbers.

Sources (``../shared/docs/physics.md``): §1.1 worked breakdown of the RTA PacOps 126 kA cell (constants of
M. Illingworth's CellModel ``Global.py``, equations of Haupin, Light Metals 1998); §1.2 cross-check of the
Wang–Peterson–Tabereaux conductivity (Light Metals 1993); §1.3 Solheim et al. 1996 liquidus (MMTB 27B:739)
as coded in shen-y21 ``cell_linear_simulation_min.m``; §1.4 Dewing 1991 (Metall. Trans. B 22) example.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests import reference as ref

from twin.cell import physics as ph

SETTINGS = settings(max_examples=150, deadline=None)
temperature = st.floats(930.0, 1000.0)
alf3 = st.floats(3.0, 16.0)
caf2 = st.floats(0.0, 8.0)
lif = st.floats(0.0, 5.0)
mgf2 = st.floats(0.0, 3.0)
alumina = st.floats(1.0, 6.0)
current_density = st.floats(0.4, 1.3)
ratio = st.floats(1.8, 2.6)


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-14)


@SETTINGS
@given(alf3, alumina, caf2, lif, mgf2)
def test_bath_ratio(a, c, ca, li, mg) -> None:
    assert close(ph.bath_ratio(a, c, ca, li, mg), ref.bath_ratio(a, c, ca, li, mg))


@SETTINGS
@given(temperature, alf3, caf2, lif, mgf2)
def test_alumina_saturation(t, a, ca, li, mg) -> None:
    assert close(ph.alumina_saturation(t, a, ca, li, mg), ref.alumina_saturation(t, a, ca, li, mg))


@SETTINGS
@given(st.floats(0.05, 1.0))
def test_alumina_activity(r) -> None:
    assert close(ph.alumina_activity(r), ref.alumina_activity(r))


@SETTINGS
@given(temperature, st.floats(0.02, 1.0))
def test_reversible_voltage(t, a) -> None:
    assert close(ph.reversible_voltage(t, a), ref.reversible_voltage(t, a))


@SETTINGS
@given(temperature, alumina, st.floats(5e3, 2e4))
def test_critical_current_density(t, c, area) -> None:
    assert close(ph.critical_current_density(t, c, area), ref.critical_current_density(t, c, area))


@SETTINGS
@given(temperature, current_density, st.floats(0.3, 3.0))
def test_anode_concentration_overvoltage(t, i, i_crit) -> None:
    """Includes i_a ≥ i_crit, where both clamp the gap at 1 % of i_crit."""
    assert close(ph.anode_concentration_overvoltage(t, i, i_crit), ref.anode_concentration_overvoltage(t, i, i_crit))


@SETTINGS
@given(temperature, current_density, alumina)
def test_anode_surface_overvoltage(t, i, c) -> None:
    assert close(ph.anode_surface_overvoltage(t, i, c), ref.anode_surface_overvoltage(t, i, c))


@SETTINGS
@given(temperature, st.floats(0.3, 1.5), ratio)
def test_cathode_overvoltage(t, i, br) -> None:
    assert close(ph.cathode_overvoltage(t, i, br), ref.cathode_overvoltage(t, i, br))


@SETTINGS
@given(current_density)
def test_bubble_thickness(i) -> None:
    assert close(ph.bubble_thickness(i), ref.bubble_thickness(i))


@SETTINGS
@given(current_density, ratio, st.floats(0.5, 6.0), st.floats(1.5, 2.2))
def test_bubble_coverage(i, br, c, c_ae) -> None:
    """Includes C below C_AE (the excess is floored at 0)."""
    assert close(ph.bubble_coverage(i, br, c, c_ae), ref.bubble_coverage(i, br, c, c_ae))


@SETTINGS
@given(temperature, alf3, alumina, caf2, lif, mgf2)
def test_bath_conductivity(t, a, c, ca, li, mg) -> None:
    assert close(ph.bath_conductivity(t, a, c, ca, li, mg), ref.bath_conductivity(t, a, c, ca, li, mg))


@SETTINGS
@given(alf3, alumina, caf2, lif, mgf2)
def test_liquidus_temperature(a, c, ca, li, mg) -> None:
    assert close(ph.liquidus_temperature(a, c, ca, li, mg), ref.liquidus_temperature(a, c, ca, li, mg))


@SETTINGS
@given(st.floats(-40.0, 80.0), alf3, lif, st.floats(0.5, 1.2))
def test_current_efficiency(sh, a, li, k) -> None:
    """Includes superheats outside −10…30 K, where the law is held at its end value."""
    assert close(ph.current_efficiency(sh, a, li, k), ref.current_efficiency(sh, a, li, k))


@SETTINGS
@given(st.floats(0.85, 0.97), st.floats(0.0, 600e3), st.floats(0.2, 1.0), st.floats(0.5, 1.0))
def test_current_efficiency_at_current(ce, current, still, exponent) -> None:
    """Includes currents outside 50–150 % of nominal, where the current-density term is held at its end value."""
    assert close(ph.current_efficiency_at_current(ce, current, 300e3, still, exponent),
                 ref.current_efficiency_at(ce, current, 300e3, still, exponent))


@pytest.mark.parametrize("ce_nominal", [0.93, 0.95, 0.96])
def test_metal_lost_per_area_is_constant_at_fixed_stirring(ce_nominal) -> None:
    """The CE loss is the mass-transfer-limited flux of dissolved metal (Sterten & Solli, J. Appl. Electrochem.
    26, 1996): at a fixed mass-transfer coefficient (no stirring change, ``still_fraction`` = 1) the metal lost
    per second, (1 − CE)·I, does not depend on the current (Grjotheim & Welch 1988: loss per unit area roughly
    constant), and at the nominal current the CE is Dewing's."""
    nominal = 300e3
    lost_at_nominal = (1.0 - ce_nominal) * nominal
    for fraction in (0.5, 0.6, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5):
        ce = ph.current_efficiency_at_current(ce_nominal, fraction * nominal, nominal, 1.0, 0.8)
        assert (1.0 - ce) * fraction * nominal == pytest.approx(lost_at_nominal, rel=1e-12)
    assert ph.current_efficiency_at_current(ce_nominal, nominal, nominal, 0.4, 0.8) == pytest.approx(
        ce_nominal, abs=1e-15
    )


def test_lower_current_loses_current_efficiency_with_the_stirring() -> None:
    """With the shipped stirring (a still fraction of 0.4, exponent 0.8: hal275.toml) the loss flux falls with
    the stirring but slower than the current, so CE falls as the current does (plants lose CE at low current
    density), and by less than the fixed-stirring bound; beyond the law's range it is held."""
    nominal, ce_nominal = 300e3, 0.95
    def at(fraction: float, still: float = 0.4) -> float:
        return ph.current_efficiency_at_current(ce_nominal, fraction * nominal, nominal, still, 0.8)

    ces = [at(f) for f in (0.5, 0.6, 0.75, 0.9, 1.0)]
    assert ces == sorted(ces)
    assert ces[0] < ces[-1]
    for fraction in (0.5, 0.75, 0.9):
        assert at(fraction, still=1.0) < at(fraction) < ce_nominal
    for below in (0.0, 0.2):
        assert at(below) == at(0.5)
    assert at(2.0) == at(1.5)


# --- heat transfer and chemistry (physics.md §1.6) -------------------------------------------------------


@SETTINGS
@given(st.floats(0.0, 800e3), st.floats(0.2, 0.6), st.floats(0.5, 1.0))
def test_stirring_factor(current, still, exponent) -> None:
    """Includes currents beyond twice nominal, where the ratio is capped."""
    assert close(ph.stirring_factor(current, 300e3, still, exponent), ref.stirring(current, 300e3, still, exponent))


@SETTINGS
@given(st.floats(20.0, 600.0), st.floats(20.0, 50.0), st.floats(3.0, 30.0), st.floats(0.5, 0.95))
def test_shell_film_coefficient(shell, air, h_conv, emissivity) -> None:
    assert close(ph.shell_film_coefficient(shell, air, h_conv, emissivity),
                 ref.shell_coefficient(shell, air, h_conv, emissivity))


@SETTINGS
@given(st.floats(850.0, 1000.0), st.floats(1e-3, 2e-2), st.floats(50.0, 600.0), st.floats(20.0, 50.0),
       st.floats(-1e5, 6e5))
def test_shell_temperature(inner, r_in, g_out, air, duty) -> None:
    """Negative duties (an exchanger cannot heat) and duties beyond what the wall brings (capped at the air)."""
    fast = ph.shell_temperature(inner, r_in, g_out, air, duty)
    slow = ref.massless_shell(inner, r_in, g_out, air, duty)
    assert close(fast[0], slow[0])
    assert close(fast[1], slow[1])
    assert fast[1] >= 0.0
    assert fast[0] >= air - 1e-9


@SETTINGS
@given(st.floats(0.85, 0.99), st.floats(5.0, 7.0), st.floats(3.0, 5.0))
def test_process_energy(ce, e_rx_kwh, e_back_kwh) -> None:
    e_rx, e_back = e_rx_kwh * 3.6e6, e_back_kwh * 3.6e6
    assert close(ph.process_energy_per_kg_al(ce, e_rx, e_back), e_rx / ce - e_back * (1.0 / ce - 1.0))


def test_process_energy_against_entner() -> None:
    """physics.md §1.6: e_rx 5.63 and e_back 4.26 kWh/kg give 5.70 kWh/kg at CE 95 % (Entner's 200 kA example 5.72)."""
    assert ph.process_energy_per_kg_al(0.95, 5.63 * 3.6e6, 4.26 * 3.6e6) / 3.6e6 == pytest.approx(5.70, abs=0.01)


@SETTINGS
@given(st.floats(0.85, 1.0), st.floats(900.0, 1000.0), st.floats(100.0, 950.0))
def test_carbon_heating_against_the_quadrature_of_the_same_fit(ce, bath, anode) -> None:
    """The closed-form enthalpy against the reference's Gauss-Legendre quadrature of Butland & Maddison's c_p."""
    expected = ref.CARBON_KG_PER_KG_AL / ce * ref.carbon_heat(anode, bath)
    assert ph.carbon_heating_per_kg_al(ce, bath, anode) == pytest.approx(expected, rel=1e-10, abs=1e-6)
    assert ph.carbon_heating_per_kg_al(ce, bath, bath) == 0.0
    assert ph.carbon_heating_per_kg_al(ce, anode, bath) == pytest.approx(-expected, rel=1e-10, abs=1e-6)


def test_carbon_heat_capacity_at_25_degc_is_codata() -> None:
    """dh/dT at 298.15 K against graphite's c_p° = 8.517 J/(mol K) (CODATA Key Values, Cox, Wagman & Medvedev
    1989, as listed in the NIST Chemistry WebBook), within the fit's stated 0.5 %."""
    step = 0.01
    cp = (ph.carbon_enthalpy_J_per_kg(25.0 + step) - ph.carbon_enthalpy_J_per_kg(25.0 - step)) / (2 * step)
    assert cp * ph.M_C == pytest.approx(8.517, rel=0.005)


def test_carbon_heating_from_the_potroom_against_entner() -> None:
    """Consumed carbon from 25 °C to 960 °C at CE 95 %: Entner's 200 kA balance books "heating anodes" 9 kW at
    63.76 kg Al/h = 0.141 kWh/kg Al (test_energy_balance.py); the stoichiometric carbon (0.351 kg/kg Al at
    CE 95 %) takes 0.138."""
    per_kg_al = ph.carbon_heating_per_kg_al(0.95, 960.0, 25.0) / 3.6e6
    assert per_kg_al == pytest.approx(9.0 / (0.33557 * 200 * 0.95), rel=0.05)


@SETTINGS
@given(st.floats(0.0, 0.1), st.floats(0.0, 2.0))
def test_sodium_oxide_reaction(na2o, alf3_available) -> None:
    """3 Na2O + 4 AlF3 → 2 Na3AlF6 + Al2O3, stopping when the excess AlF3 runs out; mass is conserved."""
    from twin.cell.chemistry import sodium_oxide_reaction

    fast = sodium_oxide_reaction(na2o, alf3_available)
    slow = ref.na2o_neutralisation(na2o, alf3_available)
    for a, b in zip(fast, slow[:3], strict=True):
        assert close(a, b)
    assert math.isclose(fast[0] + na2o, fast[1] + fast[2], rel_tol=1e-12, abs_tol=1e-15)
    if not slow[3]:  # complete reaction: the stoichiometric cryolite, to the molar masses' rounding
        assert fast[1] == pytest.approx(2 * 209.941 / (3 * 61.979) * na2o, rel=1e-5, abs=1e-15)


@SETTINGS
@given(st.floats(-2.0, 40.0), st.floats(0.0, 40.0), alumina, st.floats(0.5, 8.0), lif, mgf2)
def test_liquidus_is_clamped_to_solheims_range(a, ca, c, sat, li, mg) -> None:
    """Outside AlF3, CaF2 in [0, 20] wt % and alumina above saturation the liquidus is Solheim's at the edge of
    the range, never extrapolated (physics.md §1.3: fitted for AlF3, CaF2 < 20 %, Al2O3 up to saturation)."""
    import numpy as np

    from twin.cell import layout as L
    from twin.cell.chemistry import liquidus_of

    p = np.zeros(L.N_PARAM)
    p[L.P_LIF_WTPCT], p[L.P_MGF2_WTPCT] = li, mg
    assert close(liquidus_of(a, ca, c, sat, p), ref.liquidus_in_range(a, c, ca, li, mg, sat))
    if 0.0 <= a <= 20.0 and ca <= 20.0 and c <= sat:
        assert close(liquidus_of(a, ca, c, sat, p), ref.liquidus_temperature(a, c, ca, li, mg))


def test_saturation_is_taken_inside_the_range_and_stays_positive() -> None:
    """Skybakmoen's A turns negative past ~25 % AlF3; at the clamped composition the solubility stays positive."""
    import numpy as np

    from twin.cell import layout as L
    from twin.cell.chemistry import saturation_of

    p = np.zeros(L.N_PARAM)
    assert ref.alumina_saturation(950.0, 90.0, 30.0, 0.0, 0.0) < 0.0  # what the raw correlation would say
    assert saturation_of(950.0, 90.0, 30.0, p) == pytest.approx(ref.alumina_saturation(950.0, 20.0, 20.0, 0.0, 0.0))
    assert saturation_of(950.0, 90.0, 30.0, p) > 0.0


# --- published and cross-check numbers ----------------------------------------------------------------

RTA = {  # CellModel Global.py constants of the RTA PacOps cell (physics.md §1.1)
    "I": 126e3, "A": 2 * 104652.0, "f": 1.1382, "n_anodes": 20, "A_c": 115348.0, "R_ohm": (3.02 + 2.15 + 2.01) * 1e-6,
    "T": 963.0, "AlF3": 10.3, "CaF2": 7.0, "MgF2": 0.3, "C_AE": 1.8,
}


def rta_breakdown(al2o3: float, acd: float) -> dict[str, float]:
    """Haupin's terms for the RTA cell with i_a = I/(f·A) (the convention of the kernel)."""
    c = RTA
    i_a = c["I"] / (c["f"] * c["A"])
    t = c["T"]
    c_sat = ph.alumina_saturation(t, c["AlF3"], c["CaF2"], 0.0, c["MgF2"])
    e_rev = ph.reversible_voltage(t, ph.alumina_activity(al2o3 / c_sat))
    i_crit = ph.critical_current_density(t, al2o3, c["A"] / c["n_anodes"])
    eta_a = ph.anode_concentration_overvoltage(t, i_a, i_crit) + ph.anode_surface_overvoltage(t, i_a, al2o3)
    br = ph.bath_ratio(c["AlF3"], al2o3, c["CaF2"], 0.0, c["MgF2"])
    eta_c = ph.cathode_overvoltage(t, c["I"] / c["A_c"], br)
    kappa = ph.bath_conductivity(t, c["AlF3"], al2o3, c["CaF2"], 0.0, c["MgF2"])
    d_b = ph.bubble_thickness(i_a)
    phi = ph.bubble_coverage(i_a, br, al2o3, c["C_AE"])
    g = 1.0 / (kappa * c["f"] * c["A"])
    parts = {
        "E_rev": e_rev, "eta_a": eta_a, "eta_c": eta_c, "V_bath": c["I"] * (acd - d_b) * g,
        "V_bubble": c["I"] * d_b * phi / (1.0 - phi) * g, "V_ohmic": c["I"] * c["R_ohm"],
    }
    parts["V_cell"] = sum(parts.values())
    return parts


@pytest.mark.parametrize(
    ("al2o3", "acd", "table"),
    [
        (2.0, 4.5, (1.229, 0.497, 0.112, 0.946, 0.227, 0.905, 3.915)),
        (3.0, 4.5, (1.216, 0.468, 0.112, 0.964, 0.139, 0.905, 3.804)),
        (4.0, 4.5, (1.208, 0.450, 0.112, 0.982, 0.132, 0.905, 3.788)),
        (3.0, 4.0, (1.216, 0.468, 0.112, 0.843, 0.139, 0.905, 3.683)),
    ],
)
def test_haupin_breakdown_reproduces_the_rta_126ka_worked_table(al2o3, acd, table) -> None:
    """physics.md §1.1 worked breakdown (Haupin 1998 eqs. 5, 10, 23, 26, 28, 30-32, A15 with the RTA PacOps
    constants of CellModel Global.py): every column to 1 mV (the table is rounded to 1 mV)."""
    got = rta_breakdown(al2o3, acd)
    for name, expected in zip(("E_rev", "eta_a", "eta_c", "V_bath", "V_bubble", "V_ohmic", "V_cell"), table,
                              strict=True):
        assert got[name] == pytest.approx(expected, abs=1.0e-3), name


def test_voltage_slope_with_acd_is_about_quarter_volt_per_cm() -> None:
    """physics.md §1.1: ∂V/∂ACD ≈ 0.24 V/cm at 126 kA (κ ≈ 2.19 S/cm)."""
    slope = (rta_breakdown(3.0, 4.5)["V_cell"] - rta_breakdown(3.0, 4.0)["V_cell"]) / 0.5
    assert slope == pytest.approx(0.24, abs=0.005)


def test_wang_conductivity_cross_check() -> None:
    """physics.md §1.2: Al2O3 3, AlF3 11, CaF2 5, MgF2 0.3 wt % at 960 °C → κ = 2.195 S/cm (Wang form)."""
    assert ph.bath_conductivity(960.0, 11.0, 3.0, 5.0, 0.0, 0.3) == pytest.approx(2.195, abs=5e-4)


@pytest.mark.parametrize(
    ("alf3_", "caf2_", "al2o3", "mgf2_", "t_liq"),
    [(11.0, 5.0, 2.5, 0.3, 961.5), (12.0, 4.1, 3.0, 0.25, 956.1)],
)
def test_solheim_liquidus_cross_check(alf3_, caf2_, al2o3, mgf2_, t_liq) -> None:
    """physics.md §1.3: Solheim et al. 1996 (coefficients 0.50, ^2.2, as in shen-y21) gives 961.5 and 956.1 °C."""
    assert ph.liquidus_temperature(alf3_, al2o3, caf2_, 0.0, mgf2_) == pytest.approx(t_liq, abs=0.05)


def test_dewing_example() -> None:
    """physics.md §1.4: const = log10(5) − 0.076 + 0.209 = 0.832 gives CE 95 % at SH 8 K, AlF3 11 %,
    and CE 93.8 % at SH 18 K (Dewing 1991 form)."""
    const = math.log10(5.0) - 0.0095 * 8 + 0.019 * 11
    assert const == pytest.approx(0.832, abs=5e-4)
    assert ph.current_efficiency(8.0, 11.0, 0.0, const) == pytest.approx(0.95, abs=1e-12)
    assert 100 * ph.current_efficiency(18.0, 11.0, 0.0, const) == pytest.approx(93.8, abs=0.05)


def test_alumina_saturation_trends_and_activity_at_saturation() -> None:
    """Skybakmoen et al. 1997: solubility rises with temperature and falls with excess AlF3 and CaF2; Haupin's
    activity polynomial (eq. 10) is 1 at saturation (its coefficients sum to 1.0007)."""
    base = ph.alumina_saturation(960.0, 11.0, 5.0, 0.0, 0.3)
    assert ph.alumina_saturation(980.0, 11.0, 5.0, 0.0, 0.3) > base
    assert ph.alumina_saturation(960.0, 13.0, 5.0, 0.0, 0.3) < base
    assert ph.alumina_saturation(960.0, 11.0, 7.0, 0.0, 0.3) < base
    assert ph.alumina_activity(1.0) == pytest.approx(1.0, abs=1e-3)
