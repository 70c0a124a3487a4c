"""Shared broker fixtures (real Mosquitto only): see twin_edge.pytest_fixtures."""

from twin_edge.pytest_fixtures import broker, private_broker, quiet_pymodbus

__all__ = ["broker", "private_broker", "quiet_pymodbus"]
