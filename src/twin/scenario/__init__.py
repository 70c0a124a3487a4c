"""Scenario layer: scenario files → runs → results; comparison; sweeps."""

from twin.scenario.results import Results
from twin.scenario.runner import build_plant, run_scenario
from twin.scenario.spec import Event, Scenario, load_scenario, scenario_from_text

__all__ = ["Event", "Results", "Scenario", "build_plant", "load_scenario", "run_scenario", "scenario_from_text"]
