"""A burst of keys sent at once, through a real uvicorn server (audit: bad keys got past the failure limit).

The failure limit used to be checked before a key was verified and counted after, so 150 bad keys sent at
once all got an argon2 check (none got 429) and their queue held the thread pool every sync route shares.
Costs are read from the service's own counters on ``/metrics``, never from timing.
"""

from __future__ import annotations

import concurrent.futures
import secrets
import threading
import time
from collections.abc import Callable

import httpx
import pytest
from tests.api.conftest import Keys, LiveServer
from tests.api.plantstate import SyntheticPlant
from tests.api.test_auth_cost import counters

from twin.api import Settings, auth, create_app
from twin.api.auth import KeyVerifier
from twin.store import Store


def random_key() -> str:
    """A well-formed key nobody issued: an unknown id and a fresh secret, so each costs a new argon2 check."""
    return f"twin_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


def get(url: str, key: str) -> httpx.Response:
    return httpx.get(url + "/v1/kpis", headers={"X-API-Key": key}, timeout=60)


def all_at_once(n: int, send: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """``send(0)`` … ``send(n - 1)`` from ``n`` threads released together, so the server sees one burst."""
    start = threading.Barrier(n)

    def one(i: int) -> httpx.Response:
        start.wait(30)
        return send(i)

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


class RecordingHasher:
    """The module's argon2 hasher, noting the thread of each check; ``gate`` (if given) holds every check."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.real = auth._hasher
        self.gate = gate
        self.threads: list[str] = []

    def hash(self, secret: str) -> str:
        return self.real.hash(secret)

    def verify(self, hashed: str, secret: str) -> bool:
        self.threads.append(threading.current_thread().name)
        if self.gate is not None:
            self.gate.wait(30)
        return self.real.verify(hashed, secret)


def test_a_burst_of_bad_keys_costs_at_most_the_failure_limit(store: Store, keys: Keys, plant: SyntheticPlant) -> None:
    limit = 5
    app = create_app(Settings(auth_failures_per_min=limit), store, live=plant)
    with LiveServer(app) as srv:
        assert get(srv.url, keys.read).status_code == 200  # verified before the burst
        before = counters(srv.url)
        answers = all_at_once(150, lambda _: get(srv.url, random_key()))
        after = counters(srv.url)
        statuses = [r.status_code for r in answers]
        assert set(statuses) <= {401, 429}, statuses
        assert statuses.count(401) == limit  # the checks in flight were counted: no more than the limit started
        assert after["argon2_checks"] - before["argon2_checks"] == limit
        assert statuses.count(429) == 150 - limit
        assert after["rate_limited"] - before["rate_limited"] == 150 - limit
        for r in answers:
            if r.status_code == 429:
                assert r.headers["content-type"].startswith("application/problem+json")
                assert 1 <= int(r.headers["retry-after"]) <= 60
        assert get(srv.url, keys.read).status_code == 200  # one bad client does not lock out a verified key


def test_concurrent_requests_with_one_fresh_key_share_one_check(server: LiveServer, keys: Keys) -> None:
    before = counters(server.url)
    answers = all_at_once(40, lambda _: get(server.url, keys.read))  # 40 > auth_failures_per_min (10)
    after = counters(server.url)
    assert [r.status_code for r in answers] == [200] * 40
    assert after["argon2_checks"] - before["argon2_checks"] == 1


def test_a_valid_key_gives_its_charge_back(store: Store, keys: Keys, plant: SyntheticPlant) -> None:
    """A check is charged to the client when it starts; a key that turns out valid costs the client nothing."""
    app = create_app(Settings(auth_failures_per_min=1), store, live=plant)
    with LiveServer(app) as srv:
        assert get(srv.url, keys.read).status_code == 200
        assert get(srv.url, keys.run).status_code == 200
        assert get(srv.url, random_key()).status_code == 401  # the one failure the client may have
        r = get(srv.url, random_key())
        assert r.status_code == 429, r.text
        assert get(srv.url, keys.admin).status_code == 429  # not yet verified: waits like any other key


def test_argon2_runs_on_its_own_threads(server: LiveServer, keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not on the thread pool that every sync route and dependency shares: a queue of checks must not hold it."""
    hasher = RecordingHasher()
    monkeypatch.setattr(auth, "_hasher", hasher)
    assert get(server.url, random_key()).status_code == 401
    assert get(server.url, keys.run).status_code == 200
    assert len(hasher.threads) == 2
    assert all(name.startswith("twin-argon2") for name in hasher.threads), hasher.threads


def test_a_full_argon2_queue_answers_503_and_a_key_being_checked_joins_its_check(
    store: Store, keys: Keys, plant: SyntheticPlant, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(Settings(auth_failures_per_min=1000), store, live=plant)
    app.state.verifier = KeyVerifier(store, 30.0, max_concurrent=1, max_queued=0)
    gate = threading.Event()
    monkeypatch.setattr(auth, "_hasher", RecordingHasher(gate))
    first = random_key()
    with LiveServer(app) as srv, concurrent.futures.ThreadPoolExecutor(2) as pool:
        try:
            held = pool.submit(get, srv.url, first)
            deadline = time.monotonic() + 30  # waits for the check to start; asserts nothing about time
            while counters(srv.url)["argon2_checks"] < 1:
                assert time.monotonic() < deadline, "the first check never started"
                time.sleep(0.02)
            joined = pool.submit(get, srv.url, first)
            while counters(srv.url)["checks_shared"] < 1:
                assert time.monotonic() < deadline, "the second request with the same key never joined"
                time.sleep(0.02)
            r = get(srv.url, random_key())
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("application/problem+json")
            assert int(r.headers["retry-after"]) >= 1
        finally:
            gate.set()
        assert held.result().status_code == 401
        assert joined.result().status_code == 401
        seen = counters(srv.url)
    assert seen["argon2_checks"] == 1
    assert seen["busy"] == 1
