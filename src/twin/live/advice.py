"""Per-pot advice from the live twin's estimate, checked by a forward simulation with and without it.

What is advised, and by which rule
----------------------------------
The rules are the potroom's daily loops of :mod:`twin.plant.control` (physics.md §1.6), *called*, not
re-typed: a :class:`~twin.plant.control.PotroomControl` visits each pot of a forward-simulation line whose
state is the live twin's estimate (ensemble mean), as if the estimate were the day's dip:

* **AlF3 dose** (kg today): the rule "AlF3 feedback on temperature" (a hot pot is a basic pot; Entner LM
  1992/93, Wilson LM 1992), and on composition when a bath analysis of excess AlF3 is given (``alf3_wtpct``:
  the filter itself has no bath-chemistry observation, so a low-AlF3 pot is invisible to it otherwise).
* **Resistance target** (mV at nominal current): the rule "resistance target from temperature and
  superheat" (mean of the two errors, 5-30 mV steps).
* **Feed**: when the estimated feeder delivery (``feed_efficiency``, a state of the filter) is clearly short
  (mean below ``feeder_efficiency_min`` and mean + 2 sd below 1), clear the feeder; the tracking feed mode
  is kept (no feed mode makes up for alumina that does not reach the bath).

A pot is only visited when its estimated temperature is off its target by more than
``max(temperature_deadband_K, significance · sd)`` (sd: the ensemble's spread), or its bath analysis is off
the target by more than ``alf3_deadband_wtpct``, so a healthy pot whose estimate wanders within its
uncertainty gets no advice.

Forward check
-------------
Every pot is simulated twice for ``horizon_h`` hours, without and with its advice, as ``2 n`` cells of one
:class:`~twin.cell.Potline` (one kernel call; performance.md §2.1): cell ``i`` without, cell ``n + i`` with.
Both start from the ensemble-mean state of the pot (all physical states; controller filters fresh) and the
pot's measured resistance target (its slow-filtered pseudo-resistance, what its regulator holds), with
the pot controller's tracking feed on, cell noise off (so the two differ only by the advice) and the
estimated feeder delivery imposed as a feed-loss cause. ``improves`` is true when the advice brings the
end-of-horizon temperature closer to its target (advice on a temperature error), the excess AlF3 closer to
its target (AlF3 advice on a bath analysis) and, for feed advice, gives fewer anode effects or a higher
minimum alumina.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.cell import Potline
from twin.cell import layout as L
from twin.errors import SimulationError
from twin.live.ae_warning import WarningConfig, ae_probability
from twin.live.estimator import EnsembleKalmanFilter
from twin.live.line import PotlineTracker
from twin.live.twin import LiveTwin
from twin.params.plant import Component, PotlineSpec
from twin.plant.control import Controls, PotroomControl
from twin.plant.line import PotlineSim

ESTIMATE_FEED_LOSS = "live_estimate"  # the feed-loss cause carrying the estimated feeder delivery
#: cell states not copied from the ensemble: controller filters and timers, events, feed and line settings
NOT_COPIED = frozenset(
    {
        "ae_active",
        "ae_time_s",
        "ae_kill_timer_s",
        "feed_mode",
        "feed_mode_time_s",
        "feed_demand_kg",
        "r_fast_ohm",
        "r_slow_ohm",
        "reg_timer_s",
        "noise_ohm",
        "noise_gain",
        "feed_strategy",
        "feed_efficiency",
        "limit_flags",
        "hx_duty_W",
        "in_line",
    }
)
RULE_ALF3 = "potroom rule 'AlF3 feedback on temperature' (twin.plant.control; a hot pot is a basic pot)"
RULE_ALF3_LAB = "potroom rule 'AlF3 feedback on composition and temperature' (twin.plant.control; Entner LM 1992/93/96)"
RULE_RESISTANCE = "potroom rule 'resistance target from temperature and superheat' (twin.plant.control)"
RULE_FEEDER = "the feeder-delivery estimate of the live twin (feed counts against the alumina the voltage shows)"


@dataclass(frozen=True, slots=True)
class AdviceConfig:
    """How advice is made and checked.

    ``horizon_h`` forward check (h, 1..48; the issue asks 12-24 h), ``dt_s`` its step (s, 1..10),
    ``temperature_deadband_K`` (K, 0..20; [R] ~ one dip's repeatability, plant_reference ``temperature_
    measurement_sd_K`` = 2 K, so 3 K), ``significance`` (ensemble sd, 0..5), ``feeder_efficiency_min`` (1,
    0..1), ``alf3_deadband_wtpct`` (wt%, 0..5; [R] twice a bath analysis's sd, plant_reference
    ``alf3_measurement_sd_wtpct`` = 0.4 wt%).
    """

    horizon_h: float = 12.0
    dt_s: float = 5.0
    temperature_deadband_K: float = 3.0
    significance: float = 2.0
    feeder_efficiency_min: float = 0.8
    alf3_deadband_wtpct: float = 0.8

    def __post_init__(self) -> None:
        checks = (
            ("horizon_h", self.horizon_h, 1.0, 48.0),
            ("dt_s", self.dt_s, 1.0, 10.0),
            ("temperature_deadband_K", self.temperature_deadband_K, 0.0, 20.0),
            ("significance", self.significance, 0.0, 5.0),
            ("feeder_efficiency_min", self.feeder_efficiency_min, 0.0, 1.0),
            ("alf3_deadband_wtpct", self.alf3_deadband_wtpct, 0.0, 5.0),
        )
        for name, value, low, high in checks:
            if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
                raise SimulationError(
                    f"AdviceConfig.{name} = {value!r} is invalid; expected a number in [{low:g}, {high:g}]"
                )


@dataclass
class PotAdvice:
    """The advice for one pot, the estimate it came from, and its forward check (``forecast``)."""

    cell: int  # 0-based
    estimate: dict[str, float]
    advice: list[dict[str, Any]] = field(default_factory=list)
    triggers: set[str] = field(default_factory=set)  # what made the pot be visited: temperature, alf3
    forecast: dict[str, Any] = field(default_factory=dict)

    def value(self, kind: str) -> Any:
        """The advised value of ``kind`` (``alf3``, ``resistance_target``, ``feed``), or None."""
        return next((a["value"] for a in self.advice if a["kind"] == kind), None)


def advise_tracker(
    tracker: PotlineTracker,
    potroom: Component,
    config: AdviceConfig | None = None,
    *,
    alf3_wtpct: np.ndarray | None = None,
) -> list[PotAdvice]:
    """:func:`advise` for one potline of a live twin: its filter, measured line current and the pots' measured
    slow-filtered pseudo-resistance (what their regulators hold: their resistance targets)."""
    return advise(
        tracker.enkf,
        tracker.current_kA,
        potroom,
        config,
        label=tracker.label,
        resistance_ohm=tracker.r_slow,
        alf3_wtpct=alf3_wtpct,
    )


def advise(
    enkf: EnsembleKalmanFilter,
    current_kA: float,
    potroom: Component,
    config: AdviceConfig | None = None,
    *,
    label: str = "1",
    resistance_ohm: np.ndarray | None = None,
    alf3_wtpct: np.ndarray | None = None,
) -> list[PotAdvice]:
    """Advice for every pot of the line that ``enkf`` estimates (module docstring); one entry per pot.

    ``resistance_ohm``: each pot's resistance target as measured (NaN or None: the technology's nominal).
    ``alf3_wtpct``: the latest bath analysis of excess AlF3 per pot (wt%, NaN or None: none), e.g. the potroom's
    lab results; it replaces the filter's composition (the filter has no bath-chemistry observation) and brings
    in the rule's feedback on composition."""
    cfg = config or AdviceConfig()
    if not (math.isfinite(current_kA) and current_kA > 0):
        raise SimulationError(f"line current = {current_kA!r} kA is invalid for advice; expected > 0")
    n = enkf.n_cells
    est = enkf.estimate()
    tech = enkf.model.technology
    fwd = Potline(tech, 2 * n, dt=cfg.dt_s, seed=0, stop_on=())
    fwd.silence_noise()
    spec = PotlineSpec(name=label, values={}, sources={}, technology=tech)
    line = PotlineSim(spec, fwd, current_kA, 1)
    # the loops' targets are the technology's start-up point: take them before the estimate is loaded
    only = {
        "bath_level": False,
        "restart": False,
        "protection": False,
        "heat_exchangers": False,
        "measurement_noise": False,
    }
    lab = np.full(n, np.nan) if alf3_wtpct is None else np.asarray(alf3_wtpct, float)
    if lab.shape != (n,):
        raise SimulationError(f"alf3_wtpct has shape {lab.shape}; expected {n} values, one per pot (NaN: no analysis)")
    bad = np.where(~np.isnan(lab) & ~((lab > 0) & (lab <= 30)))[0]
    if bad.size:
        i = int(bad[0])
        value = float(lab[i])
        raise SimulationError(f"alf3_wtpct[{i}] = {value!r} is invalid; expected excess AlF3 in (0, 30] wt% or NaN")
    if np.isfinite(lab).any():  # the analysis is in hand: the rule reads it at once
        settings = {**potroom.values, "alf3_report_delay_h": 0.0, "alf3_sample_days": 1.0}
        potroom = Component(potroom.name, settings, potroom.sources)
    control = PotroomControl(line, potroom, Controls(alf3=True, resistance=True, **only), np.random.default_rng(0))
    _load_estimate(fwd, enkf)
    if resistance_ohm is not None:
        low, high = fwd.resistance_range()
        r = np.asarray(resistance_ohm, float)
        r = np.clip(np.where(np.isfinite(r), r, fwd.parameter("r_target_ohm")), low, high)
        fwd.set_resistance_target(None, np.concatenate([r, r]))
    has_lab = np.where(np.isfinite(lab))[0]
    if has_lab.size:
        bath = fwd.values("bath_kg")
        for cells in (has_lab, n + has_lab):
            fwd.set_cells("alf3_kg", cells, lab[has_lab] / 100.0 * bath[cells])
    fwd.advance(1, current_kA)  # one step, so the outputs the potroom reads (superheat) are computed
    t_target = control.target_temp_degC
    sh_target = control.target_superheat_K
    pots = [PotAdvice(c, _estimate_row(est, c)) for c in range(n)]
    eff_mean, eff_sd = est["feed_efficiency"]
    for c, pot in enumerate(pots):
        t_mean, t_sd = est["temperature_degC"][0][c], est["temperature_degC"][1][c]
        off = t_mean - t_target
        if abs(off) > max(cfg.temperature_deadband_K, cfg.significance * t_sd):
            pot.triggers.add("temperature")
        if np.isfinite(lab[c]) and abs(lab[c] - control.target_alf3_wtpct) > cfg.alf3_deadband_wtpct:
            pot.triggers.add("alf3")
        if pot.triggers:
            _visit_advice(pot, control, fwd, n + c, off, t_target, sh_target, lab[c])
        if eff_mean[c] < cfg.feeder_efficiency_min and eff_mean[c] + 2.0 * eff_sd[c] < 1.0:
            pot.advice.append(
                {
                    "kind": "feed",
                    "value": "clear_feeder",
                    "unit": None,
                    "action": "inspect and clear the feeder; keep the tracking feed mode",
                    "reason": f"the feeder delivers {100 * eff_mean[c]:.0f} ± {100 * eff_sd[c]:.0f} % of what it is "
                    f"commanded (below {100 * cfg.feeder_efficiency_min:.0f} %): {RULE_FEEDER}",
                }
            )
    for c in range(n):
        delivered = float(np.clip(eff_mean[c], 0.0, 1.0))
        fwd.set_feed_loss(c, ESTIMATE_FEED_LOSS, 1.0 - delivered)
        fixed = pots[c].value("feed") == "clear_feeder"
        fwd.set_feed_loss(n + c, ESTIMATE_FEED_LOSS, 0.0 if fixed else 1.0 - delivered)
    outcome = _forward(fwd, current_kA, cfg, control)
    for c, pot in enumerate(pots):
        if pot.advice:
            pot.forecast = _compare(outcome, c, n + c, t_target, control.target_alf3_wtpct, pot)
    return pots


