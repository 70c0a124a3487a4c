"""The live twin: follows the plant from telemetry, estimates what is not measured, raises divergence alarms.

- :class:`LiveTwin` — a telemetry sink (``accept(samples)``) and the API's live provider (``snapshot()``).
- :class:`EnsembleKalmanFilter` — the state estimator over the cell kernel (one kernel call per forecast).
- :class:`PlantSource` — a simulated "true plant" for the simulated PLCs (and for tests), with faults.
"""

from twin.live.alarms import Alarm, AlarmBook, AlarmConfig, AlarmKind
from twin.live.estimator import EnsembleKalmanFilter, FilterConfig, Innovation
from twin.live.line import LiveConfig, PotlineTracker
from twin.live.plant_source import PlantSource, drive
from twin.live.twin import LiveTwin, potline_label

__all__ = [
    "Alarm",
    "AlarmBook",
    "AlarmConfig",
    "AlarmKind",
    "EnsembleKalmanFilter",
    "FilterConfig",
    "Innovation",
    "LiveConfig",
    "LiveTwin",
    "PlantSource",
    "PotlineTracker",
    "drive",
    "potline_label",
]
