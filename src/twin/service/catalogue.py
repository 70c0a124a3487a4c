"""The server's catalogue of plants and technologies, and the scenario-job runner that uses it (issue 9 item 2).

Scenario jobs submitted over HTTP name their plant by **id** (``plant = "plant_small"``), never by path:
ids come from the shipped ``models/`` plus an optional configured directory, every file is read and
validated once when the service starts, and a client's text never reaches the filesystem. A job's size and
horizon are limited here; its memory and run time by the API's worker processes (:mod:`twin.api.worker`).
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
            return scenario_from_dict(doc, ORIGIN, base_dir=path.parent, text=text)
        except ModelError as exc:
            raise ScenarioError(str(exc)) from None
