"""Contract: the queries Grafana's Infinity and JSON API data sources send, against a real uvicorn server.

Each case is a URL as the data source builds it (``${__from}``/``${__to}`` as epoch milliseconds, or
``${__from:date:iso}``; the key as a data-source header), a root selector and the columns the panel
declares, as in the data source's query editor. The test reads the answer the way the data source does:
rows under the root, each column present with its declared type (timestamp: ISO-8601 or epoch ms,
number, string). A renamed field or a changed nesting breaks the contract.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from tests.api.modscope import module_client, module_keys, module_plant, module_store  # noqa: F401

from twin.store import EventFrame, Store, TagInfo

TAG = "cell:1-017/cell_voltage_V"
T0 = datetime(2026, 3, 1, tzinfo=UTC)
FROM_MS, TO_MS = 1772323200000, 1772326800000  # ${__from}, ${__to}: 2026-03-01 00:00 to 01:00 UTC
FROM_ISO, TO_ISO = "2026-03-01T00:00:00.000Z", "2026-03-01T01:00:00.000Z"  # ${__from:date:iso}


@pytest.fixture(scope="module")
def plant_history(store: Store) -> None:
    store.register_tags([TagInfo(TAG, "V", "cell voltage")])
    ts = np.datetime64("2026-03-01T00:00:00", "us") + np.arange(0, 3600, 10).astype("timedelta64[s]")
    store.write_points(TAG, ts, 4.2 + 0.01 * np.sin(np.arange(360) / 10))
    for i in range(12):
        store.write_kpis("potline:1", T0 + timedelta(minutes=5 * i), {"line_current_kA": 400.0 + i})
    store.write_event_frames([EventFrame("ae-1", "anode_effect", "cell:1-017", T0, T0 + timedelta(minutes=2))])


def _select(doc: Any, root: str) -> list[dict[str, Any]]:
    """Infinity's root selector: a dotted path ("" = the document itself)."""
    for part in filter(None, root.split(".")):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    assert isinstance(doc, list), f"root {root!r} is not a list of rows"
    return doc


def _check(value: Any, kind: str) -> None:
    if kind == "timestamp":
        if isinstance(value, int):
            assert FROM_MS - 86_400_000 <= value <= TO_MS + 86_400_000
        else:
            assert datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    elif kind == "number":
        assert value is None or (isinstance(value, int | float) and not isinstance(value, bool))
    else:
        assert isinstance(value, str)


INFINITY = [
    # (panel, URL as Infinity sends it, root selector, declared columns)
    (
        "KPI trend",
        f"/v1/kpis/potline:1/history?start={FROM_MS}&end={TO_MS}&names=line_current_kA",
        "rows.line_current_kA",
        {"time": "timestamp", "value": "number", "quality": "string"},
    ),
    (
        "cell voltage, interpolated 1 min",
        f"/v1/streams/interpolated?tags={TAG}&start={FROM_ISO}&end={TO_ISO}&interval_s=60",
        "streams.0.rows",
        {"time": "timestamp", "value": "number", "quality": "string"},
    ),
    (
        "cell voltage, min/max per pixel",
        f"/v1/streams/plot?tags={TAG}&start={FROM_MS}&end={TO_MS}&intervals=300",
        "streams.0.columns",
        {"time": "timestamp", "min": "number", "max": "number"},
    ),
    (
        "cell voltage, raw",
        f"/v1/tags/{TAG}/recorded?start={FROM_MS}&end={TO_MS}&limit=1000",
        "points",
        {"ts": "timestamp", "value": "number", "quality": "string"},
    ),
    (
        "annotations",
        f"/v1/events/annotations?start={FROM_MS}&end={TO_MS}",
        "",
        {"time": "timestamp", "timeEnd": "timestamp", "title": "string", "text": "string"},
    ),
    ("tag browser", "/v1/tags", "", {"tag": "string", "unit": "string", "description": "string"}),
    (
        "summary table",
        f"/v1/streams/summary?tags={TAG}&start={FROM_ISO}&end={TO_ISO}",
        "streams",
        {"tag": "string", "unit": "string", "avg": "number", "percent_good": "number"},
    ),
]


@pytest.mark.parametrize(("panel", "url", "root", "columns"), INFINITY, ids=[c[0] for c in INFINITY])
def test_infinity_json_queries(
    client: httpx.Client, plant_history: None, panel: str, url: str, root: str, columns: dict[str, str]
) -> None:
    r = client.get(url)
    assert r.status_code == 200, f"{panel}: {r.text}"
    rows = _select(r.json(), root)
    assert rows, f"{panel}: no rows under {root!r}"
    for row in rows:
        for column, kind in columns.items():
            assert column in row, f"{panel}: column {column!r} missing"
            _check(row[column], kind)


def test_infinity_csv_query(client: httpx.Client, plant_history: None) -> None:
    url = f"/v1/streams/interpolated?tags={TAG}&start={FROM_MS}&end={TO_MS}&interval_s=300&format=csv"
    rows = list(csv.DictReader(io.StringIO(client.get(url).text)))
    assert len(rows) == 12
    for row in rows:
        _check(row["time"], "timestamp")
        float(row["value"])


def test_json_api_datasource_fields(client: httpx.Client, plant_history: None) -> None:
    """The JSON API data source names fields by JSONPath: $.rows.<name>[*].time and $.units.<name>."""
    body = client.get(f"/v1/kpis/potline:1/history?start={FROM_ISO}&end={TO_ISO}").json()
    times = [row["time"] for row in body["rows"]["line_current_kA"]]  # $.rows.line_current_kA[*].time
    values = [row["value"] for row in body["rows"]["line_current_kA"]]  # $.rows.line_current_kA[*].value
    assert len(times) == len(values) == 12
    assert body["units"]["line_current_kA"] == "kA"  # $.units.line_current_kA, the field's unit
