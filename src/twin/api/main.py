"""Entry point for ``uvicorn --factory twin.api.main:app_from_env`` (store from ``TWIN_STORE_URL``)."""

from __future__ import annotations

import os

from fastapi import FastAPI

from twin.api.app import create_app
from twin.api.settings import Settings
from twin.store import open_store


def app_from_env() -> FastAPI:
    """An API over the store named by ``TWIN_STORE_URL`` (default ``duckdb://twin.duckdb``), no live twin."""
    store = open_store(os.environ.get("TWIN_STORE_URL", "duckdb://twin.duckdb"))
    return create_app(Settings.from_env(), store)
