"""Acknowledge and shelve alarms through a real server: who may, what is refused, what the book keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import Keys, LiveServer
from tests.api.plantstate import SyntheticPlant

from twin.api import Settings, create_api_key, create_app
from twin.api.alarm_actions import AlarmActions
from twin.errors import TwinError
from twin.store import DuckDBStore


def test_acknowledge_and_shelve_round_trip(server: LiveServer, keys: Keys) -> None:
    with httpx.Client(base_url=server.url, headers={"X-API-Key": keys.run}, timeout=10) as c:
        assert c.get("/v1/alarms/actions").json() == {"actions": {}}
        first = c.post("/v1/alarms/ae-1-005/acknowledge")
        assert first.status_code == 200
        again = c.post("/v1/alarms/ae-1-005/acknowledge").json()
        assert again["acknowledged_at"] == first.json()["acknowledged_at"]  # the first acknowledgement is kept
        shelved = c.post("/v1/alarms/ae-1-005/shelve", params={"hours": 8}).json()
        until = datetime.fromisoformat(shelved["shelved_until"])
        assert timedelta(hours=7.9) < until - datetime.now(UTC) <= timedelta(hours=8)
        book = c.get("/v1/alarms/actions").json()["actions"]
        assert book["ae-1-005"]["acknowledged_by"] == book["ae-1-005"]["shelved_by"]
        assert book["ae-1-005"]["acknowledged_by"] != keys.run  # the key id, never the secret
        assert c.delete("/v1/alarms/ae-1-005/shelve").json()["shelved_until"] is None
        assert c.get("/v1/alarms/actions").json()["actions"]["ae-1-005"]["shelved_until"] is None
        assert c.delete("/v1/alarms/never-raised/shelve").status_code == 404
        assert set(c.get("/v1/alarms/actions").json()["actions"]) == {"ae-1-005"}  # unshelving adds nothing


@pytest.fixture
def shelved_then_gone(store: DuckDBStore) -> str:
    """An alarm shelved before the API started, no longer among the live twin's alarms."""
    now = datetime.now(UTC)
    store.shelve_alarm("gone-7", "k1", now, now + timedelta(hours=1))
    return "gone-7"


def test_unshelving_an_unknown_alarm_is_a_404_naming_it(shelved_then_gone: str, server: LiveServer, keys: Keys) -> None:
    """It answered 200 with empty fields, as if there were something to unshelve; acknowledge and shelve 404."""
    with httpx.Client(base_url=server.url, headers={"X-API-Key": keys.run}, timeout=10) as c:
        for action in ("acknowledge", "shelve?hours=1"):
            assert c.post(f"/v1/alarms/never-raised/{action}").status_code == 404
        r = c.delete("/v1/alarms/never-raised/shelve")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"].startswith("alarm_id = 'never-raised' is neither a current alarm nor one acted on")
        assert "never-raised" not in c.get("/v1/alarms/actions").json()["actions"]
        gone = c.delete(f"/v1/alarms/{shelved_then_gone}/shelve")  # cleared since it was shelved: still undone
        assert gone.status_code == 200
        assert shelved_then_gone not in c.get("/v1/alarms/actions").json()["actions"]
        assert c.delete("/v1/alarms/ae-1-005/shelve").json()["shelved_until"] is None  # current, never shelved


def test_refusals(server: LiveServer, keys: Keys) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        assert c.post("/v1/alarms/ae-1-005/acknowledge").status_code == 401
        read = c.post("/v1/alarms/ae-1-005/acknowledge", headers={"X-API-Key": keys.read})
        assert read.status_code == 403
        assert "'run' scope" in read.json()["detail"]
        run = {"X-API-Key": keys.run}
        unknown = c.post("/v1/alarms/no-such/acknowledge", headers=run)
        assert unknown.status_code == 404
        assert "'no-such' is not a current alarm" in unknown.json()["detail"]
        for hours in ("0", "25", "-1", "nan", "lots"):
            r = c.post("/v1/alarms/ae-1-005/shelve", params={"hours": hours}, headers=run)
            assert r.status_code == 422, hours
        assert c.post("/v1/alarms/..%2Fetc/shelve", params={"hours": 1}, headers=run).status_code in (404, 422)
        assert c.get("/v1/alarms/actions", headers=run).json() == {"actions": {}}  # nothing refused was kept


def test_book_expires_shelving_and_stays_bounded() -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    book = AlarmActions(max_entries=3)
    book.shelve("a-1", 1.0, "k1", now=t0)
    assert "a-1" in book.all(now=t0 + timedelta(minutes=59))
    assert "a-1" not in book.all(now=t0 + timedelta(minutes=61))  # run out, and nothing else was done to it
    for n in range(2, 6):
        book.acknowledge(f"a-{n}", "k1", now=t0)
    assert set(book.all(now=t0)) == {"a-3", "a-4", "a-5"}  # the oldest dropped past max_entries
    with pytest.raises(TwinError, match=r"hours = 30 is invalid; expected 0 < hours <= 24"):
        book.shelve("a-3", 30, "k1")


def test_actions_survive_an_api_restart(tmp_path: Path, settings: Settings, plant: SyntheticPlant) -> None:
    """Acknowledge and shelve through one uvicorn server, stop it and close the store; a new process over the
    same DuckDB file lists them with who and when (issue 11 item 1)."""
    path = tmp_path / "restart.duckdb"
    store = DuckDBStore(path)
    key = create_api_key(store, "shift-a", ["run"])
    with LiveServer(create_app(settings, store, live=plant)) as server, httpx.Client(
        base_url=server.url, headers={"X-API-Key": key}, timeout=10
    ) as c:
        acked = c.post("/v1/alarms/ae-1-005/acknowledge").json()
        shelved = c.post("/v1/alarms/ae-1-005/shelve", params={"hours": 4}).json()
        assert c.post("/v1/alarms/ae-1-005/shelve", params={"hours": 99}).status_code == 422  # costs only itself
    store.close()

    store = DuckDBStore(path)
    try:
        with LiveServer(create_app(settings, store, live=plant)) as server:
            book = httpx.get(f"{server.url}/v1/alarms/actions", headers={"X-API-Key": key}, timeout=10).json()
    finally:
        store.close()
    kept = book["actions"]["ae-1-005"]
    assert kept["acknowledged_at"] == acked["acknowledged_at"]
    assert kept["acknowledged_by"] == kept["shelved_by"] == key.split("_")[1]  # the key id, not the secret
    assert kept["shelved_until"] == shelved["shelved_until"]
    assert datetime.fromisoformat(kept["shelved_at"]) <= datetime.fromisoformat(kept["shelved_until"])
