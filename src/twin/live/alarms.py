"""Alarm records and the per-cell fault detectors of the live twin.

Detectors (thresholds in :class:`AlarmConfig`; rationale in docs/live.md):

* **Divergence** — the normalised innovation squared (NIS) ν²/S of the filter's voltage analyses summed over
  a sliding window of K analyses is χ²(K) distributed for a consistent filter (Bar-Shalom, Li & Kirubarajan
  2001, *Estimation with Applications to Tracking and Navigation*, §5.4.2); the alarm fires when the sum
  exceeds the (1 - α) quantile. The cause is then classified from the other detectors.
* **Voltage step** — the innovations of the latest windows (at most ``step_absorb`` + 1, ending with a window
  with no beam move and no anode effect) pooled as (Σν)²/ΣS, maximised over where the run starts, above
  ``step_nis``: the reading jumped by more than the model can explain (sensor offset, or an anode/ACD
  disturbance when the noise rose too). This is the window-limited generalised likelihood ratio test for a
  jump in the innovation mean (Willsky & Jones 1976, IEEE Trans. Autom. Control 21:108; Basseville &
  Nikiforov 1993, *Detection of Abrupt Changes*, §2.4). Pooling matters because a step's evidence is spread
  over windows: a step inside a window shows only partly in it, and one analysis removes only the fraction
  P_yy/S (≈ 0.2 here) of an innovation, so the next window still carries most of it. The step is confirmed
  if, after up to ``step_absorb`` windows in which the filter is still absorbing it (same sign, NIS >
  ``step_quiet_nis``), the next ``step_confirm`` windows average below ``step_quiet_nis``.
* **Stuck sensor** — the voltage reading has not changed for ``stuck_after_s`` while the pot's other signals
  kept arriving (a live reading with sensor noise never repeats exactly; a report-by-exception gateway
  stops publishing an unchanged value, so "no change" rather than "zero variance of what arrived" is the
  test that works through the whole chain).
* **Noise jump (anode problem)** — variance of the second differences of the voltage readings after
  dropping outliers beyond 4 robust σ (1.4826·MAD, Hampel 1974) over the last readings, relative to the
  variance the cell model's noise and the sensor noise give for the observed sampling interval.
* **Stuck feeder** — either the divergence test fires while the measured pseudo-resistance slope is above the
  pot controller's own threshold, the feed counter says the cell is fed at least at its consumption and the
  estimated alumina is falling (GéniSim's tracking logic read backwards, physics.md §1.5); or the estimated
  feeder efficiency (a parameter augmented to the filter's state, i.e. fault detection by parameter
  estimation, Isermann 2006, *Fault-Diagnosis Systems*, ch. 9) falls below ``feeder_alarm``.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


class AlarmKind(StrEnum):
    DIVERGENCE = "model_divergence"
    SENSOR_STUCK = "sensor_stuck"
    SENSOR_FAULT = "sensor_fault"
    STUCK_FEEDER = "stuck_feeder"
    ANODE_PROBLEM = "anode_problem"
    ANODE_EFFECT = "anode_effect"


SEVERITY = {
    AlarmKind.DIVERGENCE: "medium",
    AlarmKind.SENSOR_STUCK: "medium",
    AlarmKind.SENSOR_FAULT: "medium",
    AlarmKind.STUCK_FEEDER: "high",
    AlarmKind.ANODE_PROBLEM: "medium",
    AlarmKind.ANODE_EFFECT: "high",
}


@dataclass(frozen=True, slots=True)
class AlarmConfig:
    nis_window: int = 20  # analyses in the divergence window (10 min at 30 s windows)
    nis_alpha: float = 1e-4  # false-alarm probability per full window of a consistent filter
    step_nis: float = 40.0  # a run of same-sign innovations pooled this far out (≈ 6.3 σ) is a step ...
    step_absorb: int = 3  # ... (runs of at most 1 + this many windows; as many may still be absorbing it) ...
    step_confirm: int = 8  # ... if the next analyses ...
    step_quiet_nis: float = 4.0  # ... average below this (the filter absorbed it: a step, not noise)
    stuck_after_s: float = 180.0
    noise_readings: int = 60
    noise_ratio_alarm: float = 4.0  # robust variance of differences / expected (2× the noise amplitude)
    noise_ratio_clear: float = 2.0
    feeder_alarm: float = 0.5
    feeder_clear: float = 0.75
    clear_after_s: float = 1800.0  # a step or divergence alarm clears after this long back within bounds


@dataclass(slots=True)
class Alarm:
    """One alarm: raised by a detector, cleared when its condition has gone."""

    id: str
    potline: str
    cell: int | None
    kind: AlarmKind
    reason: str
    severity: str
    since_s: float  # model time the alarm was raised
    since: datetime
    active: bool = True
    cleared_s: float | None = None
    cleared: datetime | None = None

    @property
    def asset(self) -> str:
        return f"cell:{self.potline}-{self.cell:03d}" if self.cell is not None else f"potline:{self.potline}"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, in the API's alarm format plus the kind, potline, cell and times."""
        return {
            "id": self.id,
            "asset": self.asset,
            "state": "active" if self.active else "cleared",
            "severity": self.severity,
            "reason": self.reason,
            "since": self.since.isoformat(),
            "kind": str(self.kind),
            "potline": self.potline,
            "cell": self.cell,
            "since_model_s": self.since_s,
            "cleared": self.cleared.isoformat() if self.cleared else None,
        }


