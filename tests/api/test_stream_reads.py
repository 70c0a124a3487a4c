"""PI-style reads through a real uvicorn server: interpolated, plot and summary, several tags at once."""

from __future__ import annotations

import csv
import io

import httpx
import numpy as np
import pytest
from tests.api.modscope import module_client, module_keys, module_plant, module_store  # noqa: F401

from twin.store import Store, TagInfo

RAMP = "cell:1-001/voltage_V"  # 4.0 V + 0.001 V/s, a sample every 10 s: straight line, known everywhere
SPIKY = "cell:1-002/voltage_V"  # 4.2 V flat with one 9 V spike at 10:00:35
T0 = np.datetime64("2026-03-01T10:00:00", "us")
HOUR = {"start": "2026-03-01T10:00:00Z", "end": "2026-03-01T11:00:00Z"}


@pytest.fixture(scope="module")
def samples(store: Store) -> None:
    store.register_tags([TagInfo(RAMP, "V", "cell voltage"), TagInfo(SPIKY, "V", "cell voltage")])
    secs = np.arange(0, 3600, 10)
    store.write_points(RAMP, T0 + secs.astype("timedelta64[s]"), 4.0 + 0.001 * secs)
    # the sample at 30 min replaced by a bad one: held for 10 s of the hour
    store.write_points(RAMP, [T0 + np.timedelta64(1800, "s")], [float("nan")], "bad")
    ts = T0 + np.arange(0, 3600, 5).astype("timedelta64[s]")
    vals = np.full(len(ts), 4.2)
    vals[7] = 9.0
    store.write_points(SPIKY, ts, vals)


def test_interpolated_lies_on_the_line_between_samples(client: httpx.Client, samples: None) -> None:
    r = client.get("/v1/streams/interpolated", params={**HOUR, "tags": [RAMP, SPIKY], "interval_s": 25})
    assert r.status_code == 200, r.text
    streams = {s["tag"]: s for s in r.json()["streams"]}
    ramp = streams[RAMP]
    assert ramp["unit"] == "V"
    assert len(ramp["rows"]) == 144  # 3600 s / 25 s
    # 10:00:25 lies between the samples at 20 s and 30 s: 4.0 + 0.001 × 25
    assert ramp["rows"][1] == {"time": "2026-03-01T10:00:25.000Z", "value": pytest.approx(4.025), "quality": "good"}
    # 10:30:00 is the bad sample: interpolated across it from 1790 s and 1810 s, on the same line
    assert ramp["rows"][72]["value"] == pytest.approx(4.0 + 0.001 * 1800)
    assert ramp["rows"][-1]["time"] == "2026-03-01T10:59:35.000Z"
    assert ramp["rows"][-1]["value"] == pytest.approx(4.0 + 0.001 * 3575)
    # after the last sample (3590 s) there is no right-hand neighbour: no value
    late = client.get("/v1/streams/interpolated", params={**HOUR, "tags": [RAMP], "interval_s": 3595}).json()
    assert late["streams"][0]["rows"][1] == {"time": "2026-03-01T10:59:55.000Z", "value": None, "quality": "bad"}


def test_interpolated_as_csv(client: httpx.Client, samples: None) -> None:
    params = {**HOUR, "tags": [RAMP], "interval_s": 600, "format": "csv"}
    r = client.get("/v1/streams/interpolated", params=params)
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["time"] for row in rows][:2] == ["2026-03-01T10:00:00.000Z", "2026-03-01T10:10:00.000Z"]
    assert float(rows[1]["value"]) == pytest.approx(4.6)
    assert rows[1]["unit"] == "V"


def test_plot_keeps_the_spike_a_thinned_series_would_drop(client: httpx.Client, samples: None) -> None:
    body = client.get("/v1/streams/plot", params={**HOUR, "tags": [SPIKY], "intervals": 60}).json()
    cols = body["streams"][0]["columns"]
    assert len(cols) == 60
    assert cols[0]["max"] == 9.0  # the spike at 35 s is in the first column
    assert cols[0]["min"] == 4.2
    assert max(c["max"] for c in cols[1:]) == 4.2