def _visit_advice(
    pot: PotAdvice,
    control: PotroomControl,
    fwd: Potline,
    cell: int,
    off: float,
    t_target: float,
    sh_target: float,
    lab: float,
) -> None:
    """Visit the forward line's "with" copy of the pot: the potroom's rules act on it; read what they did."""
    r_before = float(fwd.values("r_target_ohm")[cell])
    added_before = float(control.added_kg[cell])
    control.visit(cell, 0.0)
    t = pot.estimate["temperature_degC"]
    t_sd = pot.estimate["temperature_std_degC"]
    sh = pot.estimate["superheat_K"]
    why = (
        f"bath temperature estimated {t:.1f} ± {t_sd:.1f} °C (dips and cell voltage), "
        f"{abs(off):.1f} K {'above' if off > 0 else 'below'} the {t_target:.1f} °C target, superheat "
        f"{sh:.1f} K (target {sh_target:.1f} K)"
    )
    if math.isfinite(lab):
        why += f"; bath analysis: excess AlF3 {lab:.2f} wt% (target {control.target_alf3_wtpct:.2f} wt%)"
    rule_alf3 = RULE_ALF3_LAB if math.isfinite(lab) else RULE_ALF3
    dose = float(control.added_kg[cell]) - added_before
    if dose > 0.05:
        pot.advice.append(
            {
                "kind": "alf3",
                "value": round(dose, 1),
                "unit": "kg",
                "action": f"add {dose:.1f} kg AlF3 today",
                "reason": f"{why}: {rule_alf3}",
            }
        )
    step_mV = (float(fwd.values("r_target_ohm")[cell]) - r_before) / control.ohm_per_mV()
    if abs(step_mV) > 0.05:
        verb = "raise" if step_mV > 0 else "lower"
        pot.advice.append(
            {
                "kind": "resistance_target",
                "value": round(float(step_mV), 1),
                "unit": "mV",
                "action": f"{verb} the resistance target by {abs(step_mV):.0f} mV",
                "reason": f"{why}: {RULE_RESISTANCE}",
            }
        )