class AlarmBook:
    """Active alarms keyed by (potline, cell, kind), plus a bounded history of cleared ones.

    Ids are ``a-<run>-<n>``: ``run`` is random per book, so an alarm raised after a restart never takes the id
    of one from before (operators' acknowledgements and event frames are kept by id across restarts).
    """

    def __init__(self, history: int = 500, run: str | None = None) -> None:
        self._active: dict[tuple[str, int | None, AlarmKind], Alarm] = {}
        self._cleared: deque[Alarm] = deque(maxlen=history)
        self._run = run if run is not None else secrets.token_hex(3)
        self._next = 1

    def raise_(self, potline: str, cell: int | None, kind: AlarmKind, reason: str, t_s: float, at: datetime) -> Alarm:
        key = (potline, cell, kind)
        alarm = self._active.get(key)
        if alarm is not None:
            alarm.reason = reason
            return alarm
        alarm = Alarm(f"a-{self._run}-{self._next}", potline, cell, kind, reason, SEVERITY[kind], t_s, at)
        self._next += 1
        self._active[key] = alarm
        logger.info("alarm %s on %s: %s", kind, alarm.asset, reason)
        return alarm

    def clear(self, potline: str, cell: int | None, kind: AlarmKind, t_s: float, at: datetime) -> None:
        alarm = self._active.pop((potline, cell, kind), None)
        if alarm is not None:
            alarm.active = False
            alarm.cleared_s = t_s
            alarm.cleared = at
            self._cleared.append(alarm)
            logger.info("alarm %s on %s cleared", kind, alarm.asset)

    def is_active(self, potline: str, cell: int | None, kind: AlarmKind) -> bool:
        return (potline, cell, kind) in self._active

    def active(self) -> list[Alarm]:
        return sorted(self._active.values(), key=lambda a: a.since_s)

    def all(self) -> list[Alarm]:
        return [*self.active(), *self._cleared]


def chi2_quantile(k: int, p: float) -> float:
    """(p)-quantile of χ²(k) by the Wilson–Hilferty cube-root approximation (Wilson & Hilferty 1931, PNAS 17:684).

    Accurate to a fraction of a percent for k ≥ 5 at the tail probabilities used here.
    """
    z = _normal_quantile(p)
    h = 2.0 / (9.0 * k)
    return k * (1.0 - h + z * math.sqrt(h)) ** 3


