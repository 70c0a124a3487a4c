"""Calibration of the three technology models at nominal operation (settle 2 days, average over the third).

Targets (physics.md §2):
* hal275 — Qatalum HAL275 at 300 kA (row 1, qatalum.com): cell voltage 4.20 V, bath 956 °C; CE 94-96 % and
  superheat 5-15 K (modern cells, physics.md §1.3-1.4).
* cell500 — the shen-y21 500 kA model cell (row 14, initialize_parameters.m): 3.95 V, 965 °C, CE window
  93-95 % (g_min/g_max), superheat 5-15 K, ACD 3 cm, ledge bounds 5-10 cm.
* cellmodel126 — the RTA PacOps cell of CellModel (row 11, Global.py): the worked Haupin breakdown of
  physics.md §1.1 reproduced by the kernel itself, and CE 94.5 %.
In every case the voltage breakdown rows add up exactly to the cell voltage (Haupin eq. A1).
"""

from __future__ import annotations

import pytest
from tests.cell.nominal import OperatingPoint, operate

from twin.cell import Potline
from twin.params import load_technology


@pytest.fixture(scope="module")
def operating_points(models_dir) -> dict[str, OperatingPoint]:
    return {name: operate(load_technology(models_dir / f"{name}.toml"))
            for name in ("hal275", "cell500", "cellmodel126")}


def test_hal275_matches_qatalum(operating_points) -> None:
    op = operating_points["hal275"]
    assert op.v_cell.mean() == pytest.approx(4.20, abs=0.05)
    assert op.temperature.mean() == pytest.approx(956.0, abs=5.0)
    assert 0.94 <= op.ce.mean() <= 0.96
    assert 5.0 <= op.superheat.mean() <= 15.0


def test_cell500_matches_shen_y21(operating_points) -> None:
    op = operating_points["cell500"]
    assert op.v_cell.mean() == pytest.approx(3.95, abs=0.05)
    assert op.temperature.mean() == pytest.approx(965.0, abs=5.0)
    assert 0.93 <= op.ce.mean() <= 0.95
    assert op.acd.mean() == pytest.approx(3.0, abs=0.3)


@pytest.mark.xfail(
    strict=True,
    reason="shen-y21 closes its balance with the alumina heated at twice its sensible heat (0.596 kWh/kg) and a "
    "lower CE; with the energy counted once (physics.md §1.6) its 3.95 V cell has ~40 kW more to lose through its "
    "own resistances, so the superheat settles ~16 K and the ledge ~4 cm (docs/physics.md §7)",
)
def test_cell500_superheat_and_ledge_inside_shen_y21_bounds(operating_points) -> None:
    op = operating_points["cell500"]
    assert 5.0 <= op.superheat.mean() <= 15.0
    assert 5.0 <= op.ledge.mean() <= 10.0


def test_cellmodel126_current_efficiency(operating_points) -> None:
    op = operating_points["cellmodel126"]
    assert op.ce.mean() == pytest.approx(0.945, abs=0.003)
    assert op.acd.mean() == pytest.approx(4.5, abs=0.3)  # regulated to the §1.1 row's 3.80 V at 4.5 cm


@pytest.mark.parametrize("name", ["hal275", "cell500", "cellmodel126"])
def test_breakdown_adds_up_to_cell_voltage(operating_points, name) -> None:
    assert operating_points[name].breakdown_residual < 1e-12


@pytest.mark.parametrize(
    ("al2o3", "acd", "table"),
    [
        (2.0, 4.5, (1.229, 0.497, 0.112, 0.946, 0.227, 0.905, 3.915)),
        (3.0, 4.5, (1.216, 0.468, 0.112, 0.964, 0.139, 0.905, 3.804)),
        (4.0, 4.5, (1.208, 0.450, 0.112, 0.982, 0.132, 0.905, 3.788)),
        (3.0, 4.0, (1.216, 0.468, 0.112, 0.843, 0.139, 0.905, 3.683)),
    ],
)
def test_kernel_reproduces_the_rta_worked_breakdown(models_dir, al2o3, acd, table) -> None:
    """physics.md §1.1: CellModel constants, 126 kA, 963 °C, AlF3 10.3 / CaF2 7 / MgF2 0.3 wt% — the kernel's
    own output rows for one step agree with the table to 1 mV (noise switched off)."""
    tech = load_technology(models_dir / "cellmodel126.toml").with_overrides({"noise.amplitude_uohm": 0.0}, "test")
    line = Potline(tech, 1, stop_on=())
    bath = tech.number("cell.bath_mass_kg")
    line.set_cells("temperature_degC", 0, 963.0)
    line.set_cells("alumina_dissolved_kg", 0, al2o3 / 100.0 * bath)
    line.set_cells("alf3_kg", 0, 10.3 / 100.0 * bath)
    line.set_cells("acd_cm", 0, acd)
    line.set_cells("ae_active", 0, 0.0)
    line.advance(1, 126.0)
    o = {k: float(v[0]) for k, v in line.snapshot().outputs.items()}
    got = (o["e_rev"], o["eta_anode_conc"] + o["eta_anode_surf"], o["eta_cathode"], o["v_bath"], o["v_bubble"],
           o["v_anode"] + o["v_cathode"] + o["v_external"], o["v_cell"])
    for name, value, expected in zip(("E_rev", "eta_a", "eta_c", "V_bath", "V_bubble", "V_ohmic", "V_cell"), got,
                                     table, strict=True):
        assert value == pytest.approx(expected, abs=1.0e-3), name
