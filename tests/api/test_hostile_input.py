"""Hostile input over a real server: each bad request gets a 4xx that names the field, the value and what is
valid, costs only itself, and never reaches the parser, the store or the CPU unchecked."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest

from twin.store import Store


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
    """Deep nesting made the TOML parser recurse into a 500; a long dotted key cost it quadratic time. The check
    is the one every TOML file goes through (twin_edge.configfile.parse_toml), so the detail names ``toml``."""
    detail = problem(client.post("/v1/scenarios", json={"toml": toml}), 422)
    assert detail.startswith(f"toml: {shown}")
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


TAG = "cell:1-017/voltage_V"


@pytest.fixture
def one_tag(store: Store) -> str:
    store.register_tags([TAG])
    store.write_points(TAG, np.array(["1970-01-01T00:30:00"], dtype="datetime64[us]"), [4.2])
    return TAG


def test_time_bounds_are_checked_as_instants_not_local_years(client: httpx.Client, one_tag: str) -> None:
    """1970-01-01T00:00+01:00 is 1969 in UTC: it reached the store, whose error named a Python repr."""
    params = {"start": "1970-01-01T00:00:00+01:00", "end": "1970-01-01T05:00:00+01:00"}
    detail = problem(client.get(f"/v1/tags/{one_tag}/recorded", params=params), 400)
    assert detail == (
        "start = 1970-01-01T00:00:00+01:00 is invalid; expected a time from 1970-01-01 up to (not including) "
        "2262-01-01 UTC"
    )
    late = {"start": "2262-01-01T00:00:00+01:00", "end": "2262-01-01T00:30:00+01:00"}  # 23:00Z to 23:30Z
    assert client.get(f"/v1/tags/{one_tag}/recorded", params=late).status_code == 200


@pytest.mark.parametrize(
    ("start", "end"),
    [("1970-01-01T00:00:00Z", "1970-01-01T01:00:00Z"), ("2261-12-31T23:00:00Z", "2261-12-31T23:59:00Z")],
)
def test_interpolated_at_the_edges_of_the_time_span_is_200(
    client: httpx.Client, one_tag: str, start: str, end: str
) -> None:
    """The read widened by one interval either side went past 1970 or 2262 and the store refused a time the
    client never sent."""
    params = {"tags": one_tag, "start": start, "end": end, "interval_s": 600}
    r = client.get("/v1/streams/interpolated", params=params)
    assert r.status_code == 200, r.text
    assert len(r.json()["streams"][0]["rows"]) == 6


def test_plot_columns_are_bounded_for_all_tags_together(client: httpx.Client, store: Store) -> None:
    """Each tag could have max_buckets columns: 50 tags × 10 000 made a 30 MB answer and 380 MB of memory."""
    tags = [f"cell:1-{i:03d}/voltage_V" for i in range(1, 12)]
    store.register_tags(tags)
    params = {"tags": tags, "intervals": 10_000, "start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"}
    detail = problem(client.get("/v1/streams/plot", params=params), 400)
    assert detail.startswith("intervals = 10000 is invalid for 11 tags")
    assert "100000 columns in all (intervals × tags)" in detail
    assert client.get("/v1/streams/plot", params={**params, "intervals": 9090}).status_code == 200


def test_validation_errors_name_the_field_and_echo_the_value_cut_short(client: httpx.Client) -> None:
    """422s said "query.limit: Input should be greater than or equal to 1" without the value that was sent."""
    r = client.get("/v1/scenarios", params={"limit": "-1"})
    assert problem(r, 422) == "query.limit = '-1' is invalid: Input should be greater than or equal to 1"
    assert r.json()["errors"][0]["value"] == "'-1'"
    huge = client.post("/v1/admin/keys", json={"name": "x" * 500_000, "scopes": ["read"]})
    detail = problem(huge, 422)
    assert detail.startswith("body.name = 'xxx")
    assert "..." in detail
    assert detail.endswith("is invalid: String should have at most 100 characters")
    assert len(huge.content) < 2_000
    missing = client.post("/v1/admin/keys", json={"scopes": ["read"]})
    assert problem(missing, 422) == "body.name: Field required"


@pytest.fixture
def many_kpis(store: Store) -> list[str]:
    """101 KPI names of one scope, each recorded twice, a week apart."""
    names = [f"kpi_{i:03d}_kA" for i in range(101)]
    for day in (1, 7):
        store.write_kpis("potline:7", datetime(2026, 3, day, tzinfo=UTC), dict.fromkeys(names, 1.0))
    return names


WEEK = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-08T00:00:00Z"}


def test_kpi_history_rows_are_bounded_for_all_names_together(client: httpx.Client, many_kpis: list[str]) -> None:
    """Each KPI name could have max_buckets rows: 100 names × 2000 points made a 20 MB answer."""
    per_name = 100_000 // len(many_kpis)
    asked = client.get("/v1/kpis/potline:7/history", params={**WEEK, "max_points": per_name + 1})
    detail = problem(asked, 400)
    assert detail.startswith(f"max_points = {per_name + 1} is invalid for {len(many_kpis)} KPI names")
    assert "100000 rows in all (max_points × names)" in detail
    assert client.get("/v1/kpis/potline:7/history", params={**WEEK, "max_points": per_name}).status_code == 200
    few = {**WEEK, "max_points": 5000, "names": many_kpis[:20]}
    assert client.get("/v1/kpis/potline:7/history", params=few).status_code == 200


def test_kpi_history_without_max_points_is_averaged_within_the_total_cap(
    client: httpx.Client, many_kpis: list[str]
) -> None:
    body = client.get("/v1/kpis/potline:7/history", params=WEEK).json()
    assert body["max_points"] == 100_000 // len(many_kpis)
    assert sorted(body["rows"]) == many_kpis
    one = client.get("/v1/kpis/potline:7/history", params={**WEEK, "names": many_kpis[0]}).json()
    assert one["max_points"] == 10_000  # one name: max_buckets, as before


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("body", "wrong"),
    [
        (b'{"name": "ab\xff", "scopes": ["read"]}', "invalid UTF-8 at byte offset 12 (0xff); expected JSON in UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "JSON nested deeper than 32 arrays or objects; expected at most 32"),
        (b'{"a":' * 33 + b"1" + b"}" * 33, "JSON nested deeper than 32 arrays or objects; expected at most 32"),
        (b'{"n": ' + b"9" * 4301 + b"}", "a number of more than 4300 digits; expected at most 4300 digits"),
        (b'{"name": ', "invalid JSON at character 9: Expecting value"),
    ],
)
def test_body_parse_errors_are_422_saying_what_was_wrong(client: httpx.Client, body: bytes, wrong: str) -> None:
    """FastAPI's parser answered a bare 400 "There was an error parsing the body" to bad UTF-8, deep nesting
    and over-long integers; the detail now says which, without echoing the body."""
    r = client.post("/v1/admin/keys", content=body, headers=JSON)
    assert problem(r, 422) == f"body: {wrong}"
    assert r.json()["errors"] == [{"field": "body", "message": wrong, "type": "json_invalid"}]
    assert len(r.content) < 1_000
    assert client.get("/v1/health").status_code == 200


def test_json_nesting_and_digits_at_the_limit_or_inside_strings_are_parsed(client: httpx.Client) -> None:
    deep = {"content": b'{"a":' * 32 + b"1" + b"}" * 32, "headers": JSON}
    assert problem(client.post("/v1/admin/keys", **deep), 422).startswith("body.name: Field required")
    name = "[{" * 40 + "9" * 5000  # brackets and digits inside a string are text
    r = client.post("/v1/admin/keys", json={"name": name[:100], "scopes": ["read"], "n": 10**4299})
    assert problem(r, 422).startswith("body.n = ")  # past the body check: an unknown field
    r = client.post("/v1/admin/keys", json={"name": "k", "scopes": ["read"], "note": name})
    assert problem(r, 422).startswith("body.note = ")


RANGE = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-01T01:00:00Z"}


@pytest.mark.parametrize("sent", ["NaN", "nan", "inf", "-Infinity", "1e400"])
@pytest.mark.parametrize(
    ("method", "path", "params", "name", "valid"),
    [
        ("GET", "/v1/streams/interpolated", {"tags": TAG, **RANGE}, "interval_s", f"(0, {366 * 86400}]"),
        ("POST", "/v1/alarms/a-1/shelve", {}, "hours", "(0, 24]"),
    ],
)
def test_non_finite_query_floats_are_refused_naming_the_valid_interval(
    client: httpx.Client, method: str, path: str, params: dict[str, str], name: str, valid: str, sent: str
) -> None:
    """interval_s=NaN was refused with "less than or equal to 31622400", as if NaN were too large."""
    r = client.request(method, path, params={**params, name: sent})
    assert problem(r, 422) == f"query.{name} = {sent!r} is invalid: Input should be a finite number in {valid}"


@pytest.mark.parametrize("sent", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_body_floats_are_refused_naming_what_is_valid(client: httpx.Client, sent: str) -> None:
    shown = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf", "1e999": "inf"}[sent]
    body = f'{{"plant": "plant_small", "horizon_h": {sent}}}'.encode()
    r = client.post("/v1/schedules", content=body, headers=JSON)
    assert problem(r, 422) == f"body.horizon_h = {shown} is invalid: Input should be a finite number in [1, 72]"
    body = f'{{"from_live": true, "change": {{"kind": "outage", "at_h": {sent}}}}}'.encode()
    r = client.post("/v1/scenarios", content=body, headers=JSON)
    assert problem(r, 422) == (
        f"body.change.0.at_h = {shown} is invalid: "
        "Input should be a finite number, true or false, or text of at most 200 characters"
    )


NOT_TEXT = ["\x00", "\r", "\n", "\t", "\x1b", "\x85", "\u2028", "\u200f", "\u202e", "\u2066"]
TEXT_RULE = "Input should be text without control, line-break or bidirectional-control characters"


def key_body(text: str) -> dict[str, object]:
    return {"name": text, "scopes": ["read"]}


def label_body(text: str) -> dict[str, object]:
    return {"toml": "[scenario]\nhours = 2\n", "label": text}


def change_body(text: str) -> dict[str, object]:
    return {"from_live": True, "change": {"kind": "outage", "potline": text}}


@pytest.mark.parametrize("char", NOT_TEXT)
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/admin/keys", key_body, "name"),
        ("/v1/scenarios", label_body, "label"),
        ("/v1/scenarios", change_body, "change.0.potline"),
    ],
)
def test_control_and_bidi_characters_in_names_are_422_naming_the_code_point(
    client: httpx.Client, path: str, body: Callable[[str], dict[str, object]], field: str, char: str
) -> None:
    """They were kept: CR/LF and U+202E in a key name or a scenario label, and a NUL made PostgreSQL fail the
    write (a 400 naming "store: write")."""
    text = f"shift {char}A"
    r = client.post(path, json=body(text))
    detail = problem(r, 422)
    assert detail == f"body.{field} = {text!r} is invalid: {TEXT_RULE}; found U+{ord(char):04X} at position 6"
    assert char not in r.text  # echoed escaped, never as the character itself
    assert all(k["name"] != text for k in client.get("/v1/admin/keys").json())
    assert client.get("/v1/scenarios").json()["jobs"] == []


def test_plain_text_names_in_any_script_are_kept(client: httpx.Client) -> None:
    r = client.post("/v1/admin/keys", json={"name": "Équipe de nuit — خط 2 — 夜班", "scopes": ["read"]})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "Équipe de nuit — خط 2 — 夜班"


def test_a_nul_in_a_key_name_never_reaches_postgresql() -> None:
    """On PostgreSQL the NUL reached the INSERT, and the answer named the store instead of the field."""
    psycopg = pytest.importorskip("psycopg")
    conninfo = "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
    try:
        psycopg.connect(conninfo).close()
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable ({exc})")
    from tests.api.conftest import LiveServer

    from twin.api import Settings, create_api_key, create_app
    from twin.store.pg import PostgresStore

    schema = "t_" + uuid.uuid4().hex[:12]
    store = PostgresStore(conninfo, schema=schema)
    try:
        key = create_api_key(store, "test-admin", ["admin"])
        with LiveServer(create_app(Settings(), store)) as srv:
            r = httpx.post(
                f"{srv.url}/v1/admin/keys",
                json={"name": "a\x00b", "scopes": ["read"]},
                headers={"X-API-Key": key},
                timeout=10,
            )
        assert problem(r, 422).startswith("body.name = 'a\\x00b' is invalid: Input should be text")
        assert [k.name for k in store.list_api_keys()] == ["test-admin"]
    finally:
        store.close()
        PostgresStore(conninfo, schema=schema).drop_schema()


def test_kpi_names_are_checked_like_tags_before_the_store(client: httpx.Client, many_kpis: list[str]) -> None:
    """A name the store refuses (a NUL) reached it next to a known one, and the 400 named the store."""
    r = client.get("/v1/kpis/potline:7/history", params={**WEEK, "names": [many_kpis[0], "a\x00b"]})
    assert problem(r, 422).startswith("query.names.1 = 'a\\x00b' is invalid: String should match pattern")


def test_a_body_with_thousands_of_errors_gets_a_short_answer(client: httpx.Client) -> None:
    """A 422 lists at most 50 field errors and says how many there were: a body of 90 000 unknown fields got a
    9.3 MB answer listing every one."""
    body = {"toml": "[scenario]\n", **{f"field{k}": k for k in range(5000)}}
    r = client.post("/v1/scenarios", json=body)
    detail = problem(r, 422)
    assert len(r.json()["errors"]) == 50
    assert "errors in all; the first 50 are listed" in detail
    assert len(r.content) < 50_000
