"""Bad scenario files get one clear error naming file, field, value and what is valid (design.md)."""

from __future__ import annotations

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
]


@pytest.mark.parametrize(("text", "fragment"), CASES)
def test_bad_scenario_is_rejected_with_file_field_and_value(text, fragment):
    path = DATA / "_bad_scenario.toml"
    path.write_text(text)
    try:
        with pytest.raises(ScenarioError) as err:
            load_scenario(path)
    finally:
        path.unlink()
    assert fragment in str(err.value)
    assert "_bad_scenario.toml" in str(err.value)


def test_missing_scenario_file():
    with pytest.raises(ScenarioError, match=r"nope\.toml: cannot read scenario file"):
        load_scenario(DATA / "nope.toml")
