"""Side-by-side comparison of two runs' KPIs with absolute and relative deltas.

Two runs are only compared when the comparison is fair: the same plant (name and cell count) and the same
horizon. With ``per_day=True`` runs of different horizons are compared per day instead: every accumulated
total (tonnes, MWh, costs, counts; :func:`is_total`) is divided by the run's days and renamed ``<name>/day``;
intensive KPIs (efficiencies, specific energies, means) are compared as they are, and horizon-dependent
extremes (minima, maxima, changes, longest outage) are left out, as no per-day reading of them is fair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twin.errors import ScenarioError

# Accumulated over the run: they scale with the horizon.
_TOTAL_SUFFIXES = ("_t", "_MWh", "_kg")
_TOTAL_NAMES = frozenset({"anode_effects", "energy_cost", "protective_actions", "taps", "anode_changes"})
# Extremes and changes over the run: they depend on the horizon but not in proportion to it.
_EXTREME_NAMES = frozenset(
    {
        "max_power_MW",
        "min_superheat_K",
        "ledge_change_cm",
        "min_ledge_cm",
        "min_line_bath_temp_degC",
        "max_bath_deficit_pct",
        "cells_freeze_risk",
        "cells_undercooled",
        "longest_outage_h",
        "hx_max_kW",
    }
)
_TOL_H = 1e-9


@dataclass(frozen=True)
class KpiDelta:
    """One KPI in two runs."""

    name: str
    a: float
    b: float

    @property
    def delta(self) -> float:
        return self.b - self.a

    @property
    def delta_pct(self) -> float | None:
        return None if self.a == 0 else 100.0 * (self.b - self.a) / abs(self.a)


def compare_kpis(a: Mapping[str, float], b: Mapping[str, float]) -> list[KpiDelta]:
    """Every KPI present in both runs, in ``a``'s order (no fairness check; see :func:`compare_runs`)."""
    return [KpiDelta(name, float(a[name]), float(b[name])) for name in a if name in b]


def is_total(name: str) -> bool:
    """True for a KPI accumulated over the run (it scales with the horizon)."""
    return name in _TOTAL_NAMES or (name.endswith(_TOTAL_SUFFIXES) and "_per_" not in name)


def per_day(kpis: Mapping[str, float], horizon_h: float) -> dict[str, float]:
    """KPIs per day of run: totals divided by days as ``<name>/day``, intensive KPIs kept, extremes left out."""
    days = horizon_h / 24.0
    out: dict[str, float] = {}
    for name, value in kpis.items():
        if is_total(name):
            out[f"{name}/day"] = float(value) / days
        elif name not in _EXTREME_NAMES:
            out[name] = float(value)
    return out


def comparability(a: Any, b: Any) -> list[str]:
    """Why runs ``a`` and ``b`` (``Results``-like: ``scenario``, ``horizon_h``, ``meta``) differ; [] if alike.

    Returns one message per difference: horizon first, then plant name and cell count (when both runs
    recorded them).
    """
    why = []
    if abs(float(a.horizon_h) - float(b.horizon_h)) > _TOL_H:
        why.append(f"horizons differ: {a.scenario} ran {a.horizon_h:g} h, {b.scenario} ran {b.horizon_h:g} h")
    for key, label in (("plant", "plants"), ("cells", "cell counts")):
        va, vb = a.meta.get(key), b.meta.get(key)
        if va is not None and vb is not None and va != vb:
            why.append(f"{label} differ: {a.scenario} has {va}, {b.scenario} has {vb}")
    return why


def compare_runs(a: Any, b: Any, *, per_day_totals: bool = False) -> tuple[list[KpiDelta], str]:
    """KPI deltas of run ``b`` against baseline ``a``, with a label saying how they were compared.

    Refuses (:class:`ScenarioError`) runs of different plants, and runs of different horizons unless
    ``per_day_totals`` is set, in which case both are put per day (:func:`per_day`) and the label says so.
    """
    why = comparability(a, b)
    plant_why = [w for w in why if not w.startswith("horizons")]
    if plant_why:
        raise ScenarioError(f"cannot compare {a.scenario} with {b.scenario}: {'; '.join(plant_why)}")
    if why and not per_day_totals:
        raise ScenarioError(
            f"cannot compare {a.scenario} with {b.scenario}: {why[0]}; run both for the same horizon, "
            "or compare per day (--per-day)"
        )
    if per_day_totals:
        label = f"per day (totals divided by {a.horizon_h / 24:g} and {b.horizon_h / 24:g} days)"
        return compare_kpis(per_day(a.kpis, a.horizon_h), per_day(b.kpis, b.horizon_h)), label
    return compare_kpis(a.kpis, b.kpis), f"same horizon ({a.horizon_h:g} h)"


