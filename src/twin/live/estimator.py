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
* **Cadence.** The members refresh their slow terms (thermal update, liquidus, conductivity, the log terms of
  the voltage) every ``FilterConfig.slow_every`` steps, 10 s by default, not every step: a 1-min mean voltage
  moves by at most 0.09 mV for it under measured feeding (benchmarks/README.md, "Accuracy cost of slow_every"),
  and the filter tracks a true plant that refreshes every step as closely (tests/live/test_cadence.py), for a
  forecast ~7x cheaper (issue 12 item 6).
* **Threads.** With ``FilterConfig.threads`` > 1 the forecast's kernel call is split into contiguous ranges of
  columns advanced in parallel threads (:class:`~twin.cell.Potline` ``threads``); the members are independent
  within a call, so the forecast, and the filter, are bit for bit those of one thread.
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

from twin.cell import Potline
from twin.cell.potline import MAX_THREADS
from twin.errors import SimulationError
from twin.params import Technology

logger = logging.getLogger(__name__)
#: [C] the longest cadence offered: 60 steps (1 min at dt 1 s), the plant's own default and the longest whose
#: accuracy cost under measured feeding is recorded (0.28 mV max, benchmarks/README.md)
MAX_SLOW_EVERY = 60

#: cell states (by name, twin.cell.layout.STATE_NAMES) that the filter updates: the augmented state vector
STATE_NAMES = ("alumina_dissolved_kg", "alumina_undissolved_kg", "temperature_degC", "acd_cm", "feed_efficiency")
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
    threads: int = 1  # the forecast's kernel call split over this many threads (Potline threads; same result)
    #: the members' slow-term cadence in steps (Potline ``slow_every``): 10 s at dt 1 s costs at most 0.09 mV of a
    #: 1-min mean voltage under measured (fixed) feeding against every step (benchmarks/README.md, "Accuracy
    #: cost of slow_every"), 1/40 of ``model_sd_V``, and makes the forecast ~7x cheaper (issue 12 item 6)
    slow_every: int = 10

    def __post_init__(self) -> None:
        if not 4 <= self.members <= 1000:
            raise SimulationError(f"FilterConfig.members = {self.members!r} is invalid; expected 4..1000")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or not 1 <= self.threads <= MAX_THREADS:
            raise SimulationError(f"FilterConfig.threads = {self.threads!r} is invalid; expected an integer in "
                                  f"[1, {MAX_THREADS}]")
        if (isinstance(self.slow_every, bool) or not isinstance(self.slow_every, int)
                or not 1 <= self.slow_every <= MAX_SLOW_EVERY):
            raise SimulationError(f"FilterConfig.slow_every = {self.slow_every!r} is invalid; expected an integer in "
                                  f"[1, {MAX_SLOW_EVERY}]")


