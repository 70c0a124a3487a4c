"""Bad scenario files get one clear error naming file, field, value and what is valid (design.md)."""

from __future__ import annotations

import os

import pytest
from tests.scenario.conftest import DATA

from twin.errors import ScenarioError
from twin.scenario import load_scenario

HEAD = '[scenario]\nname = "x"\nplant = "../../models/plant_small.toml"\nhorizon_h = 4.0\nseed = 1\n'

CASES = [
    ("[scenario\n", "not valid TOML"),
    ('[scenario]\nname = "x"\n', "missing field scenario.plant"),
    (HEAD.replace("horizon_h = 4.0", "horizon_h = -1.0"), "scenario.horizon_h = -1.0 is invalid; expected a number in"),
    (HEAD.replace("seed = 1", "seed = 1.5"), "scenario.seed = 1.5 is invalid; expected an integer"),
    (HEAD + "hrizon = 3\n", "unknown field scenario.hrizon"),
    (HEAD.replace("plant_small", "plant_none"), "cannot read file"),
    (HEAD + '[overrides]\n"control.target_voltage" = 4.2\n', "'control.target_voltage' is not a model parameter"),
    (HEAD + '[overrides]\n"control.target_voltage_V" = 9.0\n', "control.target_voltage_V = 9.0 is invalid"),
    (HEAD + '[[event]]\nkind = "meteor"\nat_h = 1.0\n', "event[1].kind = 'meteor' is invalid; expected one of"),
    (HEAD + '[[event]]\nkind = "outage"\nat_h = 9.0\nduration_h = 1.0\npotline = "all"\n',
     "event[1].at_h = 9.0 is invalid; expected a number in [0, 4]"),
    (HEAD + '[[event]]\nkind = "outage"\nat_h = 1.0\npotline = "all"\n', "missing field event[1].duration_h"),
    (HEAD + '[[event]]\nkind = "outage"\nat_h = 1.0\nduration_h = 1.0\npotline = "P9"\n',
     "event[1].potline = 'P9' is invalid; expected 'all' or one of S1"),
    (HEAD + '[[event]]\nkind = "unit_trip"\nat_h = 1.0\nduration_h = 1.0\nunit = "G7"\n', "unit = 'G7' is invalid"),
    (HEAD + '[[event]]\nkind = "curtailment"\nat_h = 1.0\nduration_h = 1.0\npotline = "S1"\nfraction = 0.9\n',
     "event[1].fraction = 0.9 is invalid; expected a number in [0, 0.6]"),
    (HEAD + '[[event]]\nkind = "cell_cut_out"\nat_h = 1.0\nduration_h = 1.0\npotline = "S1"\ncells = [30]\n',
     "event[1].cells = [30] is invalid; expected cell numbers in [1, 24]"),
    (HEAD + '[[event]]\nkind = "feed_strategy"\nat_h = 1.0\npotline = "S1"\nstrategy = "magic"\n',
     "strategy = 'magic' is invalid; expected one of tracking, fixed, none"),
    (HEAD + '[[event]]\nkind = "outage"\nat_h = 1.0\nduration_h = 1.0\npotline = "all"\nspeed = 2\n',
     "unknown field event[1].speed for a outage event"),
    (HEAD + "[weather]\nsunny = true\n", "unknown section [weather]"),
    (HEAD + '[[event]]\nkind = "resistance_target"\nat_h = 1.0\npotline = "S1"\n',
     "event[1].voltage_V/delta_mV = None is invalid; expected exactly one of voltage_V or delta_mV"),
    (HEAD + '[[event]]\nkind = "resistance_target"\nat_h = 1.0\npotline = "S1"\nvoltage_V = 4.3\ndelta_mV = 10.0\n',
     "expected exactly one of voltage_V or delta_mV for a resistance_target event"),
    (HEAD + '[[event]]\nkind = "resistance_target"\nat_h = 1.0\npotline = "S1"\nvoltage_V = 12.0\n',
     "event[1].voltage_V = 12.0 is invalid; expected a number in [2.5, 8]"),
    (HEAD + '[[event]]\nkind = "amperage_creep"\nat_h = 0.0\npotline = "S1"\nrate_kA_per_week = 1.0\n'
     'compensation = "yes"\n', "event[1].compensation = 'yes' is invalid; expected true or false"),
    (HEAD + "[potroom]\nalf3 = 1\n", "potroom.alf3 = 1 is invalid; expected true or false"),
    (HEAD + "[potroom]\nthermostat = false\n", "unknown field potroom.thermostat; known: alf3, resistance"),
]


@pytest.mark.parametrize(("text", "fragment"), CASES)
def test_bad_scenario_is_rejected_with_file_field_and_value(text, fragment):
    path = DATA / f"_bad_scenario_{os.getpid()}.toml"  # beside the plant it names; one per test process (xdist)
    path.write_text(text)
    try:
        with pytest.raises(ScenarioError) as err:
            load_scenario(path)
    finally:
        path.unlink()
    assert fragment in str(err.value)
    assert path.name in str(err.value)


def test_missing_scenario_file():
    with pytest.raises(ScenarioError, match=r"nope\.toml: cannot read scenario file"):
        load_scenario(DATA / "nope.toml")


PLANT_CASES = [
    (("resistance_step_max_mV = { value = 30.0", "resistance_step_max_mV = { value = 300.0"),
     "potroom.resistance_step_max_mV = 300.0 is invalid"),
    (("[potroom]\n", "[potroom]\nthermostat = { value = 1.0, unit = \"1\", source = \"x\" }\n"), "thermostat"),
    (('technology = "hal275.toml"', 'technology = "hal275_hx.toml"'),
     "potline[1].heat_exchanger_capacity_kW = 0.0 is invalid; expected at least the technology's "
     "exchanger_design_duty_kW"),
]


@pytest.mark.parametrize(("change", "fragment"), PLANT_CASES)
def test_bad_potroom_settings_and_exchangers_are_rejected(tmp_path, change, fragment):
    from pathlib import Path

    from twin.errors import ModelError
    from twin.params import load_plant

    models = Path(__file__).resolve().parents[2] / "models"
    text = (models / "plant_small.toml").read_text()
    assert change[0] in text
    for name in ("hal275.toml", "hal275_hx.toml"):
        (tmp_path / name).write_text((models / name).read_text())
    path = tmp_path / "plant_bad.toml"
    path.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(ModelError) as err:
        load_plant(path)
    assert fragment in str(err.value)
    assert "plant_bad.toml" in str(err.value)