MAX_SEEDS = 20  # twin compare --seeds: each seed is two runs


@dataclass(frozen=True)
class SeedBand:
    """One KPI of a variant against its baseline over several seeds, each seed run by both (paired: the same
    noise draws where the runs stay alike): the means and the spread of the paired differences."""

    name: str
    a_mean: float
    b_mean: float
    deltas: tuple[float, ...]

    @property
    def delta_mean(self) -> float:
        return sum(self.deltas) / len(self.deltas)

    @property
    def delta_min(self) -> float:
        return min(self.deltas)

    @property
    def delta_max(self) -> float:
        return max(self.deltas)

    @property
    def within_noise(self) -> bool:
        """True when the seeds disagree on the sign of the difference (or find none): the variant's effect on
        this KPI is not told apart from the run's own noise."""
        return self.delta_min <= 0.0 <= self.delta_max

    @property
    def verdict(self) -> str:
        """"no difference" (every seed gives both runs the same value), "within noise" or "" (told apart)."""
        if all(d == 0.0 for d in self.deltas):
            return "no difference"
        return "within noise" if self.within_noise else ""


def seed_bands(pairs: Sequence[tuple[Mapping[str, float], Mapping[str, float]]]) -> list[SeedBand]:
    """Per KPI present in every run, in the first baseline's order: the paired differences variant − baseline
    of ``pairs`` (one (baseline KPIs, variant KPIs) per seed)."""
    if not pairs:
        raise ScenarioError("seed_bands: no runs to compare")
    names = [n for n in pairs[0][0] if all(n in a and n in b for a, b in pairs)]
    out = []
    for name in names:
        a = [float(p[0][name]) for p in pairs]
        b = [float(p[1][name]) for p in pairs]
        out.append(SeedBand(name, sum(a) / len(a), sum(b) / len(b), tuple(y - x for x, y in zip(a, b, strict=True))))
    return out


MAX_GROUP_VALUES = 12  # a swept setting with more distinct values is a sampled one, not a choice to compare


def grouping_settings(columns: Mapping[str, Sequence[Any]]) -> list[str]:
    """The swept settings (``set:`` columns) a sweep's summary groups by: those with 2 to
    ``MAX_GROUP_VALUES`` distinct values, except seeds (repeats of one choice, not a choice)."""
    keys = []
    for name, values in columns.items():
        if not name.startswith("set:") or name.rsplit(".", 1)[-1] == "seed" or name.endswith(":seed"):
            continue
        distinct = {repr(v) for v in values}
        if 2 <= len(distinct) <= MAX_GROUP_VALUES:
            keys.append(name)
    return keys


def sweep_summary(columns: Mapping[str, Sequence[Any]]) -> list[tuple[str, str, int, float, float, float]]:
    """(group, KPI, variants, min, mean, max) per group of variants that share their swept settings
    (:func:`grouping_settings`; one group "all" when there is none), groups in order of first appearance."""
    keys = grouping_settings(columns)
    rows_n = len(next(iter(columns.values()), []))
    groups: dict[str, list[int]] = {}
    for i in range(rows_n):
        label = ", ".join(f"{k.removeprefix('set:')} = {columns[k][i]}" for k in keys) or "all"
        groups.setdefault(label, []).append(i)
    kpis = [
        k
        for k, v in columns.items()
        if not k.startswith(("set:", "variant")) and v and all(isinstance(x, int | float) for x in v)
    ]
    out = []
    for label, idx in groups.items():
        for k in kpis:
            vals = [float(columns[k][i]) for i in idx]
            out.append((label, k, len(vals), min(vals), sum(vals) / len(vals), max(vals)))
    return out
