"""Sweep files: a base scenario and the fields to vary, as a full-factorial grid or a Monte-Carlo sample.

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
    samples = 1000
    seed = 7
    [monte_carlo.parameters]
    "overrides.alumina.dissolution_rate_per_s" = { distribution = "uniform", low = 0.001, high = 0.003 }

Monte-Carlo distributions (every bound is inclusive and comes from the file; nothing is drawn outside it):

* ``uniform {low, high}``, ``loguniform {low, high}`` (``0 < low``), ``integer {low, high}`` (whole numbers,
  e.g. per-variant seeds), ``choice {values}`` (one of the list, equally likely);
* ``normal {mean, sd}``, optionally truncated to ``[low, high]`` by rejection (draws outside are drawn again).

Variant ``k``'s values come from its own generator, numpy's PCG64 seeded with ``SeedSequence([seed, k])``,
drawing the parameters in file order. So a variant's values depend only on the seed, its number and the
parameters before it in the file: raising ``samples`` keeps the first variants unchanged (a resumed sweep in the
same directory then runs only the new ones), and so does adding a parameter at the end.

Every variant is validated as a scenario when the file is loaded, so a bad value fails before anything runs.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import ScenarioError, field_error
from twin.scenario.spec import scenario_from_dict
from twin_edge.configfile import check_keys, read_toml

#: distribution -> (required fields, optional fields)
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "uniform": (("low", "high"), ()),
    "loguniform": (("low", "high"), ()),
    "integer": (("low", "high"), ()),
    "normal": (("mean", "sd"), ("low", "high")),
    "choice": (("values",), ()),
}
MAX_SAMPLES = 100_000
#: draws of a truncated normal before the interval is declared (nearly) empty
MAX_REJECTIONS = 1000
SWEEP_KEYS = ("name", "description", "scenario", "set")


@dataclass(frozen=True)
class Variant:
    """One scenario of a sweep: its number, the values it sets and the full scenario document."""

    index: int
    settings: Mapping[str, Any]
    document: Mapping[str, Any]

    @cached_property
    def digest(self) -> str:
        """SHA-256 of the scenario document: a resumed sweep reruns nothing whose digest is unchanged."""
        text = json.dumps(self.document, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


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
    check_keys(doc, ("sweep", "grid", "monte_carlo"), origin, error=ScenarioError, noun="section")
    head = doc.get("sweep")
    if not isinstance(head, Mapping) or not isinstance(head.get("scenario"), str):
        raise ScenarioError(f'{origin}: a [sweep] table with scenario = "<path>" is required')
    check_keys(head, SWEEP_KEYS, origin, "sweep", ScenarioError, noun="field")
    for key in ("name", "description"):
        if key in head and not isinstance(head[key], str):
            raise field_error(ScenarioError, origin, f"sweep.{key}", head[key], "a text")
    if ("grid" in doc) == ("monte_carlo" in doc):
        raise ScenarioError(f"{origin}: give exactly one of [grid] or [monte_carlo]")
    scenario_path = (path.parent / head["scenario"]).resolve()
    try:
        base = read_toml(scenario_path, ScenarioError)
    except ScenarioError as exc:
        raise field_error(
            ScenarioError, origin, "sweep.scenario", head["scenario"], f"a scenario file ({exc})"
        ) from None
    fixed = head.get("set", {})
    if not isinstance(fixed, Mapping):
        raise field_error(ScenarioError, origin, "sweep.set", fixed, 'a table of "field" = value')
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
    count = math.prod(len(table[k]) for k in keys)
    if count > MAX_SAMPLES:
        raise ScenarioError(f"{origin}: [grid] has {count} combinations; expected at most {MAX_SAMPLES}")
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(table[k] for k in keys))]


def _monte_carlo(table: Any, origin: str) -> list[dict[str, Any]]:
    if not isinstance(table, Mapping):
        raise field_error(ScenarioError, origin, "monte_carlo", table, "a table")
    check_keys(table, ("samples", "seed", "parameters"), origin, "monte_carlo", ScenarioError, noun="field")
    samples = table.get("samples")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise field_error(ScenarioError, origin, "monte_carlo.samples", samples, f"an integer in [1, {MAX_SAMPLES}]")
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise field_error(ScenarioError, origin, "monte_carlo.seed", seed, "an integer in [0, 2**63)")
    params = table.get("parameters")
    if not isinstance(params, Mapping) or not params:
        raise field_error(ScenarioError, origin, "monte_carlo.parameters", params, "a table of distributions")
    checked = {key: _check_distribution(dist, origin, f"monte_carlo.parameters.{key}") for key, dist in params.items()}
    out = []
    for n in range(samples):
        rng = np.random.default_rng([seed, n])
        out.append({key: _draw(dist, rng, origin, key) for key, dist in checked.items()})
    return out


def _check_distribution(dist: Any, origin: str, label: str) -> dict[str, Any]:
    kind = dist.get("distribution") if isinstance(dist, Mapping) else None
    if kind not in DISTRIBUTIONS:
        raise field_error(ScenarioError, origin, f"{label}.distribution", kind, "one of " + ", ".join(DISTRIBUTIONS))
    required, optional = DISTRIBUTIONS[kind]
    form = f"{kind} {{{', '.join(required)}{''.join(', [' + o + ']' for o in optional)}}}"
    for key in dist:
        if key != "distribution" and key not in required + optional:
            raise field_error(ScenarioError, origin, f"{label}.{key}", dist[key], f"only the fields of {form}")
    for key in required:
        if key not in dist:
            raise ScenarioError(f"{origin}: {label}: missing field {key}; expected {form}")
    if kind == "choice":
        values = dist["values"]
        if not isinstance(values, list) or not values:
            raise field_error(ScenarioError, origin, f"{label}.values", values, "a non-empty list")
        return {"distribution": kind, "values": list(values)}
    out: dict[str, Any] = {"distribution": kind}
    for key in required + optional:
        if key in dist:
            value = dist[key]
            whole = kind == "integer"
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or (whole and not float(value).is_integer())
            ):
                raise field_error(
                    ScenarioError, origin, f"{label}.{key}", value, "a whole number" if whole else "a finite number"
                )
            out[key] = int(value) if whole else float(value)
    if "low" in out and "high" in out and out["low"] > out["high"]:
        raise field_error(ScenarioError, origin, f"{label}.low", out["low"], f"at most high = {out['high']!r}")
    if kind == "loguniform" and out["low"] <= 0:
        raise field_error(ScenarioError, origin, f"{label}.low", out["low"], "a number > 0 (log-uniform)")
    if kind == "normal" and out["sd"] < 0:
        raise field_error(ScenarioError, origin, f"{label}.sd", out["sd"], "a number >= 0")
    return out


def _draw(dist: Mapping[str, Any], rng: np.random.Generator, origin: str, key: str) -> Any:
    kind = dist["distribution"]
    if kind == "uniform":
        return float(rng.uniform(dist["low"], dist["high"]))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(dist["low"]), math.log(dist["high"]))))
    if kind == "integer":
        return int(rng.integers(dist["low"], dist["high"], endpoint=True))
    if kind == "choice":
        return dist["values"][int(rng.integers(0, len(dist["values"])))]
    low, high = dist.get("low", -math.inf), dist.get("high", math.inf)
    for _ in range(MAX_REJECTIONS):
        value = float(rng.normal(dist["mean"], dist["sd"]))
        if low <= value <= high:
            return value
    raise field_error(
        ScenarioError,
        origin,
        f"monte_carlo.parameters.{key}",
        dict(dist),
        f"a normal distribution with a real chance of falling in [low, high] (none in {MAX_REJECTIONS} draws)",
    )


def _apply(document: dict[str, Any], key: str, value: Any, origin: str) -> None:
    section, _, name = key.partition(".")
    if section not in ("scenario", "overrides") or not name:
        raise field_error(ScenarioError, origin, key, value, 'a key "scenario.<field>" or "overrides.<section.name>"')
    table = document.setdefault(section, {})
    if not isinstance(table, dict):
        raise field_error(ScenarioError, origin, key, value, f"a base scenario whose [{section}] is a table")
    table[name] = value