@dataclass(frozen=True, slots=True)
class Innovation:
    """Per-cell innovation statistics of one analysis (NaN where a cell had no observation)."""

    nu: np.ndarray  # y - ȳ
    s: np.ndarray  # P_yy + R

    @property
    def nis(self) -> np.ndarray:
        return self.nu**2 / self.s


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
        self.model = model = Potline(technology, n_cells * m, dt=cfg.dt, seed=cfg.seed, slow_every=cfg.slow_every,
                                     stop_on=(), threads=cfg.threads)
        self.rng = np.random.default_rng(cfg.seed)
        self.noise_rms_ohm = model.parameter("noise_ohm")
        self.noise_tau_s = model.parameter("noise_tau_s")
        model.silence_noise()  # members are noise-free; the noise variance is part of R
        model.set_feed_strategy(None, "none")
        model.set_cells("reg_timer_s", slice(None), PARKED_TIMER_S, refresh=False)
        bath = model.values("bath_kg")
        prior = prior or {}
        alumina = prior.get("alumina_wtpct", float(100.0 * model.values("alumina_dissolved_kg")[0] / bath[0]))
        acd = prior.get("acd_cm", float(model.values("acd_cm")[0]))
        temp = prior.get("temperature_degC", float(model.values("temperature_degC")[0]))
        k = n_cells * m
        self._set_flat("alumina_dissolved_kg", np.clip(
            alumina + cfg.init_alumina_sd_wtpct * self.rng.standard_normal(k), 1.9, 6.0) * bath / 100.0)
        self._set_flat("acd_cm", acd + cfg.init_acd_sd_cm * self.rng.standard_normal(k))
        self._set_flat("temperature_degC", temp + cfg.init_temperature_sd_degC * self.rng.standard_normal(k))
        self._set_flat("feed_efficiency", 1.0 + cfg.init_feed_efficiency_sd * self.rng.standard_normal(k))
        self._clamp()
        model.refresh()

    def close(self) -> None:
        """Stop the forecast's worker threads, if any (they start again on the next forecast)."""
        self.model.close()

    # -- views --------------------------------------------------------------------------------------------------
    def cells_view(self, name: str) -> np.ndarray:
        """Cell value ``name`` (a state, output or total) as an (n_cells, members) array (a copy)."""
        return self.model.values(name).reshape(self.n_cells, self.members)

    def _set(self, name: str, values: np.ndarray) -> None:
        """Write state ``name`` from an (n_cells, members) array (slow terms refreshed by the caller)."""
        self._set_flat(name, np.asarray(values).reshape(-1))

    def _set_flat(self, name: str, values: np.ndarray) -> None:
        self.model.set_cells(name, slice(None), values, refresh=False)

    @property
    def time_s(self) -> float:
        return self.model.time_s

    def alumina_wtpct(self) -> np.ndarray:
        return 100.0 * self.cells_view("alumina_dissolved_kg") / self.cells_view("bath_kg")

    def estimate(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Ensemble mean and standard deviation per cell of each estimated quantity."""
        fields = {
            "alumina_wtpct": self.alumina_wtpct(),
            "acd_cm": self.cells_view("acd_cm"),
            "temperature_degC": self.cells_view("temperature_degC"),
            "superheat_K": self.cells_view("temperature_degC") - self.cells_view("liquidus_degC"),
            "feed_efficiency": self.cells_view("feed_efficiency"),
            "undissolved_kg": self.cells_view("alumina_undissolved_kg"),
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
        model = self.model
        n, m = self.n_cells, self.members
        bath = self.cells_view("bath_kg")
        # measured feed shots, delivered with each member's own efficiency
        efficiency = np.clip(self.cells_view("feed_efficiency"), 0.0, None)
        fed = np.asarray(shots, float)[:, None] * model.parameter("shot_kg") * efficiency
        r = model.parameter("undissolved_fraction")
        diss = self.cells_view("alumina_dissolved_kg") + (1.0 - r) * fed
        self._set("alumina_undissolved_kg", self.cells_view("alumina_undissolved_kg") + r * fed)
        # the kernel charges heating of fed alumina to the bath enthalpy; do the same for shots added here
        heat_capacity = bath * model.parameter("cp_bath") + self.cells_view("metal_kg") * model.parameter("cp_metal")
        self._set("temperature_degC", self.cells_view("temperature_degC")
                  - fed * model.parameter("alumina_heat_j_per_kg") / heat_capacity)
        # measured beam moves: the plant regulator's move from the measured slow resistance, plus spread
        moved = np.asarray(beam_moves) > 0
        if moved.any():
            conduct_area = model.parameter("fanning") * model.parameter("anode_area_cm2")
            step = model.parameter("beam_move_max_cm")
            error = (model.parameter("r_target_ohm") - np.asarray(r_slow_ohm, float))[:, None]
            move = np.clip(error * self.cells_view("kappa_S_per_cm") * conduct_area, -step, step)
            move = move + cfg.beam_move_sd_cm * self.rng.standard_normal((n, m))
            acd = self.cells_view("acd_cm")
            acd[moved] = np.clip(acd[moved] + move[moved], model.parameter("acd_min_cm"), model.parameter("acd_max_cm"))
            self._set("acd_cm", acd)
        # anode effects: the measured flag is an observation of alumina at the AE threshold
        c_ae = model.parameter("alumina_ae_wtpct")
        onset = np.asarray(ae_onset, bool) & (self.cells_view("ae_active").max(axis=1) == 0)
        diss[onset] = np.minimum(diss[onset], (c_ae - 0.01) * bath[onset] / 100.0)
        quiet = ~np.asarray(ae_seen, bool)
        diss[quiet] = np.maximum(diss[quiet], (c_ae + 0.05) * bath[quiet] / 100.0)
        self._set("alumina_dissolved_kg", diss)
        self._add_process_noise(steps * cfg.dt)
        model.refresh()
        before = model.values("voltage_seconds")
        model.advance(int(steps), current_kA)
        mean_v = (model.values("voltage_seconds") - before) / max(steps * cfg.dt, 1e-9)
        return mean_v.reshape(n, m)

    def _add_process_noise(self, span_s: float) -> None:
        cfg = self.config
        f = math.sqrt(max(span_s, 0.0) / 3600.0)
        if f == 0.0:
            return
        k = self.n_cells * self.members
        model, rng = self.model, self.rng
        bath = model.values("bath_kg")
        noise = {
            "alumina_dissolved_kg": cfg.q_alumina_wtpct * f * rng.standard_normal(k) * bath / 100.0,
            "alumina_undissolved_kg": cfg.q_undissolved_kg * f * rng.standard_normal(k),
            "acd_cm": cfg.q_acd_cm * f * rng.standard_normal(k),
            "temperature_degC": cfg.q_temperature_degC * f * rng.standard_normal(k),
            "feed_efficiency": cfg.q_feed_efficiency * f * rng.standard_normal(k),
        }
        for name, dx in noise.items():
            self._set_flat(name, model.values(name) + dx)
        self._clamp()

    def _clamp(self) -> None:
        model = self.model
        bath = model.values("bath_kg")
        self._set_flat("alumina_dissolved_kg", np.maximum(model.values("alumina_dissolved_kg"), 0.005 * bath))
        self._set_flat("alumina_undissolved_kg", np.maximum(model.values("alumina_undissolved_kg"), 0.0))
        self._set_flat("acd_cm", np.clip(model.values("acd_cm"), model.parameter("acd_min_cm") - 1.0,
                                         model.parameter("acd_max_cm") + 1.0))
        top = self.config.feed_efficiency_max
        self._set_flat("feed_efficiency", np.clip(model.values("feed_efficiency"), 0.0, top))
        self._set_flat("temperature_degC", np.clip(model.values("temperature_degC"), 900.0, 1020.0))

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
        for name in STATE_NAMES:
            x = self.cells_view(name)
            xu = x[use]
            x_mean = xu.mean(axis=1)
            x_dev = xu - x_mean[:, None]
            gain = (x_dev * y_dev).sum(axis=1) / (m - 1) / s
            x[use] = (x_mean + gain * innovation)[:, None] + x_dev - (alpha * gain)[:, None] * y_dev
            self._set(name, x)
        self._clamp()
        self.model.refresh()
        nu[use] = innovation
        s_out[use] = s
        return Innovation(nu, s_out)

    def analyse_temperature(self, observed: np.ndarray) -> Innovation:
        """Assimilate bath-temperature dips (°C per cell, NaN = none this time)."""
        predicted = self.cells_view("temperature_degC")
        return self.analyse(predicted, observed, self.config.temperature_sd_degC**2)
