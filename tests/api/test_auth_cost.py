"""Auth that costs nothing to attack (issue 9 item 3), through a real uvicorn server.

Costs are observed through the service's own counters on ``/metrics`` (argon2 checks done, failures
answered from the cache, the most argon2 checks that ran at once, rate-limited requests); no timing.
"""

from __future__ import annotations

import concurrent.futures

import httpx
from tests.api.conftest import Keys, LiveServer
from tests.api.plantstate import SyntheticPlant

from twin.api import Settings, create_app
from twin.store import Store


def counters(url: str) -> dict[str, float]:
    out = {}
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith("twin_auth_"):
            name, value = line.split()
            out[name.removeprefix("twin_auth_").removesuffix("_total")] = float(value)
    return out


def wrong_secret(key: str, n: int = 0) -> str:
    key_id = key.split("_", 2)[1]
    return f"twin_{key_id}_{'A' * 20}{n:023d}"


def get(url: str, key: str) -> httpx.Response:
    return httpx.get(url + "/v1/kpis", headers={"X-API-Key": key})


def test_a_repeated_failure_costs_one_argon2_check(server: LiveServer, keys: Keys) -> None:
    bad = wrong_secret(keys.read)
    before = counters(server.url)
    for _ in range(4):
        assert get(server.url, bad).status_code == 401
    after = counters(server.url)
    assert after["argon2_checks"] - before["argon2_checks"] == 1
    assert after["failures_from_cache"] - before["failures_from_cache"] == 3


def test_unknown_key_ids_cost_the_same_check_as_known_ones(server: LiveServer, keys: Keys) -> None:
    """No oracle: an unknown id gets the same argon2 check (against a dummy hash) as a known id's wrong
    secret, so both answer in the same time; repeats of either are answered from the failure cache."""
    unknown = "twin_0123456789ab_" + "B" * 43
    known_bad = wrong_secret(keys.run)
    for key in (unknown, known_bad):
        before = counters(server.url)
        r = get(server.url, key)
        assert r.status_code == 401
        assert r.json()["detail"] == "the API key is unknown, malformed or revoked"
        assert counters(server.url)["argon2_checks"] - before["argon2_checks"] == 1
        get(server.url, key)
        assert counters(server.url)["argon2_checks"] - before["argon2_checks"] == 1


def test_concurrent_bad_keys_share_two_argon2_slots(store: Store, keys: Keys, plant: SyntheticPlant) -> None:
    app = create_app(Settings(auth_failures_per_min=1000), store, live=plant)
    with LiveServer(app) as srv, concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda n: get(srv.url, wrong_secret(keys.read, n)).status_code, range(12)))
        seen = counters(srv.url)
    assert answers == [401] * 12
    assert seen["argon2_checks"] == 12
    assert seen["argon2_peak_concurrent"] <= 2


def test_failures_are_rate_limited_per_client_with_retry_after(
    store: Store, keys: Keys, plant: SyntheticPlant
) -> None:
    app = create_app(Settings(auth_failures_per_min=3), store, live=plant)
    with LiveServer(app) as srv:
        assert get(srv.url, keys.read).status_code == 200  # verified before the attack: stays usable
        for n in range(3):
            assert get(srv.url, wrong_secret(keys.admin, n)).status_code == 401
        before = counters(srv.url)
        r = get(srv.url, wrong_secret(keys.admin, 99))
        assert r.status_code == 429, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        assert "3 failed API keys" in r.json()["detail"]
        assert counters(srv.url)["argon2_checks"] == before["argon2_checks"]  # a blocked try costs no check
        assert get(srv.url, keys.run).status_code == 429  # not yet verified: waits like any other key
        assert get(srv.url, keys.read).status_code == 200
        assert counters(srv.url)["rate_limited"] >= 2
