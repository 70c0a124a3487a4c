"""Bad input is rejected with a message that names the file, the key, the bad value and what is valid.

Issue 2 ("Every bad-input case above is rejected with its message checked"); style.md practice 10. Each case
edits one line of a copy of ``models/hal275.toml``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from twin.cell import Potline
from twin.errors import ModelError, SimulationError
from twin.params import load_technology

LINE_CURRENT = 'line_current_nominal_kA = { value = 300.0, unit = "kA", source = "[S] qatalum.com Primary-Aluminium page: 300 kA" }'  # noqa: E501


TECHNOLOGIES = ("hal275", "hal275_hx", "cell500", "cellmodel126")


@pytest.fixture(scope="module")
def hal275_text(models_dir: Path) -> str:
    text = (models_dir / "hal275.toml").read_text(encoding="utf-8")
    assert LINE_CURRENT in text
    return text


def load_edited(tmp_path: Path, text: str, old: str, new: str) -> None:
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    load_technology(path)


def line(value: str = "300.0", unit: str = '"kA"', source: str = '"x"') -> str:
    return f"line_current_nominal_kA = {{ value = {value}, unit = {unit}, source = {source} }}"


@pytest.mark.parametrize(
    ("case", "old", "new", "expected"),
    [
        ("out of range", LINE_CURRENT, line("5000.0"), ["cell.line_current_nominal_kA", "5000.0", "[50, 700] kA"]),
        ("below range", LINE_CURRENT, line("-1.0"), ["cell.line_current_nominal_kA", "-1.0", "[50, 700] kA"]),
        ("not finite", LINE_CURRENT, line("nan"), ["cell.line_current_nominal_kA", "nan", "[50, 700] kA"]),
        ("wrong type (text)", LINE_CURRENT, line('"300"'), ["cell.line_current_nominal_kA", "'300'", "a number in"]),
        ("wrong type (bool)", LINE_CURRENT, line("true"), ["cell.line_current_nominal_kA", "True", "a number in"]),
        ("wrong unit", LINE_CURRENT, line(unit='"A"'), ["cell.line_current_nominal_kA.unit", "'A'", "'kA'"]),
        ("missing source", LINE_CURRENT, 'line_current_nominal_kA = { value = 300.0, unit = "kA" }',
         ["cell.line_current_nominal_kA.source", "None", "source"]),
        ("empty source", LINE_CURRENT, line(source='"  "'), ["cell.line_current_nominal_kA.source", "'  '"]),
        ("bare value", LINE_CURRENT, "line_current_nominal_kA = 300.0", ["cell.line_current_nominal_kA", "300.0"]),
        ("missing key", LINE_CURRENT, "", ["missing parameter", "cell.line_current_nominal_kA", "[50, 700] kA"]),
        ("unknown key", LINE_CURRENT, LINE_CURRENT + '\nline_curent_kA = { value = 1.0, unit = "kA", source = "x" }',
         ["unknown parameter", "cell.line_curent_kA", "line_current_nominal_kA"]),
        ("unknown section", "[meta]", "[bogus]\nx = 1\n\n[meta]", ["unknown section", "[bogus]"]),
        ("integer expected", "anode_count = { value = 30,", "anode_count = { value = 30.5,",
         ["cell.anode_count", "30.5", "an integer in [4, 80]"]),
        ("integer out of range", "anode_count = { value = 30,", "anode_count = { value = 2,",
         ["cell.anode_count", "= 2", "an integer in [4, 80]"]),
        ("bad choice", 'feed_strategy = { value = "tracking"', 'feed_strategy = { value = "magic"',
         ["control.feed_strategy", "'magic'", "'tracking'", "'fixed'", "'none'"]),
        ("bad TOML", "[bath]", "[bath", ["not valid TOML"]),
        ("no meta name", 'name = "hal275"', 'nom = "hal275"', ["[meta]", "name"]),
    ],
)
def test_bad_model_file_is_rejected_with_a_precise_message(tmp_path, hal275_text, case, old, new, expected) -> None:
    with pytest.raises(ModelError) as info:
        load_edited(tmp_path, hal275_text, old, new)
    message = str(info.value)
    assert str(tmp_path / "bad.toml") in message, case
    for part in expected:
        assert part in message, f"{case}: {part!r} not in {message!r}"


def test_missing_file_is_a_model_error(tmp_path) -> None:
    with pytest.raises(ModelError, match=re.escape(str(tmp_path / "nope.toml"))):
        load_technology(tmp_path / "nope.toml")


def test_override_is_validated_like_a_file_value(hal275) -> None:
    expected = "scenario.toml: cell.acd_nominal_cm = 9.5 is invalid; expected a number in [2, 7] cm"
    with pytest.raises(ModelError, match=re.escape(expected)):
        hal275.with_overrides({"cell.acd_nominal_cm": 9.5}, "scenario.toml")
    with pytest.raises(ModelError, match=r"scenario\.toml: override 'cell\.acd_cm' is not a model parameter"):
        hal275.with_overrides({"cell.acd_cm": 4.0}, "scenario.toml")


def test_loaded_technology_is_immutable(hal275) -> None:
    with pytest.raises(TypeError):
        hal275.values["cell.anode_count"] = 1  # type: ignore[index]
    assert isinstance(hal275["cell.anode_count"], int)
    assert hal275.sources["cell.line_current_nominal_kA"].startswith("[S]")


def test_every_model_parameter_has_a_unit_and_a_tagged_source(models_dir) -> None:
    """Every shipped model: each source starts with an evidence tag ([S], [S2], [R], [C]) or names IPCC."""
    for name in TECHNOLOGIES:
        path = models_dir / f"{name}.toml"
        tech = load_technology(path)
        for key, source in tech.sources.items():
            assert re.match(r"\[(S|S2|R|C)\]|IPCC", source), f"{path.name}: {key} source {source!r} has no evidence tag"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"n_cells": 0}, "n_cells = 0 is invalid; expected an integer in [1, 100000]"),
        ({"n_cells": 2.0}, "n_cells = 2.0 is invalid"),
        ({"n_cells": True}, "n_cells = True is invalid"),
        ({"dt": 0.0}, "dt = 0.0 is invalid; expected seconds in (0, 60]"),
        ({"dt": 61.0}, "dt = 61.0 is invalid"),
        ({"dt": "1"}, "dt = '1' is invalid"),
        ({"slow_every": 0}, "slow_every = 0 is invalid; expected an integer in [1, 3600]"),
        ({"slow_every": 1.5}, "slow_every = 1.5 is invalid"),
        ({"stop_on": ("anode_effect",)}, "stop_on event 'anode_effect' is unknown; valid: anode_effect_onset"),
    ],
)
def test_bad_driver_arguments(hal275, kwargs, expected) -> None:
    args = {"n_cells": 2, **kwargs}
    n_cells = args.pop("n_cells")
    with pytest.raises(SimulationError, match=re.escape(expected)):
        Potline(hal275, n_cells, **args)


@pytest.mark.parametrize(
    ("steps", "current", "expected"),
    [
        (-1, 300.0, "steps = -1 is invalid; expected a whole number >= 0"),
        (2.5, 300.0, "steps = 2.5 is invalid"),
        (True, 300.0, "steps = True is invalid"),
        (10, -5.0, "line_current_kA = -5.0 is invalid; expected a value in [0, 600] kA"),
        (10, 601.0, "line_current_kA = 601.0 is invalid"),
        (10, float("nan"), "line_current_kA = nan is invalid"),
        (3, np.array([300.0, np.inf, 300.0]), "line_current_kA = inf is invalid"),
    ],
)
def test_bad_advance_arguments(hal275, steps, current, expected) -> None:
    line_ = Potline(hal275, 1)
    with pytest.raises(SimulationError, match=re.escape(expected)):
        line_.advance(steps, current)
    assert line_.step_count == 0


def test_bad_current_profile_length_and_state_name(hal275) -> None:
    line_ = Potline(hal275, 1)
    with pytest.raises(ValueError, match="broadcast"):
        line_.advance(3, np.array([300.0, 300.0]))
    with pytest.raises(SimulationError, match="unknown cell state 'temperature'; known: alumina_dissolved_kg"):
        line_.set_cells("temperature", 0, 950.0)
