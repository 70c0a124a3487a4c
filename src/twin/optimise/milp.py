"""The dispatch MILP of one window, built with linopy and solved with HiGHS.

Per coal unit g and step t: on u, start v, stop w (binary); output p = p_min·u + Σ_s q_s over the fuel
curve's segments (with fill-order binaries where the curve is concave); u[t] − u[t−1] = v − w; minimum up
and down times (Σ of the last UT starts ≤ u, Σ of the last DT stops ≤ 1 − u, and the boundary's own
commitment carried in); ramps p[t] − p[t−1] ≤ RU·u[t−1] + max(p_min, RU)·v[t] and the mirror for stops.
Grid: 0 ≤ import ≤ limit, 0 ≤ export ≤ limit; renewables used ≤ forecast. Each potline l: current
I ∈ [I_min, I_max] with a ramp limit, duty D ∈ [D_min, D_max], the reduced ledge x and bath temperature z
(:mod:`twin.optimise.reduced`) within the technology's limits less the margins, superheat above its
minimum plus margin, the ledge back within ``terminal_cm`` of its start at the end, and Σ I·dt at least the
production target plus what earlier windows owe. Line DC power P ≥ each tangent of the convex
P(I) = cells·I·(e + r·I) + R_bus·I² (tight at the optimum: more demand never lowers the cost); demand =
(1 + aux)·Σ P/η + the exchangers' fans (a share of the duty). Balance: Σ p + renewables + import − export
= demand, every step. Objective: fuel + CO2 + start-ups + import − export revenue + the linearised tiered
surcharge (:mod:`twin.optimise.costs`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import linopy
import numpy as np
import pandas as pd

from twin.optimise.problem import Boundary, Window

TANGENTS = 7


@dataclass(frozen=True)
class Schedule:
    """A dispatch for one window (arrays unit × step, line × step or per step), with its model predictions."""

    dt_h: float
    start_h: float
    coal_MW: np.ndarray
    on: np.ndarray
    startups: np.ndarray
    import_MW: np.ndarray
    export_MW: np.ndarray
    renewables_MW: np.ndarray
    demand_MW: np.ndarray
    current_kA: np.ndarray
    duty_kW: np.ndarray
    ledge_cm: np.ndarray  # reduced model's prediction per line
    temp_degC: np.ndarray
    superheat_K: np.ndarray
    x: np.ndarray
    z: np.ndarray
    status: str  # "optimal", "time_limit" (feasible, not proven), "baseline" (merit order)
    objective: float
    solve_s: float

    @property
    def steps(self) -> int:
        return self.demand_MW.shape[0]

    def boundary_after(self, steps: int, previous: Boundary) -> Boundary:
        """The state after the first ``steps`` steps (what a rolling horizon carries on)."""
        k = steps - 1
        in_state = []
        for g in range(self.on.shape[0]):
            run = 0
            while run <= k and self.on[g, k - run] == self.on[g, k]:
                run += 1
            started_before = run > k and previous.on[g] == self.on[g, k]
            in_state.append(previous.steps_in_state[g] + steps if started_before else run)
        owed = list(previous.owed_kAh)  # the caller adds the committed shortfall (plan._carry)
        return Boundary(
            coal_MW=tuple(float(p) for p in self.coal_MW[:, k]), on=tuple(int(o) for o in self.on[:, k]),
            steps_in_state=tuple(in_state), current_kA=tuple(float(i) for i in self.current_kA[:, k]),
            x=tuple(float(v) for v in self.x[:, k]), z=tuple(float(v) for v in self.z[:, k]), owed_kAh=tuple(owed),
        )


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS prints a banner from C++ on its first use in a process; keep it off our stdout (library code
    never prints). Redirects file descriptor 1 for the duration of the solve."""
    try:
        fd = os.dup(1)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            try:
                yield
            finally:
                os.dup2(fd, 1)
    finally:
        os.close(fd)


def _lag(var: linopy.Variable, steps: int) -> linopy.LinearExpression:
    return (1 * var).shift(t=steps).fillna(0)


