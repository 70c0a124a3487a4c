"""The optimiser's schedule as a scenario: ``schedule.csv`` (the ``schedule`` event's file, twin.plant.schedule)
and ``schedule.toml`` (a scenario that runs it on the plant), so the whole plant can replay what the optimiser
advised with ``twin run`` (docs/optimise.md)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from twin.params import PlantSpec


def schedule_csv(plant: PlantSpec, dt_h: float, current_kA: np.ndarray, duty_kW: np.ndarray, on: np.ndarray) -> str:
    """CSV rows of a schedule (line × step currents and duties, unit × step commitments) in the event's format;
    a duty column only for lines with exchangers installed (clipped to their capacity)."""
    header = ["time_h"] + [f"{p.name}_current_kA" for p in plant.potlines]
    fitted = [n for n, p in enumerate(plant.potlines) if p["heat_exchanger_capacity_kW"] > 0]
    header += [f"{plant.potlines[n].name}_duty_kW" for n in fitted]
    header += [f"{u.name}_on" for u in plant.coal_units]
    rows = [",".join(header)]
    for k in range(current_kA.shape[1]):
        values = [f"{k * dt_h:.6g}"] + [f"{current_kA[n, k]:.4f}" for n in range(len(plant.potlines))]
        values += [
            f"{min(max(duty_kW[n, k], 0.0), plant.potlines[n]['heat_exchanger_capacity_kW']):.3f}" for n in fitted
        ]
        values += [str(int(on[g, k] > 0.5)) for g in range(len(plant.coal_units))]
        rows.append(",".join(values))
    return "\n".join(rows) + "\n"


def write_schedule_scenario(
    out_dir: Path,
    plant: PlantSpec,
    dt_h: float,
    current_kA: np.ndarray,
    duty_kW: np.ndarray,
    on: np.ndarray,
    seed: int,
) -> Path:
    """Write ``schedule.csv`` and ``schedule.toml`` into ``out_dir`` (created); return the scenario's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "schedule.csv").write_text(schedule_csv(plant, dt_h, current_kA, duty_kW, on), encoding="utf-8")
    plant_path = Path(os.path.relpath(Path(plant.origin).resolve(), out_dir.resolve())).as_posix()
    horizon_h = current_kA.shape[1] * dt_h
    text = (
        "# The optimiser's schedule (twin optimise --schedule-out): line currents, exchanger duties and unit\n"
        "# commitments imposed step by step; the units' outputs follow the plant's merit order around them.\n"
        "[scenario]\n"
        'name = "optimised_schedule"\n'
        f'plant = "{plant_path}"\n'
        f"horizon_h = {horizon_h:.6g}\n"
        f"seed = {seed}\n\n"
        "[[event]]\n"
        'kind = "schedule"\n'
        "at_h = 0.0\n"
        'csv = "schedule.csv"\n'
    )
    path = out_dir / "schedule.toml"
    path.write_text(text, encoding="utf-8")
    return path
