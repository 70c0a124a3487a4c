"""Parameter sweeps over a scenario: a full-factorial grid or a Monte-Carlo sample.

A sweep file names a base scenario and the fields to vary, each as ``"scenario.<field>"`` or
``"overrides.<section.name>"``::

    [sweep]
    name = "target-voltage"
    scenario = "../scenarios/baseline.toml"
    [sweep.set]                        # optional fixed changes for every variant
    "scenario.horizon_h" = 6.0
    [grid]                             # full factorial
    "overrides.control.target_voltage_V" = [4.15, 4.20, 4.25]
    # or
    [monte_carlo]
    samples = 16
    seed = 7
    [monte_carlo.parameters]
    "overrides.alumina.dissolution_rate_per_s" = { distribution = "uniform", low = 0.001, high = 0.003 }

A task is one whole scenario (performance.md §3.3): local processes by default, or any
``concurrent.futures``-style executor such as a Dask ``Client.get_executor()``.
"""

from __future__ import annotations

import copy
import itertools
import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from twin.errors import ScenarioError, field_error
from twin.params.validate import read_toml
from twin.scenario.runner import run_scenario
from twin.scenario.spec import scenario_from_dict

DISTRIBUTIONS = ("uniform", "normal", "choice")


@dataclass(frozen=True)
class Variant:
    """One scenario of a sweep: its number, the values it sets and the full scenario document."""

    index: int
    settings: Mapping[str, Any]
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Sweep:
    name: str
    origin: str
    base_dir: Path
    variants: tuple[Variant, ...]


def load_sweep(path: str | Path) -> Sweep:
    """Validate a sweep file and expand it into its variants."""
    path = Path(path)
    origin = str(path)
    doc = read_toml(path, ScenarioError)
    head = doc.get("sweep")
    if not isinstance(head, Mapping) or not isinstance(head.get("scenario"), str):
        raise ScenarioError(f'{origin}: a [sweep] table with scenario = "<path>" is required')
    for section in doc:
        if section not in ("sweep", "grid", "monte_carlo"):
            raise ScenarioError(f"{origin}: unknown section [{section}]; valid: [sweep], [grid], [monte_carlo]")
    if ("grid" in doc) == ("monte_carlo" in doc):
        raise ScenarioError(f"{origin}: give exactly one of [grid] or [monte_carlo]")
    scenario_path = path.parent / head["scenario"]
    try:
        base = tomllib.loads(scenario_path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise field_error(
            ScenarioError, origin, "sweep.scenario", head["scenario"], f"a readable scenario ({exc})"
        ) from None
    fixed = head.get("set", {})
    settings = _grid(doc["grid"], origin) if "grid" in doc else _monte_carlo(doc["monte_carlo"], origin)
    variants = []
    for n, values in enumerate(settings):
        document = copy.deepcopy(base)
        for key, value in {**fixed, **values}.items():
            _apply(document, key, value, origin)
        variants.append(Variant(n, values, document))
    sweep = Sweep(str(head.get("name", path.stem)), origin, scenario_path.parent, tuple(variants))
    for variant in sweep.variants:  # fail fast on a bad variant, before anything runs
        scenario_from_dict(
            variant.document, f"{origin} variant {variant.index} {dict(variant.settings)}", base_dir=sweep.base_dir
        )
    return sweep


def _grid(table: Any, origin: str) -> list[dict[str, Any]]:
    if not isinstance(table, Mapping) or not table:
        raise field_error(ScenarioError, origin, "grid", table, 'a table of "field" = [values]')
    for key, values in table.items():
        if not isinstance(values, list) or not values:
            raise field_error(ScenarioError, origin, f"grid.{key}", values, "a non-empty list of values")
    keys = list(table)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(table[k] for k in keys))]


def _monte_carlo(table: Any, origin: str) -> list[dict[str, Any]]:
    if not isinstance(table, Mapping):
        raise field_error(ScenarioError, origin, "monte_carlo", table, "a table")
    samples = table.get("samples")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= 100_000:
        raise field_error(ScenarioError, origin, "monte_carlo.samples", samples, "an integer in [1, 100000]")
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise field_error(ScenarioError, origin, "monte_carlo.seed", seed, "an integer >= 0")
    params = table.get("parameters")
    if not isinstance(params, Mapping) or not params:
        raise field_error(ScenarioError, origin, "monte_carlo.parameters", params, "a table of distributions")
    rng = np.random.default_rng(seed)
    draws: dict[str, list[Any]] = {}
    for key, dist in params.items():
        draws[key] = _draw(dist, samples, rng, origin, f"monte_carlo.parameters.{key}")
    return [{key: draws[key][n] for key in params} for n in range(samples)]


def _draw(dist: Any, n: int, rng: np.random.Generator, origin: str, label: str) -> list[Any]:
    kind = dist.get("distribution") if isinstance(dist, Mapping) else None
    if kind not in DISTRIBUTIONS:
        raise field_error(ScenarioError, origin, f"{label}.distribution", kind, "one of " + ", ".join(DISTRIBUTIONS))
    try:
        if kind == "uniform":
            return [float(x) for x in rng.uniform(float(dist["low"]), float(dist["high"]), n)]
        if kind == "normal":
            return [float(x) for x in rng.normal(float(dist["mean"]), float(dist["sd"]), n)]
        values = list(dist["values"])
        return [values[int(i)] for i in rng.integers(0, len(values), n)]
    except (KeyError, TypeError, ValueError) as exc:
        raise field_error(
            ScenarioError, origin, label, dict(dist), "uniform {low, high}, normal {mean, sd} or choice {values}"
        ) from exc


def _apply(document: dict[str, Any], key: str, value: Any, origin: str) -> None:
    section, _, name = key.partition(".")
    if section not in ("scenario", "overrides") or not name:
        raise field_error(ScenarioError, origin, key, value, 'a key "scenario.<field>" or "overrides.<section.name>"')
    document.setdefault(section, {})[name] = value


def _run_variant(document: Mapping[str, Any], origin: str, base_dir: str) -> dict[str, float]:
    scenario = scenario_from_dict(document, origin, base_dir=Path(base_dir))
    return run_scenario(scenario).kpis


def _single_thread_numba() -> None:
    os.environ["NUMBA_NUM_THREADS"] = "1"  # one scenario per worker core (performance.md §3.3)


def run_sweep(
    sweep: Sweep,
    executor: Executor | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> pa.Table:
    """Run every variant (in order of completion) and return one row per variant: settings then KPIs."""
    own = executor is None
    pool = executor or ProcessPoolExecutor(max_workers=workers, initializer=_single_thread_numba)
    try:
        futures = [
            pool.submit(_run_variant, v.document, f"{sweep.origin} variant {v.index}", str(sweep.base_dir))
            for v in sweep.variants
        ]
        kpis: list[dict[str, float]] = []
        for n, future in enumerate(futures):
            kpis.append(future.result())
            if progress is not None:
                progress(n + 1, len(futures))
    finally:
        if own:
            pool.shutdown()
    return results_table(sweep.variants, kpis)


def results_table(variants: Iterable[Variant], kpis: list[dict[str, float]]) -> pa.Table:
    """Variant number, its settings and its KPIs as columns."""
    rows = []
    for variant, k in zip(variants, kpis, strict=True):
        rows.append({"variant": variant.index, **{f"set:{key}": v for key, v in variant.settings.items()}, **k})
    return pa.table({key: [row[key] for row in rows] for key in rows[0]}) if rows else pa.table({})
