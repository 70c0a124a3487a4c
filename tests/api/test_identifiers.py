"""Handle-style identifiers (RFC 3650-3652) resolved through a real uvicorn server."""

from __future__ import annotations

import json

import httpx
import pytest
from tests.api.modscope import module_client, module_keys, module_plant, module_store  # noqa: F401

from twin.api import Settings


def test_every_asset_has_an_identifier_under_the_prefix(client: httpx.Client) -> None:
    body = client.get("/v1/id").json()
    assets = {a["id"] for a in client.get("/v1/assets").json()["assets"]}
    assert body["prefix"] == "88.999.1"
    assert {i.removeprefix("88.999.1/") for i in body["identifiers"]} == assets
    assert "88.999.1/unit:G1" in body["identifiers"]  # units and rectifiers too, not only cells
    assert "88.999.1/rectifier:1-A" in body["identifiers"]


def test_identifier_resolves_to_values_and_a_working_asset_link(client: httpx.Client) -> None:
    r = client.get("/v1/id/88.999.1/cell:1-017")
    assert r.status_code == 200, r.text
    rec = r.json()
    assert rec["responseCode"] == 1
    assert rec["handle"] == "88.999.1/cell:1-017"
    by_index = {v["index"]: v for v in rec["values"]}
    assert by_index[1]["type"] == "URL"
    assert by_index[1]["data"]["value"] == rec["asset"]
    assert json.loads(by_index[2]["data"]["value"])["parent"] == "potline:1"
    assert all(v["timestamp"].endswith("Z") and v["ttl"] > 0 for v in rec["values"])
    followed = client.get(rec["asset"])  # the link leads to the asset
    assert followed.status_code == 200
    assert followed.json()["id"] == "cell:1-017"


def test_prefix_is_case_insensitive_local_name_is_not(client: httpx.Client) -> None:
    assert client.get("/v1/id/88.999.1/potline:1").status_code == 200
    r = client.get("/v1/id/88.999.1/POTLINE:1")
    assert r.status_code == 404
    assert "list identifiers with GET /v1/id" in r.json()["detail"]


def test_other_prefix_is_referred_not_guessed(client: httpx.Client) -> None:
    r = client.get("/v1/id/88.123.45/cell:1-017")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert "'88.123.45' is not served here" in detail
    assert "'88.999.1'" in detail
    assert "https://hdl.handle.net/88.123.45/cell:1-017" in detail
    assert r.headers["link"].startswith("<https://hdl.handle.net/88.123.45/cell:1-017>")


@pytest.mark.parametrize("bad", ["88.999.1", "88.999.1/", "/cell:1-017"])
def test_malformed_identifier_is_a_400(client: httpx.Client, bad: str) -> None:
    r = client.get(f"/v1/id/{bad}")
    assert r.status_code == 400, r.text
    assert "expected PREFIX/asset-id" in r.json()["detail"]


def test_prefix_setting_is_checked() -> None:
    with pytest.raises(ValueError, match="handle_prefix"):
        Settings(handle_prefix="88.abc/x")


def test_the_configured_public_url_is_used_whatever_host_a_client_sends(store, plant) -> None:
    """A Handle record is cached by resolvers for its TTL: its URL must not be the Host header a client chose."""
    from tests.api.conftest import LiveServer

    from twin.api import create_app

    settings = Settings(open_access=True, public_url="https://twin.plant.example:8443")
    with LiveServer(create_app(settings, store, live=plant)) as server:
        r = httpx.get(server.url + "/v1/id/88.999.1/cell:1-017", headers={"Host": "evil.example"})
        assert r.status_code == 200, r.text
        assert r.json()["asset"] == "https://twin.plant.example:8443/v1/assets/cell:1-017"
    with pytest.raises(ValueError, match="public_url"):
        Settings(public_url="https://twin/../x")
