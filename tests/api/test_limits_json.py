"""The JSON body check (``twin.api.limits``): its digit-run limit at the edges, and which requests it looks at.

The digit check was ``re.search("[0-9]{4301}")``: thousands of steps per byte on runs of 4 300 digits (2.2 s on
the event loop for a 1 MB body of them); it is now one pass over the body (``json_body_problem``'s docstring).
Tests here do not time it; they pin its answers where a run-length scan could go wrong (the first and last byte,
runs one apart, runs next to strings and non-ASCII text). The check also ran on any request labelled JSON, so a
GET ``/v1/health`` with a garbage body, from a client without a key, got a 422 describing that body.
"""

from __future__ import annotations

import httpx
import pytest
from tests.api.conftest import LiveServer

from twin.api.limits import MAX_JSON_DEPTH, MAX_JSON_DIGITS, json_body_problem

TOO_LONG = f"a number of more than {MAX_JSON_DIGITS} digits; expected at most {MAX_JSON_DIGITS} digits"
RUN, OVER = b"9" * MAX_JSON_DIGITS, b"9" * (MAX_JSON_DIGITS + 1)


def check(body: bytes) -> str | None:
    return json_body_problem(body, MAX_JSON_DEPTH, MAX_JSON_DIGITS)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"0",
        RUN,  # the whole body, first byte to last
        b"[" + RUN + b"]",
        b"[" + b",".join([RUN] * 232) + b"]",  # 1 MB of runs at the limit, one comma apart (the audit's body)
        b"[" + RUN + b"." + RUN + b"e" + RUN + b"]",  # a number's parts are counted apart, as before
        b'["' + OVER + b'", ' + RUN + b"]",  # digits inside a string are text
        b'{"\xc3\xa9": ' + RUN + b"}",  # after a multi-byte character
        b"[-" + RUN + b"]",
    ],
)
def test_digit_runs_up_to_the_limit_pass(body: bytes) -> None:
    assert check(body) is None


@pytest.mark.parametrize(
    "body",
    [
        OVER,  # the whole body
        OVER + b"]",  # from the first byte
        b"[" + OVER,  # to the last byte
        b"[" + b",".join([RUN] * 100 + [OVER] + [RUN] * 100) + b"]",  # one among many at the limit
        b"[" + b",".join([RUN] * 232) + b"," + OVER + b"]",  # the last of many
        b'["' + RUN + b'", ' + OVER + b"]",  # after a string of digits
        b'{"\xc3\xa9": ' + OVER + b"}",  # after a multi-byte character
        b"[" + b"1," * 50_000 + OVER + b"]",  # after many short runs
    ],
)
def test_a_digit_run_over_the_limit_is_refused(body: bytes) -> None:
    assert check(body) == TOO_LONG


GARBAGE = {"content": b'{"n": [[[[' + b"9" * 5000 + b"\xff", "headers": {"content-type": "application/json"}}


def test_a_get_body_is_not_checked(server: LiveServer) -> None:
    """No route reads a GET's body: a garbage one, without a key, is ignored rather than described in a 422."""
    r = httpx.request("GET", server.url + "/v1/health", timeout=10, **GARBAGE)
    assert r.status_code == 200, r.text[:300]
    assert r.json()["status"] == "ok"


def test_a_body_outside_v1_is_not_checked(server: LiveServer) -> None:
    """Every route that reads a body is under /v1/ (and behind the key gate); /metrics takes no POST."""
    r = httpx.post(server.url + "/metrics", timeout=10, **GARBAGE)
    assert r.status_code == 405, r.text[:300]


def test_a_post_body_under_v1_is_still_checked(server: LiveServer, client: httpx.Client) -> None:
    r = client.post("/v1/admin/keys", **GARBAGE)
    assert r.status_code == 422, r.text[:300]
    assert r.json()["errors"][0]["type"] == "json_invalid"