def _normal_quantile(p: float) -> float:
    """Standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    if p > 0.5:
        return -_normal_quantile(1.0 - p)
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0)
    q = p - 0.5
    r = q * q
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (
        ((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0)


@dataclass(slots=True)
class VoltageStep:
    """A candidate voltage step: start of its run, largest innovation (V), pooled NIS, windows pooled."""

    t_s: float
    nu: float
    nis: float
    windows: int
    absorbing: int = 0  # windows after the run's first that still carried it
    after: list[float] = field(default_factory=list)  # NIS of the windows after the absorption


class CellMonitor:
    """Rolling evidence about one cell's measurements, fed by the live twin."""

    def __init__(self, cfg: AlarmConfig) -> None:
        self.nis: deque[float] = deque(maxlen=cfg.nis_window)
        self.readings: deque[tuple[float, float]] = deque(maxlen=cfg.noise_readings)
        self.last_value: float | None = None
        self.last_change_s = -math.inf
        self.last_seen_s = -math.inf
        self.last_step_s = -math.inf
        self.last_divergence_s = -math.inf
        self.last_feeder_s = -math.inf
        self._recent: deque[tuple[float, float, float]] = deque(maxlen=cfg.step_absorb + 1)  # latest t, ν, S
        self.step: VoltageStep | None = None  # candidate voltage step

    def voltage(self, t_s: float, value: float, *, record: bool = True) -> None:
        if self.last_value is None or value != self.last_value:
            self.last_change_s = t_s
            self.last_value = value
            if record:
                self.readings.append((t_s, value))

    def seen(self, t_s: float) -> None:
        if t_s > self.last_seen_s:  # every sample of the cell: a comparison, not a max() call
            self.last_seen_s = t_s

    def stuck_for_s(self) -> float:
        return self.last_seen_s - self.last_change_s if self.last_value is not None else 0.0

    def nis_sum(self) -> tuple[float, int]:
        return float(sum(self.nis)), len(self.nis)

    def innovation(self, t_s: float, nu: float, s: float, cfg: AlarmConfig, *,
                   clean: bool = True) -> VoltageStep | None:
        """Record one analysed window's innovation ν (variance S); return a voltage step it confirms, if any.

        ``clean``: no beam move and no anode effect in the window (only then can it start a step). The step
        statistic is the window-limited GLR of a jump in the innovation mean: the largest (Σν)²/ΣS over the runs
        of the latest windows that end with this one (at most ``step_absorb`` + 1 windows).
        """
        nis = nu * nu / s
        self.nis.append(nis)
        recent = self._recent
        recent.append((t_s, nu, s))
        pooled, first, sum_nu, sum_s = -1.0, len(recent) - 1, 0.0, 0.0
        for i in range(len(recent) - 1, -1, -1):
            sum_nu += recent[i][1]
            sum_s += recent[i][2]
            if sum_nu * sum_nu / sum_s > pooled:
                pooled, first = sum_nu * sum_nu / sum_s, i
        step = self.step
        if clean and pooled > cfg.step_nis and (step is None or step.t_s != recent[first][0]):
            largest = max((r[1] for r in list(recent)[first:]), key=abs)
            n = len(recent) - first
            self.step = VoltageStep(recent[first][0], largest, pooled, n, absorbing=n - 1)
            return None
        if step is None:
            return None
        if step.t_s == recent[first][0] and pooled > step.nis:  # the same step, more evidence
            step.nis, step.windows = pooled, len(recent) - first
        if not step.after and step.absorbing < cfg.step_absorb and nis > cfg.step_quiet_nis and nu * step.nu > 0:
            step.absorbing += 1  # the filter is still absorbing the step
        else:
            step.after.append(nis)
        if len(step.after) < cfg.step_confirm:
            return None
        self.step = None
        return step if float(np.mean(step.after)) < cfg.step_quiet_nis else None

    def no_innovation(self) -> None:
        """A window without an analysis (beam move, anode effect, no reading): a step's run cannot span it."""
        self._recent.clear()

    def noise_ratio(self, noise_rms_V: float, tau_s: float, sensor_sd_V: float) -> float:
        """Robust variance of second differences of the readings over what the model and sensor noise give
        (:func:`noise_ratios`, for this cell alone); NaN until the readings are full."""
        return float(noise_ratios([self], noise_rms_V, tau_s, sensor_sd_V)[0])


def noise_ratios(monitors: Sequence[CellMonitor], noise_rms_V: float, tau_s: float, sensor_sd_V: float) -> np.ndarray:
    """Per cell of ``monitors``: the robust variance of second differences of its voltage readings over what
    the model and sensor noise give.

    Second differences remove a level and a linear trend (a feed cycle's slope, the rise before an anode
    effect). Values beyond 4 robust σ (1.4826·MAD, Hampel 1974) are dropped (beam-move steps) and the
    variance of the rest is taken, which keeps most of the efficiency of the plain variance. For
    first-order noise of correlation ρ = exp(-Δ/τ) between readings Δ apart,
    Var(x₊ - 2x + x₋) = σ²(6 - 8ρ + 2ρ²), plus 6σ_s² of white sensor noise.

    NaN for a cell until its readings are full (or when their median spacing is not positive). The order
    statistics run over all full cells at once (the live twin asks for every cell each window); the inlier
    mean and the scalars stay per cell, so each value is the one the per-cell arithmetic gives, bit for bit.
    """
    ratios = np.full(len(monitors), np.nan)
    by_length: dict[int, list[int]] = {}
    for k, monitor in enumerate(monitors):
        n = len(monitor.readings)
        if n >= (monitor.readings.maxlen or 10):
            by_length.setdefault(n, []).append(k)
    var_expected = 6.0 * sensor_sd_V**2
    for cells in by_length.values():
        readings = np.array([monitors[k].readings for k in cells], dtype=float)  # (cells, n, [t, v])
        t, v = readings[:, :, 0], readings[:, :, 1]
        d2 = v[:, 2:] - 2.0 * v[:, 1:-1] + v[:, :-2]
        steps = np.median(np.diff(t, axis=1), axis=1)
        centres = np.median(d2, axis=1)
        deviations = np.abs(d2 - centres[:, None])
        sigmas = 1.4826 * np.median(deviations, axis=1)
        for row, k in enumerate(cells):
            step, centre, sigma = float(steps[row]), float(centres[row]), float(sigmas[row])
            if not step > 0:
                continue
            inliers = d2[row][deviations[row] <= 4.0 * sigma] if sigma > 0 else d2[row]
            rho = math.exp(-step / tau_s)
            expected = noise_rms_V**2 * (6.0 - 8.0 * rho + 2.0 * rho**2) + var_expected
            ratios[k] = float(np.mean((inliers - centre) ** 2)) / expected
    return ratios
