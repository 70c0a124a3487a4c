"""The grid-service equations (twin.plant.grid_services) against published figures and textbook closed forms."""

from __future__ import annotations

from pathlib import Path

import pytest

from twin.params import load_plant
from twin.plant.grid_services import (
    ShedBlock,
    Unit,
    droop_fraction,
    initial_rocof_Hz_per_s,
    island_transient,
    power_at_share,
    power_sensitivity,
    steady_state_deviation_Hz,
)

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_droop_follows_the_entsoe_fcr_characteristic() -> None:
    """ENTSO-E SOGL (EU 2017/1485) Annex V Table 1: nothing within ±10 mHz, the whole band at ±200 mHz."""
    band = 0.05
    assert droop_fraction(50.009, 50.0, 0.01, 0.2, band) == 0.0
    assert droop_fraction(49.991, 50.0, 0.01, 0.2, band) == 0.0
    assert droop_fraction(49.8, 50.0, 0.01, 0.2, band) == pytest.approx(-band)  # low frequency: the load backs off
    assert droop_fraction(50.2, 50.0, 0.01, 0.2, band) == pytest.approx(band)
    assert droop_fraction(49.5, 50.0, 0.01, 0.2, band) == pytest.approx(-band)  # held beyond full activation
    # halfway between the dead band and full activation gives half the band
    assert droop_fraction(50.0 - 0.105, 50.0, 0.01, 0.2, band) == pytest.approx(-band / 2)


def test_power_of_a_line_against_its_current() -> None:
    """plant.py's own figure: dP/P ≈ 1.6 dI/I at 4.2 V with a 1.65 V back EMF; and the finite form agrees."""
    assert power_sensitivity(1.65, 4.2) == pytest.approx(1.607, abs=1e-3)
    small = 1e-4
    slope = (1.0 - power_at_share(1.0 - small, 1.65, 4.2)) / small
    assert slope == pytest.approx(power_sensitivity(1.65, 4.2), rel=1e-3)
    assert power_at_share(0.0, 1.65, 4.2) == 0.0


def _units(n: int, output: float, capacity: float = 350.0, deadband: float = 0.0) -> list[Unit]:
    return [Unit(f"G{k}", output, capacity, 4.0, 0.05, deadband, 8.0) for k in range(n)]


def test_island_transient_matches_the_textbook_closed_forms() -> None:
    """Kundur 1994: settled deviation Δf/f0 = −ΔP/(Σ S/R + D·P_L) (eq. 11.7) and the initial RoCoF −ΔP·f0/(2·ΣH·S)
    (eq. 3.214), with headroom, no dead band and no shedding."""
    units = _units(3, 250.0)
    load = 800.0  # 50 MW more than the units make: the lost import
    t = island_transient(
        units,
        load,
        [],
        nominal_Hz=50.0,
        load_damping=1.0,
        flex_MW=0.0,
        droop_deadband_Hz=0.01,
        droop_full_Hz=0.2,
        duration_s=120.0,
    )
    expected = 50.0 + steady_state_deviation_Hz(50.0, units, load, 1.0, 50.0)
    assert t.final_Hz == pytest.approx(expected, abs=2e-3)
    rocof = (t.frequency_Hz[1] - t.frequency_Hz[0]) / (t.time_s[1] - t.time_s[0])
    assert rocof == pytest.approx(initial_rocof_Hz_per_s(50.0, units, 50.0), rel=0.01)
    assert t.nadir_Hz < t.final_Hz  # the governors' lag makes the dip deeper than the settled value


def test_island_energy_is_conserved() -> None:
    """The rotors' kinetic energy E = ΣH·S·(f/f0)² changes by exactly what the units made less what the load took
    (the swing equation integrated; Kundur 1994 §3.9)."""
    units = _units(2, 200.0)
    t = island_transient(
        units,
        460.0,
        [],
        nominal_Hz=50.0,
        load_damping=0.5,
        flex_MW=0.0,
        droop_deadband_Hz=0.01,
        droop_full_Hz=0.2,
        duration_s=30.0,
        dt_s=0.001,
    )
    hs = sum(u.inertia_H_s * u.capacity_MW for u in units)
    kinetic = [hs * (f / 50.0) ** 2 for f in t.frequency_Hz]
    dt = t.time_s[1] - t.time_s[0]
    # the load in the trace is the one of the step it ends, the units' power the one at its start
    made = sum(sum(u[k] for u in t.unit_MW) * dt for k in range(len(t.time_s) - 1))
    taken = sum(t.load_MW[k + 1] * dt for k in range(len(t.time_s) - 1))
    assert kinetic[-1] - kinetic[0] == pytest.approx(made - taken, rel=0.02, abs=0.5)


