"""The server's catalogue of plants and technologies, and the scenario-job runner that uses it (issue 9 item 2).

Scenario jobs submitted over HTTP name their plant by **id** (``plant = "plant_small"``), never by path:
ids come from the shipped ``models/`` plus an optional configured directory, every file is read and
validated once when the service starts, and a client's text never reaches the filesystem. A job's size,
horizon and steps (horizon over step) are limited here; its memory and run time by the API's worker processes
(:mod:`twin.api.worker`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from twin.errors import ModelError, ScenarioError, TwinError, field_error
from twin.params import load_plant
from twin_edge.configfile import parse_toml, read_toml

SHIPPED = Path(__file__).resolve().parents[3] / "models"
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")
ORIGIN = "submitted scenario"


@dataclass(frozen=True)
class Catalogue:
    """Plant and technology ids → their files (server-side; ids are file stems)."""

    plants: Mapping[str, Path] = field(default_factory=dict)
    technologies: Mapping[str, Path] = field(default_factory=dict)

    @classmethod
    def build(cls, directory: str | Path | None = None) -> Catalogue:
        """The shipped ``models/`` plus ``directory``; a bad file or a duplicate id is an error naming it."""
        plants: dict[str, Path] = {}
        technologies: dict[str, Path] = {}
        for folder in (SHIPPED, *([Path(directory)] if directory else [])):
            if not folder.is_dir():
                raise TwinError(f"scenarios.catalogue = {str(folder)!r} is invalid; expected a directory of models")
            for path in sorted(folder.glob("*.toml")):
                ident = path.stem
                if not ID_RE.fullmatch(ident):
                    raise TwinError(f"{path}: the file name is invalid as a catalogue id; expected {ID_RE.pattern}")
                doc = read_toml(path, ModelError)
                kind = plants if "plant" in doc else technologies if "cell" in doc else None
                if kind is None:
                    continue  # another kind of file (e.g. a dispatch study): not something a job can name
                other = plants.get(ident) or technologies.get(ident)
                if other is not None:
                    raise TwinError(f"{path}: catalogue id {ident!r} is already taken by {other}")
                if kind is plants:
                    load_plant(path)  # validated once, at start-up (ModelError names the file)
                kind[ident] = path.resolve()
        return cls(plants, technologies)

    def describe(self) -> dict[str, Any]:
        """What clients may name: plant ids with their potlines and technologies, and technology ids."""
        plants = {}
        for ident, path in sorted(self.plants.items()):
            spec = load_plant(path)
            plants[ident] = {
                "title": spec.title,
                "potlines": [{"name": p.name, "cells": int(p["cells"]), "technology": Path(p.technology.origin).stem}
                             for p in spec.potlines],
            }
        return {"plants": plants, "technologies": sorted(self.technologies)}


@dataclass(frozen=True)
class CatalogueRunner:
    """``run_scenario`` for the API: scenario TOML text naming a catalogue plant → KPIs (picklable)."""

    catalogue: Catalogue
    max_horizon_h: float = 24.0 * 31
    preload: ClassVar[tuple[str, ...]] = ("twin.scenario",)  # imported once by the job processes' forkserver

    def describe(self) -> dict[str, Any]:
        return {**self.catalogue.describe(), "max_horizon_h": self.max_horizon_h}

    def check(self, text: str) -> None:
        """Validate without running (called at submission, in the API's process)."""
        self.scenario(text)

    def __call__(self, text: str) -> dict[str, float]:
        from twin.scenario import run_scenario

        return dict(run_scenario(self.scenario(text)).kpis)

    def scenario(self, text: str) -> Any:
        from twin.scenario.spec import scenario_from_dict

        doc = parse_toml(text, ORIGIN, ScenarioError)
        head = doc.get("scenario")
        if not isinstance(head, Mapping):
            raise ScenarioError(f"{ORIGIN}: a [scenario] table is required")
        plant = head.get("plant")
        if not isinstance(plant, str) or plant not in self.catalogue.plants:
            shown = plant if not isinstance(plant, str) or len(plant) <= 80 else plant[:80] + "…"
            raise field_error(ScenarioError, ORIGIN, "scenario.plant", shown,
                              "a plant id from the server's catalogue: " + ", ".join(sorted(self.catalogue.plants))
                              + " (GET /v1/catalogue); jobs cannot name files")
        horizon = head.get("horizon_h")
        if isinstance(horizon, int | float) and not isinstance(horizon, bool) and not horizon <= self.max_horizon_h:
            raise field_error(ScenarioError, ORIGIN, "scenario.horizon_h", horizon,
                              f"a number of hours in (0, {self.max_horizon_h:g}] (this server's limit for jobs)")
        events = doc.get("event", [])
        for n, event in enumerate(events if isinstance(events, list) else [], 1):
            if isinstance(event, Mapping) and "csv" in event:  # an event's data file (frequency profile, schedule)
                raise field_error(ScenarioError, ORIGIN, f"event[{n}].csv", event["csv"],
                                  "no file: jobs cannot name files (give a frequency profile inline as points)")
        path = self.catalogue.plants[plant]
        doc = {**doc, "scenario": {**head, "plant": path.name}}
        try:
            scenario = scenario_from_dict(doc, ORIGIN, base_dir=path.parent, text=text)
        except ModelError as exc:
            raise ScenarioError(str(exc)) from None
        self._check_steps(scenario.horizon_h, scenario.dt_s)
        return scenario

    def _check_steps(self, horizon_h: float, dt_s: float) -> None:
        """Refuse a job whose kernel steps exceed what ``max_horizon_h`` allows at the default ``dt_s``.

        A job's work is its plant's cells × its steps (horizon_h·3600/dt_s), so the horizon limit alone let a
        small ``dt_s`` through: horizon_h = 744 at dt_s = 0.001 is 2.7e9 steps, which only the job's time
        limit stopped, after holding a worker for it (16 of them blocked both workers for 80 min). The work
        this server already accepts is its longest horizon at the default step, for the same plant; the
        cells are the same on both sides, so the bound is on the steps, derived from the existing setting
        (no new number): horizon_h / dt_s at most max_horizon_h / the default dt_s.
        """
        from twin.scenario.spec import SCENARIO_DEFAULTS

        default_dt_s = float(SCENARIO_DEFAULTS["dt_s"])
        max_steps = self.max_horizon_h * 3600.0 / default_dt_s
        steps = horizon_h * 3600.0 / dt_s
        if steps <= max_steps * (1.0 + 1e-9):  # tolerance: 34.968 h at 0.047 s is 744 h at 1 s
            return
        raise ScenarioError(
            f"{ORIGIN}: scenario.horizon_h = {horizon_h:g} with scenario.dt_s = {dt_s:g} is invalid: {steps:.3g} "
            f"steps of the kernel, more than the {max_steps:.6g} this server's limit for jobs allows "
            f"(max_horizon_h = {self.max_horizon_h:g} at the default dt_s = {default_dt_s:g}); expected "
            f"horizon_h at most {self.max_horizon_h * dt_s / default_dt_s:.6g} at dt_s = {dt_s:g}, "
            f"or dt_s at least {horizon_h * default_dt_s / self.max_horizon_h:.6g} at horizon_h = {horizon_h:g}"
        )
