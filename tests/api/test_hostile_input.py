"""Hostile input over a real server: each bad request gets a 4xx that names the field, the value and what is
valid, costs only itself, and never reaches the parser, the store or the CPU unchecked."""

from __future__ import annotations

import httpx
import pytest


def problem(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return r.json()["detail"]


@pytest.mark.parametrize(
    ("toml", "shown", "valid"),
    [
        ("[scenario]\nx = " + "[" * 600 + "]" * 600 + "\n", "33 nested arrays or inline tables at line 2", "32"),
        ("[scenario]\nx = " + "{a = " * 600 + "1" + "}" * 600 + "\n", "33 nested arrays or inline tables", "32"),
        ("[scenario]\n" + "a." * 3000 + "b = 1\n", "a key with 33 dots at line 2", "32 dots in a key"),
        ("[scenario]\n[" + '"a".' * 3000 + "b]\n", "a key with 33 dots at line 2", "32 dots in a key"),
    ],
)
def test_scenario_toml_too_deep_or_too_dotted_is_422_before_parsing(
    client: httpx.Client, toml: str, shown: str, valid: str
) -> None:
    """Deep nesting made the TOML parser recurse into a 500; a long dotted key cost it quadratic time."""
    detail = problem(client.post("/v1/scenarios", json={"toml": toml}), 422)
    assert detail.startswith(f"toml = {shown}")
    assert detail.endswith(f"is invalid; expected at most {valid}")
    assert client.get("/v1/health").status_code == 200


def test_brackets_and_dots_inside_strings_and_comments_are_not_counted(client: httpx.Client) -> None:
    toml = (
        "[scenario]  # " + "[." * 100 + "\n"
        f"name = '{'[' * 100}'\n"
        f'label = "{"." * 100}\\"{"[" * 100}"\n'
        f'notes = """\n{"{" * 100}\n\\""" {"." * 100}"""\n'
        "hours = 2\n"
    )
    assert client.post("/v1/scenarios", json={"toml": toml}).status_code == 202
