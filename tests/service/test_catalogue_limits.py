"""A scenario job's work is limited at submission, not only its horizon (audit: horizon_h = 744 at dt_s = 0.001).

Such a job was accepted and held a worker until the job time limit stopped it (2.7e9 steps, knowable at
submission). The bound comes from the server's own limit: ``max_horizon_h`` at the default step. Through a real
uvicorn server with the real catalogue runner; the refused jobs are never run, so nothing here is slow.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.service.jobs_api import jobs_api

from twin.errors import ScenarioError
from twin.service.catalogue import Catalogue, CatalogueRunner


def scenario(horizon_h: float, dt_s: float | None = None) -> str:
    step = "" if dt_s is None else f"dt_s = {dt_s}\n"
    return f'[scenario]\nname = "x"\nplant = "plant_small"\nseed = 1\nhorizon_h = {horizon_h}\n{step}'


@pytest.fixture
def api(tmp_path: Path) -> Iterator[httpx.Client]:
    with jobs_api(tmp_path, Catalogue.build(), max_horizon_h=744.0) as client:  # the service's default limit
        yield client


def test_a_job_with_too_many_steps_is_422_naming_horizon_step_and_the_largest_allowed(api: httpx.Client) -> None:
    r = api.post("/v1/scenarios", json={"toml": scenario(744, 0.001)})
    assert r.status_code == 422, r.text  # before: 202, and the job ran to the 600 s time limit
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["detail"] == (
        "submitted scenario: scenario.horizon_h = 744 with scenario.dt_s = 0.001 is invalid: 2.68e+09 steps of "
        "the kernel, more than the 2.6784e+06 this server's limit for jobs allows (max_horizon_h = 744 at the "
        "default dt_s = 1); expected horizon_h at most 0.744 at dt_s = 0.001, or dt_s at least 1 at horizon_h = 744"
    )
    assert api.get("/v1/scenarios").json()["jobs"] == []  # nothing was queued


@pytest.mark.parametrize(
    ("horizon_h", "dt_s"),
    [(1.0, 0.001), (0.745, 0.001), (744, 0.999), (100, 0.1)],
)
def test_every_job_past_the_step_bound_is_refused(api: httpx.Client, horizon_h: float, dt_s: float) -> None:
    r = api.post("/v1/scenarios", json={"toml": scenario(horizon_h, dt_s)})
    assert r.status_code == 422, r.text
    assert f"scenario.horizon_h = {horizon_h:g} with scenario.dt_s = {dt_s:g} is invalid" in r.json()["detail"]


@pytest.mark.parametrize(
    ("horizon_h", "dt_s"),
    [(744, None), (744, 1.0), (0.744, 0.001), (74.4, 0.1), (34.968, 0.047), (1.0, 2.0)],
)
def test_jobs_within_the_bound_pass_the_check(horizon_h: float, dt_s: float | None) -> None:
    """The bound is exactly the horizon limit at the default step, not tighter (34.968 h at 0.047 s, which is
    744 h at 1 s, computes to a hair over 2 678 400 steps); checked without running, as 744 h is long."""
    CatalogueRunner(Catalogue.build(), max_horizon_h=744.0).check(scenario(horizon_h, dt_s))


def test_the_bound_follows_the_configured_horizon_limit() -> None:
    runner = CatalogueRunner(Catalogue.build(), max_horizon_h=48.0)
    runner.check(scenario(4.8, 0.1))
    with pytest.raises(ScenarioError, match=r"expected horizon_h at most 4\.8 at dt_s = 0\.1, or dt_s at least "
                                            r"0\.102083 at horizon_h = 4\.9$"):
        runner.check(scenario(4.9, 0.1))

