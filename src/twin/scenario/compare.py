"""Side-by-side comparison of two runs' KPIs with absolute and relative deltas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


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
    """Every KPI present in both runs, in ``a``'s order."""
    return [KpiDelta(name, float(a[name]), float(b[name])) for name in a if name in b]
