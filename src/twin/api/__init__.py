"""FastAPI decision-support service: KPIs, time series, alarms, assets, scenario jobs, SSE and a dashboard.

Build it with :func:`create_app`; the live twin plugs in through :class:`LiveProvider`.
"""

from __future__ import annotations

from twin.api.app import create_app
from twin.api.auth import SCOPES, create_api_key
from twin.api.live import LiveProvider, LiveScenarioSource, StoreLive
from twin.api.settings import Settings

__all__ = [
    "SCOPES",
    "LiveProvider",
    "LiveScenarioSource",
    "Settings",
    "StoreLive",
    "create_api_key",
    "create_app",
]
