"""Dispatch co-optimiser: captive units, grid tie and potlines as thermally limited flexible loads (a MILP with
linopy and HiGHS over a reduced potline model identified from the twin), every schedule replayed in the full
twin and tightened until the replay holds (docs/optimise.md).

The names below are imported on first use (PEP 562): linopy and xarray take about a second to import, and every
``twin`` command imports this package to register ``twin optimise`` (:mod:`twin.optimise.cli`), so ``twin run``
and ``twin --help`` would otherwise pay for them.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin.optimise.inputs import Inputs, load_inputs
    from twin.optimise.loop import Outcome, optimise
    from twin.optimise.milp import InfeasibleError, Schedule
    from twin.optimise.plan import Plan, plan, reduced_models

_HOMES = {
    "Inputs": "twin.optimise.inputs",
    "load_inputs": "twin.optimise.inputs",
    "Outcome": "twin.optimise.loop",
    "optimise": "twin.optimise.loop",
    "InfeasibleError": "twin.optimise.milp",
    "Schedule": "twin.optimise.milp",
    "Plan": "twin.optimise.plan",
    "plan": "twin.optimise.plan",
    "reduced_models": "twin.optimise.plan",
}

__all__ = ["InfeasibleError", "Inputs", "Outcome", "Plan", "Schedule", "load_inputs", "optimise", "plan",
           "reduced_models"]


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'twin.optimise' has no attribute {name!r}")
