"""Grid services on a running plant (small plant, 24 cells): reserve call, frequency response, island."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.errors import ScenarioError
from twin.plant.grid_events import GridLog
from twin.plant.grid_services import droop_fraction
from twin.scenario import scenario_from_text
from twin.scenario.runner import build_plant, run_scenario

from .conftest import DATA, small_scenario_text

MODELS = Path(__file__).resolve().parents[2] / "models"


def _run(text: str, base_dir: Path = DATA) -> tuple[object, GridLog]:
    scenario = scenario_from_text(text, "test.toml", base_dir=base_dir)
    plant = build_plant(scenario)
    plant.env.run(until=scenario.horizon_h * 3600.0)
    plant.close_interval()
    log = GridLog.find(plant)
    assert log is not None
    return plant, log


RESERVE = """
[[event]]
kind = "reserve_call"
at_h = 1.0
duration_h = 0.25
potline = "all"
fraction = 0.1
"""


def test_reserve_call_is_delivered_within_a_second_and_costs_what_faraday_says() -> None:
    """-10 % current for 15 min: the whole reduction shows in the first second's energy; the production lost
    (the kernel's own aluminium against a run without the call) is the KPI's Faraday estimate; the bath
    temperature barely moves (a couple of K at most; physics.md §1.10)."""
    call = run_scenario(scenario_from_text(small_scenario_text(2.0, RESERVE), "t.toml", base_dir=DATA))
    base = run_scenario(scenario_from_text(small_scenario_text(2.0), "t.toml", base_dir=DATA))
    k = call.kpis
    assert k["reserve_MWh"] > 0
    # the first second already has the full reduction the call holds for 15 min
    assert k["reserve_first_second_MW"] >= 0.95 * k["reserve_max_MW"] * 0.98
    assert k["reserve_first_second_MW"] == pytest.approx(k["reserve_MWh"] / 0.25, rel=0.15)  # incl. the ramp back
    lost = base.kpis["production_t"] - k["production_t"]
    assert k["reserve_al_lost_t"] == pytest.approx(lost, rel=0.1)
    temp_call = call.timeseries["S1_bath_temp_mean_degC"].to_numpy()
    temp_base = base.timeseries["S1_bath_temp_mean_degC"].to_numpy()
    on_base_times = np.interp(base.timeseries["time_h"].to_numpy(), call.timeseries["time_h"].to_numpy(), temp_call)
    assert np.max(np.abs(on_base_times - temp_base)) < 3.0


def test_frequency_response_stays_within_its_band() -> None:
    """The line current the cells carried (their own charge counter) follows the ENTSO-E droop of the plant
    file: nothing in the dead band, at most the band at full activation, less current at low frequency."""
    events = """
[[event]]
kind = "frequency_response"
at_h = 0.5
potline = "all"
points = [[0, 50.0], [60, 49.7], [120, 49.95], [180, 50.3], [240, 50.0]]
"""
    plant, log = _run(small_scenario_text(1.0, events))
    gs = plant.spec.grid_services
    band = gs["fcr_band_fraction"]
    samples = [s for s in log.samples if s.service == "frequency_response"]
    assert len(samples) >= 200
    for s in samples:
        share = s.current_kA / s.reference_kA - 1.0
        assert abs(share) <= band + 1e-6
        wanted = droop_fraction(s.frequency_Hz, 50.0, gs["fcr_deadband_Hz"], gs["fcr_full_activation_Hz"], band)
        assert share == pytest.approx(wanted, abs=1e-6)
        if share < -1e-3:
            assert s.ac_MW < s.reference_MW  # less current draws less power
    assert min(s.current_kA / s.reference_kA - 1.0 for s in samples) == pytest.approx(-band, abs=1e-6)
    assert max(s.current_kA / s.reference_kA - 1.0 for s in samples) == pytest.approx(band, abs=1e-6)


ISLAND = """
[[event]]
kind = "tie_trip"
at_h = 1.0
duration_h = 1.0
"""


def test_island_balances_every_interval_and_sheds_in_order() -> None:
    """The small plant imports ~7 MW over its tie: the tie trips, its one unit is at full load, and the
    under-frequency blocks take the deficit in the plant file's order; every interval balances with the tie
    at zero; the frequency stays above 47.5 Hz (ENTSO-E NC RfG Art. 13) and settles within 200 mHz
    (ENTSO-E SOGL Annex III); the line gets its current back after the tie closes."""
    plant, log = _run(small_scenario_text(2.5, ISLAND))
    island = log.islands[0]
    assert island.lost_MW > 5.0
    order = [b.name for b in plant.spec.load_shed]
    assert [name for name, _, _ in island.shed] == order[: len(island.shed)]
    assert island.shed
    assert island.nadir_Hz > 47.5
    assert abs(island.final_Hz - 50.0) <= 0.2
    for rec in plant.records:
        supply = sum(rec.coal_MW) + rec.renewables_MW + rec.import_MW - rec.export_MW
        assert supply + (rec.shortfall_MW if rec.import_MW == 0 else 0.0) - (
            rec.excess_MW if rec.export_MW == 0 else 0.0
        ) == pytest.approx(rec.demand_MW, abs=1e-6)
        if rec.start_s >= 3600.0 and rec.end_s <= 7200.0:
            assert rec.import_MW == 0.0
            assert rec.export_MW == 0.0
            assert rec.shortfall_MW < 1e-6
            assert sum(rec.coal_MW) <= 25.0 + 1e-6 or rec.end_s <= 3660.0
    during = [r for r in plant.records if r.start_s >= 3700.0 and r.end_s <= 7200.0]
    first = plant.spec.load_shed[0]["fraction"]
    assert all(r.line_current_kA[0] <= 300.0 * (1.0 - first) + 1e-6 for r in during)
    assert plant.records[-1].line_current_kA[0] == pytest.approx(300.0)


def test_bad_grid_events_are_one_line_errors(tmp_path: Path) -> None:
    def error(events: str, plant: str = "plant_small.toml", base: Path = DATA) -> str:
        text = small_scenario_text(2.0, events).replace("plant_small.toml", plant)
        with pytest.raises(ScenarioError) as exc:
            scenario_from_text(text, "bad.toml", base_dir=base)
        message = str(exc.value)
        assert "\n" not in message
        return message

    falling = '[[event]]\nkind = "frequency_response"\nat_h = 1.0\npotline = "all"\npoints = [[0, 50.0], [0, 49.9]]\n'
    assert "strictly rising" in error(falling)
    wild = '[[event]]\nkind = "frequency_response"\nat_h = 1.0\npotline = "all"\npoints = [[0, 50.0], [5, 5.0]]\n'
    assert "frequency = 5" in error(wild)
    outside = '[[event]]\nkind = "frequency_response"\nat_h = 1.0\npotline = "all"\ncsv = "../../etc/passwd"\n'
    assert "inside the scenario's directory" in error(outside)
    early = '[[event]]\nkind = "tie_trip"\nat_h = 0.0\nduration_h = 1.0\n'
    assert "at_h" in error(early)
    no_table = '[[event]]\nkind = "reserve_call"\nat_h = 1.0\nduration_h = 0.1\npotline = "all"\nfraction = 0.1\n'
    plain = (MODELS / "plant_small.toml").read_text(encoding="utf-8")
    plain = plain[: plain.index("[grid_services]")].replace(
        'technology = "hal275.toml"', f'technology = "{(MODELS / "hal275.toml").as_posix()}"'
    )
    (tmp_path / "plain.toml").write_text(plain, encoding="utf-8")
    text = small_scenario_text(2.0, no_table).replace("../../models/plant_small.toml", "plain.toml")
    with pytest.raises(ScenarioError, match=r"has no \[grid_services\] table"):
        scenario_from_text(text, "bad.toml", base_dir=tmp_path)
    csv = tmp_path / "f.csv"
    csv.write_text("time_s,frequency_Hz\n0,50\n10,abc\n")
    plant = (DATA.parents[1] / "models" / "plant_small.toml").as_posix()
    text = small_scenario_text(
        2.0, '[[event]]\nkind = "frequency_response"\nat_h = 1.0\npotline = "all"\ncsv = "f.csv"\n'
    )
    text = text.replace("../../models/plant_small.toml", plant)
    with pytest.raises(ScenarioError, match="row 3 is invalid"):
        scenario_from_text(text, "bad.toml", base_dir=tmp_path)


def test_an_island_that_sheds_the_whole_line_for_an_hour_is_tolerated(tmp_path: Path) -> None:
    """A first block too small to hold the frequency lets it fall to the second, which takes the whole line off:
    the line is without current for the hour of the island and restarts when the tie closes (the restart
    procedure). An hour without current is tolerated (physics.md §1.9: pots freeze after about two hours): no
    cell at freeze risk, and the bath is back where it was within six hours of the restart."""
    text = (MODELS / "plant_small.toml").read_text(encoding="utf-8")
    text = text.replace('technology = "hal275.toml"', f'technology = "{(MODELS / "hal275.toml").as_posix()}"')
    first = text.index('name = "S1-first"')
    second = text.index('name = "S1-second"')
    text = (
        text[:first]
        + text[first:second].replace("value = 0.15", "value = 0.01")
        + text[second:].replace("value = 0.15", "value = 1.0")
    )
    (tmp_path / "plant.toml").write_text(text, encoding="utf-8")
    scenario = f'[scenario]\nname = "t"\nplant = "plant.toml"\nhorizon_h = 12.0\nseed = 3\n{ISLAND}'
    results = run_scenario(scenario_from_text(scenario, "t.toml", base_dir=tmp_path))
    k = results.kpis
    assert k["frequency_nadir_Hz"] < 48.7  # the second block's threshold was crossed
    assert k["longest_outage_h"] == pytest.approx(1.0, abs=0.01)
    assert k["cells_freeze_risk"] == 0.0
    ts = results.timeseries
    times = ts["time_h"].to_numpy()
    current = ts["S1_current_kA"].to_numpy()
    temp = ts["S1_bath_temp_mean_degC"].to_numpy()
    during = (times > 1.1) & (times <= 2.0)
    assert np.all(current[during] == 0.0)
    assert current[-1] == pytest.approx(300.0)
    before = temp[times <= 1.0][-1]
    assert temp[during].min() < before - 5.0  # the cells cooled without current
    # the restart's voltage treatment has the bath back within 6 h of the restart (then above it while it lasts)
    assert temp[times >= 8.0].min() > before - 3.0


def test_tie_trip_without_a_running_unit_is_a_one_line_error() -> None:
    from twin.errors import SimulationError

    events = '[[event]]\nkind = "unit_trip"\nat_h = 0.5\nduration_h = 2.0\nunit = "G1"\n' + ISLAND
    with pytest.raises(SimulationError, match="no captive unit is running") as exc:
        run_scenario(scenario_from_text(small_scenario_text(2.0, events), "t.toml", base_dir=DATA))
    assert "\n" not in str(exc.value)


def test_scenario_jobs_cannot_name_event_files() -> None:
    """A scenario submitted over the API names no file (twin.service.catalogue): an event's csv is refused, an
    inline frequency profile is taken."""
    from twin.service.catalogue import Catalogue, CatalogueRunner

    runner = CatalogueRunner(Catalogue.build())
    head = '[scenario]\nname = "j"\nplant = "plant_small"\nhorizon_h = 1.0\nseed = 1\n'
    with pytest.raises(ScenarioError, match=r"event\[1\].csv = 'hal275.toml' is invalid; expected no file"):
        runner.check(
            head + '[[event]]\nkind = "frequency_response"\nat_h = 0.5\npotline = "all"\ncsv = "hal275.toml"\n'
        )
    runner.check(
        head + '[[event]]\nkind = "frequency_response"\nat_h = 0.5\npotline = "all"\npoints = [[0, 50], [9, 49.9]]\n'
    )
