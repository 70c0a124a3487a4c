"""A true plant that is *not* the live twin's own model: parameters, disturbances and sensors all differ.

The live twin's filter runs the technology file as it is. :func:`mismatched_plant` builds the plant it watches
from a copy whose parameters are drawn within their published uncertainty, adds disturbances the filter does
not model, and measures through sensors with bias and drift. Every draw comes from one seed (reproducible).

Parameters drawn (each a factor on the file's value, uniform in [1 − u, 1 + u] unless said; ``scale`` multiplies
every u, so ``scale = 0`` is the filter's own model):

============================================  ======  ==========================================================
parameter (technology key)                     u       source of the range
============================================  ======  ==========================================================
``cell.resistance_anode_uohm``                 0.15    anode drop 0.25-0.35 V around ~0.3 V (physics.md §1.1
                                                       textbook split; Haupin, Light Metals 1998)
``cell.resistance_cathode_uohm``               0.15    cathode drop 0.25-0.35 V, rising with cell age (idem)
``cell.resistance_external_uohm``              0.15    external 0.15-0.3 V (physics.md §1.1)
``thermal.resistance_liquids_anode_K_per_W``   0.15    top losses ~55-60 % of the losses (physics.md §1.6)
``thermal.resistance_liquids_cathode_K_per_W`` 0.25    bottom losses 7-15 % of the losses (physics.md §1.6)
``thermal.film_bath_ledge_W_per_m2K``          0.25    500-1500 W/(m2 K) (Taylor & Welch 1987, physics.md §1.6)
``alumina.dissolution_rate_per_s``             ×/÷ 2   log-uniform: dissolution rates vary with alumina quality and
                                                       superheat by a factor of a few (Yao et al. 2017; §1.5)
``alumina.shot_mass_kg``                       0.05    point-feeder volumetric shots ±5 % ([R] feeder calibration)
``noise.amplitude_uohm``                       0.5     cell noise 5-15 mV RMS at 300 kA ([R] physics.md §1.7)
============================================  ======  ==========================================================

Unmodelled disturbances (every ``disturbance_period_s``): the feeder delivery of each pot wanders (a reflected
random walk of the lost share in [0, 0.15], sd 0.03 per sqrt(h): crust, hopper level, shot variation), and each
pot has an anode changed at random (Poisson, one anode per ``anode_cycle_h / anode_count`` = 20 h on HAL275;
the cold anode cools the anode node and raises the noise), which the filter's members never see.

Sensors: cell voltage bias N(0, 5 mV) plus a drift N(0, 5 mV/day) (busbar contact resistance, [R] voltage
pick-ups drift by mV over days); line current bias N(0, 0.3 %) (DC current transducers 0.1-0.5 % class,
[R] rectifier metering); bath-temperature bias N(0, 2 K) (thermocouple dip repeatability 1.5-3 K, plant file
``potroom.temperature_measurement_sd_K`` source).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin.errors import SimulationError
from twin.live.plant_source import PlantSource
from twin.params import Technology

#: technology key -> (relative half-width u, "lin" uniform factor or "log" factor in [1/(1+u), 1+u])
PARAMETER_UNCERTAINTY: dict[str, tuple[float, str]] = {
    "cell.resistance_anode_uohm": (0.15, "lin"),
    "cell.resistance_cathode_uohm": (0.15, "lin"),
    "cell.resistance_external_uohm": (0.15, "lin"),
    "thermal.resistance_liquids_anode_K_per_W": (0.15, "lin"),
    "thermal.resistance_liquids_cathode_K_per_W": (0.25, "lin"),
    "thermal.film_bath_ledge_W_per_m2K": (0.25, "lin"),
    "alumina.dissolution_rate_per_s": (1.0, "log"),
    "alumina.shot_mass_kg": (0.05, "lin"),
    "noise.amplitude_uohm": (0.5, "lin"),
}
FEED_WANDER = "unmodelled_feed"  # the feed-loss cause of the wandering feeder delivery


@dataclass(frozen=True, slots=True)
class Mismatch:
    """How far the plant is from the filter's model. ``scale`` (0..2) multiplies every parameter range;
    ``disturbances`` and ``sensor_errors`` switch the other two parts. ``Mismatch.none()`` is the filter's model."""

    scale: float = 1.0
    disturbances: bool = True
    sensor_errors: bool = True
    voltage_bias_sd_V: float = 0.005
    voltage_drift_sd_V_per_day: float = 0.005
    current_bias_sd_fraction: float = 0.003
    temperature_bias_sd_degC: float = 2.0
    feed_wander_sd_per_sqrt_h: float = 0.03
    feed_wander_max: float = 0.15
    disturbance_period_s: float = 300.0

    def __post_init__(self) -> None:
        if not (isinstance(self.scale, int | float) and 0.0 <= self.scale <= 2.0):
            raise SimulationError(f"Mismatch.scale = {self.scale!r} is invalid; expected a number in [0, 2]")
        if not (isinstance(self.disturbance_period_s, int | float) and 10.0 <= self.disturbance_period_s <= 86400.0):
            period = self.disturbance_period_s
            raise SimulationError(
                f"Mismatch.disturbance_period_s = {period!r} is invalid; expected seconds in [10, 86400]"
            )

    @classmethod
    def none(cls) -> Mismatch:
        return cls(scale=0.0, disturbances=False, sensor_errors=False)


