"""Smelter Twin: a digital twin of an aluminium smelter and the power plant that feeds it.

Importing ``twin`` has no side effects and compiles nothing; numba kernels compile on first use.
"""

from twin.errors import ModelError, ScenarioError, SimulationError, TelemetryError, TwinError

__all__ = ["ModelError", "ScenarioError", "SimulationError", "TelemetryError", "TwinError"]
__version__ = "0.1.0"
