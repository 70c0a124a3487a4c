"""One rendering per snapshot, shared by every poller and SSE client (issue 9 item 10).

Each view of the live snapshot (all KPIs, one scope, the power balance, a potline's cells …) is built,
serialised to JSON and hashed for its ETag once per snapshot object, then served as the same bytes to
every request and every SSE client until the provider hands out a new snapshot. Providers return the same
object until their state changes (``twin.live.LiveTwin`` does; see :mod:`twin.api.live`), so the cache is
keyed by the snapshot's identity: no hashing of the snapshot itself per request.

A blocking provider (``snapshot_blocks = True``, e.g. :class:`twin.api.live.StoreLive`) builds a new
object on each call; :class:`SnapshotSource` fetches it at most once per ``refresh_s`` for everyone.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import time
from collections.abc import Callable, Hashable, Mapping
from datetime import datetime
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder

from twin.api.caching import iso_z, json_safe, respond

Snapshot = Mapping[str, Any]
GZIP_LEVEL = 5
GZIP_MIN_BYTES = 1400  # below about one packet, compressing gains nothing


class Rendered:
    """A view serialised once: the JSON body, its strong ETag, and (made on first demand, then shared) its
    gzip encoding with its own ETag, for clients that send ``Accept-Encoding: gzip``."""

    __slots__ = ("_gzip", "body", "etag")

    def __init__(self, body: bytes, etag: str) -> None:
        self.body, self.etag = body, etag
        self._gzip: bytes | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    @property
    def gzip(self) -> bytes:
        if self._gzip is None:
            self._gzip = gzip.compress(self.body, compresslevel=GZIP_LEVEL, mtime=0)
        return self._gzip

    @property
    def gzip_etag(self) -> str:
        return self.etag[:-1] + '-gz"'


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    return jsonable_encoder(value, custom_encoder={datetime: iso_z})


def _dumps(data: Any) -> bytes:
    return json.dumps(data, default=_default, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def render(payload: Any) -> Rendered:
    """``payload`` as compact JSON (the C encoder; ~10x faster than ``jsonable_encoder``) with its ETag."""
    try:
        body = _dumps(payload)
    except ValueError:  # NaN or infinity from a provider
        body = _dumps(json_safe(jsonable_encoder(payload, custom_encoder={datetime: iso_z})))
    return Rendered(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


class SnapshotCache:
    """Rendered views of the latest snapshot object (call on the event loop only)."""

    def __init__(self, max_views: int = 512) -> None:
        self.max_views = max_views
        self._snap: Snapshot | None = None
        self._views: dict[Hashable, Rendered] = {}
        self.renders = 0

    def view(self, snap: Snapshot, key: Hashable, build: Callable[[Snapshot], Any]) -> Rendered:
        """The view ``key`` of ``snap``, built by ``build(snap)`` the first time (errors are not cached)."""
        if snap is not self._snap:
            self._snap, self._views = snap, {}
        hit = self._views.get(key)
        if hit is None:
            hit = render(build(snap))
            self.renders += 1
            if len(self._views) < self.max_views:  # client-chosen keys (alarm filters …) cannot grow it
                self._views[key] = hit
        return hit


class SnapshotSource:
    """The provider's snapshot: called directly when it is cheap; when it blocks, fetched on a worker
    thread at most once per ``refresh_s`` and shared by every request waiting for it."""

    def __init__(self, provider: Any, refresh_s: float = 0.5) -> None:
        self.provider = provider
        self.blocks = bool(getattr(provider, "snapshot_blocks", False))
        self.refresh_s = refresh_s
        self._last: tuple[float, Snapshot] | None = None
        self._pending: asyncio.Future[Snapshot] | None = None

    async def get(self) -> Snapshot:
        if not self.blocks:
            return self.provider.snapshot()
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < self.refresh_s:
            return self._last[1]
        if self._pending is None:
            self._pending = asyncio.ensure_future(run_in_threadpool(self.provider.snapshot))
            pending = self._pending
            try:
                snap = await pending
                self._last = (time.monotonic(), snap)
            finally:
                self._pending = None
            return snap
        return await asyncio.shield(self._pending)


def cached_view(
    request: Request, snap: Snapshot, key: Hashable, build: Callable[[Snapshot], Any], cache_control: str
) -> Response:
    """The view ``key`` of ``snap`` from the app's shared cache, with ETag/304, gzip-encoded (once per
    rendering) for clients that accept it when the body is large enough to gain from it."""
    rendered = request.app.state.views.view(snap, key, build)
    if len(rendered.body) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        response = respond(request, rendered.gzip, rendered.gzip_etag, cache_control)
        if response.status_code == 200:
            response.headers["Content-Encoding"] = "gzip"
    else:
        response = respond(request, rendered.body, rendered.etag, cache_control)
    response.headers["Vary"] = "Accept-Encoding"
    return response
