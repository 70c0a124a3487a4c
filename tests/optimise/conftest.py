"""Small hand-built windows for the MILP (no identification, no files) and the small test plant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.optimise.costs import FuelCurve, Tier
from twin.optimise.problem import Boundary, LineData, UnitData, Window
from twin.optimise.reduced import ReducedLine

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"


def toy_model(*, e_V: float = 600.0, r_V: float = 0.0, a_x: float = 1.0, bI_x: float = 0.0, bD_x: float = 0.0,
              sI: float = 0.0, sx: float = 0.0, ledge_max: float = 100.0, I_nom: float = 100.0) -> ReducedLine:
    """A reduced model with chosen coefficients (cells = 1 gives P = I·(e + r·I)/1000 MW)."""
    return ReducedLine(technology="toy", dt_h=1.0, I_nom_kA=I_nom, D_nom_kW=0.0, ledge0_cm=7.0, temp0_degC=950.0,
                       sh0_K=8.0, ce=0.95, a_x=a_x, bI_x=bI_x, bD_x=bD_x, a_z=1.0, bI_z=0.0, bD_z=0.0, sI=sI, sD=0.0,
                       sx=sx, e_V=e_V, r_V=r_V, ledge_min_cm=-100.0, ledge_max_cm=ledge_max, temp_max_degC=2000.0)


def toy_line(model: ReducedLine, *, lo: float, hi: float, ramp: float = 1e6, production: float = 1.0,
             terminal: float = 100.0, name: str = "L1", cells: int = 1) -> LineData:
    return LineData(name=name, model=model, cells=cells, busbar_uohm=0.0, efficiency=1.0, I_min_kA=lo, I_max_kA=hi,
                    ramp_kA_per_step=ramp, D_min_kW=0.0, D_max_kW=0.0, production_fraction=production,
                    superheat_min_K=0.0, superheat_margin_K=0.0, ledge_margin_cm=0.0, temp_margin_K=0.0,
                    terminal_cm=terminal, ae_per_cell_day_max=1.0)


def toy_unit(*, cap: float = 100.0, p_min: float = 40.0, f0: float = 400.0, slopes: tuple[float, ...] = (9.0,),
             ramp: float = 1e6, up: int = 1, down: int = 1, startup: float = 0.0, price: float = 1.0,
             name: str = "G1") -> UnitData:
    lengths = tuple((cap - p_min) / len(slopes) for _ in slopes)
    return UnitData(name=name, capacity_MW=cap, p_min_MW=p_min, ramp_MW_per_step=ramp, min_up_steps=up,
                    min_down_steps=down, startup_cost=startup, curve=FuelCurve(p_min, f0, lengths, slopes),
                    fuel_price=price, co2_t_per_GJ=0.0946)


def toy_window(units: tuple[UnitData, ...], lines: tuple[LineData, ...], tariff: list[float], *,
               renewables: list[float] | None = None, import_max: float = 1000.0, export_max: float = 0.0,
               export_fraction: float = 0.5, on: tuple[int, ...] | None = None, coal: tuple[float, ...] | None = None,
               in_state: int = 10**6, tier: Tier | None = None) -> Window:
    steps = len(tariff)
    on = on if on is not None else tuple(1 for _ in units)
    coal = coal if coal is not None else tuple(u.p_min_MW if o else 0.0 for u, o in zip(units, on, strict=True))
    b = Boundary(coal_MW=coal, on=on, steps_in_state=tuple(in_state for _ in units),
                 current_kA=tuple(line.model.I_nom_kA for line in lines), x=tuple(0.0 for _ in lines),
                 z=tuple(0.0 for _ in lines), owed_kAh=tuple(0.0 for _ in lines))
    return Window(dt_h=1.0, start_h=0.0, steps=steps, tariff_per_MWh=np.asarray(tariff, float),
                  export_fraction=export_fraction,
                  renewables_MW=np.asarray(renewables if renewables is not None else [0.0] * steps, float),
                  import_max_MW=import_max, export_max_MW=export_max, auxiliary_fraction=0.0, co2_price=0.0,
                  tier=tier or Tier(0.0, 0.0), units=units, lines=lines, boundary=b)


@pytest.fixture(scope="session")
def small_inputs():
    from twin.optimise.inputs import load_inputs

    return load_inputs(MODELS / "plant_small.toml")