def _load_estimate(fwd: Potline, enkf: EnsembleKalmanFilter) -> None:
    """Both copies of each pot start at the ensemble mean of its physical states."""
    n = enkf.n_cells
    for name in L.STATE_NAMES:
        if name in NOT_COPIED:
            continue
        mean = enkf.cells_view(name).mean(axis=1)
        fwd.set_cells(name, slice(0, n), mean, refresh=False)
        fwd.set_cells(name, slice(n, 2 * n), mean, refresh=False)
    fwd.refresh()
    fwd.set_feed_strategy(None, "tracking")


def _forward(fwd: Potline, current_kA: float, cfg: AdviceConfig, control: PotroomControl) -> dict[str, np.ndarray]:
    """Run the forward line, the potroom's orders fed as the plant feeds them (over the day, twin.plant.dosing);
    per cell: end temperature and superheat, min alumina, AE onsets, mean voltage."""
    total = round(cfg.horizon_h * 3600.0 / cfg.dt_s)
    chunk = max(1, round(600.0 / cfg.dt_s))
    v0 = fwd.values("voltage_seconds")
    ae0 = fwd.values("ae_count")
    alumina_min = np.full(fwd.n_cells, np.inf)
    done = 0
    while done < total:
        k = min(chunk, total - done)
        control.feed(k * cfg.dt_s)
        fwd.advance(k, current_kA)
        done += k
        alumina_min = np.minimum(alumina_min, 100.0 * fwd.values("alumina_dissolved_kg") / fwd.values("bath_kg"))
    return {
        "temperature_degC": fwd.values("temperature_degC"),
        "superheat_K": fwd.values("superheat_K"),
        "alumina_min_wtpct": alumina_min,
        "anode_effects": fwd.values("ae_count") - ae0,
        "voltage_mean_V": (fwd.values("voltage_seconds") - v0) / (total * cfg.dt_s),
        "alf3_wtpct": fwd.values("alf3_wtpct"),
    }