def test_summary_percent_good_and_time_weighted_average(client: httpx.Client, samples: None) -> None:
    body = client.get("/v1/streams/summary", params={**HOUR, "tags": [RAMP, SPIKY]}).json()
    ramp, spiky = body["streams"]
    # 360 samples, the one at 30 min replaced by a bad one that holds 10 s of the 3600 s covered
    assert ramp["count"] == 359
    assert ramp["percent_good"] == pytest.approx(100.0 * 3590 / 3600)
    assert ramp["min"] == pytest.approx(4.0)
    assert ramp["max"] == pytest.approx(4.0 + 0.001 * 3590)
    # spiky: the 9 V sample holds 5 s of 3600 s, the rest 4.2 V
    assert spiky["twa"] == pytest.approx((9.0 * 5 + 4.2 * 3595) / 3600)
    assert spiky["percent_good"] == 100.0


@pytest.mark.parametrize(
    ("path", "params", "status", "needle"),
    [
        ("interpolated", {"tags": [RAMP], "interval_s": 0.01}, 400, "max_buckets"),
        ("interpolated", {"tags": [RAMP], "interval_s": -1}, 422, "interval_s"),
        ("interpolated", {"tags": ["cell:9-999/voltage_V"], "interval_s": 60}, 404, "cell:9-999/voltage_V"),
        ("plot", {"tags": [RAMP], "intervals": 50_000}, 400, "intervals = 50000"),
        ("summary", {"tags": [f"cell:1-{i:03d}/voltage_V" for i in range(51)]}, 422, "tags"),
        ("summary", {}, 422, "tags"),
    ],
)
def test_bad_stream_reads_are_clear_4xx(
    client: httpx.Client, samples: None, path: str, params: dict, status: int, needle: str
) -> None:
    r = client.get(f"/v1/streams/{path}", params={**HOUR, **params})
    assert r.status_code == status, r.text
    assert needle in r.text


def test_unknown_tag_is_404_with_the_closest_known_ones(client: httpx.Client, samples: None) -> None:
    r = client.get("/v1/streams/summary", params={**HOUR, "tags": "cell:1-001/voltage_v"})
    assert r.status_code == 404
    assert f"did you mean {RAMP}" in r.json()["detail"]


def test_dense_raw_range_is_refused_not_read_whole(store: Store, samples: None) -> None:
    from tests.api.conftest import LiveServer

    from twin.api import Settings, create_app

    app = create_app(Settings(open_access=True, max_page=100), store)
    with LiveServer(app) as srv:
        r = httpx.get(srv.url + "/v1/streams/summary", params={**HOUR, "tags": [RAMP]})
    assert r.status_code == 400
    assert "more than max_page = 100 samples" in r.json()["detail"]


def test_every_signal_is_a_tag_with_unit_and_where_to_read_it(client: httpx.Client, samples: None) -> None:
    tags = {t["tag"]: t for t in client.get("/v1/tags").json()}
    assert tags[RAMP] == {
        "tag": RAMP,
        "unit": "V",
        "description": "cell voltage",
        "source": "stored",
        "read": f"/v1/tags/{RAMP}",
    }
    kpi = tags["kpi:potline:1/line_current_kA"]  # a live KPI of the synthetic plant
    assert (kpi["unit"], kpi["source"]) == ("kA", "kpi")
    assert client.get(kpi["read"], params=HOUR).status_code == 200  # the read link works
    assert tags["live:cell:1-017/alumina_wtpct"]["unit"] == "wt%"  # the twin's estimate, not only telemetry
    assert tags["live:unit:G1/power_MW"]["unit"] == "MW"
    assert tags["live:potline:1/power_MW"]["read"] == "/v1/power"
    only_kpis = client.get("/v1/tags", params={"source": "kpi"}).json()
    assert only_kpis
    assert {t["source"] for t in only_kpis} == {"kpi"}