def build(w: Window) -> tuple[linopy.Model, dict[str, object]]:
    """The MILP of window ``w`` (module docstring) and its named variables."""
    m = linopy.Model()
    T = pd.RangeIndex(w.steps, name="t")
    first = xr_first(T)
    b = w.boundary
    cost = 0
    coal_total = 0
    v_units: dict[str, object] = {}
    for g, unit in enumerate(w.units):
        tag = f"g{g}"
        u = m.add_variables(coords=[T], name=f"on_{tag}", binary=True)
        v = m.add_variables(coords=[T], name=f"start_{tag}", binary=True)
        s = m.add_variables(coords=[T], name=f"stop_{tag}", binary=True)
        p = m.add_variables(lower=0, upper=unit.capacity_MW, coords=[T], name=f"p_{tag}")
        segs = []
        fill = []
        curve = unit.curve
        for k, (length, _) in enumerate(zip(curve.lengths_MW, curve.slopes_GJ_per_MWh, strict=True)):
            q = m.add_variables(lower=0, upper=length, coords=[T], name=f"q_{tag}_{k}")
            m.add_constraints(q - length * u <= 0, name=f"seg_on_{tag}_{k}")
            segs.append(q)
        if curve.concave and len(segs) > 1:
            for k in range(1, len(segs)):
                y = m.add_variables(coords=[T], name=f"fill_{tag}_{k}", binary=True)
                m.add_constraints(segs[k] - curve.lengths_MW[k] * y <= 0, name=f"fill_a_{tag}_{k}")
                m.add_constraints(segs[k - 1] - curve.lengths_MW[k - 1] * y >= 0, name=f"fill_b_{tag}_{k}")
                m.add_constraints(y - u <= 0, name=f"fill_c_{tag}_{k}")
                fill.append(y)
        m.add_constraints(p - unit.p_min_MW * u - sum(segs) == 0, name=f"p_def_{tag}")
        # commitment logic with the boundary's state before step 0
        u_prev = _lag(u, 1) + b.on[g] * first
        m.add_constraints(u - u_prev - v + s == 0, name=f"logic_{tag}")
        m.add_constraints(v + s <= 1, name=f"startstop_{tag}")
        if unit.min_up_steps > 1:
            m.add_constraints(sum(_lag(v, k) for k in range(unit.min_up_steps)) - u <= 0, name=f"min_up_{tag}")
        if unit.min_down_steps > 1:
            m.add_constraints(sum(_lag(s, k) for k in range(unit.min_down_steps)) + u <= 1, name=f"min_down_{tag}")
        must = unit.min_up_steps - b.steps_in_state[g] if b.on[g] else unit.min_down_steps - b.steps_in_state[g]
        if must > 0:
            head = np.arange(w.steps) < must
            m.add_constraints(u.where(pd.Series(head, index=T).to_xarray()) == b.on[g], name=f"carry_{tag}")
        p_prev = _lag(p, 1) + b.coal_MW[g] * first
        up_start = max(unit.p_min_MW, unit.ramp_MW_per_step)
        m.add_constraints(p - p_prev - unit.ramp_MW_per_step * u_prev - up_start * v <= 0, name=f"ramp_up_{tag}")
        m.add_constraints(p_prev - p - unit.ramp_MW_per_step * u - up_start * s <= 0, name=f"ramp_dn_{tag}")
        fuel = curve.f0_GJ_per_h * u + sum(sl * q for sl, q in zip(curve.slopes_GJ_per_MWh, segs, strict=True))
        cost = cost + (w.dt_h * (unit.fuel_price + w.co2_price * unit.co2_t_per_GJ)) * fuel.sum()
        cost = cost + unit.startup_cost * v.sum()
        coal_total = coal_total + p
        v_units[tag] = (u, v, p)
    imp = m.add_variables(lower=0, upper=w.import_max_MW, coords=[T], name="import")
    exp = m.add_variables(lower=0, upper=w.export_max_MW, coords=[T], name="export")
    ren = m.add_variables(lower=0, upper=pd.Series(w.renewables_MW, index=T).to_xarray(), coords=[T],
                          name="renewables")
    demand = 0
    v_lines = {}
    production_t = 0
    for n, line in enumerate(w.lines):
        tag = f"l{n}"
        model = line.model
        cur = m.add_variables(lower=line.I_min_kA, upper=line.I_max_kA, coords=[T], name=f"I_{tag}")
        duty = m.add_variables(lower=line.D_min_kW, upper=line.D_max_kW, coords=[T], name=f"D_{tag}")
        power = m.add_variables(lower=0, coords=[T], name=f"P_{tag}")
        x = m.add_variables(lower=-100, upper=100, coords=[T], name=f"x_{tag}")
        z = m.add_variables(lower=-1000, upper=1000, coords=[T], name=f"z_{tag}")
        for i_k in _tangent_points(line.I_min_kA, line.I_max_kA, model.I_nom_kA):
            m.add_constraints(power - line.dc_slope(i_k) * cur >= float(line.dc_MW(i_k)) - line.dc_slope(i_k) * i_k,
                              name=f"tangent_{tag}_{i_k:.3f}")
        i_prev = _lag(cur, 1) + b.current_kA[n] * first
        m.add_constraints(cur - i_prev <= line.ramp_kA_per_step, name=f"i_ramp_up_{tag}")
        m.add_constraints(i_prev - cur <= line.ramp_kA_per_step, name=f"i_ramp_dn_{tag}")
        d_i = cur - model.I_nom_kA
        d_d = duty - model.D_nom_kW
        x_prev = _lag(x, 1) + b.x[n] * first
        z_prev = _lag(z, 1) + b.z[n] * first
        m.add_constraints(x - model.a_x * x_prev - model.bI_x * d_i - model.bD_x * d_d == 0, name=f"ledge_{tag}")
        m.add_constraints(z - model.a_z * z_prev - model.bI_z * d_i - model.bD_z * d_d == 0, name=f"temp_{tag}")
        m.add_constraints(x >= model.ledge_min_cm + line.ledge_margin_cm - model.ledge0_cm, name=f"ledge_min_{tag}")
        m.add_constraints(x <= model.ledge_max_cm - line.ledge_margin_cm - model.ledge0_cm, name=f"ledge_max_{tag}")
        m.add_constraints(z <= model.temp_max_degC - line.temp_margin_K - model.temp0_degC, name=f"temp_max_{tag}")
        superheat = model.sh0_K + model.sI * d_i + model.sD * d_d + model.sx * x
        m.add_constraints(superheat >= line.superheat_min_K + line.superheat_margin_K, name=f"superheat_{tag}")
        last = x.isel(t=w.steps - 1)
        m.add_constraints(last <= b.x[n] + line.terminal_cm, name=f"terminal_hi_{tag}")
        m.add_constraints(last >= b.x[n] - line.terminal_cm, name=f"terminal_lo_{tag}")
        target = line.production_fraction * model.I_nom_kA * w.steps * w.dt_h + b.owed_kAh[n]
        m.add_constraints(w.dt_h * cur.sum() >= target, name=f"production_{tag}")
        demand = demand + (1.0 + w.auxiliary_fraction) / line.efficiency * power
        if line.fan_fraction > 0:
            demand = demand + line.cells * line.fan_fraction / 1e3 * duty
        production_t = production_t + w.dt_h * line.cells * model.metal_t_per_kAh() * cur.sum()
        v_lines[tag] = (cur, duty, x, z)
    m.add_constraints(coal_total + ren + imp - exp - demand == 0, name="balance")
    tariff = pd.Series(w.tariff_per_MWh, index=T).to_xarray()
    cost = cost + w.dt_h * (tariff * imp).sum() - w.dt_h * w.export_fraction * (tariff * exp).sum()
    if w.tier.k_USD_per_MWh > 0:
        surcharge = m.add_variables(lower=0, name="tier_surcharge")
        energy = w.dt_h * demand.sum()
        m.add_constraints(surcharge - w.tier.k_USD_per_MWh * (energy - w.tier.threshold_MWh_per_t * production_t)
                          >= 0, name="tier")
        cost = cost + surcharge
    m.add_objective(cost)
    return m, {"units": v_units, "lines": v_lines, "import": imp, "export": exp, "renewables": ren}