def _compare(
    out: dict[str, np.ndarray], without: int, with_: int, t_target: float, alf3_target: float, pot: PotAdvice
) -> dict[str, Any]:
    sides = {}
    for name, cell in (("without", without), ("with", with_)):
        row = {k: float(v[cell]) for k, v in out.items()}
        row["anode_effects"] = int(row["anode_effects"])
        row["temperature_error_K"] = abs(row["temperature_degC"] - t_target)
        row["alf3_error_wtpct"] = abs(row["alf3_wtpct"] - alf3_target)
        sides[name] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()}
    a, b = sides["without"], sides["with"]
    checks = []
    thermal = pot.value("alf3") is not None or pot.value("resistance_target") is not None
    if thermal and "temperature" in pot.triggers:
        checks.append(b["temperature_error_K"] < a["temperature_error_K"])
    if pot.value("alf3") is not None and "alf3" in pot.triggers:
        checks.append(b["alf3_error_wtpct"] < a["alf3_error_wtpct"])
    if pot.value("feed") is not None:
        checks.append(
            b["anode_effects"] < a["anode_effects"]
            or (b["anode_effects"] == a["anode_effects"] and b["alumina_min_wtpct"] > a["alumina_min_wtpct"])
        )
    return {**sides, "improves": bool(checks) and all(checks)}


