"""Fixed operating limits of a cell technology, as the dashboard colours cells against them.

The potline view colours each cell against these fixed bands (not a min..max stretch of the values shown, which
paints a healthy line red). Each band has five zones::

    alarm_low < warn_low <= ok <= warn_high < alarm_high

A value below ``alarm_low`` or above ``alarm_high`` is an alarm colour; between the alarm and ok limits a warning
colour; inside ``[ok_low, ok_high]`` the normal colour. ``None`` means the side has no limit. Every limit names the
technology parameter (``section.name``) or publication it comes from.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from twin.params import Technology


@dataclass(frozen=True, slots=True)
class Band:
    """One signal's fixed operating band (all in ``unit``)."""

    signal: str
    label: str
    unit: str
    alarm_low: float | None
    ok_low: float | None
    ok_high: float | None
    alarm_high: float | None
    source: str


@dataclass(frozen=True, slots=True)
class PlantInfo:
    """What the dashboard needs to know about the service beyond the live snapshot.

    ``speed``: plant seconds per wall-clock second (the demo runs faster than real time; 1 = real time).
    ``timezone``: the plant's IANA time zone for the "local plant time" axis (``None``: the browser's own).
    """

    technology: Technology | None = None
    speed: float = 1.0
    timezone: str | None = None


def bands(tech: Technology) -> list[Band]:
    """The fixed bands of ``tech`` for the signals the potline view colours.

    Sources: cell voltage regulation deadband around the target and anode-effect detection voltage (technology
    ``control.*``, ``anode_effect.detect_voltage_V``); alumina AE onset (``alumina.anode_effect_wtpct``) and the
    2-4 wt% operating range (physics.md §1.5, as cited by ``alumina.dissolved_initial_wtpct``); superheat 5-15 K
    (shen-y21 bounds, docs/physics.md §5); ledge thickness (``thermal.ledge_min_cm``, ``thermal.ledge_max_cm``);
    bath temperature upper limit (``thermal.bath_temp_max_degC``).
    """
    target = tech.number("control.target_voltage_V")
    band_v = tech.number("control.deadband_mV") / 1000.0
    low, high = round(target - band_v, 6), round(target + band_v, 6)
    return [
        Band(
            "voltage_V",
            "cell voltage",
            "V",
            None,
            low,
            high,
            tech.number("anode_effect.detect_voltage_V"),
            f"{tech.name}: control.target_voltage_V ± control.deadband_mV; anode_effect.detect_voltage_V",
        ),
        Band(
            "alumina_wtpct",
            "estimated alumina",
            "wt%",
            tech.number("alumina.anode_effect_wtpct"),
            2.0,
            4.0,
            None,
            f"{tech.name}: alumina.anode_effect_wtpct; operating range 2-4 wt% (physics.md §1.5)",
        ),
        Band("superheat_degC", "superheat", "K", None, 5.0, 15.0, None, "shen-y21 bounds 5-15 K (physics.md §5)"),
        Band(
            "ledge_cm",
            "side ledge",
            "cm",
            tech.number("thermal.ledge_min_cm"),
            tech.number("thermal.ledge_min_cm"),
            tech.number("thermal.ledge_max_cm"),
            tech.number("thermal.ledge_max_cm"),
            f"{tech.name}: thermal.ledge_min_cm, thermal.ledge_max_cm",
        ),
        Band(
            "bath_temp_measured_degC",
            "bath temperature",
            "°C",
            None,
            None,
            tech.number("thermal.bath_temp_max_degC"),
            tech.number("thermal.bath_temp_max_degC"),
            f"{tech.name}: thermal.bath_temp_max_degC",
        ),
    ]


def describe(info: PlantInfo | None) -> dict[str, Any]:
    """The ``GET /v1/dashboard`` payload: speed, time zone, technology name and the bands (empty if unknown)."""
    info = info or PlantInfo()
    tech = info.technology
    return {
        "speed": info.speed,
        "timezone": info.timezone,
        "technology": tech.name if tech is not None else None,
        "limits": {b.signal: asdict(b) for b in bands(tech)} if tech is not None else {},
    }
