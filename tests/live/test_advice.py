"""Per-pot advice (issue 10 item 5): simulated pots with injected problems get advice that points the right way,
and applying it to the *true* plant (a second, identical plant: same seed, same faults) improves the pot; healthy
pots get none. The forward check's own verdict is only checked for consistency with the true plant."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import SimulationError
from twin.live import LiveConfig, LiveTwin, PlantSource, drive
from twin.live.advice import AdviceConfig, advise, advise_tracker
from twin.live.estimator import EnsembleKalmanFilter, FilterConfig
from twin.params import Technology
from twin.params.plant import load_plant

GROUP = "potline1"
HOT, HOT_TWIN, FEEDER, FEEDER_TWIN, LOW_ALF3, HEALTHY = range(6)
N = 6
LAB_ERROR_WTPCT = 0.3  # the bath analysis reads this much high (its sd is ~0.4 wt%, plant_reference.toml)
HOURS = 6.0
RAISE_MV = 150.0


def _plant(tech: Technology) -> PlantSource:
    source = PlantSource(tech, N, seed=11, warmup_s=5000.0)
    pot = source.potline
    per_mV = 1e-3 / (pot.nominal_current_kA * 1e3)
    for cell in (HOT, HOT_TWIN):  # a hot pot: its resistance target 150 mV too high
        pot.set_resistance_target(cell, pot.values("r_target_ohm")[cell] + RAISE_MV * per_mV)
    for cell in (FEEDER, FEEDER_TWIN):  # feeder trouble: 40 % of the shots do not reach the bath
        source.stick_feeder(cell, 0.6)
    bath = pot.values("bath_kg")[LOW_ALF3]  # low AlF3: 3 wt% of excess AlF3 missing (test-only state write)
    pot.set_cells("alf3_kg", LOW_ALF3, pot.values("alf3_kg")[LOW_ALF3] - 0.03 * bath)
    return source


@pytest.fixture(scope="module")
def advised(tech: Technology, models_dir) -> tuple[list, PlantSource]:
    source = _plant(tech)
    twin = LiveTwin(tech, {GROUP: N}, LiveConfig(filter=FilterConfig(members=16)))
    drive(source, twin, until_s=HOURS * 3600.0, period_s=10.0, group=GROUP)
    potroom = load_plant(models_dir / "plant_reference.toml").potroom
    lab = np.full(N, np.nan)  # bath analyses of the low-AlF3 pot and the healthy pot only
    for cell in (LOW_ALF3, HEALTHY):
        lab[cell] = source.potline.values("alf3_wtpct")[cell] + LAB_ERROR_WTPCT
    pots = advise_tracker(twin.tracker(GROUP), potroom, AdviceConfig(horizon_h=12.0), alf3_wtpct=lab)
    return pots, source


def test_advice_points_the_right_way(advised) -> None:
    pots, _ = advised
    for cell in (HOT, HOT_TWIN):
        assert pots[cell].value("resistance_target") < 0, pots[cell].advice  # a hot pot: lower its voltage
        assert pots[cell].value("alf3") > 0, pots[cell].advice  # and more AlF3 (a hot pot is a basic pot)
        assert "above the" in pots[cell].advice[0]["reason"]
        assert "potroom rule" in pots[cell].advice[0]["reason"]
    for cell in (FEEDER, FEEDER_TWIN):
        assert pots[cell].value("feed") == "clear_feeder", pots[cell].advice
        assert "feeder delivers" in next(a for a in pots[cell].advice if a["kind"] == "feed")["reason"]
    low = pots[LOW_ALF3]
    assert low.value("alf3") > 0, low.advice  # the bath analysis shows the deficit: add AlF3
    assert "bath analysis" in next(a for a in low.advice if a["kind"] == "alf3")["reason"]


def test_a_healthy_pot_gets_no_advice(advised) -> None:
    pots, _ = advised
    assert pots[HEALTHY].advice == []
    assert pots[HEALTHY].forecast == {}


def test_advice_applied_to_the_true_plant_improves_the_pot(tech: Technology, advised) -> None:
    """Plant A runs on as it is; plant B (same seed and faults) takes the advice for HOT, FEEDER and LOW_ALF3 at
    the same time. 12 h later B's hot pot is nearer the target temperature, B's feeder pot had fewer anode effects
    and B's low-AlF3 pot is nearer the target excess AlF3."""
    pots, plant_a = advised
    plant_b = _plant(tech)
    plant_b.advance_to(HOURS * 3600.0)
    pot = plant_b.potline
    per_mV = 1e-3 / (pot.nominal_current_kA * 1e3)
    pot.add_alf3(HOT, pots[HOT].value("alf3"))
    pot.set_resistance_target(HOT, pot.values("r_target_ohm")[HOT] + pots[HOT].value("resistance_target") * per_mV)
    plant_b.clear_faults(FEEDER)
    pot.add_alf3(LOW_ALF3, pots[LOW_ALF3].value("alf3"))
    ae_before = [p.potline.values("ae_count")[FEEDER] for p in (plant_a, plant_b)]
    end = (HOURS + 12.0) * 3600.0
    plant_a.advance_to(end)
    plant_b.advance_to(end)
    target = tech.number("bath.temperature_initial_degC")
    error = [abs(p.potline.values("temperature_degC")[HOT] - target) for p in (plant_a, plant_b)]
    assert error[1] < error[0]
    aes = [
        p.potline.values("ae_count")[FEEDER] - before for p, before in zip((plant_a, plant_b), ae_before, strict=False)
    ]
    assert aes[1] < aes[0]
    alf3_target = tech.number("bath.alf3_excess_wtpct")
    alf3_error = [abs(p.potline.values("alf3_wtpct")[LOW_ALF3] - alf3_target) for p in (plant_a, plant_b)]
    assert alf3_error[1] < alf3_error[0]
    # the forward check said the same for both pots
    assert pots[HOT].forecast["improves"]
    assert pots[FEEDER].forecast["improves"]
    assert pots[LOW_ALF3].forecast["improves"]


def test_bad_bath_analysis_is_refused(tech: Technology, models_dir) -> None:
    enkf = EnsembleKalmanFilter(tech, 2, FilterConfig(members=4))
    potroom = load_plant(models_dir / "plant_reference.toml").potroom
    with pytest.raises(SimulationError, match=r"alf3_wtpct\[1\] = -?inf is invalid; expected excess AlF3 in \(0, 30\]"):
        advise(enkf, 300.0, potroom, alf3_wtpct=np.array([11.0, np.inf]))
    with pytest.raises(SimulationError, match=r"alf3_wtpct has shape \(3,\); expected 2 values"):
        advise(enkf, 300.0, potroom, alf3_wtpct=np.array([11.0, 11.0, 11.0]))
    with pytest.raises(SimulationError, match="line current = nan kA is invalid"):
        advise(enkf, float("nan"), potroom)


def test_bad_advice_settings_are_refused() -> None:
    with pytest.raises(SimulationError, match=r"AdviceConfig.horizon_h = 0 is invalid; expected a number in \[1, 48\]"):
        AdviceConfig(horizon_h=0)
    with pytest.raises(SimulationError, match="dt_s"):
        AdviceConfig(dt_s=float("nan"))
    assert np.isfinite(AdviceConfig().horizon_h)
