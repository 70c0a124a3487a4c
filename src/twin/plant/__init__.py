"""Plant layer: SimPy environment with potlines, rectifiers, operations and the power supply."""

from twin.plant.line import PotlineSim
from twin.plant.plant import IntervalRecord, Plant
from twin.plant.power import Dispatch, dispatch

__all__ = ["Dispatch", "IntervalRecord", "Plant", "PotlineSim", "dispatch"]
