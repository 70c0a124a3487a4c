"""Our small adapter over asyncua (OPC UA client): a pot controller read through one subscription.

asyncua is used only here and in :mod:`twin_edge.simplc.opcua_server` (like pymodbus behind
:mod:`twin_edge.modbus`). Each monitored value has an absolute deadband (the tag's ``deadband``, in engineering
units): the server reports a change only when it moved more than that (OPC UA Part 4, DataChangeFilter), so the
gateway receives what it would publish. :meth:`OpcUaPlc.read` returns the latest value of every tag, or raises
:class:`~twin_edge.modbus.PlcUnavailable` when the server cannot be reached, refuses the login or went away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from twin_edge.modbus import PlcUnavailable
from twin_edge.sparkplug import DataType

logger = logging.getLogger(__name__)
APPLICATION_URI = "urn:smelter-twin:twin-edge"
# The OPC UA variant a written value travels as, by the tag's Sparkplug datatype.
_VARIANTS = {
    DataType.FLOAT: ua.VariantType.Float,
    DataType.DOUBLE: ua.VariantType.Double,
    DataType.BOOLEAN: ua.VariantType.Boolean,
    DataType.INT8: ua.VariantType.SByte,
    DataType.INT16: ua.VariantType.Int16,
    DataType.INT32: ua.VariantType.Int32,
    DataType.INT64: ua.VariantType.Int64,
    DataType.UINT8: ua.VariantType.Byte,
    DataType.UINT16: ua.VariantType.UInt16,
    DataType.UINT32: ua.VariantType.UInt32,
    DataType.UINT64: ua.VariantType.UInt64,
}

# What a server answers when it does not support a deadband filter on a node (OPC UA Part 4 §5.12.2, §7.22.2).
_FILTER_REFUSED = frozenset({
    ua.StatusCodes.BadMonitoredItemFilterUnsupported,
    ua.StatusCodes.BadFilterNotAllowed,
    ua.StatusCodes.BadDeadbandFilterInvalid,
    ua.StatusCodes.BadMonitoredItemFilterInvalid,
})


@dataclass(frozen=True, slots=True)
class OpcUaSecurity:
    """Basic256Sha256 with a client certificate (``mode`` Sign or SignAndEncrypt) and a user name login."""

    client_cert: Path
    client_key: Path
    server_cert: Path | None = None  # pin the server's certificate (recommended)
    mode: str = "SignAndEncrypt"
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        secret = "***" if self.password else None
        return f"OpcUaSecurity(mode={self.mode!r}, username={self.username!r}, password={secret!r})"


@dataclass(frozen=True, slots=True)
class MonitoredTag:
    metric: str
    node_id: str
    deadband: float  # absolute, engineering units; 0 = every change
    numeric: bool = True  # Booleans cannot take an absolute deadband


class _Handler:
    def __init__(self, plc: OpcUaPlc) -> None:
        self._plc = plc

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self._plc._on_change(data.subscription_data.server_handle, val)

    def status_change_notification(self, status: Any) -> None:
        self._plc._lost = True


class OpcUaPlc:
    def __init__(
        self,
        endpoint: str,
        tags: list[MonitoredTag],
        *,
        security: OpcUaSecurity | None,
        timeout_s: float,
        publish_interval_ms: float = 100.0,
    ) -> None:
        self.endpoint = endpoint
        self._tags = tags
        self._by_handle: dict[int, str] = {}  # monitored item (server handle) -> metric
        self._early: dict[int, Any] = {}  # values notified before their handle was known
        self._security = security
        self._timeout_s = timeout_s
        self._publish_ms = publish_interval_ms
        self._client: Client | None = None
        self._values: dict[str, Any] = {}
        self._lost = False
        self.notifications: Counter[str] = Counter()  # change notifications received per metric
        self._told_unfiltered = False  # the server's refusal of a deadband filter is logged once per PLC

    def _on_change(self, handle: int, value: Any) -> None:
        metric = self._by_handle.get(handle)
        if metric is None:
            self._early[handle] = value
            return
        self._values[metric] = value
        self.notifications[metric] += 1

    async def read(self) -> dict[str, Any]:
        """Latest value of every tag (connecting and subscribing first if needed)."""
        client = self._client
        if client is None or self._lost or client.uaclient.state is not UaClientState.CONNECTED:
            await self.close()
            await self._connect()
        if len(self._values) < len(self._tags):  # initial values come with the first publish response
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_values(), self._timeout_s * 4)
            if len(self._values) < len(self._tags):
                missing = sorted({t.metric for t in self._tags} - set(self._values))
                await self.close()
                raise PlcUnavailable(f"{self.endpoint}: no value for {', '.join(missing[:5])}")
        return dict(self._values)

    async def write(self, node_id: str, value: float, datatype: DataType) -> Any:
        """Write ``value`` (raw, the server's units) to ``node_id`` (OPC UA Part 4 §5.10.4 Write) and read it
        back; raise :class:`PlcUnavailable` when the server refuses (e.g. BadUserAccessDenied) or cannot answer."""
        variant = _VARIANTS.get(datatype)
        if variant is None:
            raise PlcUnavailable(f"{self.endpoint}: cannot write a {datatype.spec_name} over OPC UA")
        wire: Any = bool(value) if variant is ua.VariantType.Boolean else value
        if variant not in (ua.VariantType.Float, ua.VariantType.Double, ua.VariantType.Boolean):
            wire = round(value)
        client = self._client
        if client is None or self._lost or client.uaclient.state is not UaClientState.CONNECTED:
            await self.close()
            await self._connect()
            client = self._client
        assert client is not None  # _connect sets it or raises
        node = client.get_node(node_id)
        try:
            await asyncio.wait_for(node.write_value(ua.DataValue(ua.Variant(wire, variant))), self._timeout_s * 4)
            return await asyncio.wait_for(node.read_value(), self._timeout_s * 4)
        except Exception as exc:  # asyncua raises ua.UaStatusCodeError, TimeoutError, ...
            raise PlcUnavailable(f"{self.endpoint}: writing {node_id}: {type(exc).__name__}: {exc}") from None

    async def _all_values(self) -> None:
        while len(self._values) < len(self._tags):
            await asyncio.sleep(self._publish_ms / 2000)

    async def _connect(self) -> None:
        client = Client(self.endpoint, timeout=self._timeout_s * 4, watchdog_intervall=max(self._timeout_s, 0.5))
        client.application_uri = APPLICATION_URI
        sec = self._security
        self._values.clear()
        self._by_handle.clear()
        self._early.clear()
        self._lost = False
        try:
            if sec is not None:
                if sec.username is not None:
                    client.set_user(sec.username)
                    client.set_password(sec.password or "")
                mode = ua.MessageSecurityMode.Sign if sec.mode == "Sign" else ua.MessageSecurityMode.SignAndEncrypt
                await client.set_security(
                    SecurityPolicyBasic256Sha256,
                    certificate=str(sec.client_cert),
                    private_key=str(sec.client_key),
                    server_certificate=str(sec.server_cert) if sec.server_cert else None,
                    mode=mode,
                )
            await asyncio.wait_for(client.connect(), self._timeout_s * 8)
            client.connection_lost_callback = self._connection_lost
            self._client = client
            subscription = await client.create_subscription(self._publish_ms, _Handler(self))
            for tag in self._tags:
                node = client.get_node(tag.node_id)
                handle = await self._monitor(subscription, node, tag)
                if not isinstance(handle, int):
                    raise PlcUnavailable(f"{self.endpoint}: cannot monitor {tag.node_id}: {handle}")
                self._by_handle[handle] = tag.metric
                if handle in self._early:
                    self._on_change(handle, self._early.pop(handle))
        except Exception as exc:  # asyncua raises many kinds (ua.UaError, OSError, TimeoutError, ...)
            await self.close(client)
            raise PlcUnavailable(f"{self.endpoint}: {type(exc).__name__}: {exc}") from None

    async def _monitor(self, subscription: Any, node: Any, tag: MonitoredTag) -> Any:
        """Monitor ``node`` with the tag's absolute deadband, or for every change where the server supports no
        deadband filter (Part 4 §5.12.2: Bad_MonitoredItemFilterUnsupported, Bad_FilterNotAllowed, ...; §7.22.2
        makes the deadband optional). The gateway's report by exception applies the same deadband before it
        publishes, so only the traffic from the server grows, never what the gateway publishes."""
        if not (tag.numeric and tag.deadband > 0):
            return await subscription.subscribe_data_change(node)
        try:
            return await subscription.deadband_monitor(node, tag.deadband)
        except ua.UaStatusCodeError as exc:
            if exc.code not in _FILTER_REFUSED:
                raise
            if not self._told_unfiltered:  # a server that refuses one node usually refuses them all
                self._told_unfiltered = True
                logger.warning(
                    "%s: the server refuses a deadband filter on %s (%s); monitoring every change of such nodes "
                    "instead (the gateway's report by exception still applies the deadband)",
                    self.endpoint, tag.node_id, ua.StatusCode(exc.code).name,
                )
            return await subscription.subscribe_data_change(node)

    async def _connection_lost(self, exc: Exception) -> None:
        self._lost = True
        logger.warning("%s: OPC UA connection lost: %s", self.endpoint, exc)

    async def close(self, client: Client | None = None) -> None:
        client = client or self._client
        self._client = None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), self._timeout_s * 2)
