"""``twin-edge simplc --opcua-port``: serve the simulated PLCs over OPC UA too, and write a matching tag map."""

from __future__ import annotations

import argparse
import asyncio
import logging

from twin_edge.opcua import APPLICATION_URI
from twin_edge.simplc.layout import opcua_tag_map_text
from twin_edge.simplc.opcua_server import SimulatedOpcUaServer, make_certificate
from twin_edge.simplc.plcs import SimulatedPlcs

logger = logging.getLogger(__name__)


async def serve_opcua(plcs: SimulatedPlcs, args: argparse.Namespace, password: str | None, stop: asyncio.Event) -> None:
    assert password is not None
    pki = args.pki.resolve()
    server = SimulatedOpcUaServer(
        plcs,
        port=args.opcua_port,
        host=args.host,
        users={args.opcua_user: password},
        cert_dir=pki,
        update_period_s=args.update_period,
    )
    async with server:
        if args.write_opcua_tagmap is not None:
            cert, key = await make_certificate(pki, "gateway", uri=APPLICATION_URI, server=False)
            args.write_opcua_tagmap.write_text(
                opcua_tag_map_text(
                    pots=plcs.pots,
                    endpoint=server.endpoint,
                    client_cert=str(cert),
                    client_key=str(key),
                    server_cert=str(server.server_cert),
                    username=args.opcua_user,
                    password_file=str(args.opcua_password_file.resolve()),
                ),
                encoding="utf-8",
            )
            logger.info("OPC UA tag map written to %s", args.write_opcua_tagmap)
        await stop.wait()