def _estimate_row(est: dict[str, tuple[np.ndarray, np.ndarray]], c: int) -> dict[str, float]:
    return {
        "alumina_wtpct": round(float(est["alumina_wtpct"][0][c]), 3),
        "alumina_std_wtpct": round(float(est["alumina_wtpct"][1][c]), 3),
        "temperature_degC": round(float(est["temperature_degC"][0][c]), 2),
        "temperature_std_degC": round(float(est["temperature_degC"][1][c]), 2),
        "superheat_K": round(float(est["superheat_K"][0][c]), 2),
        "acd_cm": round(float(est["acd_cm"][0][c]), 3),
        "feed_efficiency": round(float(est["feed_efficiency"][0][c]), 3),
    }


class Advisor:
    """Advice and AE risk for every potline of a live twin, as ``GET /v1/advice`` serves it (docs/api.md).

    :meth:`report` recomputes at most every ``refresh_s`` model seconds (the forward check takes a moment) and
    otherwise returns the prepared report. ``bath_analyses(group)`` may give each pot's latest excess-AlF3 analysis
    (wt%, NaN none; see :func:`advise`). ``groups``: the Sparkplug groups (potlines) to advise on. Reports are
    made one at a time. The filter's ensemble is read without the twin's lock, so a report made while the twin
    analyses a window may mix states from before and after that window (the next report is made afresh).
    """

    def __init__(
        self,
        twin: LiveTwin,
        groups: list[str],
        potroom: Component,
        config: AdviceConfig | None = None,
        *,
        warning: WarningConfig | None = None,
        refresh_s: float = 900.0,
        bath_analyses: Callable[[str], np.ndarray | None] | None = None,
        report_probability: float = 0.05,
    ):
        if not (isinstance(refresh_s, int | float) and 0.0 <= refresh_s <= 86400.0):
            raise SimulationError(f"Advisor refresh_s = {refresh_s!r} is invalid; expected seconds in [0, 86400]")
        self.twin = twin
        self.trackers = [twin.tracker(g) for g in groups]
        self.potroom = potroom
        self.config = config or AdviceConfig()
        self.warning = warning or WarningConfig()
        self.refresh_s = float(refresh_s)
        self.bath_analyses = bath_analyses
        self.report_probability = float(report_probability)
        self._lock = threading.Lock()
        self._report: dict[str, Any] | None = None
        self._made_at = -math.inf

    def report(self) -> dict[str, Any]:
        with self._lock:
            now = self.twin.snapshot().get("model_time_s")
            now = float(now) if isinstance(now, int | float) else math.nan
            if self._report is None or not math.isfinite(now) or now - self._made_at >= self.refresh_s:
                self._report = self._build(now)
                self._made_at = now if math.isfinite(now) else -math.inf
            return self._report

    def _analyses(self, group: str) -> np.ndarray | None:
        return self.bath_analyses(group) if self.bath_analyses is not None else None

    def _build(self, now: float) -> dict[str, Any]:
        pots_out: list[dict[str, Any]] = []
        risk: list[dict[str, Any]] = []
        checked = 0
        for tracker in self.trackers:
            if tracker.t0 is None or not math.isfinite(tracker.current_kA) or tracker.current_kA <= 0:
                continue
            checked += tracker.n_cells
            label = tracker.label
            pots_out.extend(
                {
                    "cell": f"{label}-{pot.cell + 1:03d}",
                    "potline": label,
                    "estimate": pot.estimate,
                    "advice": pot.advice,
                    "forecast": pot.forecast,
                }
                for pot in advise_tracker(tracker, self.potroom, self.config, alf3_wtpct=self._analyses(tracker.group))
                if pot.advice
            )
            p = ae_probability(tracker.enkf, tracker.current_kA, tracker.anode_effect, self.warning)
            est = tracker.enkf.estimate()["alumina_wtpct"]
            risk.extend(
                {
                    "cell": f"{label}-{c + 1:03d}",
                    "potline": label,
                    "probability": round(float(p[c]), 3),
                    "horizon_s": self.warning.horizon_s,
                    "alumina_wtpct": round(float(est[0][c]), 3),
                    "alumina_std_wtpct": round(float(est[1][c]), 3),
                }
                for c in np.where(np.nan_to_num(p, nan=0.0) >= self.report_probability)[0]
            )
        risk.sort(key=lambda r: -r["probability"])
        return {
            "as_of": self.twin.snapshot().get("as_of"),
            "model_time_s": now if math.isfinite(now) else None,
            "horizon_h": self.config.horizon_h,
            "pots_checked": checked,
            "pots": pots_out,
            "ae_risk": risk,
        }
