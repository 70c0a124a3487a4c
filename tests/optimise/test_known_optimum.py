"""The MILP on cases whose optimum is known by hand or by enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from twin.optimise.milp import solve
from twin.optimise.plan import evaluate_schedule

from .conftest import toy_line, toy_model, toy_unit, toy_window


def test_load_moves_to_the_cheap_hour_by_hand():
    """Linear P(I) = 0.6·I MW, tariff 10 then 100, Σ I ≥ 200 kA·h, I in [90, 110]: (110, 90) by hand."""
    line = toy_line(toy_model(), lo=90.0, hi=110.0)
    w = toy_window((), (line,), [10.0, 100.0])
    s = solve(w, mip_rel_gap=0.0)
    np.testing.assert_allclose(s.current_kA[0], [110.0, 90.0], atol=1e-6)
    assert s.objective == pytest.approx(10 * 66.0 + 100 * 54.0, rel=1e-9)
    np.testing.assert_allclose(s.import_MW, [66.0, 54.0], atol=1e-6)


def test_ledge_bound_limits_the_shift_by_hand():
    """The same, with a ledge that grows 0.1 cm per kA below nominal and may grow at most 0.5 cm: the expensive
    first hour can only drop to 95 kA, and the cheap hour takes the rest (105)."""
    model = toy_model(bI_x=-0.1, ledge_max=7.5)
    line = toy_line(model, lo=90.0, hi=110.0)
    w = toy_window((), (line,), [100.0, 10.0])
    s = solve(w, mip_rel_gap=0.0)
    np.testing.assert_allclose(s.current_kA[0], [95.0, 105.0], atol=1e-6)
    assert s.ledge_cm[0].max() <= 7.5 + 1e-9


def test_superheat_bound_by_hand():
    """Superheat 8 K + 0.2 K per kA above nominal, at least 6 K: the current may not drop below 90 kA."""
    model = toy_model(sI=0.2)
    line = toy_line(model, lo=80.0, hi=120.0)
    line = type(line)(**{**line.__dict__, "superheat_min_K": 6.0})
    w = toy_window((), (line,), [100.0, 10.0])
    s = solve(w, mip_rel_gap=0.0)
    np.testing.assert_allclose(s.current_kA[0], [90.0, 110.0], atol=1e-6)


def _enumerate(tariff, demand, unit, startup, import_max, export_max, export_fraction, on0):
    """Best cost over every commitment pattern and every vertex output (p_min, demand, capacity)."""
    best = np.inf
    steps = len(tariff)
    for pattern in itertools.product((0, 1), repeat=steps):
        for outputs in itertools.product((unit.p_min_MW, demand, unit.capacity_MW), repeat=steps):
            cost, prev = 0.0, on0
            ok = True
            for k in range(steps):
                p = outputs[k] if pattern[k] else 0.0
                if pattern[k] and not unit.p_min_MW <= p <= unit.capacity_MW:
                    ok = False
                    break
                net = demand - p
                if net > import_max + 1e-9 or -net > export_max + 1e-9:
                    ok = False
                    break
                fuel = unit.curve.fuel_GJ_per_h(p) if pattern[k] else 0.0
                cost += fuel * unit.fuel_price + max(net, 0) * tariff[k] - max(-net, 0) * tariff[k] * export_fraction
                cost += startup if pattern[k] and not prev else 0.0
                prev = pattern[k]
            if ok:
                best = min(best, cost)
    return best


@pytest.mark.parametrize("case", range(6))
def test_unit_commitment_against_enumeration(case):
    """One unit, a fixed 60 MW load, a four-hour tariff: the MILP's cost equals the best of every commitment
    pattern and every vertex output (with a linear fuel curve the optimum sits at p_min, the load or the
    capacity each hour)."""
    rng = np.random.default_rng(case)
    tariff = list(rng.uniform(20, 140, 4).round(1))
    startup = float(rng.choice([0.0, 300.0, 2000.0]))
    on0 = int(rng.integers(0, 2))
    unit = toy_unit(startup=startup, slopes=(float(rng.uniform(5, 12)),), f0=float(rng.uniform(200, 600)),
                    price=float(rng.uniform(0.5, 2.0)))
    line = toy_line(toy_model(), lo=100.0, hi=100.0)  # 60 MW fixed
    export_max = float(rng.choice([0.0, 50.0]))
    w = toy_window((unit,), (line,), tariff, import_max=60.0, export_max=export_max, on=(on0,),
                   coal=(60.0 if on0 else 0.0,))
    s = solve(w, mip_rel_gap=0.0)
    expected = _enumerate(tariff, 60.0, unit, startup, 60.0, export_max, 0.5, on0)
    assert s.objective == pytest.approx(expected, rel=1e-7, abs=1e-6)
    assert evaluate_schedule(w, s).total == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_minimum_up_time_keeps_a_started_unit_on():
    """A unit started in hour 1 (import is dear there) must stay on for its 3-hour minimum up time even though
    import is cheap afterwards; the optimum by hand is on for hours 1-3 only."""
    unit = toy_unit(up=3, down=1, startup=0.0, slopes=(5.0,), f0=200.0)
    line = toy_line(toy_model(), lo=100.0, hi=100.0)
    w = toy_window((unit,), (line,), [500.0, 1.0, 1.0, 1.0, 1.0], on=(0,), coal=(0.0,), import_max=60.0)
    s = solve(w, mip_rel_gap=0.0)
    np.testing.assert_array_equal(s.on[0], [1, 1, 1, 0, 0])
