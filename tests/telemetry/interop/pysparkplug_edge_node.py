"""A Sparkplug B edge node written with a third-party library (pysparkplug 0.6.1, PyPI), run in its own venv
(.venv-interop) by tests/telemetry/test_interop_pysparkplug.py against the twin's host.

Usage: python pysparkplug_edge_node.py PORT GROUP NODE DEVICE ROUNDS
Publishes NBIRTH (with a node property whose name has a space), DBIRTH, ROUNDS DDATA messages whose values
are a function of the round (see ``values``), then a clean NDEATH; prints one line ``sent N`` at the end.
"""

from __future__ import annotations

import sys
import time

from pysparkplug import Client, DataType, Device, EdgeNode, Metric, get_current_timestamp


def values(round_: int) -> dict[str, tuple[DataType, object]]:
    """What round ``round_`` publishes: floats exact in float32, negative small ints (Tahu width encoding)."""
    return {
        "cell_voltage_V": (DataType.FLOAT, 4.0 + round_ / 8),
        "bath_temp_degC": (DataType.DOUBLE, 955.0 + round_ / 4),
        "offset_Int8": (DataType.INT8, -9 - round_),
        "offset_Int16": (DataType.INT16, -300 - round_),
        "feed_count": (DataType.INT64, 2**40 + round_),
        "anode_effect": (DataType.BOOLEAN, round_ % 2 == 1),
    }


def metrics(round_: int) -> list[Metric]:
    now = get_current_timestamp()
    return [Metric(timestamp=now, name=n, datatype=t, value=v) for n, (t, v) in values(round_).items()]


def main() -> None:
    port, group, node, device, rounds = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    serial = Metric(timestamp=get_current_timestamp(), name="Properties/Serial Number", datatype=DataType.STRING,
                    value="SN 0042")
    edge = EdgeNode(group, node, [serial], client=Client(client_id=f"pysparkplug-{node}"))
    edge.register(Device(device, metrics(0)))
    edge.connect("127.0.0.1", port=port)
    time.sleep(1.0)  # NBIRTH and DBIRTH go out from the connect callback
    for r in range(1, rounds + 1):
        edge.update_device(device, metrics(r))
        time.sleep(0.05)
    time.sleep(0.5)
    edge.disconnect()
    print(f"sent {rounds}", flush=True)


if __name__ == "__main__":
    main()
