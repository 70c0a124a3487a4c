"""Nominal operation of a few cells for calibration runs: settle, then average over a day.

Plant operations that hold a real cell at its operating point are emulated between kernel chunks (they belong
to the plant layer, not the kernel): every 6 h the excess AlF3 is restored to the model's target (AlF3
additions balance the AlF3 lost to emissions and lining) and every 24 h the metal is tapped back to the
start-of-day mass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.cell import Potline
from twin.cell import layout as L
from twin.cell.physics import FARADAY, M_AL
from twin.params import Technology

DAY = 86400


@dataclass(frozen=True)
class OperatingPoint:
    """Day averages per cell, plus the breakdown identity residual over all samples."""

    v_cell: np.ndarray
    temperature: np.ndarray
    superheat: np.ndarray
    ce: np.ndarray
    alumina: np.ndarray
    acd: np.ndarray
    ledge: np.ndarray
    breakdown_residual: float


def operate(tech: Technology, n_cells: int = 3, settle_days: float = 2.0, slow_every: int = 10,
            seed: int = 1) -> OperatingPoint:
    line = Potline(tech, n_cells, seed=seed, slow_every=slow_every, stop_on=())
    kA = line.nominal_current_kA
    alf3_target = tech.number("bath.alf3_excess_wtpct") / 100.0
    metal0 = line.state[L.S_METAL_KG].copy()
    chunk = 60 * slow_every  # aligned with the refresh cadence
    per_6h = 6 * 3600 // chunk

    def run(seconds: float, sample: bool) -> dict[str, list[np.ndarray]]:
        rows: dict[str, list[np.ndarray]] = {"T": [], "sh": [], "al": [], "acd": [], "ledge": [], "res": []}
        for k in range(int(seconds) // chunk):
            if k % per_6h == 0:
                line.set_cells("alf3_kg", slice(None), alf3_target * line.state[L.S_BATH_KG])
            if k % (4 * per_6h) == 0:
                line.set_cells("metal_kg", slice(None), metal0)
            line.advance(chunk, kA)
            if sample:
                out, st = line.out, line.state
                rows["T"].append(st[L.S_TEMP_DEGC].copy())
                rows["sh"].append(out[L.O_SUPERHEAT_K].copy())
                rows["al"].append(out[L.O_ALUMINA_WTPCT].copy())
                rows["acd"].append(st[L.S_ACD_CM].copy())
                rows["ledge"].append(0.5 * (st[L.S_LEDGE_BATH_CM] + st[L.S_LEDGE_METAL_CM]))
                parts = sum(out[row] for row in L.BREAKDOWN_ROWS)
                rows["res"].append(np.abs(parts - out[L.O_V_CELL]) / out[L.O_V_CELL])
        return rows

    run(settle_days * DAY, sample=False)
    acc0 = line.acc.copy()
    rows = run(DAY, sample=True)
    d = line.acc - acc0
    ce = d[L.A_AL_PRODUCED_KG] / (M_AL / (3.0 * FARADAY) * d[L.A_CHARGE_C])
    mean = {k: np.mean(v, axis=0) for k, v in rows.items()}
    return OperatingPoint(d[L.A_VOLTAGE_SECONDS] / DAY, mean["T"], mean["sh"], ce, mean["al"], mean["acd"],
                          mean["ledge"], float(np.max(rows["res"])))
