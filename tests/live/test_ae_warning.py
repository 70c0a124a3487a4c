"""AE early warning (issue 10 item 6): the probability from the ensemble rises before the true plant's anode
effects on a pot whose feeder stops, stays low on healthy pots; the scoring counts by hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import SimulationError
from twin.live import LiveConfig, LiveTwin, PlantSource, drive
from twin.live.ae_warning import WarningConfig, ae_probability, score_warnings
from twin.live.estimator import FilterConfig
from twin.params import Technology

GROUP = "potline1"


def test_scoring_counts_hits_misses_and_lead_times() -> None:
    t = np.arange(0.0, 600.0, 30.0)  # windows every 30 s
    p = np.zeros((t.size, 2))
    p[(t >= 240) & (t < 300), 0] = 0.9  # warned 60 s before pot 0's onset at 300 s
    p[t == 450, 1] = 0.9  # a false alarm on pot 1 (no onset follows)
    onsets = [(300.0, 0), (540.0, 1)]  # pot 1's onset at 540 s is missed
    skill = score_warnings(t, p, onsets, horizon_s=60.0, threshold=0.5)
    # positives: pot 0 windows at 240, 270; pot 1 windows at 480, 510
    assert (skill.true_positive, skill.false_positive, skill.false_negative) == (2, 1, 2)
    assert skill.precision == pytest.approx(2 / 3)
    assert skill.recall == pytest.approx(0.5)
    assert skill.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert skill.events == 2
    assert skill.events_warned == 1
    assert skill.lead_time_median_s == 60.0


def test_warning_rises_before_true_anode_effects(tech: Technology) -> None:
    source = PlantSource(tech, 3, seed=8, warmup_s=5000.0)
    source.stick_feeder(0, 0.0)  # pot 1's feeder delivers nothing: an AE within the hour
    twin = LiveTwin(tech, {GROUP: 3}, LiveConfig(filter=FilterConfig(members=16)))
    tracker = twin.tracker(GROUP)
    times, probs, onsets = [], [], []
    was = np.zeros(3, bool)

    def step(t: float) -> None:
        now = source.truth()["anode_effect"] > 0
        onsets.extend((t, int(c)) for c in np.where(now & ~was)[0])
        was[:] = now
        if t % 30 == 0 and tracker.t0 is not None:
            times.append(t)
            probs.append(
                ae_probability(tracker.enkf, tracker.current_kA, tracker.anode_effect, WarningConfig(horizon_s=300.0))
            )

    drive(source, twin, until_s=1.5 * 3600.0, period_s=5.0, group=GROUP, on_step=step)
    assert onsets
    assert all(c == 0 for _, c in onsets), onsets  # only the faulty pot had AEs
    p = np.array(probs)
    t = np.array(times)
    first = onsets[0][0]
    before = p[(t < first) & (t >= first - 300.0), 0]
    assert np.nanmax(before) >= 0.5  # warned within the 5 minutes before the first AE
    assert np.nanmax(p[:, 1:]) < 0.5  # the healthy pots never crossed the threshold


def test_bad_warning_settings_are_refused() -> None:
    with pytest.raises(SimulationError, match=r"WarningConfig.threshold = 2 is invalid; expected a number in \[0, 1\]"):
        WarningConfig(threshold=2)
