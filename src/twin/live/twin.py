"""The live twin: a telemetry sink that keeps a model of each potline in step with the plant.

:class:`LiveTwin` is a :class:`twin.telemetry.SampleSink` (give it to a :class:`~twin.telemetry.SparkplugHost`)
and a live provider for the API (``snapshot()``). It maps Sparkplug names to potlines and cells with
:func:`twin.telemetry.cell_address` (group = potline, device ``pot_<NNN>``), runs one ensemble Kalman
filter per potline (:mod:`twin.live.estimator`) driven by the measured line current, feed and beam events,
and raises divergence and fault alarms (:mod:`twin.live.alarms`).

Clock: model seconds = ``(timestamp_ms - epoch_ms) / 1000 * speed``. With ``speed = 1`` the model follows the
wall clock; a simulated plant running ``speed`` times faster than real time (tests, demos) stamps its samples
with wall-clock time, and the same ``epoch_ms`` and ``speed`` map them back to plant time.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from twin.errors import TelemetryError
from twin.live.alarms import AlarmBook
from twin.live.line import SIGNALS, LiveConfig, PotlineTracker
from twin.params import Technology
from twin.speed import SPEED_RANGE, valid_speed
from twin.telemetry import Quality, Sample, pot_device_id

logger = logging.getLogger(__name__)


def potline_label(group: str) -> str:
    """API potline id of a Sparkplug group: ``potline1`` → ``1``; other names are kept as they are."""
    rest = group.removeprefix("potline")
    return rest if rest and rest != group else group


class LiveTwin:
    """Follows the plant from telemetry. ``potlines`` maps Sparkplug group ids to their number of cells."""

    def __init__(
        self,
        technology: Technology,
        potlines: Mapping[str, int],
        config: LiveConfig | None = None,
        *,
        epoch_ms: int = 0,
        speed: float = 1.0,
    ) -> None:
        if not potlines:
            raise TelemetryError("LiveTwin potlines = {} is invalid; expected at least one group id → cell count")
        if not valid_speed(speed):
            raise TelemetryError(f"LiveTwin speed = {speed!r} is invalid; expected {SPEED_RANGE}")
        self.config = config or LiveConfig()
        self.epoch_ms = int(epoch_ms)
        self.speed = float(speed)
        self.alarms = AlarmBook()
        self._technology = technology
        self._lock = threading.Lock()
        self._lines = {
            group: PotlineTracker(group, potline_label(group), technology, int(n), self.config, self.alarms,
                                  self.model_to_utc)
            for group, n in potlines.items()
        }
        self.counters = {"accepted": 0, "ignored": 0, "stale": 0, "implausible": 0, "windows": 0}
        self._latest_ms = 0
        self._snapshot: dict[str, Any] = {"as_of": datetime.now(UTC).isoformat(), "kpis": {}, "cells": {},
                                          "alarms": [], "assets": []}

    def warm_up(self) -> None:
        """Compile (or load from the on-disk cache) the kernels one filter window runs, on a scratch one-cell
        line, so the first window of real telemetry does not hold up ingest: in a fresh environment the compile
        took over 20 s on a loaded 2-core machine while the host's queue filled (soak, issue 9). Touches none
        of this twin's state; call it before telemetry starts."""
        scratch = PotlineTracker("warmup", "warmup", self._technology, 1, self.config, AlarmBook(), self.model_to_utc)
        scratch.add(0.0, 0, "cell_voltage_V", 4.2, True)
        scratch.add(0.0, 0, "line_current_kA", 300.0, True)
        scratch.process_until(scratch.window_s + self.config.lateness_s)

    # -- clock ------------------------------------------------------------------------------------------------
    def model_time(self, timestamp_ms: int) -> float:
        return (timestamp_ms - self.epoch_ms) / 1000.0 * self.speed

    def model_to_utc(self, t_model: float) -> datetime:
        return datetime.fromtimestamp((self.epoch_ms + t_model / self.speed * 1000.0) / 1000.0, tz=UTC)

    # -- SampleSink ---------------------------------------------------------------------------------------------
    def accept(self, samples: Sequence[Sample]) -> None:
        """Take a batch of samples (called by the ingest's worker thread); processes every complete window."""
        with self._lock:
            touched: dict[str, float] = {}
            counts = {"accepted": 0, "ignored": 0, "stale": 0, "implausible": 0}
            lines, model_time, latest_ms = self._lines, self.model_time, self._latest_ms
            try:
                for s in samples:
                    line = lines.get(s.group)
                    cell = line.cell_of(s.device) if line is not None else None
                    if cell is None or s.metric not in SIGNALS:
                        counts["ignored"] += 1
                        continue
                    if s.quality is not Quality.GOOD or s.value is None:
                        counts["stale"] += 1
                        line.add(model_time(s.timestamp_ms), cell, s.metric, math.nan, False)
                        continue
                    try:
                        value = float(s.value)  # type: ignore[arg-type]
                    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond a float
                        counts["ignored"] += 1
                        continue
                    t = model_time(s.timestamp_ms)
                    if not line.add(t, cell, s.metric, value, True):
                        counts["implausible"] += 1
                        continue
                    counts["accepted"] += 1
                    if t > touched.get(s.group, -math.inf):
                        touched[s.group] = t
                    if s.timestamp_ms > latest_ms:
                        latest_ms = s.timestamp_ms
            finally:  # what was taken before an error stays counted
                self._latest_ms = latest_ms
                for name, n in counts.items():
                    self.counters[name] += n
            processed = sum(self._lines[g].process_until(t) for g, t in touched.items())
            if processed or not samples:
                self.counters["windows"] += processed
                self._snapshot = self._build_snapshot()

    def tick(self, now_ms: int | None = None) -> None:
        """Process windows up to ``now_ms`` (default: the wall clock) even if no samples arrived."""
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        with self._lock:
            processed = sum(line.process_until(self.model_time(now)) for line in self._lines.values())
            self.counters["windows"] += processed
            if processed:
                self._snapshot = self._build_snapshot()

    # -- LiveProvider -------------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The prepared live state (JSON-serialisable; format in docs/live.md). Cheap and thread-safe."""
        return self._snapshot

    def estimates(self, group: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Ensemble mean and standard deviation per cell (numpy, for tests and tools)."""
        with self._lock:
            return self._lines[group].enkf.estimate()

    def tracker(self, group: str) -> PotlineTracker:
        return self._lines[group]

    # -- snapshot ---------------------------------------------------------------------------------------------
    def _build_snapshot(self) -> dict[str, Any]:
        cells: dict[str, dict[str, Any]] = {}
        kpis: dict[str, dict[str, float]] = {}
        assets: list[dict[str, Any]] = []
        power: dict[str, float] = {}
        model_time = None
        for line in self._lines.values():
            est = line.enkf.estimate()
            if line.t0 is not None and line.windows:
                model_time = line.window_start
            lat = line.latest
            volts = [lat[c].get("cell_voltage_V", math.nan) for c in range(line.n_cells)]
            current = line.current_kA
            assets.append({"id": f"potline:{line.label}", "kind": "potline", "name": f"Potline {line.label}",
                           "metadata": {"group": line.group, "cells": line.n_cells}})
            columns = _cell_columns(line, est)
            for c in range(line.n_cells):
                cid = f"{line.label}-{c + 1:03d}"
                row = _cell_row(line, c, columns)
                cells[cid] = row
                kpis[f"cell:{cid}"] = {k: v for k, v in row.items() if isinstance(v, float)}
                assets.append({"id": f"cell:{cid}", "kind": "cell", "name": f"Cell {cid}",
                               "parent": f"potline:{line.label}", "metadata": {"pot": pot_device_id(c + 1)}})
            finite_v = [v for v in volts if math.isfinite(v)]
            line_kpi = {
                "line_current_kA": _f(current),
                "voltage_mean_V": _f(float(np.mean(finite_v))) if finite_v else None,
                "alumina_mean_wtpct": _f(float(np.mean(est["alumina_wtpct"][0]))),
                "acd_mean_cm": _f(float(np.mean(est["acd_cm"][0]))),
                "superheat_mean_K": _f(float(np.mean(est["superheat_K"][0]))),
                "anode_effects_active": float(np.sum(line.anode_effect)),
                "cells_stale": float(np.sum(line.stale)),
                "power_MW": _f(current * sum(finite_v) / 1000.0) if finite_v and math.isfinite(current) else None,
            }
            kpis[f"potline:{line.label}"] = {k: v for k, v in line_kpi.items() if v is not None}
            if line_kpi["power_MW"] is not None:
                power[line.label] = line_kpi["power_MW"]
        alarms = [a.as_dict() for a in self.alarms.all()]
        kpis["plant"] = {"potlines_power_MW": float(sum(power.values())),
                         "alarms_active": float(sum(1 for a in alarms if a["state"] == "active"))}
        as_of = datetime.fromtimestamp(self._latest_ms / 1000.0, tz=UTC) if self._latest_ms else datetime.now(UTC)
        return {
            "as_of": as_of.isoformat(),
            "model_time_s": model_time,
            "kpis": kpis,
            "cells": cells,
            "power": {"potlines": power},
            "alarms": alarms,
            "assets": assets,
            "counters": dict(self.counters),
        }


def _f(x: float) -> float | None:
    return float(x) if isinstance(x, int | float) and math.isfinite(x) else None


_ESTIMATES = {"alumina_wtpct": "alumina", "acd_cm": "acd", "temperature_degC": "temperature",
              "superheat_K": "superheat", "feed_efficiency": "feed_efficiency"}


def _cell_columns(line: PotlineTracker, est: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, list[Any]]:
    """The per-cell arrays a snapshot row reads, as Python lists: read once per line, not once per cell (each
    snapshot reads 704 cells of the reference plant)."""
    columns: dict[str, list[Any]] = {
        "voltage_model_V": line.model_voltage.tolist(),
        "nis": line.last_nis.tolist(),
        "anode_effect": line.anode_effect.tolist(),
        "stale": line.stale.tolist(),
    }
    for key, short in _ESTIMATES.items():
        mean, sd = est[key]
        columns[key] = mean.tolist()
        columns[f"{short}_std" + key[len(short):]] = sd.tolist()
    return columns


def _cell_row(line: PotlineTracker, c: int, columns: Mapping[str, list[Any]]) -> dict[str, Any]:
    lat = line.latest[c]
    row: dict[str, Any] = {
        "voltage_V": _f(lat.get("cell_voltage_V", math.nan)),
        "voltage_model_V": _f(columns["voltage_model_V"][c]),
        "line_current_kA": _f(lat.get("line_current_kA", math.nan)),
        "pseudo_resistance_uohm": _f(lat.get("pseudo_resistance_uohm", math.nan)),
        "resistance_slope_nohm_per_min": _f(line.resistance_slope_nohm_per_min(c)),
        "bath_temp_measured_degC": _f(lat.get("bath_temp_degC", math.nan)),
        "metal_height_cm": _f(lat.get("metal_height_cm", math.nan)),
        "feed_count": _f(lat.get("feed_count", math.nan)),
        "beam_count": _f(lat.get("beam_count", math.nan)),
        "nis": _f(columns["nis"][c]),
        "anode_effect": bool(columns["anode_effect"][c]),
        "stale": bool(columns["stale"][c]),
    }
    for key, short in _ESTIMATES.items():
        std = f"{short}_std" + key[len(short):]
        row[key] = _f(columns[key][c])
        row[std] = _f(columns[std][c])
    row["superheat_degC"] = row["superheat_K"]  # the dashboard's name (a temperature difference: K = °C)
    return row
