"""A what-if with a change and its baseline are queued both or neither (audit: POST /v1/scenarios with a change).

The what-if used to be queued before its baseline: when the queue then refused the baseline the client got a
429 while the what-if ran, its id never returned, and every retry added another such orphan (40 parallel
submissions: 39 refused, 14 jobs created). The jobs here wait on a gate file, so the queue stays exactly as
full as the test made it while it looks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from tests.api.conftest import Keys, LiveServer
from tests.api.plantstate import GatedRunner, SyntheticPlant
from tests.api.test_scenarios import CREEP, wait

from twin.api import Settings, create_app
from twin.store import Store

WHATIF = {"from_live": True, "change": {"kind": "outage", "at_h": 1, "potline": "all", "duration_h": 1}}


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "gate"
    yield path
    path.touch()  # let any job still waiting finish, so the server stops at once


class CheckedGatedRunner(GatedRunner):
    """A gated runner with a ``check`` that takes a moment, as the catalogue runner's validation does: it is
    the window between the what-if's queue place and its baseline's in which parallel submissions used to
    interleave (it makes the old race show at every run; nothing here measures time)."""

    def check(self, text: str) -> None:
        time.sleep(0.05)


def serve(store: Store, plant: SyntheticPlant, gate: Path, max_pending: int) -> LiveServer:
    settings = Settings(max_pending_jobs=max_pending, job_workers=1)
    return LiveServer(create_app(settings, store, live=plant, run_scenario=CheckedGatedRunner(str(gate))))


def job_ids(c: httpx.Client) -> set[str]:
    return {j["job_id"] for j in c.get("/v1/scenarios").json()["jobs"]}


def test_a_whatif_refused_for_its_baseline_creates_no_job(
    store: Store, keys: Keys, plant: SyntheticPlant, gate: Path
) -> None:
    with serve(store, plant, gate, 2) as srv, httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.run}) as c:
        first = c.post("/v1/scenarios", json={"toml": CREEP}).json()["job_id"]  # one of the two places
        r = c.post("/v1/scenarios", json=WHATIF)
        assert r.status_code == 429, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.headers["retry-after"] == "5"
        assert job_ids(c) == {first}  # before: the what-if was created (and ran) although the answer was 429
        assert r.json()["detail"] == "1 jobs are waiting and this request needs 2 places (at most 2); retry later"
        gate.touch()
        wait(c, first)
        r = c.post("/v1/scenarios", json=WHATIF)  # both places free again: the retry succeeds, with its baseline
        assert r.status_code == 202, r.text
        job_id = r.json()["job_id"]
        assert job_ids(c) == {first, job_id, job_id + "-baseline"}
        assert wait(c, job_id)["status"] == "succeeded"
        assert wait(c, job_id + "-baseline")["status"] == "succeeded"


def test_parallel_whatifs_create_only_the_jobs_they_answer_for(
    store: Store, keys: Keys, plant: SyntheticPlant, gate: Path
) -> None:
    """The audit's repro: many clients at once against a queue with room for two pairs."""
    with serve(store, plant, gate, 4) as srv, httpx.Client(
        base_url=srv.url, headers={"X-API-Key": keys.run}, timeout=30
    ) as c, ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: c.post("/v1/scenarios", json=WHATIF), range(20)))
        codes = sorted(r.status_code for r in answers)
        assert codes == [202] * 2 + [429] * 18, [r.text for r in answers if r.status_code not in (202, 429)]
        accepted = {r.json()["job_id"] for r in answers if r.status_code == 202}
        assert job_ids(c) == accepted | {j + "-baseline" for j in accepted}  # no job without its answer


def test_a_queue_too_small_for_a_pair_says_so_and_creates_nothing(
    store: Store, keys: Keys, plant: SyntheticPlant, gate: Path
) -> None:
    """With max_pending_jobs = 1 a what-if and its baseline can never wait together: a 429 would have the
    client retry for ever (before, each retry left an orphan what-if running)."""
    with serve(store, plant, gate, 1) as srv, httpx.Client(base_url=srv.url, headers={"X-API-Key": keys.run}) as c:
        r = c.post("/v1/scenarios", json=WHATIF)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "retry-after" not in r.headers
        assert r.json()["detail"] == (
            "this request queues 2 jobs together (a what-if with 'change' runs with its baseline) but this "
            "server lets at most max_pending_jobs = 1 wait; submit without 'change'"
        )
        assert job_ids(c) == set()
        assert c.post("/v1/scenarios", json={"from_live": True}).status_code == 202  # one job still fits
