"""One rendering per snapshot, shared by every poller and SSE client (issue 9 item 10).

The service counts its renderings (serialise + ETag) on ``/metrics``; pollers and SSE clients of an
unchanged snapshot must not add to it, and every one of them gets the same bytes.
"""

from __future__ import annotations

import concurrent.futures

import httpx
from tests.api.conftest import LiveServer
from tests.api.plantstate import SyntheticPlant


def renders(url: str) -> int:
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith("twin_api_snapshot_renders_total "):
            return int(line.split()[1])
    raise AssertionError("twin_api_snapshot_renders_total missing from /metrics")


def first_event(url: str, key: str) -> str:
    with httpx.stream("GET", url + "/v1/stream/kpis", params={"max_events": 1}, headers={"X-API-Key": key}) as r:
        return next(line[5:].strip() for line in r.iter_lines() if line.startswith("data:"))


def test_pollers_and_sse_clients_share_one_rendering(server: LiveServer, client: httpx.Client, keys,
                                                     plant: SyntheticPlant) -> None:
    first = client.get("/v1/kpis")
    etag = first.headers["etag"]
    base = renders(server.url)
    for _ in range(20):
        r = client.get("/v1/kpis")
        assert r.content == first.content
        assert r.headers["etag"] == etag
        assert client.get("/v1/kpis", headers={"If-None-Match": etag}).status_code == 304
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        events = list(pool.map(lambda _: first_event(server.url, keys.read), range(8)))
    assert events == [first.text] * 8  # SSE sends the very bytes /v1/kpis serves
    assert renders(server.url) == base

    plant.advance()
    changed = client.get("/v1/kpis")
    assert changed.headers["etag"] != etag
    for _ in range(5):
        client.get("/v1/kpis")
    assert renders(server.url) == base + 1


def test_each_view_is_rendered_once_per_snapshot(server: LiveServer, client: httpx.Client,
                                                 plant: SyntheticPlant) -> None:
    paths = ["/v1/power", "/v1/potlines/1/cells", "/v1/alarms?state=active", "/v1/assets", "/v1/kpis/plant",
             "/v1/assets/cell:1-017"]
    plant.advance()
    for path in paths:
        assert client.get(path).status_code == 200
    base = renders(server.url)
    for _ in range(3):
        for path in paths:
            client.get(path)
    assert renders(server.url) == base
    assert client.get("/v1/kpis/unit:G9").status_code == 404  # errors are answered, never cached
    assert client.get("/v1/kpis/unit:G9").status_code == 404


def test_large_views_are_gzipped_once_with_their_own_etag(server: LiveServer, keys) -> None:
    import gzip

    headers = {"X-API-Key": keys.read}
    with httpx.Client(base_url=server.url, headers=headers) as c:
        plain = c.get("/v1/potlines/1/cells", headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.headers["vary"] == "Accept-Encoding"
        base = renders(server.url)
        with c.stream("GET", "/v1/potlines/1/cells", headers={"Accept-Encoding": "gzip"}) as r:
            raw = b"".join(r.iter_raw())
            assert r.headers["content-encoding"] == "gzip"
            etag = r.headers["etag"]
        assert gzip.decompress(raw) == plain.content
        assert len(raw) < len(plain.content) / 3
        assert etag == plain.headers["etag"][:-1] + '-gz"'  # a strong ETag per representation
        again = c.get("/v1/potlines/1/cells", headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
        assert again.status_code == 304
        assert renders(server.url) == base
