"""A request body-size limit on every route, before authentication and parsing (issue 9 item 4)."""

from __future__ import annotations

import httpx
import pytest
from tests.api.conftest import Keys, LiveServer
from tests.api.plantstate import SyntheticPlant

from twin.api import Settings, create_app
from twin.store import Store

LIMIT = 4096


@pytest.fixture
def small(store: Store, keys: Keys, plant: SyntheticPlant):
    with LiveServer(create_app(Settings(max_body_bytes=LIMIT), store, live=plant)) as srv:
        yield srv


def _is_413(r: httpx.Response) -> dict:
    assert r.status_code == 413, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == 413
    assert str(LIMIT) in body["detail"]
    return body


@pytest.mark.parametrize("path", ["/v1/scenarios", "/v1/admin/keys", "/v1/kpis", "/v1/health", "/nowhere"])
def test_a_declared_large_body_is_413_before_auth(small: LiveServer, path: str) -> None:
    r = httpx.post(small.url + path, content=b"x" * (LIMIT + 1), headers={"Content-Type": "application/json"})
    assert "Content-Length = 4097" in _is_413(r)["detail"]


def test_a_streamed_body_is_counted_and_stopped(small: LiveServer, keys: Keys) -> None:
    def chunks():
        for _ in range(64):
            yield b"y" * 1024

    r = httpx.post(small.url + "/v1/scenarios", content=chunks(), headers={"X-API-Key": keys.run})
    assert "more than 4096 bytes" in _is_413(r)["detail"]


def test_bodies_within_the_limit_still_work(small: LiveServer, keys: Keys) -> None:
    r = httpx.post(small.url + "/v1/admin/keys", json={"name": "x", "scopes": ["read"]},
                   headers={"X-API-Key": keys.admin})
    assert r.status_code == 201
    r = httpx.post(small.url + "/v1/admin/keys", content=b"z" * 100)
    assert r.status_code == 401


def test_the_default_limit_is_one_mebibyte(server: LiveServer) -> None:
    r = httpx.post(server.url + "/v1/scenarios", content=b"x" * (1_048_577))
    assert r.status_code == 413
    assert httpx.post(server.url + "/v1/scenarios", content=b"x" * 1000).status_code == 401
