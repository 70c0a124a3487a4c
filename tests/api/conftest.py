"""API fixtures: a DuckDB store, keys for each scope, and the app behind a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from tests.api.plantstate import SyntheticPlant, run_scenario

from twin.api import Settings, create_api_key, create_app
from twin.api.http_server import server_config
from twin.store import DuckDBStore, Store

CREEP_TOML = "[scenario]\nname = 'creep'\nline_current_kA = 404\nhours = 48\n"
BASELINE = "[scenario]\nname = 'baseline'\nline_current_kA = 400\nhours = 48\n"


@dataclass
class Keys:
    read: str
    run: str
    admin: str


class LiveServer:
    """uvicorn serving ``app`` on a free loopback port in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = server_config(  # as the service serves it (twin.service._serve_http): the connection guard too
            app, "127.0.0.1", self.port, getattr(app.state, "settings", None) or Settings(), log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = DuckDBStore(tmp_path / "api.duckdb")
    yield s
    s.close()


@pytest.fixture
def keys(store: Store) -> Keys:
    return Keys(*(create_api_key(store, f"test-{s}", [s]) for s in ("read", "run", "admin")))


@pytest.fixture
def plant() -> SyntheticPlant:
    return SyntheticPlant()


@pytest.fixture
def settings() -> Settings:
    return Settings(baseline_toml=BASELINE, sse_interval_s=0.05)


@pytest.fixture
def app(settings: Settings, store: Store, keys: Keys, plant: SyntheticPlant) -> FastAPI:
    return create_app(
        settings,
        store,
        live=plant,
        run_scenario=run_scenario,
        ingest_stats=lambda: {"messages_per_s": 1234.0, "seq_gaps": 2},
    )


@pytest.fixture
def server(app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(app) as srv:
        yield srv


@pytest.fixture
def client(server: LiveServer, keys: Keys) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"X-API-Key": keys.admin}, timeout=10) as c:
        yield c
