"""Handle-style identifiers of the plant's assets: ``PREFIX/asset-id`` resolved to a Handle value list.

The identifier follows the Handle System's name syntax (RFC 3651 §2: ``<naming authority> "/" <local name>``):
the naming authority is the enterprise prefix of the service settings (``handle_prefix``, e.g. ``88.999.1``,
the form of the industrial-internet identifier nodes that run on the Handle System), the local name is
the asset id (``cell:1-017``, ``potline:1``, ``unit:G1``, ``grid:tie``,
``rectifier:1-R1``...). A resolution answers like a Handle server:
a list of handle values, each with index, type, data, TTL and timestamp (RFC 3651, data model), and the
protocol's response code (RFC 3652; 1 = success), in the JSON shape of the Handle.Net proxy's REST
interface: value 1 is the asset's URL on this API, value 2 its metadata; power-side assets (units, the grid
tie, rectifier units) add value 3, ``TWIN.LIVE``: their live values with unit and time, or null and the
reason (TTL 0: not to be cached; timestamp: the live values' time). Prefixes are compared ASCII
case-insensitively, local names case-sensitively (RFC 3651, namespace).

A handle under another prefix is not guessed at: the answer is a 404 problem that names the prefix, the
one this service is responsible for, and refers the client to the Global Handle Registry (RFC 3650: the
GHR knows which local handle service is responsible for each prefix) through the public proxy
``hdl.handle.net``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request

from twin.api import views
from twin.api.deps import ReadKey, SettingsDep, SnapshotDep
from twin.api.problems import Problem, responses
from twin.api.schemas import HandleList, HandleRecord

router = APIRouter(prefix="/v1/id", tags=["identifiers"])
GHR_PROXY = "https://hdl.handle.net/"
TTL_S = 86_400  # how long a resolver may cache the values (RFC 3651, handle value TTL)
RC_SUCCESS = 1  # RFC 3652, response code RC_SUCCESS
IdPath = Annotated[
    str,
    Path(
        max_length=200,
        pattern=r"^[\x21-\x7e]{1,200}$",
        description="PREFIX/asset-id, e.g. 88.999.1/cell:1-017",
        examples=["88.999.1/cell:1-017"],
    ),
]


def handle_of(prefix: str, asset_id: str) -> str:
    """The asset's identifier under ``prefix``."""
    return f"{prefix}/{asset_id}"


@router.get(
    "",
    response_model=HandleList,
    responses=responses(401, 403),
    summary="The enterprise prefix and the identifier of every asset",
)
async def list_ids(_: ReadKey, snap: SnapshotDep, settings: SettingsDep) -> HandleList:
    ids = [handle_of(settings.handle_prefix, a["id"]) for a in views.assets(snap, None)]
    return HandleList(prefix=settings.handle_prefix, identifiers=ids)


@router.get(
    "/{identifier:path}",
    response_model=HandleRecord,
    responses=responses(400, 401, 403, 404),
    summary="Resolve an identifier to its Handle value list (index, type, data, timestamp) and asset link",
)
async def resolve(
    identifier: IdPath, request: Request, _: ReadKey, snap: SnapshotDep, settings: SettingsDep
) -> HandleRecord:
    prefix, sep, local = identifier.partition("/")
    if not sep or not prefix or not local:
        raise Problem(
            400,
            "Bad request",
            f"identifier = {identifier!r} is invalid; expected PREFIX/asset-id, "
            f"e.g. {settings.handle_prefix}/potline:1",
        )
    if prefix.lower() != settings.handle_prefix.lower():
        raise Problem(
            404,
            "Not found",
            f"prefix {prefix!r} is not served here (this service resolves {settings.handle_prefix!r}); "
            f"resolve it through the Global Handle Registry: {GHR_PROXY}{quote(identifier, safe='/:')}",
            headers={"Link": f'<{GHR_PROXY}{quote(identifier, safe="/:")}>; rel="alternate"'},
        )
    asset = next((a for a in views.assets(snap, None) if a["id"] == local), None)
    if asset is None:
        raise Problem(
            404,
            "Not found",
            f"identifier {identifier!r}: asset {local!r} is unknown under {settings.handle_prefix!r}; "
            "list identifiers with GET /v1/id",
        )
    # Behind a proxy, or against a client that sends another Host, the configured address: a Handle record is
    # cached for TTL_S by resolvers, so a URL built from a client's Host header would serve its choice to others.
    url = str(request.url_for("asset", asset_id=local))
    if settings.public_url:
        url = settings.public_url + request.app.url_path_for("asset", asset_id=local)
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    meta: dict[str, Any] = {k: asset[k] for k in ("id", "kind", "name", "parent") if asset.get(k) is not None}
    values = [
        {"index": 1, "type": "URL", "data": {"format": "string", "value": url}, "ttl": TTL_S, "timestamp": now},
        {
            "index": 2,
            "type": "TWIN.ASSET",
            "data": {"format": "string", "value": json.dumps(meta, sort_keys=True)},
            "ttl": TTL_S,
            "timestamp": now,
        },
    ]
    if "live" in asset:  # power-side assets: their live values, or null and why (twin.service.power_assets)
        live = {"live": asset["live"], "live_reason": asset.get("live_reason")}
        times = [v["time"] for v in (asset["live"] or {}).values() if isinstance(v, dict) and "time" in v]
        values.append({"index": 3, "type": "TWIN.LIVE", "data": {"format": "string", "value": json.dumps(live)},
                       "ttl": 0, "timestamp": max(times, default=now)})
    return HandleRecord(
        responseCode=RC_SUCCESS, handle=handle_of(settings.handle_prefix, local), asset=url, values=values
    )