def xr_first(T: pd.RangeIndex) -> object:
    """1 at the first step, 0 elsewhere (the boundary's terms enter only there)."""
    return pd.Series((np.arange(len(T)) == 0).astype(float), index=T).to_xarray()


def _tangent_points(lo: float, hi: float, nominal: float) -> list[float]:
    points = set(np.round(np.linspace(lo, hi, TANGENTS), 6).tolist())
    if lo <= nominal <= hi:
        points.add(round(nominal, 6))
    return sorted(points)


class InfeasibleError(Exception):
    """The window has no schedule within its limits (raised with the solver's termination condition)."""


def solve(w: Window, *, mip_rel_gap: float = 1e-4, time_limit_s: float = 120.0) -> Schedule:
    """Build and solve window ``w``; raise :class:`InfeasibleError` when HiGHS finds no schedule."""
    t0 = time.perf_counter()
    m, var = build(w)
    with _quiet_stdout():
        status, condition = m.solve(solver_name="highs", output_flag=False, log_to_console=False,
                                    mip_rel_gap=mip_rel_gap, time_limit=time_limit_s)
    elapsed = time.perf_counter() - t0
    if status != "ok" and condition != "time_limit":
        raise InfeasibleError(str(condition))
    units, lines = var["units"], var["lines"]
    try:
        coal = np.array([units[f"g{g}"][2].solution.values for g in range(len(w.units))]).reshape(len(w.units), w.steps)
    except (AttributeError, KeyError) as exc:  # a time limit without any feasible point
        raise InfeasibleError(str(condition)) from exc
    if not np.all(np.isfinite(coal)):
        raise InfeasibleError(str(condition))
    on = np.rint([units[f"g{g}"][0].solution.values for g in range(len(w.units))]).reshape(len(w.units), w.steps)
    starts = np.rint([units[f"g{g}"][1].solution.values for g in range(len(w.units))]).reshape(len(w.units), w.steps)
    current = np.array([lines[f"l{n}"][0].solution.values for n in range(len(w.lines))])
    duty = np.array([lines[f"l{n}"][1].solution.values for n in range(len(w.lines))])
    # the solver's values sit on their bounds to its tolerance (1e-9); the plant takes only values inside them
    current = np.array([np.clip(c, line.I_min_kA, line.I_max_kA) for c, line in zip(current, w.lines, strict=True)])
    duty = np.array([np.clip(d, line.D_min_kW, line.D_max_kW) for d, line in zip(duty, w.lines, strict=True)])
    x = np.array([lines[f"l{n}"][2].solution.values for n in range(len(w.lines))])
    z = np.array([lines[f"l{n}"][3].solution.values for n in range(len(w.lines))])
    return finish(w, coal=coal * (on > 0.5), on=on, startups=starts, import_MW=var["import"].solution.values,
                  export_MW=var["export"].solution.values, renewables_MW=var["renewables"].solution.values,
                  current=current, duty=duty, x=x, z=z,
                  status="optimal" if condition == "optimal" else str(condition), objective=float(m.objective.value),
                  solve_s=elapsed)


