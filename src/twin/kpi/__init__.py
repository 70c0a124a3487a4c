"""KPIs: pure functions from results or live state to KPI records (no I/O, no knowledge of sources)."""

from twin.kpi.emissions import GWP100, pfc_co2e_t, pfc_slope_method
from twin.kpi.plant_kpis import LineTotals, line_kpis, plant_kpis

__all__ = ["GWP100", "LineTotals", "line_kpis", "pfc_co2e_t", "pfc_slope_method", "plant_kpis"]
