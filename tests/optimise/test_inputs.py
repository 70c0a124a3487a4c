"""Bad dispatch input gives one line naming the file, the field, the value and what is valid."""

from __future__ import annotations

import pytest

from twin.cli import main
from twin.errors import ModelError
from twin.optimise.inputs import load_dispatch, load_inputs

from .conftest import MODELS


def _edit(tmp_path, old, new):
    text = (MODELS / "dispatch_small.toml").read_text()
    assert old in text
    path = tmp_path / "d.toml"
    path.write_text(text.replace(old, new))
    return path


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("min_up_h = { value = 8.0", "min_up_h = { value = 99.0",
     "coal_unit[1].min_up_h = 99.0 is invalid; expected a number in [0, 48] h"),
    ('unit = "kWh/t", source = "[R] NDRC 发改价格〔2021〕1239号 (完善', 'unit = "MWh/t", source = "[R] (',
     "tariff.tier_threshold_kWh_per_t.unit = 'MWh/t' is invalid; expected the unit 'kWh/t'"),
    ('name = "default"\ncurrent_min', 'name = "P9"\ncurrent_min',
     "potline[1].name = 'P9' is invalid; expected one of the plant's potline names (S1) or 'default'"),
    ("max_replays = { value = 4", "max_replays = { value = 2.5",
     "solver.max_replays = 2.5 is invalid; expected an integer"),
])
def test_bad_dispatch_file_one_line(tmp_path, small_inputs, old, new, expected):
    path = _edit(tmp_path, old, new)
    with pytest.raises(ModelError) as info:
        load_dispatch(path, small_inputs.plant)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message


def test_band_upside_down(tmp_path, small_inputs):
    path = _edit(tmp_path, "current_min_fraction = { value = 0.95", "current_min_fraction = { value = 1.0")
    path.write_text(path.read_text().replace("current_max_fraction = { value = 1.05",
                                             "current_max_fraction = { value = 1.0"))
    load_dispatch(path, small_inputs.plant)  # equal is fine: a fixed current


def test_missing_dispatch_file():
    with pytest.raises(ModelError, match="cannot read file"):
        load_inputs(MODELS / "plant_small.toml", MODELS / "no_such_dispatch.toml")


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    path = _edit(tmp_path, "min_up_h = { value = 8.0", "min_up_h = { value = -1.0")
    code = main(["optimise", str(MODELS / "plant_small.toml"), "--dispatch", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "coal_unit[1].min_up_h = -1.0 is invalid" in err
    code = main(["optimise", str(MODELS / "plant_small.toml"), "--step-min", "7"])
    err = capsys.readouterr().err
    assert code == 2
    assert "--step-min = 7.0 is invalid; expected a divisor of 60 minutes" in err


@pytest.mark.parametrize(("args", "message"), [
    # each was a traceback (numpy's negative dimensions, the seed's bit generator, mkdir under /proc) or, for
    # 0.001 min, a reduced model of 2.9 M steps built before any check (still running after 120 s)
    (["--step-min", "-15"], "--step-min = -15.0 is invalid; expected a divisor of 60 minutes in [1, 60]"),
    (["--step-min", "0.001"], "--step-min = 0.001 is invalid; expected a divisor of 60 minutes in [1, 60]"),
    (["--horizon-h", "nan"], "--horizon-h = nan is invalid; expected hours in [0.25, 336]"),
    (["--seed", "-3"], "--seed = -3 is invalid; expected an integer in [0, 2^63)"),
    (["--schedule-out", "/proc/no-such-dir"], "--schedule-out = '/proc/no-such-dir' cannot be created"),
])
def test_cli_bad_option_is_one_line_before_any_work(capsys, args, message):
    code = main(["optimise", str(MODELS / "plant_small.toml"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert message in err
