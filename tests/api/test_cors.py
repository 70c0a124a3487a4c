"""Optional CORS: configured origins may call the API from their pages; others, and the default, get no CORS headers."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError
from tests.api.conftest import Keys, LiveServer

from twin.api import Settings, create_app
from twin.store import Store

GRAFANA = "https://grafana.plant.local:3000"


def _preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(
        url + "/v1/kpis",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )


def test_configured_origin_is_allowed_others_are_not(store: Store, keys: Keys) -> None:
    with LiveServer(create_app(Settings(cors_origins=(GRAFANA,)), store)) as srv:
        ok = _preflight(srv.url, GRAFANA)
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == GRAFANA
        assert "x-api-key" in ok.headers["access-control-allow-headers"].lower()
        get = httpx.get(srv.url + "/v1/kpis", headers={"Origin": GRAFANA, "X-API-Key": keys.read})
        assert get.headers["access-control-allow-origin"] == GRAFANA
        assert "etag" in get.headers["access-control-expose-headers"].lower()
        other = _preflight(srv.url, "https://evil.example")
        assert "access-control-allow-origin" not in other.headers
        # CORS lets the page read answers; it does not replace the key
        assert httpx.get(srv.url + "/v1/kpis", headers={"Origin": GRAFANA}).status_code == 401


def test_no_cors_headers_by_default(store: Store) -> None:
    with LiveServer(create_app(Settings(), store)) as srv:
        r = httpx.get(srv.url + "/v1/health", headers={"Origin": GRAFANA})
        assert "access-control-allow-origin" not in r.headers


def test_origins_from_the_environment_and_bad_ones() -> None:
    env = {"TWIN_API_CORS_ORIGINS": f"{GRAFANA}, http://localhost:8080"}
    assert Settings.from_env(env).cors_origins == (GRAFANA, "http://localhost:8080")
    with pytest.raises(ValidationError, match=r"origin 'grafana\.local/path' is invalid"):
        Settings(cors_origins=("grafana.local/path",))
