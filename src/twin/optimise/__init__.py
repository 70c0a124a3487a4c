"""Dispatch co-optimiser: captive units, grid tie and potlines as thermally limited flexible loads (a MILP with
linopy and HiGHS over a reduced potline model identified from the twin), every schedule replayed in the full
twin and tightened until the replay holds (docs/optimise.md)."""

from twin.optimise.inputs import Inputs, load_inputs
from twin.optimise.loop import Outcome, optimise
from twin.optimise.milp import InfeasibleError, Schedule
from twin.optimise.plan import Plan, plan, reduced_models

__all__ = ["InfeasibleError", "Inputs", "Outcome", "Plan", "Schedule", "load_inputs", "optimise", "plan",
           "reduced_models"]
