"""Where a simulated PLC's values come from: any object with ``read(pot_index) -> dict[str, float]``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Protocol


class PotSource(Protocol):
    """Process values of pot ``pot_index`` (0-based) keyed by the signal names of ``POT_LAYOUT``.

    Missing keys keep their previous register value. Called from the simulator's asyncio thread.
    """

    def read(self, pot_index: int) -> dict[str, float]: ...


class SyntheticSource:
    """Deterministic, plausible pot signals as a function of time and pot index (no randomness).

    Not a physical model: slow sinusoids around typical prebake-cell values (4.15 V, 400 kA, 960 °C), a feed
    event every 60 s, a beam move every 15 min, one 2-minute anode effect per pot per day, metal growing
    between daily taps.
    """

    def __init__(self, *, clock: Callable[[], float] = time.time, line_current_kA: float = 400.0) -> None:
        self._clock = clock
        self._line_current_kA = line_current_kA

    def read(self, pot_index: int) -> dict[str, float]:
        t = self._clock()
        phase = pot_index * 0.7
        current = self._line_current_kA + 0.5 * math.sin(2 * math.pi * t / 600.0)
        anode_effect = (t + pot_index * 3607.0) % 86400.0 < 120.0
        voltage = 8.0 if anode_effect else 4.15 + 0.05 * math.sin(2 * math.pi * t / 300.0 + phase)
        return {
            "cell_voltage_V": voltage,
            "line_current_kA": current,
            "feed_count": float(math.floor((t + pot_index * 7.0) / 60.0)),
            "beam_count": float(math.floor((t + pot_index * 13.0) / 900.0)),
            "anode_effect": 1.0 if anode_effect else 0.0,
            "bath_temp_degC": 960.0 + 3.0 * math.sin(2 * math.pi * t / 3600.0 + phase),
            "metal_height_cm": 22.0 + 2.0 * (((t + pot_index * 600.0) / 86400.0) % 1.0),
        }
