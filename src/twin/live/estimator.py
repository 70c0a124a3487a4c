"""Ensemble Kalman filter over the cell kernel: estimates dissolved alumina, ACD and bath temperature.

Method
------
Each of the ``n_cells`` cells of a potline is represented by ``M`` ensemble members. All members of all
cells are columns of *one* :class:`~twin.cell.Potline` (column ``c * M + m`` is member ``m`` of cell ``c``),
so a forecast of the whole ensemble is one kernel call (style.md practice 5; performance.md §2.1).

* **Forecast.** Members are driven by the *measured* plant inputs, not by their own pot control: the
  measured line current, the measured feed shots (feed-count increments; each member delivers them with
  its own feed efficiency, split dissolved/undissolved as the kernel does) and the measured beam moves
  (each move is emulated as the plant's regulator would make it from the measured pseudo-resistance, plus
  a random spread). Members' own feed control is off (``feed_strategy = none``), their regulation timer
  is parked, and their resistance noise is switched off (its variance goes into the observation error).
* **Augmented state** per member: dissolved and undissolved alumina (kg), bath temperature, ACD and the
  feeder's delivery efficiency (a parameter estimated as a state, which makes a stuck feeder visible).
  Process noise: independent random walks with standard deviation ``q·sqrt(Δt / 1 h)`` per forecast.
* **Analysis.** The observation of a window is the mean measured cell voltage over it; a member predicts
  it as its own time-mean voltage over the same window (kernel accumulator ``voltage_seconds``). The update
  is the serial square-root EnKF for a scalar observation (Whitaker & Hamill 2002, Mon. Wea. Rev.
  130:1913-1924), per cell (cells are independent, so the update is exactly localised to its cell):
  ``K = P_xy / (P_yy + R)``, mean ``x̄ += K (y - ȳ)``, perturbations ``X' -= α K Y'`` with
  ``α = 1 / (1 + sqrt(R / (P_yy + R)))``. Bath-temperature dips are assimilated the same way with the
  member's temperature as the predicted observation. The ensemble formulation follows Evensen (1994,
  J. Geophys. Res. 99(C5):10143; 2003, Ocean Dynamics 53:343).
* **Innovation statistics** for the divergence test: ``ν = y - ȳ`` and ``S = P_yy + R`` of each analysed
  window (Bar-Shalom, Li & Kirubarajan 2001, *Estimation with Applications to Tracking and Navigation*,
  §5.4: normalised innovation squared ν²/S is χ²(1) for a consistent filter).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from twin._numba import jit
from twin.cell import Potline
from twin.cell import layout as L
from twin.cell.slow import refresh_slow_terms
from twin.errors import SimulationError
from twin.params import Technology

logger = logging.getLogger(__name__)

#: state rows of the kernel that the filter updates (the augmented state vector, in this order)
STATE_ROWS = (L.S_ALUMINA_DISSOLVED_KG, L.S_ALUMINA_UNDISSOLVED_KG, L.S_TEMP_DEGC, L.S_ACD_CM,
              L.S_FEED_EFFICIENCY)
PARKED_TIMER_S = -1.0e15  # a regulation timer that never reaches its interval: members do not regulate


@dataclass(frozen=True, slots=True)
class FilterConfig:
    """Ensemble size, prior spread, process noise (per sqrt(hour)) and observation errors."""

    members: int = 32
    seed: int = 0
    dt: float = 1.0
    init_alumina_sd_wtpct: float = 0.4
    init_acd_sd_cm: float = 0.25
    init_temperature_sd_degC: float = 4.0
    init_feed_efficiency_sd: float = 0.05
    q_alumina_wtpct: float = 0.08
    q_undissolved_kg: float = 1.0
    q_acd_cm: float = 0.04
    q_temperature_degC: float = 0.5
    q_feed_efficiency: float = 0.15
    beam_move_sd_cm: float = 0.05
    feed_efficiency_max: float = 1.1  # a feeder cannot deliver much more than it is commanded
    sensor_sd_V: float = 0.004
    model_sd_V: float = 0.004
    temperature_sd_degC: float = 1.5

    def __post_init__(self) -> None:
        if not 4 <= self.members <= 1000:
            raise SimulationError(f"FilterConfig.members = {self.members!r} is invalid; expected 4..1000")


@dataclass(frozen=True, slots=True)
class Innovation:
    """Per-cell innovation statistics of one analysis (NaN where a cell had no observation)."""

    nu: np.ndarray  # y - ȳ
    s: np.ndarray  # P_yy + R

    @property
    def nis(self) -> np.ndarray:
        return self.nu**2 / self.s


@jit
def _refresh_all(state: np.ndarray, params: np.ndarray) -> None:
    for i in range(state.shape[1]):
        refresh_slow_terms(state, params, i)


def window_noise_variance(noise_rms_V: float, tau_s: float, window_s: float) -> float:
    """Variance of the time mean over ``window_s`` of a first-order (exponentially correlated) noise.

    Var = σ² · 2τ/W · (1 - τ/W · (1 - exp(-W/τ))) (e.g. Papoulis, *Probability, Random Variables and
    Stochastic Processes*, time averages of a stationary process with ρ(t) = exp(-|t|/τ)).
    """
    if window_s <= 0:
        return noise_rms_V**2
    r = tau_s / window_s
    return noise_rms_V**2 * 2.0 * r * (1.0 - r * (1.0 - math.exp(-1.0 / r)))


class EnsembleKalmanFilter:
    """M members per cell of a potline, in one kernel call; see the module docstring for the method."""

    def __init__(self, technology: Technology, n_cells: int, config: FilterConfig | None = None,
                 *, prior: dict[str, float] | None = None) -> None:
        self.config = cfg = config or FilterConfig()
        self.n_cells = n_cells
        self.members = m = cfg.members
        self.model = Potline(technology, n_cells * m, dt=cfg.dt, seed=cfg.seed, stop_on=())
        self.rng = np.random.default_rng(cfg.seed)
        p = self.model.params
        self.noise_rms_ohm = float(p[L.P_NOISE_OHM])
        self.noise_tau_s = float(p[L.P_NOISE_TAU_S])
        p[L.P_NOISE_OHM] = 0.0  # members are noise-free; the noise variance is part of R
        s = self.model.state
        s[L.S_FEED_STRATEGY] = L.FEED_NONE
        s[L.S_REG_TIMER_S] = PARKED_TIMER_S
        bath = s[L.S_BATH_KG]
        prior = prior or {}
        alumina = prior.get("alumina_wtpct", float(100.0 * s[L.S_ALUMINA_DISSOLVED_KG, 0] / bath[0]))
        acd = prior.get("acd_cm", float(s[L.S_ACD_CM, 0]))
        temp = prior.get("temperature_degC", float(s[L.S_TEMP_DEGC, 0]))
        k = n_cells * m
        s[L.S_ALUMINA_DISSOLVED_KG] = np.clip(
            alumina + cfg.init_alumina_sd_wtpct * self.rng.standard_normal(k), 1.9, 6.0) * bath / 100.0
        s[L.S_ACD_CM] = acd + cfg.init_acd_sd_cm * self.rng.standard_normal(k)
        s[L.S_TEMP_DEGC] = temp + cfg.init_temperature_sd_degC * self.rng.standard_normal(k)
        s[L.S_FEED_EFFICIENCY] = 1.0 + cfg.init_feed_efficiency_sd * self.rng.standard_normal(k)
        self._clamp()
        _refresh_all(s, p)

    # -- views --------------------------------------------------------------------------------------------------
    def cells_view(self, row: int) -> np.ndarray:
        """State row ``row`` as an (n_cells, members) view."""
        return self.model.state[row].reshape(self.n_cells, self.members)

    @property
    def time_s(self) -> float:
        return self.model.time_s

    def alumina_wtpct(self) -> np.ndarray:
        return 100.0 * self.cells_view(L.S_ALUMINA_DISSOLVED_KG) / self.cells_view(L.S_BATH_KG)

    def estimate(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Ensemble mean and standard deviation per cell of each estimated quantity."""
        s = self.model.state
        fields = {
            "alumina_wtpct": self.alumina_wtpct(),
            "acd_cm": self.cells_view(L.S_ACD_CM),
            "temperature_degC": self.cells_view(L.S_TEMP_DEGC),
            "superheat_K": (s[L.S_TEMP_DEGC] - s[L.S_LIQUIDUS_DEGC]).reshape(self.n_cells, self.members),
            "feed_efficiency": self.cells_view(L.S_FEED_EFFICIENCY),
            "undissolved_kg": self.cells_view(L.S_ALUMINA_UNDISSOLVED_KG),
        }
        return {k: (v.mean(axis=1), v.std(axis=1, ddof=1)) for k, v in fields.items()}

    def voltage_variance(self, current_kA: float, window_s: float, n_readings: np.ndarray,
                         noise_ratio: np.ndarray | float = 1.0) -> np.ndarray:
        """Observation-error variance R of a window-mean voltage, per cell.

        ``noise_ratio`` (measured over expected noise variance, ≥ 1 used) scales the cell-noise part, so a
        cell whose voltage got noisier (an anode problem) is trusted less instead of dragging its states.
        """
        cfg = self.config
        noise = window_noise_variance(self.noise_rms_ohm * current_kA * 1e3, self.noise_tau_s, window_s)
        return (noise * np.maximum(noise_ratio, 1.0) + cfg.sensor_sd_V**2 / np.maximum(n_readings, 1)
                + cfg.model_sd_V**2)

    # -- forecast -------------------------------------------------------------------------------------------
    def forecast(
        self,
        steps: int,
        current_kA: float,
        *,
        shots: np.ndarray,
        beam_moves: np.ndarray,
        r_slow_ohm: np.ndarray,
        ae_onset: np.ndarray,
        ae_seen: np.ndarray,
    ) -> np.ndarray:
        """Advance every member ``steps`` steps with the measured inputs; return the predicted window-mean
        voltage per (cell, member)."""
        cfg = self.config
        s, p = self.model.state, self.model.params
        n, m = self.n_cells, self.members
        bath = self.cells_view(L.S_BATH_KG)
        # measured feed shots, delivered with each member's own efficiency
        efficiency = np.clip(self.cells_view(L.S_FEED_EFFICIENCY), 0.0, None)
        fed = np.asarray(shots, float)[:, None] * p[L.P_SHOT_KG] * efficiency
        r = p[L.P_UNDISSOLVED_FRACTION]
        self.cells_view(L.S_ALUMINA_DISSOLVED_KG)[:] += (1.0 - r) * fed
        self.cells_view(L.S_ALUMINA_UNDISSOLVED_KG)[:] += r * fed
        # the kernel charges heating of fed alumina to the bath enthalpy; do the same for shots added here
        heat_capacity = bath * p[L.P_CP_BATH] + self.cells_view(L.S_METAL_KG) * p[L.P_CP_METAL]
        self.cells_view(L.S_TEMP_DEGC)[:] -= fed * p[L.P_ALUMINA_HEAT_J_PER_KG] / heat_capacity
        # measured beam moves: the plant regulator's move from the measured slow resistance, plus spread
        moved = np.asarray(beam_moves) > 0
        if moved.any():
            conduct_area = p[L.P_FANNING] * p[L.P_ANODE_AREA_CM2]
            error = (p[L.P_R_TARGET_OHM] - np.asarray(r_slow_ohm, float))[:, None]
            move = np.clip(error * self.cells_view(L.S_KAPPA_S_PER_CM) * conduct_area,
                           -p[L.P_BEAM_MOVE_MAX_CM], p[L.P_BEAM_MOVE_MAX_CM])
            move = move + cfg.beam_move_sd_cm * self.rng.standard_normal((n, m))
            acd = self.cells_view(L.S_ACD_CM)
            acd[moved] = np.clip(acd[moved] + move[moved], p[L.P_ACD_MIN_CM], p[L.P_ACD_MAX_CM])
        # anode effects: the measured flag is an observation of alumina at the AE threshold
        c_ae = p[L.P_ALUMINA_AE_WTPCT]
        diss = self.cells_view(L.S_ALUMINA_DISSOLVED_KG)
        onset = np.asarray(ae_onset, bool) & (self.cells_view(L.S_AE_ACTIVE).max(axis=1) == 0)
        diss[onset] = np.minimum(diss[onset], (c_ae - 0.01) * bath[onset] / 100.0)
        quiet = ~np.asarray(ae_seen, bool)
        diss[quiet] = np.maximum(diss[quiet], (c_ae + 0.05) * bath[quiet] / 100.0)
        self._add_process_noise(steps * cfg.dt)
        _refresh_all(s, p)
        before = self.model.acc[L.A_VOLTAGE_SECONDS].copy()
        self.model.advance(int(steps), current_kA)
        mean_v = (self.model.acc[L.A_VOLTAGE_SECONDS] - before) / max(steps * cfg.dt, 1e-9)
        return mean_v.reshape(n, m)

    def _add_process_noise(self, span_s: float) -> None:
        cfg = self.config
        f = math.sqrt(max(span_s, 0.0) / 3600.0)
        if f == 0.0:
            return
        k = self.n_cells * self.members
        s, rng = self.model.state, self.rng
        s[L.S_ALUMINA_DISSOLVED_KG] += cfg.q_alumina_wtpct * f * rng.standard_normal(k) * s[L.S_BATH_KG] / 100.0
        s[L.S_ALUMINA_UNDISSOLVED_KG] += cfg.q_undissolved_kg * f * rng.standard_normal(k)
        s[L.S_ACD_CM] += cfg.q_acd_cm * f * rng.standard_normal(k)
        s[L.S_TEMP_DEGC] += cfg.q_temperature_degC * f * rng.standard_normal(k)
        s[L.S_FEED_EFFICIENCY] += cfg.q_feed_efficiency * f * rng.standard_normal(k)
        self._clamp()

    def _clamp(self) -> None:
        s, p = self.model.state, self.model.params
        np.maximum(s[L.S_ALUMINA_DISSOLVED_KG], 0.005 * s[L.S_BATH_KG], out=s[L.S_ALUMINA_DISSOLVED_KG])
        np.maximum(s[L.S_ALUMINA_UNDISSOLVED_KG], 0.0, out=s[L.S_ALUMINA_UNDISSOLVED_KG])
        np.clip(s[L.S_ACD_CM], p[L.P_ACD_MIN_CM] - 1.0, p[L.P_ACD_MAX_CM] + 1.0, out=s[L.S_ACD_CM])
        np.clip(s[L.S_FEED_EFFICIENCY], 0.0, self.config.feed_efficiency_max, out=s[L.S_FEED_EFFICIENCY])
        np.clip(s[L.S_TEMP_DEGC], 900.0, 1020.0, out=s[L.S_TEMP_DEGC])

    # -- analysis ---------------------------------------------------------------------------------------------
    def analyse(self, predicted: np.ndarray, observed: np.ndarray, variance: np.ndarray) -> Innovation:
        """Serial square-root EnKF update with one scalar observation per cell (NaN = no observation)."""
        observed = np.asarray(observed, float)
        variance = np.broadcast_to(np.asarray(variance, float), observed.shape)
        use = np.isfinite(observed)
        nu = np.full(self.n_cells, np.nan)
        s_out = np.full(self.n_cells, np.nan)
        if not use.any():
            return Innovation(nu, s_out)
        m = self.members
        y = predicted[use]
        y_mean = y.mean(axis=1)
        y_dev = y - y_mean[:, None]
        p_yy = (y_dev**2).sum(axis=1) / (m - 1)
        s = p_yy + variance[use]
        innovation = observed[use] - y_mean
        alpha = 1.0 / (1.0 + np.sqrt(variance[use] / s))
        for row in STATE_ROWS:
            x = self.cells_view(row)
            xu = x[use]
            x_mean = xu.mean(axis=1)
            x_dev = xu - x_mean[:, None]
            gain = (x_dev * y_dev).sum(axis=1) / (m - 1) / s
            x[use] = (x_mean + gain * innovation)[:, None] + x_dev - (alpha * gain)[:, None] * y_dev
        self._clamp()
        _refresh_all(self.model.state, self.model.params)
        nu[use] = innovation
        s_out[use] = s
        return Innovation(nu, s_out)

    def analyse_temperature(self, observed: np.ndarray) -> Innovation:
        """Assimilate bath-temperature dips (°C per cell, NaN = none this time)."""
        predicted = self.cells_view(L.S_TEMP_DEGC).copy()
        return self.analyse(predicted, observed, self.config.temperature_sd_degC**2)