def test_shedding_follows_the_plant_files_order() -> None:
    """Blocks trip in the listed order, each only below its threshold, and those above the nadir stay in."""
    units = _units(3, 300.0)  # 150 MW headroom in all
    blocks = [
        ShedBlock("first", "P2", 0.3, 49.0, 0.2, 150.0),
        ShedBlock("second", "P2", 0.7, 48.8, 0.2, 330.0),
        ShedBlock("third", "P1", 0.3, 48.5, 0.2, 150.0),
    ]
    t = island_transient(
        units,
        900.0 + 400.0,
        blocks,
        nominal_Hz=50.0,
        load_damping=0.5,
        flex_MW=0.0,
        droop_deadband_Hz=0.01,
        droop_full_Hz=0.2,
        duration_s=60.0,
    )
    names = [name for name, _ in t.shed]
    assert names
    assert names == ["first", "second"][: len(names)]
    times = [time for _, time in t.shed]
    assert times == sorted(times)
    for name, time in t.shed:
        block = next(b for b in blocks if b.name == name)
        k = round((time - block.delay_s) / 0.01)
        assert t.frequency_Hz[k] < block.frequency_Hz + 1e-9  # it was below its threshold when its relay started
    for block in blocks:  # a block left in never spent its relay delay below its threshold
        if block.name in names:
            continue
        run = longest = 0
        for f in t.frequency_Hz:
            run = run + 1 if f < block.frequency_Hz else 0
            longest = max(longest, run)
        assert longest * 0.01 < block.delay_s


@pytest.mark.parametrize("lost_MW", [100.0, 200.0, 300.0])
def test_reference_plant_island_stays_within_the_published_limits(lost_MW: float) -> None:
    """The reference plant loses an import of up to 300 MW (its tie's limit) with every unit at 250 MW: with its own
    governors and shedding blocks the frequency stays above 47.5 Hz, where generating units must stay connected
    (ENTSO-E NC RfG, EU 2016/631, Art. 13 Table 2), and settles within ±200 mHz, the largest steady-state
    deviation of Continental Europe (ENTSO-E SOGL, EU 2017/1485, Annex III Table 1)."""
    plant = load_plant(MODELS / "plant_reference.toml")
    gs = plant.grid_services
    assert gs is not None
    units = [
        Unit(
            u.name,
            250.0,
            u["capacity_MW"],
            gs["unit_inertia_H_s"],
            gs["governor_droop"],
            gs["governor_deadband_Hz"],
            gs["governor_time_constant_s"],
        )
        for u in plant.coal_units
    ]
    line_MW = 525.0  # each line at 300 kA and ~4.35 V with busbar, rectifier and auxiliaries
    blocks = []
    left = {"P1": 1.0, "P2": 1.0}
    for b in plant.load_shed:
        before = left[b["potline"]]
        left[b["potline"]] = max(before - b["fraction"], 0.0)
        mw = line_MW * (power_at_share(before, 1.65, 4.3) - power_at_share(left[b["potline"]], 1.65, 4.3))
        blocks.append(ShedBlock(b.name, b["potline"], before - left[b["potline"]], b["frequency_Hz"], b["delay_s"], mw))
    t = island_transient(
        units,
        750.0 + lost_MW,
        blocks,
        nominal_Hz=gs["nominal_frequency_Hz"],
        load_damping=gs["load_damping"],
        flex_MW=0.0,
        droop_deadband_Hz=gs["fcr_deadband_Hz"],
        droop_full_Hz=gs["fcr_full_activation_Hz"],
        duration_s=gs["island_transient_s"],
    )
    assert t.nadir_Hz > gs["island_frequency_min_Hz"] == 47.5
    assert abs(t.final_Hz - 50.0) <= gs["island_steady_band_Hz"] == 0.2
    assert [name for name, _ in t.shed] == [b.name for b in plant.load_shed][: len(t.shed)]


def test_plant_file_errors_name_the_field(tmp_path: Path) -> None:
    """A droop whose full activation is inside its dead band, and shedding blocks out of order, are one-line
    errors naming the file and field."""
    from twin.errors import ModelError

    text = (MODELS / "plant_reference.toml").read_text(encoding="utf-8")
    text = text.replace('technology = "hal275.toml"', f'technology = "{(MODELS / "hal275.toml").as_posix()}"')
    bad = text.replace("fcr_full_activation_Hz = { value = 0.2,", "fcr_full_activation_Hz = { value = 0.01,")
    (tmp_path / "a.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(ModelError, match=r"grid_services.fcr_full_activation_Hz = 0.01 is invalid"):
        load_plant(tmp_path / "a.toml")
    bad = text.replace("frequency_Hz = { value = 48.8,", "frequency_Hz = { value = 49.5,")
    (tmp_path / "b.toml").write_text(bad, encoding="utf-8")
    with pytest.raises(ModelError, match=r"load_shed\[2\].frequency_Hz = 49.5 is invalid; expected at most"):
        load_plant(tmp_path / "b.toml")
