"""Case 2: heat-loss split, side-shell temperatures and side heat flux at nominal, for all three technologies.

Published bands (../shared/docs/physics.md §1.6):
* top 45-55 %, sides 30-40 %, bottom 7-15 % of the heat loss of a modern point-fed prebake cell [R: Haupin;
  Grjotheim & Welch; Thonstad et al., Aluminium Electrolysis];
* side shell 250-350 °C in normal operation, ≥ 400 °C (red) means little or no ledge [R];
* side heat flux at the ledge face ≈ 10-13 kW/m² [C].

Which of these are validation and which are design inputs: each technology's thermal resistances are derived
(model-file sources, models/*.toml [thermal]) from the published voltage, bath temperature and superheat, a
bottom share of 12 % and the film coefficients. The bottom share and the superheat are therefore inputs, and
the top share is fixed by the derivation as "losses − sides − bottom"; the side share, the shell
temperatures, the side flux and the ledge are outputs of the network. A design input is not validation:
``test_bottom_share`` is kept only to show that the derivation is carried through.

Measured on two cells settled three days at nominal current under the harness's routine AlF3 and tapping
(tests/validation/harness.py), from the kernel outputs q_top_W, q_side_bath_W, q_side_metal_W, q_bottom_W and
the shell temperature states; side flux = side loss / ledge area of both levels.
"""

from __future__ import annotations

import pytest
from tests.validation.harness import settled, technology

TECHS = ("hal275", "cell500", "cellmodel126")
BANDS = {
    "top_share": (0.45, 0.55),
    "side_share": (0.30, 0.40),
    "bottom_share": (0.07, 0.15),
    "shell_bath_degC": (250.0, 350.0),
    "shell_metal_degC": (250.0, 350.0),
    "side_flux_kW_m2": (10.0, 13.0),
}
# the model's failures today (docs/validation.md); a fix turns these into XPASS failures
_TOP = (
    "the top share is fixed by the derivation (losses - film x superheat - 12 % bottom), and the film x "
    "published superheat gives the sides < 30 %"
)
FINDINGS: dict[tuple[str, str], str] = {
    ("hal275", "top_share"): f"FINDING: hal275 top 58.5 % (> 55 %): {_TOP}",
    ("hal275", "side_share"): "FINDING: hal275 sides 29.5 % (< 30 %): film 1200/1500 W/m2K x superheat 6.4 K "
    "carries 174 kW of 591",
    ("hal275", "shell_metal_degC"): "FINDING: hal275 side shell at metal level 366 °C (> 350 °C): the heat of "
    "the metal level through 5.5 cm of ledge",
    ("cell500", "side_share"): "FINDING: cell500 sides 21.3 % (< 30 %): shen-y21's own film (822 W/m2K) and "
    "bottom path",
    ("cell500", "bottom_share"): "FINDING: cell500 bottom 25.6 % (> 15 %): shen-y21's R_bottom_total kept (its "
    "56/17/27 split)",
    ("cell500", "shell_bath_degC"): "FINDING: cell500 side shell 389 °C (> 350 °C): ledge settles at 4.3 cm, not "
    "the 5.6 cm of the derivation",
    ("cell500", "shell_metal_degC"): "FINDING: cell500 side shell 389 °C (> 350 °C): ledge settles at 4.3 cm, not "
    "the 5.6 cm of the derivation",
    ("cellmodel126", "top_share"): f"FINDING: cellmodel126 top 57.7 % (> 55 %): {_TOP}",
    ("cellmodel126", "side_flux_kW_m2"): "FINDING: cellmodel126 side flux 7.9 kW/m2 (< 10): 59 kW over 7.5 m2 of "
    "ledge 12 cm thick",
    ("cell500", "side_flux_kW_m2"): "FINDING (2026-12-06): cell500 side flux 13.02 kW/m2 (> 13), at the band's "
    "edge: shen-y21's superheat of ~14 K (tests/cell/test_calibration.py xfail) drives 209 kW through 4.3 cm of "
    "ledge; 12.67 before the thermal splitting fix, which read the cell 5 K cooler at this 300-s cadence",
}


def nominal(tech: str) -> dict[str, float]:
    snap = settled(tech).line.snapshot()
    o, s = snap.outputs, snap.state
    top, bottom = float(o["q_top_W"].mean()), float(o["q_bottom_W"].mean())
    side = float((o["q_side_bath_W"] + o["q_side_metal_W"]).mean())
    total = top + side + bottom
    t = technology(tech)
    area = t.number("thermal.ledge_area_bath_m2") + t.number("thermal.ledge_area_metal_m2")
    return {
        "top_share": top / total,
        "side_share": side / total,
        "bottom_share": bottom / total,
        "shell_bath_degC": float(s["shell_bath_degC"].mean()),
        "shell_metal_degC": float(s["shell_metal_degC"].mean()),
        "shell_bottom_degC": float(s["shell_bottom_degC"].mean()),
        "side_flux_kW_m2": side / area / 1e3,
        "ledge_bath_cm": float(s["ledge_bath_cm"].mean()),
        "ledge_metal_cm": float(s["ledge_metal_cm"].mean()),
        "superheat_K": float(o["superheat_K"].mean()),
        "total_kW": total / 1e3,
    }


def cases() -> list:
    out = []
    for tech in TECHS:
        for quantity in BANDS:
            reason = FINDINGS.get((tech, quantity))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(tech, quantity, marks=marks, id=f"{tech}-{quantity}"))
    return out


@pytest.mark.parametrize(("tech", "quantity"), cases())
def test_nominal_heat_balance_in_published_band(tech: str, quantity: str) -> None:
    lo, hi = BANDS[quantity]
    value = nominal(tech)[quantity]
    assert lo <= value <= hi, f"{tech} {quantity} = {value:.3f}, published band {lo}-{hi}"
