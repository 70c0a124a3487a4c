"""Every TOML file and body goes through ``twin_edge.configfile.parse_toml``: text nested too deeply or with a very
long dotted key is refused with a one-line error naming the origin and the line, before tomllib sees it (which
recursed into RecursionError on a few hundred levels and spent ~20 s on a 64 kB dotted key)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from twin_edge.configfile import MAX_TOML_DEPTH, MAX_TOML_DOTS, parse_toml
from twin_edge.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = " + "[" * 600 + "]" * 600, "gw.toml: 33 nested arrays or inline tables at line 1 is invalid"),
        ("a = 1\nx = " + "{b = " * 40 + "1" + "}" * 40, "gw.toml: 33 nested arrays or inline tables at line 2"),
        ("a." * 20_000 + "b = 1", "gw.toml: a key with 33 dots at line 1 is invalid; expected at most 32 dots"),
        ("[" + "t." * 40 + "u]\nk = 1", "gw.toml: a key with 33 dots at line 1"),
    ],
)
def test_too_deep_or_too_dotted_is_refused_naming_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_toml(text, "gw.toml")
    assert str(info.value).startswith(message)


def test_the_limits_themselves_parse() -> None:
    """Exactly MAX_TOML_DEPTH levels and MAX_TOML_DOTS dots are valid TOML and come back as tomllib reads them."""
    deep = "x = " + "[" * MAX_TOML_DEPTH + "1" + "]" * MAX_TOML_DEPTH
    dotted = ".".join(["k"] * (MAX_TOML_DOTS + 1)) + " = 2"
    for text in (deep, dotted):
        assert parse_toml(text, "t.toml") == tomllib.loads(text)


def test_brackets_and_dots_in_strings_and_comments_are_not_counted() -> None:
    text = (
        "# " + "[{." * 100 + "\n"
        f"a = '{'[' * 100}'\n"
        f'b = "{"." * 100}\\"{"{" * 100}"\n'
        f'c = """\n{"[" * 100}\n\\""" {"." * 100}"""\n'
        f"d = '''{'{' * 100}'''\n"
        "e = [[1, 2], {f = 'g.h.i'}]\n"
    )
    assert parse_toml(text, "t.toml") == tomllib.loads(text)


def test_every_shipped_toml_file_passes() -> None:
    """The models, scenarios, sweeps and edge examples of the repository are far inside the limits."""
    files = [p for d in ("models", "scenarios", "sweeps", "edge/examples") for p in (ROOT / d).rglob("*.toml")]
    assert len(files) > 20
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert parse_toml(text, str(path)) == tomllib.loads(text), path


def test_a_syntax_error_still_names_the_parser_position() -> None:
    with pytest.raises(ConfigError, match=r"^bad.toml: not valid TOML: .*\(at line 2, column 5\)"):
        parse_toml("a = 1\nb = = 2", "bad.toml")
