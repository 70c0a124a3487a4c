"""Module-scoped ``store``, ``plant``, ``keys`` and ``client``: one DuckDB file and one uvicorn server per test
module, for modules whose tests only read (or write idempotently). Import them (``module_store``, …: pytest
knows them by those names) into the module to use them instead of the function-scoped fixtures of conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import BASELINE, Keys, LiveServer
from tests.api.plantstate import SyntheticPlant, run_scenario

from twin.api import Settings, create_api_key, create_app
from twin.store import DuckDBStore, Store


@pytest.fixture(scope="module", name="store")
def module_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    s = DuckDBStore(Path(tmp_path_factory.mktemp("api")) / "api.duckdb")
    yield s
    s.close()


@pytest.fixture(scope="module", name="plant")
def module_plant() -> SyntheticPlant:
    return SyntheticPlant()


@pytest.fixture(scope="module", name="keys")
def module_keys(store: Store) -> Keys:
    return Keys(*(create_api_key(store, f"test-{s}", [s]) for s in ("read", "run", "admin")))


@pytest.fixture(scope="module", name="client")
def module_client(store: Store, keys: Keys, plant: SyntheticPlant) -> Iterator[httpx.Client]:
    app = create_app(
        Settings(baseline_toml=BASELINE, sse_interval_s=0.05), store, live=plant, run_scenario=run_scenario
    )
    with LiveServer(app) as srv, httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.admin}, timeout=10) as c:
        yield c