def finish(w: Window, *, coal: np.ndarray, on: np.ndarray, startups: np.ndarray, import_MW: np.ndarray,
           export_MW: np.ndarray, renewables_MW: np.ndarray, current: np.ndarray, duty: np.ndarray,
           x: np.ndarray | None, z: np.ndarray | None, status: str, objective: float, solve_s: float) -> Schedule:
    """A :class:`Schedule` with the reduced models' predictions along it."""
    n_lines = len(w.lines)
    ledge, temp, sh = (np.zeros((n_lines, w.steps)) for _ in range(3))
    xs, zs = np.zeros((n_lines, w.steps)), np.zeros((n_lines, w.steps))
    for n, line in enumerate(w.lines):
        sim = line.model.simulate(current[n], duty[n], w.boundary.x[n], w.boundary.z[n])
        ledge[n], temp[n], sh[n], xs[n], zs[n] = (sim["ledge_cm"], sim["temp_degC"], sim["superheat_K"], sim["x"],
                                                   sim["z"])
    demand = w.demand_MW(current, duty)
    # close the balance on the exact P(I) (the MILP's tangents are tight to round-off): the tie takes the rest
    net = demand - np.sum(coal, axis=0) - renewables_MW
    import_MW, export_MW = np.maximum(net, 0.0), np.maximum(-net, 0.0)
    return Schedule(
        dt_h=w.dt_h, start_h=w.start_h, coal_MW=np.asarray(coal, float), on=np.asarray(on, int),
        startups=np.asarray(startups, int), import_MW=np.asarray(import_MW, float),
        export_MW=np.asarray(export_MW, float), renewables_MW=np.asarray(renewables_MW, float),
        demand_MW=demand, current_kA=np.asarray(current, float), duty_kW=np.asarray(duty, float),
        ledge_cm=ledge, temp_degC=temp, superheat_K=sh, x=xs if x is None else np.asarray(x, float),
        z=zs if z is None else np.asarray(z, float), status=status, objective=objective, solve_s=solve_s,
    )
