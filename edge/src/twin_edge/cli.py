"""Command line: ``twin-edge --config FILE`` runs the gateway; ``twin-edge simplc --pots N --port P`` the PLCs.

User errors (bad config or tag map, a port in use) are reported as one line naming the file, field and value,
never as a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from twin_edge.errors import EdgeError

logger = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] == "simplc":
            return _simplc(args[1:])
        return _gateway(args)
    except EdgeError as exc:
        print(f"twin-edge: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"twin-edge: error: {exc}", file=sys.stderr)
        return 1


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


def _gateway(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="twin-edge",
        description="Edge gateway: Modbus TCP pot controllers -> Sparkplug B over MQTT. "
        "Run `twin-edge simplc --help` for the simulated PLCs.",
    )
    parser.add_argument("--config", required=True, type=Path, help="gateway config file (TOML)")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    _setup_logging(args.log_level)
    from twin_edge.config import load_config
    from twin_edge.gateway import EdgeGateway

    config = load_config(args.config)

    async def run() -> None:
        gateway = EdgeGateway(config)
        await gateway.run(_stop_on_signals())

    asyncio.run(run())
    return 0


MAX_SIMULATED_POTS = 1000  # a potline's cells at most, as `twin demo --pots`


def _simplc(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="twin-edge simplc",
        description="Simulated pot-controller PLCs (one Modbus TCP server per pot on consecutive ports).",
    )
    parser.add_argument("--pots", type=int, required=True, help="number of pots (PLCs)")
    parser.add_argument("--port", type=int, required=True, help="port of the first PLC")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--seed", type=int, default=0, help="sensor-noise seed")
    parser.add_argument("--unit", type=int, default=1, help="Modbus unit id the PLCs answer (others get no data)")
    parser.add_argument("--no-noise", action="store_true")
    parser.add_argument("--update-period", type=float, default=0.1, help="register refresh period, s")
    parser.add_argument("--write-tagmap", type=Path, help="write the matching gateway tag map here and go on")
    parser.add_argument("--opcua-port", type=int, help="also serve the PLCs over OPC UA on this port (Basic256Sha256)")
    parser.add_argument("--opcua-user", help="the OPC UA user name (required with --opcua-port)")
    parser.add_argument("--opcua-password-file", type=Path, help="file holding the OPC UA password (one line)")
    parser.add_argument("--pki", type=Path, default=Path("simplc-pki"), help="OPC UA certificates (made if missing)")
    parser.add_argument("--write-opcua-tagmap", type=Path, help="write a gateway tag map reading the PLCs over OPC UA")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    args = parser.parse_args(argv)
    if not 1 <= args.pots <= MAX_SIMULATED_POTS:
        parser.error(f"--pots = {args.pots} is invalid; expected an integer in [1, {MAX_SIMULATED_POTS}] "
                     "(one Modbus server each)")
    if not 0.01 <= args.update_period <= 60:  # NaN fails too; 0 or 1e-9 made the register loop spin
        parser.error(f"--update-period = {args.update_period} is invalid; expected seconds in [0.01, 60]")
    if not 1 <= args.unit <= 247:
        parser.error(f"--unit = {args.unit} is invalid; expected a Modbus unit id in [1, 247]")
    if not 1 <= args.port <= 65535 - args.pots + 1:
        parser.error(
            f"--port = {args.port} is invalid; expected a port in [1, {65536 - args.pots}] for {args.pots} pots"
        )
    password = _opcua_password(parser, args)
    _setup_logging(args.log_level)
    from twin_edge.simplc import SimulatedPlcs, SyntheticSource, write_tag_map

    if args.write_tagmap is not None:
        write_tag_map(args.write_tagmap, pots=args.pots, host=args.host, first_port=args.port, unit=args.unit)
        logger.info("tag map written to %s", args.write_tagmap)

    async def run() -> None:
        plcs = SimulatedPlcs(
            SyntheticSource(),
            pots=args.pots,
            first_port=args.port,
            host=args.host,
            update_period_s=args.update_period,
            noise=not args.no_noise,
            seed=args.seed,
            unit=args.unit,
        )
        async with plcs:
            if args.opcua_port is None:
                await _stop_on_signals().wait()
                return
            from twin_edge.simplc.opcua_cli import serve_opcua

            await serve_opcua(plcs, args, password, _stop_on_signals())

    asyncio.run(run())
    return 0


def _opcua_password(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str | None:
    if args.opcua_port is None:
        if args.opcua_user or args.opcua_password_file or args.write_opcua_tagmap:
            parser.error("--opcua-user, --opcua-password-file and --write-opcua-tagmap need --opcua-port")
        return None
    if not 1 <= args.opcua_port <= 65535:
        parser.error(f"--opcua-port = {args.opcua_port} is invalid; expected a TCP port in [1, 65535]")
    if not args.opcua_user or args.opcua_password_file is None:
        parser.error("--opcua-port needs --opcua-user and --opcua-password-file (no anonymous OPC UA sessions)")
    try:
        password = args.opcua_password_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        parser.error(f"--opcua-password-file = {str(args.opcua_password_file)!r} cannot be read: {exc}")
    if not password:
        parser.error(f"--opcua-password-file = {str(args.opcua_password_file)!r} is empty")
    return password


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


if __name__ == "__main__":
    raise SystemExit(main())
