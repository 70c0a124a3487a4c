"""Shared fixtures of the live-twin tests: the technology and a runner that feeds a twin from a true plant."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from twin.live import LiveConfig, LiveTwin, PlantSource, drive
from twin.params import Technology, load_technology

GROUP = "potline1"


@pytest.fixture(scope="session")
def tech(models_dir: Path) -> Technology:
    return load_technology(models_dir / "hal275.toml")


@pytest.fixture(autouse=True)
def _quiet_pymodbus() -> None:
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


@dataclass
class Run:
    """A true plant, a live twin fed from it in process, and the estimation errors every window."""

    source: PlantSource
    twin: LiveTwin
    times: list[float] = field(default_factory=list)
    errors: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def rms_after(self, name: str, t_s: float, cells: slice | list[int] = slice(None)) -> float:
        t = np.asarray(self.times)
        err = np.asarray(self.errors[name])[t >= t_s][:, cells]
        return float(np.sqrt(np.mean(err**2)))

    def first_alarm_s(self, kind: str, cell: int) -> float | None:
        """Model time the first alarm of ``kind`` on pot ``cell`` (1-based) was raised (twin clock)."""
        times = [a.since_s for a in self.twin.alarms.all() if a.kind == kind and a.cell == cell]
        return min(times) if times else None

    def kinds(self) -> set[tuple[str, int | None]]:
        return {(str(a.kind), a.cell) for a in self.twin.alarms.all()}


def run_plant(
    tech: Technology,
    *,
    n_cells: int = 4,
    hours: float,
    seed: int = 5,
    warmup_s: float = 5000.0,
    config: LiveConfig | None = None,
    prior_offset: dict[str, float] | None = None,
    faults: dict[float, Callable[[PlantSource], None]] | None = None,
    period_s: float = 5.0,
) -> Run:
    """Run a true plant for ``hours`` and feed its samples to a live twin; record errors every 30 s.

    ``prior_offset`` starts the twin's ensemble that far from the plant's mean true state (a wrong prior).
    ``faults`` maps plant seconds to a function applied to the source at that time.
    """
    source = PlantSource(tech, n_cells, seed=seed, warmup_s=warmup_s)
    cfg = config or LiveConfig()
    if prior_offset is not None:
        truth = source.truth()
        prior = {k: float(truth[k].mean()) + v for k, v in prior_offset.items()}
        cfg = LiveConfig(**{**{f: getattr(cfg, f) for f in cfg.__dataclass_fields__}, "prior": prior})
    twin = LiveTwin(tech, {GROUP: n_cells}, cfg)
    run = Run(source, twin, errors={"alumina_wtpct": [], "acd_cm": [], "temperature_degC": []})
    pending = dict(faults or {})

    def step(t: float) -> None:
        for when in [w for w in pending if w <= t]:
            pending.pop(when)(source)
        if t % 30 == 0:
            est, truth = twin.estimates(GROUP), source.truth()
            run.times.append(t)
            for name in run.errors:
                run.errors[name].append(est[name][0] - truth[name])

    drive(source, twin, until_s=hours * 3600.0, period_s=period_s, group=GROUP, on_step=step)
    return run
