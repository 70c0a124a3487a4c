"""The merit-order baseline on the same inputs: potlines at nominal current and design duty, the units
dispatched step by step by the plant's own merit-order rule (:func:`twin.plant.power.dispatch`: renewables
first, coal by marginal cost within minimum load, capacity and ramps, the grid for the rest)."""

from __future__ import annotations

import numpy as np

from twin.optimise.milp import Schedule, finish
from twin.optimise.problem import HOUR_S, Window
from twin.params import PlantSpec
from twin.plant.power import dispatch


def merit_order(w: Window, plant: PlantSpec) -> Schedule:
    """The baseline schedule of window ``w``."""
    current = np.array([np.full(w.steps, line.model.I_nom_kA) for line in w.lines])
    duty = np.array([np.full(w.steps, line.model.D_nom_kW) for line in w.lines])
    demand = w.demand_MW(current, duty)
    previous = list(w.boundary.coal_MW)
    available = [bool(o) for o in w.boundary.on]
    coal = np.zeros((len(w.units), w.steps))
    ren = np.zeros(w.steps)
    grid = dict(plant.grid.values)
    grid["import_max_MW"], grid["export_max_MW"] = w.import_max_MW, w.export_max_MW
    grid["export_price_fraction"] = w.export_fraction
    for k in range(w.steps):
        d = dispatch(float(demand[k]), plant.coal_units, previous, available, w.dt_h * HOUR_S,
                     float(w.renewables_MW[k]), grid, float(w.tariff_per_MWh[k]))
        coal[:, k] = d.coal_MW
        ren[k] = d.renewables_MW
        previous = list(d.coal_MW)
    on = np.array([[1 if a else 0] * w.steps for a in available])
    return finish(w, coal=coal, on=on, startups=np.zeros_like(on), import_MW=np.zeros(w.steps),
                  export_MW=np.zeros(w.steps), renewables_MW=ren, current=current, duty=duty, x=None, z=None,
                  status="baseline", objective=float("nan"), solve_s=0.0)
