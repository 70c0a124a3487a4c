"""A real API server that runs scenario jobs with the service's catalogue runner, for the job tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import httpx
from tests.api.conftest import LiveServer

from twin.api import Settings, create_api_key, create_app
from twin.service.catalogue import Catalogue, CatalogueRunner
from twin.store import DuckDBStore


@contextlib.contextmanager
def jobs_api(store_dir: Path, catalogue: Catalogue, max_horizon_h: float) -> Iterator[httpx.Client]:
    """A client with a ``run`` key on a server whose jobs run ``catalogue``'s plants up to ``max_horizon_h``."""
    store = DuckDBStore(store_dir / "jobs.duckdb")
    key = create_api_key(store, "runner", ["run"])
    runner = CatalogueRunner(catalogue, max_horizon_h=max_horizon_h)
    try:
        with LiveServer(create_app(Settings(), store, run_scenario=runner)) as srv, httpx.Client(
            base_url=srv.url, headers={"X-API-Key": key}, timeout=30
        ) as client:
            yield client
    finally:
        store.close()