def draw_technology(
    technology: Technology, scale: float, rng: np.random.Generator
) -> tuple[Technology, dict[str, float]]:
    """A copy of ``technology`` with the parameters of :data:`PARAMETER_UNCERTAINTY` drawn; and the factors."""
    factors: dict[str, float] = {}
    for key, (u, kind) in PARAMETER_UNCERTAINTY.items():
        x = rng.uniform(-1.0, 1.0)
        factors[key] = float((1.0 + u) ** (x * scale)) if kind == "log" else float(1.0 + u * scale * x)
    overrides = {key: technology.number(key) * f for key, f in factors.items()}
    return technology.with_overrides(
        overrides, "twin.live.mismatch (parameters drawn within their uncertainty)"
    ), factors


class MismatchedPlant(PlantSource):
    """A :class:`PlantSource` on drawn parameters, with unmodelled disturbances and biased, drifting sensors.

    ``factors`` holds the drawn parameter factors; ``sensor_bias`` the drawn sensor errors per pot.
    """

    def __init__(
        self,
        technology: Technology,
        n_cells: int,
        mismatch: Mismatch | None = None,
        *,
        seed: int = 0,
        **source_options: object,
    ) -> None:
        self.mismatch = mm = mismatch or Mismatch()
        rng = np.random.default_rng([seed, 4242])
        plant_tech, self.factors = draw_technology(technology, mm.scale, rng)
        on = 1.0 if mm.sensor_errors else 0.0
        self.sensor_bias = {
            "cell_voltage_V": on * rng.normal(0.0, mm.voltage_bias_sd_V, n_cells),
            "voltage_drift_V_per_day": on * rng.normal(0.0, mm.voltage_drift_sd_V_per_day, n_cells),
            "line_current_fraction": on * rng.normal(0.0, mm.current_bias_sd_fraction, n_cells),
            "bath_temp_degC": on * rng.normal(0.0, mm.temperature_bias_sd_degC, n_cells),
        }
        self._disturb_rng = rng
        self._feed_lost = np.zeros(n_cells)
        self._anode_rate_per_s = plant_tech.number("cell.anode_count") / (
            plant_tech.number("anode.anode_cycle_h") * 3600.0
        )
        self._next_disturbance = 0.0
        super().__init__(plant_tech, n_cells, seed=seed, sensor_error=self._sensor_error, **source_options)  # type: ignore[arg-type]

    def _sensor_error(self, t: float) -> dict[str, np.ndarray]:
        b = self.sensor_bias
        nominal = self.potline.nominal_current_kA
        return {
            "cell_voltage_V": b["cell_voltage_V"] + b["voltage_drift_V_per_day"] * max(t, 0.0) / 86400.0,
            "line_current_kA": b["line_current_fraction"] * nominal,
            "bath_temp_degC": b["bath_temp_degC"],
        }

    def advance_to(self, time_s: float) -> None:
        """Advance the hidden plant, applying the disturbances every ``disturbance_period_s`` on the way."""
        mm = self.mismatch
        if not mm.disturbances:
            super().advance_to(time_s)
            return
        while self._next_disturbance <= time_s:
            super().advance_to(self._next_disturbance)
            self._disturb(mm.disturbance_period_s)
            self._next_disturbance += mm.disturbance_period_s
        super().advance_to(time_s)

    def _disturb(self, period_s: float) -> None:
        mm, rng, n = self.mismatch, self._disturb_rng, self.n_cells
        step = mm.feed_wander_sd_per_sqrt_h * math.sqrt(period_s / 3600.0) * rng.standard_normal(n)
        lost = np.abs(self._feed_lost + step)  # reflected at 0 ...
        self._feed_lost = np.where(lost > mm.feed_wander_max, 2 * mm.feed_wander_max - lost, lost)  # ... and at the top
        for c in range(n):
            self.potline.set_feed_loss(c, FEED_WANDER, float(self._feed_lost[c]))
        changed = np.where(rng.random(n) < self._anode_rate_per_s * period_s)[0]
        if changed.size:
            self.potline.change_anode(changed, 3.0)


def mismatched_plant(
    technology: Technology, n_cells: int, mismatch: Mismatch | None = None, *, seed: int = 0, **source_options: object
) -> MismatchedPlant:
    """The plant a live twin is judged against (module docstring); ``Mismatch.none()`` gives its own model."""
    return MismatchedPlant(technology, n_cells, mismatch, seed=seed, **source_options)
