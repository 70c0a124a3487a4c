"""The reduced potline model the MILP plans with: linear in the deviations from the operating point.

Per step of ``dt_h`` hours, with ΔI the line current and ΔD the exchanger duty per cell away from the
operating point (I_nom, D_nom), and x the ledge and z the bath temperature away from theirs:

    x[k+1] = a_x·x[k] + bI_x·ΔI[k] + bD_x·ΔD[k]            (ledge, cm; the heat stored as ledge)
    z[k+1] = a_z·z[k] + bI_z·ΔI[k] + bD_z·ΔD[k]            (bath temperature, K)
    SH[k+1] = sh0 + sI·ΔI[k] + sD·ΔD[k] + sx·x[k+1]       (mean superheat, K; the bath follows in < 1 step)
    V_cell = e_V + r_V·I                                    (regulated cell voltage, V with I in kA)

The coefficients are identified from the twin's own cells by simulation (:mod:`twin.optimise.identify`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ReducedLine:
    """Identified reduced model of one potline's cells (module docstring)."""

    technology: str
    dt_h: float
    I_nom_kA: float
    D_nom_kW: float
    ledge0_cm: float
    temp0_degC: float
    sh0_K: float
    ce: float  # current efficiency at the operating point (the twin's Dewing CE)
    a_x: float
    bI_x: float
    bD_x: float
    a_z: float
    bI_z: float
    bD_z: float
    sI: float
    sD: float
    sx: float
    e_V: float
    r_V: float
    ledge_min_cm: float
    ledge_max_cm: float
    temp_max_degC: float
    errors: Any = field(default_factory=lambda: MappingProxyType({}))  # held-out identification error

    def simulate(self, current_kA: np.ndarray, duty_kW: np.ndarray, x0: float = 0.0, z0: float = 0.0
                 ) -> dict[str, np.ndarray]:
        """Ledge, bath temperature and superheat after each step of a schedule (open loop)."""
        n = len(current_kA)
        x, z, sh = np.zeros(n), np.zeros(n), np.zeros(n)
        xk, zk = x0, z0
        for k in range(n):
            dI, dD = current_kA[k] - self.I_nom_kA, duty_kW[k] - self.D_nom_kW
            xk = self.a_x * xk + self.bI_x * dI + self.bD_x * dD
            zk = self.a_z * zk + self.bI_z * dI + self.bD_z * dD
            x[k], z[k] = xk, zk
            sh[k] = self.sh0_K + self.sI * dI + self.sD * dD + self.sx * xk
        return {"ledge_cm": self.ledge0_cm + x, "temp_degC": self.temp0_degC + z, "superheat_K": sh,
                "x": x, "z": z}

    def loosened(self, factor: float) -> ReducedLine:
        """The same model with every input gain times ``factor`` (< 1: a model that thinks the cells barely
        respond; used to test that the replay loop catches what the reduced model misses)."""
        return replace(self, bI_x=self.bI_x * factor, bD_x=self.bD_x * factor, bI_z=self.bI_z * factor,
                       bD_z=self.bD_z * factor, sI=self.sI * factor, sD=self.sD * factor, sx=self.sx * factor)

    def metal_t_per_kAh(self) -> float:
        """Aluminium per kA·h of line current per cell (t), at the operating point's CE."""
        return self.ce * 0.0269815 / (3 * 96485.33) * 3.6e6 / 1e3

    def cell_power_W(self, current_kA: float | np.ndarray) -> float | np.ndarray:
        """DC power of one cell at ``current_kA`` (W)."""
        return current_kA * 1e3 * (self.e_V + self.r_V * current_kA)
