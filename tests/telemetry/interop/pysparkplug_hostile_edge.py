"""Odd but library-allowed traffic from a third-party Sparkplug B edge node (pysparkplug 0.6.1, run in its own
venv .venv-interop) for tests/telemetry/test_interop_pysparkplug.py: what the library lets through, the twin's
host must handle on its own terms.

Usage: python pysparkplug_hostile_edge.py PORT GROUP NODE
Publishes, in order:
* NBIRTH with line_current_kA (Float, alias 1);
* DBIRTH pot001: cell_voltage_V (Float, alias 1 again: the node holds it), feed_count (UInt64, alias 2),
  note (String, alias 3);
* DBIRTH pot002: bath_temp_degC (Double, alias 2 again: pot001 holds it);
* DDATA pot001: feed_count = 2**64 - 1, cell_voltage_V = NaN, note = 5 000 characters with a newline;
* DDATA pot001: cell_voltage_V = +inf, feed_count = 7 stamped 2**64 - 1 ms (the largest uint64);
* DDATA pot002: bath_temp_degC = 1e308;
* NDATA: line_current_kA = 301.5;
then disconnects and prints ``sent``.
"""

from __future__ import annotations

import math
import sys
import time

from pysparkplug import Client, DataType, Device, EdgeNode, Metric, get_current_timestamp

LAST_MS = 2**64 - 1


def main() -> None:
    port, group, node = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    now = get_current_timestamp()
    edge = EdgeNode(
        group,
        node,
        [Metric(timestamp=now, name="line_current_kA", datatype=DataType.FLOAT, value=300.0, alias=1)],
        client=Client(client_id=f"pysparkplug-{node}"),
    )
    edge.register(
        Device(
            "pot001",
            [
                Metric(timestamp=now, name="cell_voltage_V", datatype=DataType.FLOAT, value=4.0, alias=1),
                Metric(timestamp=now, name="feed_count", datatype=DataType.UINT64, value=0, alias=2),
                Metric(timestamp=now, name="note", datatype=DataType.STRING, value="ok", alias=3),
            ],
        )
    )
    edge.register(
        Device("pot002", [Metric(timestamp=now, name="bath_temp_degC", datatype=DataType.DOUBLE, value=955.0, alias=2)])
    )
    edge.connect("127.0.0.1", port=port)
    time.sleep(1.0)  # NBIRTH and the DBIRTHs go out from the connect callback
    now = get_current_timestamp()
    edge.update_device(
        "pot001",
        [
            Metric(timestamp=now, name="feed_count", datatype=DataType.UINT64, value=LAST_MS),
            Metric(timestamp=now, name="cell_voltage_V", datatype=DataType.FLOAT, value=math.nan),
            Metric(timestamp=now, name="note", datatype=DataType.STRING, value="x" * 4_999 + "\n"),
        ],
    )
    edge.update_device(
        "pot001",
        [
            Metric(timestamp=now + 1, name="cell_voltage_V", datatype=DataType.FLOAT, value=math.inf),
            Metric(timestamp=LAST_MS, name="feed_count", datatype=DataType.UINT64, value=7),
        ],
    )
    edge.update_device("pot002", [Metric(timestamp=now, name="bath_temp_degC", datatype=DataType.DOUBLE, value=1e308)])
    edge.update([Metric(timestamp=now, name="line_current_kA", datatype=DataType.FLOAT, value=301.5)])
    time.sleep(0.5)
    edge.disconnect()
    print("sent", flush=True)


if __name__ == "__main__":
    main()
