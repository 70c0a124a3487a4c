"""GET /v1/events and /v1/events/annotations through a real uvicorn server, in the shapes Grafana sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tests.api.modscope import module_client, module_keys, module_plant, module_store  # noqa: F401

from twin.store import EventFrame, Store

T0 = datetime(2026, 3, 1, tzinfo=UTC)
DAY = {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"}


@pytest.fixture(scope="module")
def frames(store: Store) -> None:
    store.write_event_frames(
        [
            EventFrame("ae-1", "anode_effect", "cell:1-017", T0, T0 + timedelta(minutes=3), {"peak_V": 31.5}),
            EventFrame(
                "tap-1",
                "tap",
                "cell:1-005",
                T0 + timedelta(hours=1),
                T0 + timedelta(hours=1, minutes=4),
                {"metal_t": 2.1},
            ),
            EventFrame("out-1", "outage", "potline:2", T0 + timedelta(hours=2), None, {"reason": "rectifier trip"}),
        ]
        + [EventFrame(f"alarm-{i}", "alarm", "cell:2-003", T0 + timedelta(hours=3, minutes=i)) for i in range(5)]
    )


def test_events_page_by_kind_and_asset(client: httpx.Client, frames: None) -> None:
    body = client.get("/v1/events", params={**DAY, "asset": "potline:1"}).json()
    assert [e["id"] for e in body["events"]] == ["ae-1", "tap-1"]
    assert body["events"][0] == {
        "id": "ae-1",
        "kind": "anode_effect",
        "asset": "cell:1-017",
        "start": "2026-03-01T00:00:00Z",
        "end": "2026-03-01T00:03:00Z",
        "attributes": {"peak_V": 31.5},
    }
    outages = client.get("/v1/events", params={**DAY, "kind": "outage"}).json()["events"]
    assert outages[0]["end"] is None
    seen, cursor = [], None
    while True:
        page = client.get(
            "/v1/events", params={**DAY, "kind": "alarm", "limit": 2, **({"cursor": cursor} if cursor else {})}
        )
        seen += [e["id"] for e in page.json()["events"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"alarm-{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("params", "status", "needle"),
    [
        ({"kind": "volcano"}, 422, "kind"),
        ({"asset": "cell:one"}, 422, "asset"),
        ({"limit": 1_000_000}, 400, "limit = 1000000"),
        ({"cursor": "bm9wZQ"}, 400, "cursor"),
    ],
)
def test_bad_event_queries_are_clear_4xx(client: httpx.Client, params: dict, status: int, needle: str) -> None:
    r = client.get("/v1/events", params={**DAY, **params})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert needle in r.text


def test_grafana_annotation_shape(client: httpx.Client, frames: None) -> None:
    # Grafana's Infinity data source substitutes ${__from} and ${__to} as epoch milliseconds in the URL
    url = "/v1/events/annotations?start=1772323200000&end=1772409600000&kind=anode_effect&kind=outage"
    rows = client.get(url).json()
    assert rows[0] == {
        "time": 1772323200000,  # 2026-03-01T00:00:00Z
        "timeEnd": 1772323380000,  # + 3 min
        "title": "anode effect · cell:1-017",
        "text": "peak_V = 31.5",
        "tags": ["anode_effect", "cell:1-017"],
    }
    assert rows[1]["tags"] == ["outage", "potline:2"]
    assert rows[1]["text"].endswith("(still open)")
