"""Helpers for scenario tests: small-plant scenarios built from TOML text."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.scenario import Results, run_scenario, scenario_from_text

DATA = Path(__file__).resolve().parents[1] / "data"


def small_scenario_text(horizon_h: float, events: str = "", seed: int = 3, extra: str = "") -> str:
    return (f'[scenario]\nname = "t"\nplant = "../../models/plant_small.toml"\nhorizon_h = {horizon_h}\n'
            f"seed = {seed}\n{extra}\n{events}")


def reference_scenario_text(horizon_h: float, events: str = "", seed: int = 42) -> str:
    """A scenario of the reference plant (models/plant_reference.toml: 2 × 352 HAL275 cells, 3 coal units, a tie)."""
    return (f'[scenario]\nname = "t"\nplant = "../../models/plant_reference.toml"\nhorizon_h = {horizon_h}\n'
            f"seed = {seed}\n\n{events}")


def run_text(text: str) -> Results:
    return run_scenario(scenario_from_text(text, "test.toml", base_dir=DATA))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
