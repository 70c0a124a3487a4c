"""pytest fixtures shared by the edge and the twin's telemetry tests (real brokers only).

Import them into a ``conftest.py``: ``from twin_edge.pytest_fixtures import broker, private_broker, quiet_pymodbus``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from twin_edge.testing import PrivateBroker, ensure_shared_broker


@pytest.fixture(autouse=True)
def quiet_pymodbus() -> None:
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)


@pytest.fixture(scope="session")
def broker() -> tuple[str, int]:
    """The shared Mosquitto on 127.0.0.1:1883 (tests use unique group and host ids)."""
    return ensure_shared_broker()


@pytest.fixture
def private_broker() -> Iterator[PrivateBroker]:
    """A Mosquitto of this test's own, which the test may stop and restart."""
    b = PrivateBroker()
    b.start()
    yield b
    b.stop()
