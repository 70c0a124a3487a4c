"""One potline of the live twin: samples → analysis windows → ensemble filter → detectors → cell values.

Samples are binned into windows of ``window_s`` model seconds. A window is processed once a sample at least
``lateness_s`` past its end has arrived (or the clock says so), so samples of several gateways arriving a
little out of order still land in their window; a sample older than the open window is *late*: it updates
the latest values but is not assimilated (the filter does not run backwards).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter

import numpy as np

from twin.cell.kernel import ALUMINA_KG_PER_COULOMB
from twin.live.alarms import AlarmBook, AlarmConfig, AlarmKind, CellMonitor, chi2_quantile, noise_ratios
from twin.live.estimator import EnsembleKalmanFilter, FilterConfig, Innovation
from twin.params import Technology
from twin.telemetry.naming import pot_cell

logger = logging.getLogger(__name__)

NOMINAL_CE = 0.95  # for the feed ratio only (commanded alumina over consumption); the filter uses its own CE
# the most a pot's feed counter can advance, as a multiple of its alumina consumption at nominal current (at
# 100 % CE) over the time since its last reading, plus two shots: [C] five times the potroom's overfeed of 140 %
# (GéniSim CIM 2011 [S], models/hal275.toml). More is a counter glitch (a PLC restarting from another value, a
# corrupt read): it re-baselines and feeds nothing, as a reset does; one jump of 10^6 made a cell's ensemble NaN.
FEED_COUNT_MARGIN = 5.0
SIGNALS = frozenset(("cell_voltage_V", "line_current_kA", "pseudo_resistance_uohm", "feed_count", "beam_count",
                     "anode_effect", "bath_temp_degC", "metal_height_cm"))
#: the range a reading of each signal can physically have in a working potline; a reading outside it (or not
#: finite) is a broken sensor or a corrupt value and is refused (PotlineTracker.add), never assimilated: one
#: cell voltage of 1e300 made that cell's ensemble non-finite for good. Bounds [C], chosen wide around [S]:
PLAUSIBLE = {
    # anode-effect voltages 20-40 V (physics.md §1.5 [S2]), ΔV 25-35 V (§1.6); a cut-out pot reads ~0 V
    "cell_voltage_V": (-1.0, 60.0),
    # rectiformers deliver 105-420 kA per tank (physics.md §5 [S]); unidirectional, so below zero only by a
    # sensor's offset at zero current
    "line_current_kA": (-10.0, 1000.0),
    # (V - E)/I: ~8.5 µΩ in normal operation, ~95 µΩ in an anode effect at 300 kA (physics.md §1.6 [C])
    "pseudo_resistance_uohm": (-50.0, 500.0),
    # bath 940-980 °C in operation (physics.md §1.6 [S]): a dip below 800 °C did not reach liquid bath, none
    # of a working cell reads above 1100 °C
    "bath_temp_degC": (800.0, 1100.0),
    # metal pad ~20 cm (Qatalum 300 kA, physics.md §1.7 [S])
    "metal_height_cm": (0.0, 100.0),
    # PLC counters and flags: whole, non-negative numbers within a float's exact integers
    "feed_count": (0.0, 2.0**53),
    "beam_count": (0.0, 2.0**53),
    "anode_effect": (0.0, 1.0),
}


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """How the live twin windows, filters and alarms. ``assimilate=False`` runs the model open loop."""

    window_s: float = 30.0
    lateness_s: float = 6.0
    temperature_min_interval_s: float = 600.0
    # a bath-temperature reading is a new dip sample only if it moved this much: a PLC that re-noises a held
    # lab value on every scan must not make the twin assimilate the same (aging) dip again and again
    temperature_change_degC: float = 0.5
    # the most model time one catch-up forecasts (PotlineTracker.process_until): further behind, the filter jumps,
    # so a long telemetry outage, sparse old timestamps or a first sample stamped 1970 cannot hold the twin's
    # lock for hours of CPU (the reference plant's filter runs ~60x real time on one core: 900 s cost ~15 s)
    max_catch_up_s: float = 900.0
    assimilate: bool = True
    filter: FilterConfig = field(default_factory=FilterConfig)
    alarms: AlarmConfig = field(default_factory=AlarmConfig)
    prior: Mapping[str, float] | None = None


class PotlineTracker:
    """The filter, window buffers, latest values and detectors of one potline."""

    def __init__(self, group: str, label: str, technology: Technology, n_cells: int, config: LiveConfig,
                 alarms: AlarmBook, at: Callable[[float], datetime]) -> None:
        self.group = group
        self.label = label
        self.n_cells = n_cells
        self.config = config
        self.enkf = EnsembleKalmanFilter(technology, n_cells, config.filter, prior=dict(config.prior or {}))
        self._alarms = alarms
        self._at = at
        self._steps = max(1, round(config.window_s / config.filter.dt))
        self.window_s = self._steps * config.filter.dt
        self.t0: float | None = None  # model time of the filter's time zero
        self.window_start = math.nan
        self._pending: list[tuple[float, int, str, float]] = []
        self.latest: list[dict[str, float]] = [{} for _ in range(n_cells)]
        self._latest_t: list[dict[str, float]] = [{} for _ in range(n_cells)]
        self.stale = np.zeros(n_cells, bool)
        self._count_used = {"feed_count": np.full(n_cells, np.nan), "beam_count": np.full(n_cells, np.nan)}
        self._feed_count_s = np.full(n_cells, np.nan)  # model time of each pot's last feed count used
        self.counter_glitches = 0
        self._ae = np.zeros(n_cells, bool)
        self._current_kA = math.nan
        model = self.enkf.model
        self._tau_fast = model.parameter("slope_fast_s")
        self._tau_slow = model.parameter("slope_slow_s")
        self._bemf = model.parameter("bemf_v")
        self.r_fast = np.full(n_cells, np.nan)
        self.r_slow = np.full(n_cells, np.nan)
        self._temp_seen = np.full(n_cells, np.nan)
        self._temp_pending = np.full(n_cells, np.nan)
        self._temp_last = np.full(n_cells, -math.inf)
        self.monitors = [CellMonitor(config.alarms) for _ in range(n_cells)]
        self._alumina_hist: list[deque[float]] = [deque(maxlen=20) for _ in range(n_cells)]
        self._shots: list[deque[float]] = [deque(maxlen=20) for _ in range(n_cells)]
        self._shot_kg = model.parameter("shot_kg")
        self._max_shots_per_s = (FEED_COUNT_MARGIN * ALUMINA_KG_PER_COULOMB * model.nominal_current_kA * 1e3
                                 / self._shot_kg)
        self._slope_alarm = model.parameter("slope_threshold_ohm_per_s") * 60.0 * 1e9  # the controller's, in nΩ/min
        self.model_voltage = np.full(n_cells, np.nan)
        self._peak_V = np.full(n_cells, np.nan)
        self.last_nis = np.full(n_cells, np.nan)
        self.windows = 0
        self.analyses = 0
        self.late = 0
        self.catch_ups_skipped = 0
        self.skipped_s = 0.0
        self.implausible = 0  # readings refused as outside PLAUSIBLE
        self._implausible_logged = 0
        self._implausible_example: tuple[int, str, float] | None = None
        self._cells_by_device: dict[str, int] = {}  # this line's valid pot devices only (see cell_of)

    # -- input ------------------------------------------------------------------------------------------------
    def cell_of(self, device: str | None) -> int | None:
        """The 0-based cell of a pot controller of this line (``pot_<NNN>``, 1 ≤ n ≤ ``n_cells``, in the one
        spelling :func:`twin.telemetry.naming.pot_cell` accepts: ``pot_007``, never ``pot_7``), or None. Every
        sample asks (≈ 1.2 × 10^6 times per plant-hour), so valid names are remembered; only they are (one per
        cell), so names a client makes up cannot grow the memory."""
        if device is None:
            return None
        cell = self._cells_by_device.get(device)
        if cell is None:
            number = pot_cell(device)
            if number is None or not 1 <= number <= self.n_cells:
                return None
            cell = self._cells_by_device[device] = number - 1
        return cell

    def add(self, t: float, cell: int, metric: str, value: float, good: bool) -> bool:
        """Take one reading; False if it was refused as outside its plausible range (:data:`PLAUSIBLE`)."""
        if good:
            low, high = PLAUSIBLE[metric]
            if not low <= value <= high:  # NaN and ±inf fail too
                self.implausible += 1
                self._implausible_example = (cell, metric, value)
                return False
        if self.t0 is None:
            self.t0 = math.floor(t / self.window_s) * self.window_s
            self.window_start = self.t0
        if not good:  # a death marks the pot's values stale; its next good voltage (rebirth) clears it
            self.stale[cell] = True
            return True
        if metric == "cell_voltage_V":
            self.stale[cell] = False
        self.monitors[cell].seen(t)
        if t >= self._latest_t[cell].get(metric, -math.inf):
            self.latest[cell][metric] = value
            self._latest_t[cell][metric] = t
        if t < self.window_start:
            self.late += 1
            return True
        self._pending.append((t, cell, metric, value))
        return True

    def process_until(self, t_now: float) -> int:
        """Process every window that ended at least ``lateness_s`` before ``t_now``; return how many.

        The open window is never more than ``max_catch_up_s`` behind the last window due: if it is (a telemetry
        outage, a batch of old or sparse timestamps, a first sample whose clock is far off), the filter's clock
        jumps to that bound first, the ensemble keeps its state from before the jump (the next analyses pull it
        back to the measurements), the samples left behind count as late, and the jump is counted
        (``catch_ups_skipped``, ``skipped_s``) and logged. So one call forecasts at most ``max_catch_up_s`` of
        model time, whatever the timestamps it was sent."""
        if self.t0 is None:
            return 0
        self._skip_to(t_now - self.config.lateness_s - self.window_s - self.config.max_catch_up_s)
        done = 0
        while self.window_start + self.window_s + self.config.lateness_s <= t_now:
            self._process_window()
            done += 1
        return done

    def _drop_feed_glitches(self, shots: np.ndarray, t: float) -> np.ndarray:
        """``shots`` with each pot's count increment beyond what its feeders can deliver since its last reading
        (:data:`FEED_COUNT_MARGIN`) set to zero: a glitch re-baselines the counter and feeds nothing."""
        elapsed = np.where(np.isfinite(self._feed_count_s), t - self._feed_count_s, 0.0)
        limit = self._max_shots_per_s * elapsed + 2.0
        glitch = shots > limit
        if not glitch.any():
            return shots
        self.counter_glitches += int(glitch.sum())
        cell = int(np.flatnonzero(glitch)[0])
        logger.warning(
            "potline %s: feed_count of %d pots jumped by more than their feeders can deliver, e.g. pot %d by %.6g "
            "shots in %.0f s (at most %.1f): taken as a counter glitch, re-baselined, nothing fed",
            self.label, int(glitch.sum()), cell + 1, shots[cell], elapsed[cell], limit[cell],
        )
        return np.where(glitch, 0.0, shots)

    def _log_implausible(self) -> None:
        """One warning per window for the readings refused since the previous one, with one example."""
        cell, metric, value = self._implausible_example or (0, "", math.nan)
        low, high = PLAUSIBLE.get(metric, (math.nan, math.nan))
        logger.warning(
            "potline %s: %d readings refused as outside their plausible range since the last window, e.g. pot %d "
            "%s = %.6g (expected %g to %g)",
            self.label, self.implausible - self._implausible_logged, cell + 1, metric, value, low, high,
        )
        self._implausible_logged = self.implausible

    def _skip_to(self, earliest: float) -> None:
        """Move the open window to the one holding ``earliest`` if it is further back (see :meth:`process_until`)."""
        start = math.floor(earliest / self.window_s) * self.window_s
        if start <= self.window_start:
            return
        left = [s for s in self._pending if s[0] < start]
        if left:
            self._pending = [s for s in self._pending if s[0] >= start]
            self.late += len(left)
        self.catch_ups_skipped += 1
        self.skipped_s += start - self.window_start
        logger.warning(
            "potline %s: the filter is %.0f s of model time behind the telemetry (its window at t = %.0f s), more "
            "than max_catch_up_s = %.0f s: it jumps to t = %.0f s without forecasting the time between (samples "
            "left behind, counted as late: %d)",
            self.label, start - self.window_start, self.window_start, self.config.max_catch_up_s, start, len(left),
        )
        self.window_start = start

    # -- one window -------------------------------------------------------------------------------------------
    def _process_window(self) -> None:
        if self.implausible > self._implausible_logged:
            self._log_implausible()
        cfg = self.config
        we = self.window_start + self.window_s
        inside = sorted((s for s in self._pending if s[0] < we), key=itemgetter(0))
        self._pending = [s for s in self._pending if s[0] >= we]
        n = self.n_cells
        volts: list[list[float]] = [[] for _ in range(n)]
        resist: list[list[float]] = [[] for _ in range(n)]
        currents: list[float] = []
        counts = {"feed_count": np.full(n, np.nan), "beam_count": np.full(n, np.nan)}
        ae_seen = self._ae.copy()
        ae_onset = np.zeros(n, bool)
        for t, c, metric, value in inside:
            if metric == "cell_voltage_V":
                volts[c].append(value)
                self.monitors[c].voltage(t, value, record=not self._ae[c])
            elif metric == "line_current_kA":
                currents.append(value)
            elif metric == "pseudo_resistance_uohm":
                resist[c].append(value * 1e-6)
            elif metric in counts:
                counts[metric][c] = value
            elif metric == "anode_effect":
                flag = bool(value)
                ae_onset[c] |= flag and not self._ae[c]
                if flag != self._ae[c]:
                    self.monitors[c].readings.clear()  # the noise test restarts after an anode effect
                ae_seen[c] |= flag
                self._ae[c] = flag
            elif metric == "bath_temp_degC" and not abs(value - self._temp_seen[c]) <= cfg.temperature_change_degC:
                self._temp_seen[c] = value
                self._temp_pending[c] = value
        if currents:
            self._current_kA = float(np.median(currents))  # one pot's bad current reading cannot drag it
        self.window_start = we
        self.windows += 1
        if not math.isfinite(self._current_kA):
            return  # nothing to drive the model with yet
        delta = {}
        for name, latest in counts.items():
            used = self._count_used[name]
            fresh = np.isfinite(latest)
            d = np.where(fresh & np.isfinite(used), latest - used, 0.0)
            if name == "feed_count":
                d = self._drop_feed_glitches(d, we)
                self._feed_count_s[fresh] = we
            delta[name] = np.maximum(d, 0.0)  # a counter reset (PLC restart) re-baselines, never feeds back
            used[fresh] = latest[fresh]
        self._update_resistance(resist, volts)
        predicted = self.enkf.forecast(
            self._steps, self._current_kA, shots=delta["feed_count"], beam_moves=delta["beam_count"],
            r_slow_ohm=np.where(np.isfinite(self.r_slow), self.r_slow, self.enkf.model.parameter("r_target_ohm")),
            ae_onset=ae_onset, ae_seen=ae_seen,
        )
        stuck = np.array([m.stuck_for_s() >= cfg.alarms.stuck_after_s for m in self.monitors])
        n_read = np.array([len(v) for v in volts])
        observed = np.array([np.mean(v) if v else np.nan for v in volts])
        usable = (n_read > 0) & ~ae_seen & ~stuck & ~self.stale & (delta["beam_count"] == 0)
        observed = np.where(usable, observed, np.nan)
        noise_ratio = self._noise_ratio()
        variance = self.enkf.voltage_variance(self._current_kA, self.window_s, n_read,
                                              np.where(np.isfinite(noise_ratio), noise_ratio, 1.0))
        self.model_voltage = predicted.mean(axis=1)
        if cfg.assimilate:
            innovation = self.enkf.analyse(predicted, observed, variance)
            self.analyses += 1
        else:
            innovation = _innovation(predicted, observed, variance)
        self._assimilate_temperature(we)
        self.last_nis = innovation.nis
        self._peak_V = np.array([max(v) if v else math.nan for v in volts])
        self._detect(we, innovation, delta, ae_seen, stuck, noise_ratio)

    def _noise_ratio(self) -> np.ndarray:
        """Measured over expected voltage-noise variance per cell (NaN where not yet known)."""
        rms = self.enkf.noise_rms_ohm * self._current_kA * 1e3
        return noise_ratios(self.monitors, rms, self.enkf.noise_tau_s, self.config.filter.sensor_sd_V)

    def _update_resistance(self, resist: list[list[float]], volts: list[list[float]]) -> None:
        """Fast and slow first-order filters of the measured pseudo-resistance (as the pot controller keeps)."""
        for c in range(self.n_cells):
            if resist[c]:
                r = float(np.mean(resist[c]))
            elif volts[c] and self._current_kA > 0:
                r = (float(np.mean(volts[c])) - self._bemf) / (self._current_kA * 1e3)
            else:
                continue
            if self._ae[c]:
                continue
            if not math.isfinite(self.r_slow[c]):
                self.r_fast[c] = self.r_slow[c] = r
            self.r_fast[c] += min(self.window_s / self._tau_fast, 1.0) * (r - self.r_fast[c])
            self.r_slow[c] += min(self.window_s / self._tau_slow, 1.0) * (r - self.r_slow[c])

    def _assimilate_temperature(self, t: float) -> None:
        due = np.isfinite(self._temp_pending) & (t - self._temp_last >= self.config.temperature_min_interval_s)
        if not due.any():
            return
        if self.config.assimilate:
            self.enkf.analyse_temperature(np.where(due, self._temp_pending, np.nan))
        self._temp_last[due] = t
        self._temp_pending[due] = np.nan

    # -- detectors --------------------------------------------------------------------------------------------
    def _detect(self, t: float, inn: Innovation, delta: dict[str, np.ndarray], ae_seen: np.ndarray,
                stuck: np.ndarray, noise_ratio: np.ndarray) -> None:
        acfg = self.config.alarms
        book, at = self._alarms, self._at(t)
        est = self.enkf.estimate()
        fe_mean = est["feed_efficiency"][0]
        al_mean, al_sd = est["alumina_wtpct"]
        threshold = chi2_quantile(acfg.nis_window, 1.0 - acfg.nis_alpha)
        for c in range(self.n_cells):
            mon, cell = self.monitors[c], c + 1
            hist = self._alumina_hist[c]
            hist.append(float(al_mean[c]))
            self._shots[c].append(float(delta["feed_count"][c]))
            trend = (hist[-1] - hist[0]) / (self.window_s * (len(hist) - 1) / 3600.0) if len(hist) > 1 else 0.0
            # anode effect (measured flag)
            if self._ae[c]:
                book.raise_(self.label, cell, AlarmKind.ANODE_EFFECT,
                            f"anode effect (pot controller flag): cell voltage up to {self._peak_V[c]:.1f} V",
                            t, at)
            else:
                book.clear(self.label, cell, AlarmKind.ANODE_EFFECT, t, at)
            # stuck sensor
            if stuck[c]:
                book.raise_(self.label, cell, AlarmKind.SENSOR_STUCK,
                            f"cell voltage reading unchanged at {mon.last_value:.4f} V for {mon.stuck_for_s():.0f} s "
                            "while the pot's other signals keep updating (stuck sensor)", t, at)
            else:
                book.clear(self.label, cell, AlarmKind.SENSOR_STUCK, t, at)
            # noise jump
            ratio = float(noise_ratio[c])
            noisy = book.is_active(self.label, cell, AlarmKind.ANODE_PROBLEM)
            if math.isfinite(ratio) and not ae_seen[c] and ratio > acfg.noise_ratio_alarm:
                noisy = True
                book.raise_(self.label, cell, AlarmKind.ANODE_PROBLEM,
                            f"voltage noise {math.sqrt(ratio):.1f}x what the cell model and sensor give "
                            "(robust spread of reading differences): anode problem", t, at)
            elif math.isfinite(ratio) and ratio < acfg.noise_ratio_clear:
                book.clear(self.label, cell, AlarmKind.ANODE_PROBLEM, t, at)
            # stuck feeder (feeder efficiency estimated as a filter state)
            if fe_mean[c] < acfg.feeder_alarm:
                book.raise_(self.label, cell, AlarmKind.STUCK_FEEDER,
                            f"feeder delivers an estimated {fe_mean[c]:.0%} of the commanded shots: voltage rose "
                            f"(pseudo-resistance slope {self.resistance_slope_nohm_per_min(c):+.1f} nΩ/min) while "
                            f"fed; estimated alumina {al_mean[c]:.2f} ± {al_sd[c]:.2f} wt%, {trend:+.2f} wt%/h", t, at)
                mon.last_feeder_s = t
            elif fe_mean[c] > acfg.feeder_clear and t - mon.last_feeder_s > acfg.clear_after_s:
                book.clear(self.label, cell, AlarmKind.STUCK_FEEDER, t, at)
            # innovation tests
            nis = inn.nis[c]
            if math.isfinite(nis):
                clean = not ae_seen[c] and delta["beam_count"][c] == 0
                step = mon.innovation(t, float(inn.nu[c]), float(inn.s[c]), acfg, clean=clean)
                if step is not None and not noisy:
                    mon.last_step_s = t
                    over = "" if step.windows == 1 else f" over {step.windows} windows"
                    book.raise_(self.label, cell, AlarmKind.SENSOR_FAULT,
                                f"cell voltage stepped {1000 * step.nu:+.0f} mV against the model "
                                f"({math.sqrt(step.nis):.1f} σ{over}) at model time {step.t_s:.0f} s without a beam "
                                "move and with unchanged noise: sensor offset or ACD disturbance", t, at)
            else:
                mon.no_innovation()
            if t - mon.last_step_s > acfg.clear_after_s:
                book.clear(self.label, cell, AlarmKind.SENSOR_FAULT, t, at)
            total, k = mon.nis_sum()
            if k == acfg.nis_window and total > threshold:
                mon.last_divergence_s = t
                slope = self.resistance_slope_nohm_per_min(c)
                starving = (slope > self._slope_alarm and self.feed_ratio(c) >= 1.0 and trend < 0) or (
                    fe_mean[c] < acfg.feeder_clear and trend < 0)
                # a voltage step under test, or confirmed within the NIS window, accounts for the sum
                step_seen = mon.step is not None or t - mon.last_step_s < acfg.nis_window * self.window_s
                cause = ("stuck sensor" if stuck[c] else "anode problem" if noisy else
                         "feeder not delivering" if starving else
                         "voltage step (sensor offset or ACD disturbance)" if step_seen else "unexplained")
                test = (f"NIS {total:.0f} over {k} windows > {threshold:.0f} (χ² false-alarm p = {acfg.nis_alpha:g})")
                book.raise_(self.label, cell, AlarmKind.DIVERGENCE,
                            f"measurements diverge from the model: {test}; likely cause: {cause}", t, at)
                if starving and not stuck[c] and not noisy:
                    mon.last_feeder_s = t
                    book.raise_(self.label, cell, AlarmKind.STUCK_FEEDER,
                                f"feeder not delivering: pseudo-resistance rising ({slope:+.0f} nΩ/min) while fed at "
                                f"{self.feed_ratio(c):.0%} of consumption; estimated alumina {al_mean[c]:.2f} ± "
                                f"{al_sd[c]:.2f} wt% falling {trend:+.2f} wt%/h; {test}", t, at)
            elif t - mon.last_divergence_s > acfg.clear_after_s:
                book.clear(self.label, cell, AlarmKind.DIVERGENCE, t, at)

    @property
    def current_kA(self) -> float:
        """The measured line current of the last window (NaN before any)."""
        return self._current_kA

    @property
    def anode_effect(self) -> np.ndarray:
        """The latest anode-effect flag per cell."""
        return self._ae.copy()

    def feed_ratio(self, c: int) -> float:
        """Alumina commanded over the last windows (feed-counter shots) relative to the nominal consumption."""
        shots = self._shots[c]
        if not shots or not self._current_kA > 0:
            return math.nan
        consumption = NOMINAL_CE * self._current_kA * 1e3 * ALUMINA_KG_PER_COULOMB * self.window_s * len(shots)
        return sum(shots) * self._shot_kg / consumption

    def resistance_slope_nohm_per_min(self, c: int) -> float:
        """Slope of the measured pseudo-resistance from the fast/slow filter difference (as the controller)."""
        if not math.isfinite(self.r_slow[c]):
            return math.nan
        return (self.r_fast[c] - self.r_slow[c]) / (self._tau_slow - self._tau_fast) * 60.0 * 1e9


def _innovation(predicted: np.ndarray, observed: np.ndarray, variance: np.ndarray) -> Innovation:
    """Innovation statistics without an update (open-loop runs)."""
    m = predicted.shape[1]
    y_mean = predicted.mean(axis=1)
    p_yy = ((predicted - y_mean[:, None]) ** 2).sum(axis=1) / (m - 1)
    return Innovation(observed - y_mean, p_yy + variance)
