"""Access control over a real HTTP server: 401 without a valid key, 403 without the scope, hashed storage."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import httpx
import pytest
from tests.api.conftest import Keys, LiveServer

from twin.api import Settings, create_api_key, create_app
from twin.store import Store

GET_ROUTES = [
    "/v1/kpis",
    "/v1/kpis/plant",
    "/v1/latest",
    "/v1/tags",
    "/v1/power",
    "/v1/alarms",
    "/v1/assets",
    "/v1/scenarios",
    "/v1/potlines/1/cells",
    "/v1/admin/keys",
]


def _is_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status
    assert body["title"]
    return body


@pytest.mark.parametrize("path", GET_ROUTES)
def test_no_key_is_401(server: LiveServer, path: str) -> None:
    r = httpx.get(server.url + path)
    body = _is_problem(r, 401)
    assert "X-API-Key" in body["detail"]
    assert r.headers["www-authenticate"] == "ApiKey"


@pytest.mark.parametrize("key", ["nonsense", "twin_000000000000_" + "x" * 43])
def test_bad_key_is_401(server: LiveServer, key: str) -> None:
    _is_problem(httpx.get(server.url + "/v1/kpis", headers={"X-API-Key": key}), 401)


def test_scopes(server: LiveServer, keys: Keys) -> None:
    body = {"toml": "[scenario]\nhours = 2\n"}

    def post(key: str) -> httpx.Response:
        return httpx.post(server.url + "/v1/scenarios", json=body, headers={"X-API-Key": key})

    assert "'run' scope" in _is_problem(post(keys.read), 403)["detail"]
    assert post(keys.run).status_code == 202
    assert post(keys.admin).status_code == 202
    for key in (keys.read, keys.run):
        _is_problem(httpx.get(server.url + "/v1/admin/keys", headers={"X-API-Key": key}), 403)
        assert httpx.get(server.url + "/v1/kpis", headers={"X-API-Key": key}).status_code == 200


def test_keys_are_hashed_created_by_admin_and_revocable(server: LiveServer, keys: Keys, store: Store) -> None:
    admin = {"X-API-Key": keys.admin}
    r = httpx.post(server.url + "/v1/admin/keys", json={"name": "grafana", "scopes": ["read"]}, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    new_key, key_id = created["key"], created["key_id"]
    secret = new_key.split("_", 2)[2]
    record = store.get_api_key(key_id)
    assert record.secret_hash.startswith("$argon2")
    assert secret not in record.secret_hash
    listed = httpx.get(server.url + "/v1/admin/keys", headers=admin).json()
    assert all("key" not in k for k in listed)
    assert {k["name"] for k in listed} >= {"grafana", "test-read"}
    assert httpx.get(server.url + "/v1/kpis", headers={"X-API-Key": new_key}).status_code == 200
    assert httpx.delete(server.url + f"/v1/admin/keys/{key_id}", headers=admin).status_code == 204
    _is_problem(httpx.get(server.url + "/v1/kpis", headers={"X-API-Key": new_key}), 401)
    _is_problem(httpx.post(server.url + "/v1/admin/keys", json={"name": "x", "scopes": ["root"]}, headers=admin), 422)


def test_an_open_stream_ends_when_its_key_is_revoked(server: LiveServer, keys: Keys, plant) -> None:
    """A KPI stream outlived its key: after the revocation it went on sending snapshots. Now the key is checked
    before every event and the stream ends with an ``end`` event once the key is revoked."""
    admin = {"X-API-Key": keys.admin}
    created = httpx.post(server.url + "/v1/admin/keys", json={"name": "wall", "scopes": ["read"]}, headers=admin)
    key, key_id = created.json()["key"], created.json()["key_id"]
    kinds: list[str] = []
    with httpx.stream("GET", server.url + "/v1/stream/kpis", headers={"X-API-Key": key}, timeout=30) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("event:"):
                kinds.append(line.split(":", 1)[1].strip())
                if kinds == ["kpis"]:
                    assert httpx.delete(server.url + f"/v1/admin/keys/{key_id}", headers=admin).status_code == 204
                if kinds[-1] == "kpis":
                    plant.advance()  # a new snapshot each time: a stream that outlives the key sends it
            if line.startswith("data:") and kinds[-1:] == ["end"]:
                assert json.loads(line[5:])["status"] == 401
            if len(kinds) > 3:
                break
    assert kinds == ["kpis", "end"]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/kpis/plant/history",
        "/v1/tags/cell:1-001/cell_voltage_V/recorded",
        "/v1/tags/cell:1-001/cell_voltage_V/aggregate",
        "/v1/streams/interpolated?tags=cell:1-001/cell_voltage_V",
        "/v1/streams/plot?tags=cell:1-001/cell_voltage_V",
        "/v1/events",
        "/v1/events/annotations",
    ],
)
def test_a_bad_range_without_a_key_is_401_not_a_range_error(server: LiveServer, path: str) -> None:
    """The key is checked before the query: a reversed range without a key got a 400 describing the range."""
    sep = "&" if "?" in path else "?"
    url = f"{server.url}{path}{sep}start=2026-12-06T00:00:00Z&end=2026-12-01T00:00:00Z"
    _is_problem(httpx.get(url), 401)


def test_secrets_never_logged(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    key = create_api_key(store, "ops", ["read"])
    app = create_app(Settings(), store)
    with LiveServer(app) as srv:
        assert httpx.get(srv.url + "/v1/kpis", headers={"X-API-Key": key}).status_code == 200
        assert httpx.get(srv.url + "/v1/kpis", headers={"X-API-Key": key + "x"}).status_code == 401
    secret = key.split("_", 2)[2]
    assert key.split("_")[1] in caplog.text  # the key id is logged …
    assert secret not in caplog.text  # … the secret never


def test_open_access_needs_the_setting_and_warns(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with LiveServer(create_app(Settings(open_access=True), store)) as srv:
        assert httpx.get(srv.url + "/v1/kpis").status_code == 200
        assert httpx.get(srv.url + "/v1/admin/keys").status_code == 200
    assert "OPEN ACCESS" in caplog.text
    with LiveServer(create_app(Settings(), store)) as srv:
        assert httpx.get(srv.url + "/v1/kpis").status_code == 401


def test_settings_from_env_are_validated() -> None:
    from twin.errors import TwinError

    assert Settings.from_env({"TWIN_API_OPEN_ACCESS": "true"}).open_access is True
    with pytest.raises(TwinError, match="TWIN_API_KPI_MAX_AGE_S"):
        Settings.from_env({"TWIN_API_KPI_MAX_AGE_S": "-1"})
    with pytest.raises(TwinError, match="TWIN_API_OPEN_ACESS is not a setting"):
        Settings.from_env({"TWIN_API_OPEN_ACESS": "true"})
    # the first two were accepted before 2026-12-07: 10^12 days overflowed timedelta (every ranged query a 500)
    for name, value in (("MAX_RANGE_DAYS", "1000000000000"), ("COMPACT_INTERVAL_S", "inf"),
                        ("JOB_TIMEOUT_S", "nan"), ("AUTH_CACHE_S", "inf")):
        with pytest.raises(TwinError, match=f"TWIN_API_{name}"):
            Settings.from_env({f"TWIN_API_{name}": value})


def test_key_cli_refuses_a_name_that_forges_lines_and_lists_old_ones_escaped(tmp_path, capsys) -> None:
    """The HTTP route checked key names as text; the command line stored a newline and an ANSI escape, and
    `list` then printed a forged line in colour."""
    from twin.api.keys import main
    from twin.store import ApiKeyRecord, open_store

    url = f"duckdb://{tmp_path / 'names.duckdb'}"
    assert main(["--store", url, "create", "--name", "ops\n6b1f00000000\tadmin", "--scopes", "read"]) == 2
    assert "found U+000A" in capsys.readouterr().err
    assert main(["--store", url, "create", "--name", "red\x1b[31m", "--scopes", "read"]) == 2
    assert "found U+001B" in capsys.readouterr().err
    with open_store(url) as store:  # a name stored before the check (by an older version)
        store.put_api_key(ApiKeyRecord("0123456789ab", "old\nforged", "x", frozenset({"read"}), datetime.now(UTC)))
    assert main(["--store", url, "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.count("\n") == 1  # one key, one line
    assert "'old\\nforged'" in listed


def test_key_cli_creates_a_working_key(tmp_path, capsys: pytest.CaptureFixture) -> None:
    from twin.api.keys import main
    from twin.store import open_store

    url = f"duckdb://{tmp_path / 'cli.duckdb'}"
    assert main(["--store", url, "create", "--name", "cli", "--scopes", "read,run"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("twin_")
    assert main(["--store", url, "create", "--name", "cli", "--scopes", "root"]) == 2
    assert "scopes" in capsys.readouterr().err
    with open_store(url) as store, LiveServer(create_app(Settings(), store)) as srv:
        ok = httpx.post(srv.url + "/v1/scenarios", json={"toml": "[scenario]"}, headers={"X-API-Key": key})
        assert ok.status_code == 503  # authorised; this app has no runner


def test_app_from_env(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from twin.api.main import app_from_env

    monkeypatch.setenv("TWIN_STORE_URL", f"duckdb://{tmp_path / 'env.duckdb'}")
    monkeypatch.setenv("TWIN_API_KPI_MAX_AGE_S", "7")
    app = app_from_env()
    with LiveServer(app) as srv:
        assert httpx.get(srv.url + "/v1/health").status_code == 200
        assert httpx.get(srv.url + "/v1/kpis").status_code == 401
    assert app.state.settings.kpi_max_age_s == 7
    app.state.store.close()


BAD_BODIES = [
    b'{"toml": ',  # not JSON
    b"[" * 100 + b"]" * 100,  # nested deeper than the API takes
    b'{"toml": "' + b"\xff\xfe" + b'"}',  # not UTF-8
    b'{"hours": ' + b"9" * 5000 + b"}",  # a number longer than the API takes
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=["truncated", "deep", "not_utf8", "long_number"])
@pytest.mark.parametrize("key", [None, "nonsense", "twin_000000000000_" + "x" * 43], ids=["no_key", "bad", "unknown"])
def test_a_body_is_not_looked_at_before_the_key(server: LiveServer, keys: Keys, body: bytes, key: str | None) -> None:
    """Without a valid key a request with a body is a 401, whatever its body: the body checks (which answer 422
    describing the body) run only for authenticated callers. With a valid key the same body is the 422."""
    headers = {"Content-Type": "application/json", **({"X-API-Key": key} if key else {})}
    for path in ("/v1/scenarios", "/v1/admin/keys", "/v1/setpoints/proposals"):
        r = httpx.post(server.url + path, content=body, headers=headers)
        assert _is_problem(r, 401)["detail"]
        assert r.headers["www-authenticate"] == "ApiKey"
        assert "body" not in r.json()["detail"]
    r = httpx.post(server.url + "/v1/scenarios", content=body, headers={**headers, "X-API-Key": keys.run})
    _is_problem(r, 422)
