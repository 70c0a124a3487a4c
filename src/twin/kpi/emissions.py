"""Greenhouse-gas accounting: PFC by the IPCC Tier 2 slope method, anode CO2, coal and grid CO2.

* Slope method (IPCC 2006 Vol. 3 ch. 4.4 eq. 4.25/4.26; EU Reg. 601/2012 Annex IV §8 B; 40 CFR 98.63
  eq. F-2): CF4 [kg] = S_CF4 × AEM × P_Al [t], AEM = AE frequency (AE/cell-day) × mean AE duration (min);
  C2F6 = F_C2F6/CF4 × CF4 (physics.md §1.8).
* GWP-100 sets: AR4 CF4 7390 / C2F6 12200 (IAI PFC statistics page); AR5 6630 / 11100; AR6 7380 / 12400
  (physics.md §1.8).
* Anode CO2: net carbon × 44.0095/12.011 (all anode carbon leaves as CO2; IPCC 2006 Vol. 3 eq. 4.21 form).
* Coal CO2: fuel energy × emission factor (IPCC 2006 Vol. 2 Table 1.4, in the plant file).
"""

from __future__ import annotations

GWP100 = {"AR4": (7390.0, 12200.0), "AR5": (6630.0, 11100.0), "AR6": (7380.0, 12400.0)}
CO2_PER_C = 44.0095 / 12.011


def pfc_slope_method(
    ae_per_cell_day: float, ae_minutes: float, production_t: float, slope: float, c2f6_ratio: float
) -> tuple[float, float]:
    """(CF4 t, C2F6 t) from the anode-effect statistics by the Tier 2 slope method."""
    cf4_kg = slope * ae_per_cell_day * ae_minutes * production_t
    return cf4_kg / 1000.0, c2f6_ratio * cf4_kg / 1000.0


def pfc_co2e_t(cf4_t: float, c2f6_t: float, gwp_set: str) -> float:
    """CO2-equivalent of the PFC emissions with the named GWP-100 set."""
    gwp_cf4, gwp_c2f6 = GWP100[gwp_set]
    return cf4_t * gwp_cf4 + c2f6_t * gwp_c2f6


def pfc_low_voltage(cf4_kg_per_t: float, c2f6_ratio: float, production_t: float) -> tuple[float, float]:
    """(CF4 t, C2F6 t) of low-voltage PFC (no anode effect) by a per-tonne factor (IPCC 2019 Refinement
    Vol. 3 ch. 4.4: LVAE emissions by a technology default factor, Tier 1, or a measured one, Tier 3; the
    slope method covers only high-voltage anode effects)."""
    cf4_t = cf4_kg_per_t * production_t / 1000.0
    return cf4_t, c2f6_ratio * cf4_t
