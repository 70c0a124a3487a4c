"""What an edge gateway counts (:attr:`twin_edge.gateway.EdgeGateway.counters`): polls, publishing, births and
the DCMD setpoint writes (:mod:`twin_edge.setpoint_writer`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GatewayCounters:
    polls: int = 0
    published: int = 0
    stored: int = 0
    replayed: int = 0
    births: int = 0
    rebirths: int = 0
    device_deaths: int = 0
    bad_commands: int = 0
    rebirths_coalesced: int = 0
    internal_errors: int = 0
    bad_values: int = 0  # PLC values no engineering value could be made of: left out of their poll (twin_edge.poller)
    store_lost: int = 0  # values the store-and-forward file could not take (disk full, I/O error)
    states_from_the_future: int = 0  # primary host STATEs stamped more than a day ahead of this node's clock: ignored
    setpoint_writes: int = 0  # DCMD metrics written to a PLC
    setpoint_refused: int = 0  # DCMD metrics refused here (unknown, not writable, wrong type, out of range)
    setpoint_write_failures: int = 0  # the PLC did not answer or refused the write
    setpoint_readback_mismatch: int = 0  # the PLC answered the write but holds another value
