"""The simulated pot controllers served over OPC UA as well (one server for a bank of PLCs).

Security as a plant would set it: the only endpoint is Basic256Sha256 with SignAndEncrypt, the only login is a
user name and password (no anonymous sessions), and every process variable is read-only for clients (a write
gets BadUserAccessDenied). The setpoints (``SETPOINT_LAYOUT``) are writable variables backed by the same
setpoint registers as the Modbus server (:meth:`SimulatedPlcs.write_setpoint`); a PLC that ignores writes
answers a setpoint write with a bad status. Address space:
``Objects/pot_<NNN>/<signal>`` with string node ids ``ns=2;s=pot_<NNN>.<signal>`` (engineering values: the
same as the Modbus registers after scaling, updated from the bank every ``update_period_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import SimpleRoleRuleset, User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

from twin_edge.simplc.layout import POT_LAYOUT, SETPOINT_LAYOUT, device_id
from twin_edge.simplc.plcs import SimulatedPlcs

logger = logging.getLogger(__name__)
NAMESPACE = "urn:smelter-twin:simplc"
SERVER_URI = "urn:smelter-twin:simplc:server"
_VARIANT = {
    "Float": ua.VariantType.Float,
    "UInt32": ua.VariantType.UInt32,
    "UInt16": ua.VariantType.UInt16,
    "Boolean": ua.VariantType.Boolean,
}


def node_id(pot_index: int, signal: str) -> str:
    """The node id of a signal, as a gateway tag map writes it."""
    return f"ns=2;s={device_id(pot_index)}.{signal}"


class _Users(UserManager):
    def __init__(self, users: dict[str, str]) -> None:
        self._users = users

    def get_user(
        self, iserver: Any, username: str | None = None, password: str | None = None, certificate: Any = None
    ) -> User | None:
        if username is not None and self._users.get(username) == password:
            return User(role=UserRole.User)
        return None  # anonymous and wrong logins are refused


async def make_certificate(directory: Path, name: str, *, uri: str, server: bool) -> tuple[Path, Path]:
    """A self-signed OPC UA application certificate (DER) and key (PEM) in ``directory`` (made once)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.der", directory / f"{name}.pem"
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    await setup_self_signed_certificate(key, cert, uri, "localhost", [usage], {"commonName": name})
    return cert, key


class SimulatedOpcUaServer:
    """Serves ``plcs`` (a running :class:`SimulatedPlcs`) at ``opc.tcp://host:port/twin/``; ``async with``."""

    def __init__(
        self,
        plcs: SimulatedPlcs,
        *,
        port: int,
        users: dict[str, str],
        cert_dir: Path,
        host: str = "127.0.0.1",
        update_period_s: float = 0.1,
    ) -> None:
        if not users:
            raise ValueError("users is empty; the OPC UA server accepts user name logins only")
        self.plcs = plcs
        self.endpoint = f"opc.tcp://{host}:{port}/twin/"
        self._users = users
        self._cert_dir = cert_dir
        self._update_period_s = update_period_s
        self._server: Server | None = None
        self._nodes: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None
        self.server_cert: Path | None = None

    async def __aenter__(self) -> SimulatedOpcUaServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        server = Server(user_manager=_Users(self._users))
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("Smelter Twin simulated pot controllers")
        await server.set_application_uri(SERVER_URI)
        server.set_security_policy(
            [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt], permission_ruleset=SimpleRoleRuleset()
        )
        server.set_identity_tokens([ua.UserNameIdentityToken])
        cert, key = await make_certificate(self._cert_dir, "simplc-server", uri=SERVER_URI, server=True)
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        self.server_cert = cert
        idx = await server.register_namespace(NAMESPACE)
        if idx != 2:
            raise RuntimeError(f"OPC UA namespace index {idx}, expected 2")
        for i in range(self.plcs.pots):
            obj = await server.nodes.objects.add_object(ua.NodeId(device_id(i), idx), f"{idx}:{device_id(i)}")
            nodes = {}
            for signal in POT_LAYOUT:
                variant = _VARIANT[signal.datatype]
                initial = (
                    False if variant is ua.VariantType.Boolean else (0 if variant is ua.VariantType.UInt32 else 0.0)
                )
                nodes[signal.name] = await obj.add_variable(
                    ua.NodeId(f"{device_id(i)}.{signal.name}", idx),
                    f"{idx}:{signal.name}",
                    initial,
                    varianttype=variant,
                )
            for signal in SETPOINT_LAYOUT:
                variant = _VARIANT[signal.datatype]
                node = await obj.add_variable(
                    ua.NodeId(f"{device_id(i)}.{signal.name}", idx),
                    f"{idx}:{signal.name}",
                    self._setpoint_value(i, signal.name, variant),
                    varianttype=variant,
                )
                await node.set_writable()
                server.set_attribute_value_setter(node.nodeid, self._setter(i, signal.name, variant))
            self._nodes.append(nodes)
        await server.start()
        self._server = server
        await self._update()
        self._task = asyncio.create_task(self._update_loop(), name="simplc-opcua-update")
        logger.info("simulated PLCs on OPC UA at %s", self.endpoint)

    def _setpoint_value(self, i: int, name: str, variant: ua.VariantType) -> Any:
        value = self.plcs.setpoint(i, name)
        return value if variant is ua.VariantType.Float else round(value)

    def _setter(self, i: int, name: str, variant: ua.VariantType) -> Any:
        """The write hook of one setpoint variable: the value goes into the PLC's setpoint register."""

        def setter(node: Any, attr: Any, value: ua.DataValue) -> None:
            written = value.Value.Value if value.Value is not None else None
            if isinstance(written, bool) or not isinstance(written, int | float):
                raise ua.UaStatusCodeError(ua.StatusCodes.BadTypeMismatch)
            if not self.plcs.write_setpoint(i, name, float(written)):
                raise ua.UaStatusCodeError(ua.StatusCodes.BadNotWritable)  # in local mode: refused
            node.attributes[attr].value = ua.DataValue(ua.Variant(self._setpoint_value(i, name, variant), variant))

        return setter

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._server is not None:
            await self._server.stop()
            self._server = None
        self._nodes = []

    async def _update_loop(self) -> None:
        while True:
            await asyncio.sleep(self._update_period_s)
            await self._update()

    async def _update(self) -> None:
        for i, nodes in enumerate(self._nodes):
            values = self.plcs.measured(i)
            for signal in POT_LAYOUT:
                if signal.name not in values:
                    continue
                raw = values[signal.name]
                variant = _VARIANT[signal.datatype]
                value: Any = (
                    raw >= 0.5
                    if variant is ua.VariantType.Boolean
                    else (max(0, round(raw)) if variant is ua.VariantType.UInt32 else float(raw))
                )
                await nodes[signal.name].write_value(ua.Variant(value, variant))
