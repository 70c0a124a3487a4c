"""Identify the reduced potline model (:mod:`twin.optimise.reduced`) from the twin's own cells.

Procedure (docs/optimise.md "Identification"):

1. A few cells of the line's technology (:class:`twin.cell.Potline`, the same kernel the plant runs) settle
   for ``settle_h`` at the operating point: nominal current and the exchanger's design duty.
2. From that settled state (the same seed every run, so the noise and feed cycles are common to all runs),
   each experiment applies a schedule of line current and duty for ``run_h``; a reference run holds the
   operating point. Recorded per step: the cells' mean ledge (mean of the bath and metal levels), bath
   temperature, superheat (mean over the step) and cell voltage.
3. The deviations from the reference run are fitted by least squares: one-step ARX for the ledge and
   bath temperature, a static map for the superheat, an affine V(I) for the regulated cell voltage.
4. The error is measured on held-out experiments (a random multi-step schedule and a time-of-use day)
   by running the fitted model open loop over the whole experiment: RMSE and largest error.

Training: steps of the current to both ends of its range and back, (with exchangers) steps of duty, and two
random multi-step schedules drawn from other seeds than the held-out one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

import numpy as np

from twin.cell import Potline
from twin.optimise.reduced import ReducedLine
from twin.params import Technology

SAMPLES_PER_STEP = 3
AL_KG_PER_C = 0.0269815 / (3 * 96485.33)  # Faraday: kg of Al per coulomb at 100 % CE


@dataclass(frozen=True)
class Experiment:
    """One identification run: current (kA) and duty (kW per cell) per step, after the settling."""

    name: str
    current_kA: np.ndarray
    duty_kW: np.ndarray


def _run(tech: Technology, cells: int, seed: int, dt_h: float, settle_h: float, exp: Experiment,
         nominal_kA: float, duty0_kW: float) -> dict[str, np.ndarray]:
    pot = Potline(tech, cells, dt=1.0, seed=seed, slow_every=30, stop_on=())
    pot.set_hx_duty(None, duty0_kW * 1e3)
    pot.advance(int(settle_h * 3600), nominal_kA)
    step_s = round(dt_h * 3600)
    sub = step_s // SAMPLES_PER_STEP
    n = len(exp.current_kA)
    out = {k: np.zeros(n) for k in ("ledge_cm", "temp_degC", "superheat_K", "v_cell")}
    for k in range(n):
        pot.set_hx_duty(None, float(exp.duty_kW[k]) * 1e3)
        sh, v = 0.0, 0.0
        for _ in range(SAMPLES_PER_STEP):
            pot.advance(sub, float(exp.current_kA[k]))
            sh += float(pot.values("superheat_K").mean())
            v += float(pot.values("v_cell").mean())
        out["superheat_K"][k] = sh / SAMPLES_PER_STEP
        out["v_cell"][k] = v / SAMPLES_PER_STEP
        out["ledge_cm"][k] = float((0.5 * (pot.values("ledge_bath_cm") + pot.values("ledge_metal_cm"))).mean())
        out["temp_degC"][k] = float(pot.values("temperature_degC").mean())
    faraday_kg = pot.values("charge_C").sum() * AL_KG_PER_C
    out["ce"] = np.array([pot.values("al_produced_kg").sum() / faraday_kg])
    return out


def experiments(nominal_kA: float, duty0_kW: float, current_range_kA: tuple[float, float],
                duty_range_kW: tuple[float, float], dt_h: float, run_h: float, seed: int
                ) -> tuple[list[Experiment], list[Experiment]]:
    """(training, held-out) experiments for a line whose current and duty may move within the ranges."""
    n = round(run_h / dt_h)
    hold = round(2 * run_h / 3 / dt_h)
    lo, hi = current_range_kA
    flat_i, flat_d = np.full(n, nominal_kA), np.full(n, duty0_kW)

    def step(values: np.ndarray, level: float) -> np.ndarray:
        out = values.copy()
        out[:hold] = level
        return out

    train = [Experiment("current_low", step(flat_i, lo), flat_d),
             Experiment("current_high", step(flat_i, hi), flat_d)]
    dmin, dmax = duty_range_kW
    if dmax > dmin:
        train += [Experiment("duty_low", flat_i, step(flat_d, max(dmin, duty0_kW - 0.5 * (dmax - dmin)))),
                  Experiment("duty_high", flat_i, step(flat_d, min(dmax, duty0_kW + 0.5 * (dmax - dmin))))]
    def random_steps(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        cur, duty = flat_i.copy(), flat_d.copy()
        k = 0
        while k < n:
            span = int(rng.integers(int(2 / dt_h), int(6 / dt_h) + 1))
            cur[k:k + span] = rng.uniform(lo, hi)
            if dmax > dmin:
                duty[k:k + span] = rng.uniform(dmin, dmax)
            k += span
        return cur, duty

    train += [Experiment(f"random_train_{j}", *random_steps(np.random.default_rng([seed, j]))) for j in (1, 2)]
    rand_i, rand_d = random_steps(np.random.default_rng(seed))
    hours = (np.arange(n) * dt_h) % 24
    peak = ((hours >= 8) & (hours < 11)) | ((hours >= 17) & (hours < 21))
    valley = (hours < 7) | (hours >= 23)
    tou_i = np.where(peak, lo, np.where(valley, hi, nominal_kA))
    tou_d = flat_d if dmax <= dmin else np.where(peak, dmin, np.where(valley, dmax, duty0_kW))
    held = [Experiment("random_steps", rand_i, rand_d), Experiment("time_of_use_day", tou_i, tou_d)]
    return train, held


def _lstsq(columns: Sequence[np.ndarray], target: np.ndarray) -> np.ndarray:
    A = np.column_stack(columns)
    keep = np.array([np.ptp(c) > 0 for c in columns])
    coef = np.zeros(len(columns))
    if keep.any():
        coef[keep] = np.linalg.lstsq(A[:, keep], target, rcond=None)[0]
    return coef


def identify(tech: Technology, *, duty_capacity_kW: float, current_range_kA: tuple[float, float],
             cells: int = 4, seed: int = 11, dt_h: float = 0.25, settle_h: float = 12.0, run_h: float = 36.0
             ) -> ReducedLine:
    """Identify the reduced model of ``tech`` cells (module docstring); its ``errors`` are the held-out errors."""
    key = _Key(tech)
    return _identify_cached(key, float(duty_capacity_kW), (float(current_range_kA[0]), float(current_range_kA[1])),
                            cells, seed, dt_h, settle_h, run_h)


class _Key:
    """A technology as a cache key: equal when every parameter value is equal."""

    def __init__(self, tech: Technology) -> None:
        self.tech = tech
        self.items = tuple(sorted(tech.values.items()))

    def __hash__(self) -> int:
        return hash(self.items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.items == other.items


@lru_cache(maxsize=16)
def _identify_cached(key: _Key, duty_capacity_kW: float, current_range_kA: tuple[float, float], cells: int,
                     seed: int, dt_h: float, settle_h: float, run_h: float) -> ReducedLine:
    tech = key.tech
    nominal = tech.number("cell.line_current_nominal_kA")
    duty0 = min(tech.number("thermal.exchanger_design_duty_kW"), duty_capacity_kW)
    duty_range = (0.0, duty_capacity_kW) if duty_capacity_kW > 0 else (duty0, duty0)
    train, held = experiments(nominal, duty0, current_range_kA, duty_range, dt_h, run_h, seed)
    n = len(train[0].current_kA)
    reference = _run(tech, cells, seed, dt_h, settle_h,
                     Experiment("reference", np.full(n, nominal), np.full(n, duty0)), nominal, duty0)
    runs = [(e, _run(tech, cells, seed, dt_h, settle_h, e, nominal, duty0)) for e in train]
    X0, Xn, Z0, Zn, dI, dD, SH, Xs, Icur, Vcur = [], [], [], [], [], [], [], [], [], []
    for exp, rec in runs:
        x = np.concatenate([[0.0], rec["ledge_cm"] - reference["ledge_cm"]])
        z = np.concatenate([[0.0], rec["temp_degC"] - reference["temp_degC"]])
        X0.append(x[:-1])
        Xn.append(x[1:])
        Z0.append(z[:-1])
        Zn.append(z[1:])
        dI.append(exp.current_kA - nominal)
        dD.append(exp.duty_kW - duty0)
        SH.append(rec["superheat_K"] - reference["superheat_K"])
        Xs.append(x[1:])
        Icur.append(exp.current_kA)
        Vcur.append(rec["v_cell"])
    cat = np.concatenate
    a_x, bI_x, bD_x = _lstsq([cat(X0), cat(dI), cat(dD)], cat(Xn))
    a_z, bI_z, bD_z = _lstsq([cat(Z0), cat(dI), cat(dD)], cat(Zn))
    sI, sD, sx = _lstsq([cat(dI), cat(dD), cat(Xs)], cat(SH))
    I_all, V_all = cat([*Icur, reference_current := np.full(n, nominal)]), cat([*Vcur, reference["v_cell"]])
    del reference_current
    r_V, e_V = np.polyfit(I_all, V_all, 1)
    model = ReducedLine(
        technology=tech.name, dt_h=dt_h, I_nom_kA=nominal, D_nom_kW=duty0,
        ledge0_cm=float(reference["ledge_cm"].mean()), temp0_degC=float(reference["temp_degC"].mean()),
        sh0_K=float(reference["superheat_K"].mean()), ce=float(reference["ce"][0]),
        a_x=float(a_x), bI_x=float(bI_x), bD_x=float(bD_x), a_z=float(a_z), bI_z=float(bI_z), bD_z=float(bD_z),
        sI=float(sI), sD=float(sD), sx=float(sx), e_V=float(e_V), r_V=float(r_V),
        ledge_min_cm=tech.number("thermal.ledge_min_cm"), ledge_max_cm=tech.number("thermal.ledge_max_cm"),
        temp_max_degC=tech.number("thermal.bath_temp_max_degC"),
    )
    errors = {}
    for exp in held:
        rec = _run(tech, cells, seed, dt_h, settle_h, exp, nominal, duty0)
        sim = model.simulate(exp.current_kA, exp.duty_kW)
        truth = {"ledge_cm": rec["ledge_cm"] - reference["ledge_cm"],
                 "temp_degC": rec["temp_degC"] - reference["temp_degC"],
                 "superheat_K": rec["superheat_K"] - reference["superheat_K"]}
        pred = {"ledge_cm": sim["x"], "temp_degC": sim["z"], "superheat_K": sim["superheat_K"] - model.sh0_K}
        p_true = exp.current_kA * rec["v_cell"]
        p_pred = exp.current_kA * (model.e_V + model.r_V * exp.current_kA)
        errors[exp.name] = MappingProxyType({
            **{f"{k}_rmse": float(np.sqrt(np.mean((pred[k] - truth[k]) ** 2))) for k in truth},
            **{f"{k}_max": float(np.max(np.abs(pred[k] - truth[k]))) for k in truth},
            **{f"{k}_range": float(np.ptp(truth[k])) for k in truth},
            "power_rmse_pct": float(100 * np.sqrt(np.mean(((p_pred - p_true) / p_true) ** 2))),
        })
    return ReducedLine(**{**model.__dict__, "errors": MappingProxyType(errors)})
