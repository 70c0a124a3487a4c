"""Issue 9: one loader (twin_edge.configfile) for every TOML file of both packages. Each kind of file, through
its real public loader, refuses an unknown key, a non-UTF-8 file, a directory and a FIFO with one line naming
the file (and the key and the known keys); and no other module parses TOML itself."""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from twin.errors import TwinError
from twin.params import load_plant, load_technology
from twin.scenario import load_scenario
from twin.scenario.sweep import load_sweep
from twin.service.config import load_service_config
from twin_edge.config import load_config as load_gateway_config
from twin_edge.errors import ConfigError
from twin_edge.tagmap import load_tag_map

ROOT = Path(__file__).resolve().parents[1]
HAL275 = (ROOT / "models" / "hal275.toml").read_text(encoding="utf-8")
TAGS = '[[devices]]\nid = "p1"\nhost = "h"\nport = 1\n'

# kind -> (public loader, a file with one unknown key, the key's dotted path as shown, a known key it must list)
KINDS: dict[str, tuple[Callable[[Path], Any], str, str, str]] = {
    "service": (load_service_config, '[mqtt]\nhost = "h"\npasword = "x"\n', "key mqtt.pasword", "password_file"),
    "gateway": (load_gateway_config, '[poll]\nperiod = 2\n', "key poll.period", "timeout_s"),
    "tag map": (load_tag_map, TAGS + 'unti = 3\ntags = [{ metric = "v", register = 0 }]\n', "key devices[0].unti",
                "template"),
    "technology": (load_technology,
                   HAL275.replace("[cell]\n", '[cell]\nline_curent_kA = { value = 1.0, unit = "kA", source = "x" }\n'),
                   "parameter cell.line_curent_kA", "line_current_nominal_kA"),
    "plant": (load_plant, '[meta]\nname = "p"\n[potlnie]\ncells = 3\n', "section [potlnie]", "[coal_unit]"),
    "scenario": (load_scenario, '[scenario]\nname = "x"\nplant = "p.toml"\nhrizon_h = 3\n', "field scenario.hrizon_h",
                 "interval_s"),
    "sweep": (load_sweep, '[sweep]\nscenario = "s.toml"\nnmae = "x"\n[grid]\n"scenario.seed" = [1, 2]\n',
              "field sweep.nmae", "description"),
}


EDGE = {"gateway", "tag map"}  # twin_edge's loaders raise its ConfigError; twin's raise TwinError subclasses


def _refused(kind: str, path: Path) -> str:
    with pytest.raises(ConfigError if kind in EDGE else TwinError) as err:
        KINDS[kind][0](path)
    message = str(err.value)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: "), message
    return message


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_key_names_file_key_closest_and_known_keys(tmp_path: Path, kind: str) -> None:
    _, text, key, known = KINDS[kind]
    path = tmp_path / "file.toml"
    path.write_text(text, encoding="utf-8")
    message = _refused(kind, path)
    assert f"unknown {key}" in message
    assert "; known: " in message
    assert known in message.split("; known: ", 1)[1]


@pytest.mark.parametrize("kind", KINDS)
def test_non_utf8_file_is_one_line_with_the_byte_and_offset(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "file.toml"
    path.write_bytes(b'# caf\xe9\n[x]\n')  # Latin-1 e-acute: 0xe9 at byte 5
    message = _refused(kind, path)
    assert "not UTF-8 text (byte 0xe9 at offset 5)" in message


@pytest.mark.parametrize("kind", KINDS)
def test_directory_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "dir.toml"
    path.mkdir()
    assert "(it is a directory; expected a regular file)" in _refused(kind, path)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("kind", KINDS)
def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "fifo.toml"
    os.mkfifo(path)
    assert "(it is a FIFO; expected a regular file)" in _refused(kind, path)


def test_bad_toml_gives_the_parser_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "file.toml"
    path.write_text('[scenario]\nname = "x"\nseed = = 1\n', encoding="utf-8")
    message = _refused("scenario", path)
    assert "not valid TOML" in message
    assert "line 3, column 8" in message


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_loader_module_imports_a_toml_parser() -> None:
    loader = ROOT / "edge" / "src" / "twin_edge" / "configfile.py"
    sources = [*(ROOT / "src" / "twin").rglob("*.py"), *(ROOT / "edge" / "src" / "twin_edge").rglob("*.py")]
    assert len(sources) > 50  # both trees were found
    parsers = {"tomllib", "tomli", "toml", "tomlkit", "rtoml", "pytomlpp"}
    offenders = sorted(str(p.relative_to(ROOT)) for p in sources if p != loader and _imports(p) & parsers)
    assert offenders == []
    assert "tomllib" in _imports(loader)


def _plant_with_meta_key(text: str) -> str:
    return (ROOT / "models" / "plant_small.toml").read_text(encoding="utf-8").replace("[meta]\n", "[meta]\n" + text, 1)


@pytest.mark.parametrize("kind", ["technology", "plant", "dispatch"])
def test_meta_table_refuses_an_unknown_key(tmp_path: Path, kind: str) -> None:
    """``[meta]`` is checked like every other table (issue 9: every config file rejects unknown keys): a typo such
    as ``titel`` is refused with the file, ``meta.titel`` and the known keys, not silently dropped."""
    from twin.optimise.inputs import load_dispatch

    path = tmp_path / "file.toml"
    if kind == "technology":
        path.write_text(HAL275.replace("[meta]\n", '[meta]\ntitel = "x"\n', 1), encoding="utf-8")
        load = load_technology
    elif kind == "plant":
        for name in ("hal275.toml", "hal275_hx.toml", "cellmodel126.toml", "cell500.toml"):
            (tmp_path / name).write_text((ROOT / "models" / name).read_text(encoding="utf-8"), encoding="utf-8")
        path.write_text(_plant_with_meta_key('titel = "x"\n'), encoding="utf-8")
        load = load_plant
    else:
        plant = load_plant(ROOT / "models" / "plant_small.toml")
        text = (ROOT / "models" / "dispatch_small.toml").read_text(encoding="utf-8")
        path.write_text(text.replace("[meta]\n", '[meta]\ntitel = "x"\n', 1), encoding="utf-8")

        def load(p: Path) -> Any:
            return load_dispatch(p, plant)
    with pytest.raises(TwinError) as err:
        load(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    assert "unknown key meta.titel" in message, message
    assert "; known: " in message, message
    assert "title" in message.split("; known: ", 1)[1], message


def test_meta_title_must_be_text(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text(HAL275.replace("[meta]\n", "[meta]\ndescription = 3\n", 1), encoding="utf-8")
    with pytest.raises(TwinError, match=r"meta\.description = 3 is invalid; expected a text"):
        load_technology(path)
