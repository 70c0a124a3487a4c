"""Property-based tests generated from the OpenAPI schema: no request may produce a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from tests.api.conftest import BASELINE, LiveServer
from tests.api.plantstate import SyntheticPlant, run_scenario

from twin.api import Settings, create_api_key, create_app
from twin.store import DuckDBStore


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    store = DuckDBStore(tmp_path_factory.mktemp("st") / "schemathesis.duckdb")
    store.register_tags(["cell:1-017/voltage_V"])
    ts = np.datetime64("2026-03-01T00:00:00", "us") + np.arange(3600).astype("timedelta64[s]")
    store.write_points("cell:1-017/voltage_V", ts, np.full(3600, 4.2))
    key = create_api_key(store, "schemathesis", ["admin"])
    app = create_app(
        Settings(baseline_toml=BASELINE, max_pending_jobs=4),
        store,
        live=SyntheticPlant(),
        run_scenario=run_scenario,
        ingest_stats=lambda: {"messages_per_s": 1.0},
    )
    with LiveServer(app) as srv:
        yield srv.url, key
    store.close()


def _operations() -> list:
    with DuckDBStore() as store:  # the app is built only for its OpenAPI document
        schema = schemathesis.openapi.from_dict(create_app(Settings(), store).openapi())
    ops = [r.ok() for r in schema.get_all_operations()]
    # the SSE stream is open-ended by design; it is tested in test_endpoints
    return [op for op in ops if op.path != "/v1/stream/kpis"]


OPERATIONS = _operations()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[f"{op.method.upper()} {op.path}" for op in OPERATIONS])
def test_no_server_errors(operation, served: tuple[str, str]) -> None:
    url, key = served

    examples = 10 if operation.path == "/v1/admin/keys" else 30  # each example hashes a key with argon2

    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=url, headers={"X-API-Key": key}, checks=[not_a_server_error], timeout=10)

    check()
