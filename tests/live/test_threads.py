"""The live twin's ensemble forecast on two threads (``FilterConfig.threads``) gives the estimates of one thread,
bit for bit: the members are independent within a kernel call, so splitting them between threads changes
nothing the filter sees."""

from __future__ import annotations

import numpy as np
import pytest
from tests.live.conftest import GROUP, run_plant

from twin.errors import SimulationError
from twin.live import FilterConfig, LiveConfig
from twin.params import Technology


def test_two_threads_give_the_estimates_of_one(tech: Technology) -> None:
    """4 cells × 32 members (four lane blocks, two per thread), a wrong prior, 40 min of 5-s telemetry."""
    runs = [
        run_plant(tech, n_cells=4, hours=40 / 60, warmup_s=600.0, config=LiveConfig(filter=FilterConfig(threads=k)),
                  prior_offset={"alumina_wtpct": 0.5, "acd_cm": 0.3, "temperature_degC": -5.0})
        for k in (1, 2)
    ]
    one, two = (run.twin.tracker(GROUP) for run in runs)
    assert two.enkf.model.threads == 2
    assert one.analyses == two.analyses > 0
    for name, (mean, sd) in one.enkf.estimate().items():
        np.testing.assert_array_equal(two.enkf.estimate()[name][0], mean, err_msg=name)
        np.testing.assert_array_equal(two.enkf.estimate()[name][1], sd, err_msg=name)
    for name in ("state", "rng", "acc", "out"):
        np.testing.assert_array_equal(getattr(two.enkf.model, name), getattr(one.enkf.model, name), err_msg=name)
    for name, errors in runs[0].errors.items():
        np.testing.assert_array_equal(np.asarray(runs[1].errors[name]), np.asarray(errors), err_msg=name)
    np.testing.assert_array_equal(two.last_nis, one.last_nis)
    two.enkf.close()


@pytest.mark.parametrize("threads", [0, 9, 1.5, True])
def test_bad_thread_counts_are_refused(threads) -> None:
    with pytest.raises(SimulationError, match=r"FilterConfig\.threads = .* is invalid"):
        FilterConfig(threads=threads)
