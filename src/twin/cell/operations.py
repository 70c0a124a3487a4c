"""Named operations on the cells of a potline: the only way code above ``twin.cell`` changes cell state.

Each function takes the :class:`~twin.cell.Potline`, a cell selection and validated values, changes the
state columns of those cells and refreshes their slow terms (conductivity, liquidus, saturation, CE) so
the next kernel step sees the new composition. The changes of tapping, AlF3, crushed bath and anodes are
compiled loops over the cells (:mod:`twin.cell.op_kernels`), applied one cell after the other.
A bad value raises :class:`~twin.errors.SimulationError` naming the operation, the value and the valid range.

Heat bookkeeping follows the kernel (:mod:`twin.cell.kernel`, :mod:`twin.cell.thermal`): the liquids'
enthalpy is H = C_liq·(T − T_ref) with C_liq = m_bath·c_bath + m_metal·c_metal, and mass that joins the
liquids counts at T_ref. An addition that must be heated from the potroom to T_ref and melted or
dissolved takes that heat from H, and the new temperature is T_ref + H/C_liq(new masses):

* **AlF3** (:func:`add_alf3`): ``ALF3_HEAT_J_PER_KG`` per kg, the heat content of solid AlF3 from 25 °C
  to bath temperature; the heat of dissolution in cryolite is taken as zero (small against it).
* **Crushed bath** (:func:`add_bath`): c_bath·(T_ref − T_air) + L_f per kg (sensible heat from the
  potroom at the technology's bath heat capacity, plus the ledge's latent heat of fusion), at the liquid's
  composition (physics.md §1.6 bath mass balance).
* **New anode** (:func:`change_anode`): a cold anode of heat capacity C_new (mass × carbon c_p) takes
  C_new·(T_a − T_air) from the anode-and-cover node: T_a −= C_new·(T_a − T_air)/C_a. That is the carbon's
  heating from the potroom to the node's temperature; the kernel takes the carbon it consumes on from there to
  the bath's (:func:`twin.cell.physics.carbon_heating_per_kg_al`; physics.md §1.6).

Feed-loss causes compose: the delivered share of each commanded shot is Π_causes (1 − fraction_cause),
so a feeder blockage overlapping an alumina shortfall gives 0.5 × 0.9 = 0.45 and either ending restores
the other's value exactly. Dissolution-rate factors compose the same way on the line's k_diss.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from twin.cell import layout as L
from twin.cell import op_kernels as kernels
from twin.cell.lane_step import ALUMINA_KG_PER_COULOMB
from twin.errors import SimulationError

if TYPE_CHECKING:
    from twin.cell.potline import Potline

#: [C] heat content of AlF3(cr) from 25 °C to ~960 °C: H(1233 K) − H(298 K) ≈ 88 kJ/mol (NIST-JANAF AlF3
#: crystal table [R], not re-read here) / 83.98 g/mol ≈ 1.05 MJ/kg; dissolution heat in cryolite taken as 0 [R]
ALF3_HEAT_J_PER_KG = 1.05e6
MAX_FRACTION = 1.0
DISSOLUTION_FACTOR_RANGE = (0.01, 100.0)
NOISE_GAIN_RANGE = (1.0, 100.0)
HX_DUTY_MAX_W = 5.0e6  # far above any exchanger (physics.md §1.6: 0-250 kW for 300 kA); catches unit slips

SMALL = 16  # up to this many cells, checks run on Python lists (the plant's batched jobs: one to a few cells)

Cells = int | slice | Iterable[int] | np.ndarray | str | None


def cell_index(potline: Potline, cells: Cells, operation: str) -> np.ndarray:
    """0-based cell indices from an int, a slice, a sequence, a boolean mask, ``"all"`` or ``None`` (all).

    An int64 index array (what the plant's batched operations pass) and a plain int take a short path: one
    bounds check, no copy of the array.
    """
    n = potline.n_cells
    if type(cells) is np.ndarray and cells.dtype == np.int64 and cells.ndim == 1:
        if cells.size <= SMALL:  # a Python min/max is quicker than two reductions on a few cells
            values = cells.tolist()
            bad = bool(values) and (min(values) < 0 or max(values) >= n)
        else:
            bad = bool(cells.min() < 0 or cells.max() >= n)
        if bad:
            raise SimulationError(f"{operation}: cells = {cells!r} is invalid; expected indices in [0, {n - 1}]")
        return cells
    if type(cells) is int:
        if not 0 <= cells < n:
            raise SimulationError(f"{operation}: cells = {cells!r} is invalid; expected indices in [0, {n - 1}]")
        return np.array([cells], dtype=np.int64)
    if cells is None or (isinstance(cells, str) and cells == "all"):
        return np.arange(n)
    if isinstance(cells, slice):
        return np.arange(n)[cells]
    if isinstance(cells, bool | str):
        raise SimulationError(f"{operation}: cells = {cells!r} is invalid; expected 'all', an index or indices")
    idx = np.atleast_1d(np.asarray(cells))
    if idx.dtype == bool:
        if idx.shape != (n,):
            raise SimulationError(f"{operation}: a cell mask must have {n} entries, not {idx.shape}")
        return np.flatnonzero(idx)
    if idx.size and (not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= n):
        raise SimulationError(f"{operation}: cells = {cells!r} is invalid; expected indices in [0, {n - 1}]")
    return idx.astype(np.int64)


def check_number(operation: str, name: str, value: float, low: float, high: float) -> float:
    """``value`` as a float in [low, high], or a SimulationError naming the operation, field and range."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SimulationError(f"{operation}: {name} = {value!r} is invalid; expected a number in [{low:g}, {high:g}]")
    v = float(value)
    if not (math.isfinite(v) and low <= v <= high):
        raise SimulationError(f"{operation}: {name} = {value!r} is invalid; expected a number in [{low:g}, {high:g}]")
    return v


def _per_cell(operation: str, name: str, value: float | np.ndarray, n: int, low: float, high: float) -> np.ndarray:
    """``value`` (one number or one per cell) as ``n`` floats in [low, high], or a SimulationError naming it."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return np.full(n, check_number(operation, name, value, low, high))
    small = type(value) is np.ndarray and value.dtype == np.float64 and value.shape == (n,) and n <= SMALL
    if small and all(low <= v <= high for v in value.tolist()):  # NaN fails both comparisons
        return value.copy()
    arr = np.array(np.broadcast_to(np.asarray(value, dtype=float), (n,)))
    if not ((arr >= low) & (arr <= high)).all():  # NaN fails both comparisons
        bad = ~np.isfinite(arr) | (arr < low) | (arr > high)
        raise SimulationError(
            f"{operation}: {name} = {float(arr[bad][0])!r} is invalid; expected a number in [{low:g}, {high:g}]"
        )
    return arr


# --- metal and bath ---------------------------------------------------------------------------------------
def tap_metal(potline: Potline, cells: Cells, target_kg: float) -> float:
    """Siphon the metal above ``target_kg`` out of each cell; return the kg tapped (all cells).

    The anode beam follows the metal, so the ACD is unchanged (physics.md §1.7).
    """
    return float(tap_metal_each(potline, cells, target_kg).sum())


def tap_metal_each(potline: Potline, cells: Cells, target_kg: float) -> np.ndarray:
    """:func:`tap_metal`, returning the kg tapped from each of ``cells`` (in their order)."""
    op = "tap_metal"
    idx = cell_index(potline, cells, op)
    target = check_number(op, "target_kg", target_kg, 0.0, 1e6)
    tapped = np.empty(idx.size)
    kernels.tap_metal_cells(potline.state, idx, target, tapped)
    return tapped


def add_alf3(potline: Potline, cells: Cells, kg: float | np.ndarray) -> float:
    """Add ``kg`` of AlF3 per cell: excess AlF3 and liquid bath up, liquids cooled (module docstring)."""
    op = "add_alf3"
    idx = cell_index(potline, cells, op)
    amount = _per_cell(op, "kg", kg, idx.size, 0.0, 2000.0)
    kernels.add_alf3_cells(potline.state, potline.params, idx, amount, ALF3_HEAT_J_PER_KG)
    return float(amount.sum())


def add_bath(potline: Potline, cells: Cells, kg: float | np.ndarray) -> float:
    """Add ``kg`` of crushed bath per cell at the liquid's composition; the liquids pay its heat and latent heat."""
    return float(add_bath_each(potline, cells, kg).sum())


def add_bath_each(potline: Potline, cells: Cells, kg: float | np.ndarray) -> np.ndarray:
    """:func:`add_bath`, returning the kg added to each of ``cells``."""
    op = "add_bath"
    idx = cell_index(potline, cells, op)
    amount = _per_cell(op, "kg", kg, idx.size, 0.0, 20000.0)
    kernels.add_bath_cells(potline.state, potline.params, idx, amount)
    return amount


def tap_bath(potline: Potline, cells: Cells, kg: float | np.ndarray) -> float:
    """Remove up to ``kg`` of liquid bath per cell at its composition (never below a quarter of the nominal bath)."""
    return float(tap_bath_each(potline, cells, kg).sum())


def tap_bath_each(potline: Potline, cells: Cells, kg: float | np.ndarray) -> np.ndarray:
    """:func:`tap_bath`, returning the kg removed from each of ``cells``."""
    op = "tap_bath"
    idx = cell_index(potline, cells, op)
    amount = _per_cell(op, "kg", kg, idx.size, 0.0, 20000.0)
    kernels.tap_bath_cells(potline.state, potline.params, idx, amount)  # leaves at the liquids' temperature
    return amount


# --- feeding and dissolution ------------------------------------------------------------------------------
def set_feed_loss(potline: Potline, cells: Cells, cause: str, fraction: float) -> np.ndarray:
    """Set the share of the commanded feed that ``cause`` loses in ``cells``; return the new feed efficiency.

    feed_efficiency = Π_causes (1 − fraction_cause): independent causes compose, and removing one
    (fraction 0) restores the product of the others.
    """
    op = "set_feed_loss"
    if not isinstance(cause, str) or not cause:
        raise SimulationError(f"{op}: cause = {cause!r} is invalid; expected a non-empty name")
    idx = cell_index(potline, cells, op)
    f = check_number(op, f"fraction ({cause})", fraction, 0.0, MAX_FRACTION)
    losses = potline.feed_losses.setdefault(cause, np.zeros(potline.n_cells))
    losses[idx] = f
    if not losses.any():
        del potline.feed_losses[cause]
    efficiency = np.ones(potline.n_cells)
    for share in potline.feed_losses.values():
        efficiency *= 1.0 - share
    potline.state[L.S_FEED_EFFICIENCY] = efficiency
    return efficiency.copy()


def set_dissolution_factor(potline: Potline, cause: str, factor: float) -> float:
    """Scale the line's alumina dissolution rate by ``factor`` for ``cause``; return the new k_diss (1/s).

    k_diss = k_diss,technology × Π_causes factor_cause (1 removes the cause).
    """
    op = "set_dissolution_factor"
    if not isinstance(cause, str) or not cause:
        raise SimulationError(f"{op}: cause = {cause!r} is invalid; expected a non-empty name")
    value = check_number(op, f"factor ({cause})", factor, *DISSOLUTION_FACTOR_RANGE)
    if value == 1.0:
        potline.dissolution_factors.pop(cause, None)
    else:
        potline.dissolution_factors[cause] = value
    potline.params[L.P_K_DISS] = potline.base_k_diss * math.prod(potline.dissolution_factors.values())
    return float(potline.params[L.P_K_DISS])


def stagger_feed_cycles(potline: Potline, rng: np.random.Generator) -> None:
    """Put each tracking-fed cell at its own point of the feed cycle, as the pots of a running potline are.

    Cells built from one start-up state feed in step: the tracking controller (physics.md §1.5; GéniSim In Situ
    control, CIM 2011) switches on the same slope at the same alumina in every pot, and the per-cell noise takes
    days to pull them apart. A day into a 2 × 352-cell run the line-mean alumina still swung 2.46–3.41 wt % with the
    2.25-h cycle (independent pots: ~0.02 wt %), and the plant's demand 932–949 MW with it.

    The cycle from the controller's parameters (Faraday feed ṁ = M_Al2O3·CE·I_nom/(6F)): an overfeed of t_o at
    f_o·ṁ adds Δ = (f_o − 1)·ṁ·t_o/m_bath; the underfeed at f_u·ṁ takes it back in t_u = t_o·(f_o − 1)/(1 − f_u)
    (HAL275: Δ = 1.3 wt %, t_u = 80 min, a cycle of 2.3 h, as the model runs it). Each tracking cell gets a phase
    drawn uniformly over t_u + t_o: in its underfeed, alumina falling from c_low + Δ to c_low; in its overfeed,
    rising from c_low, with the mode time of that phase. c_low = c0 − Δ/2 (c0 the technology's start-up alumina),
    but no lower than halfway from the anode-effect onset to c0, so no pot starts next to an anode effect (HAL275:
    2.2–3.5 wt %, mean 2.85 against c0 = 2.6; the model's own cycle spans 2.2–3.6, physics.md §5). Cells on fixed or
    no feeding are left as they are.
    """
    p = potline.params
    state = potline.state
    cells = np.flatnonzero(state[L.S_FEED_STRATEGY] == L.FEED_TRACKING)
    if cells.size == 0:
        return
    bath = state[L.S_BATH_KG, cells]
    c0 = 100.0 * state[L.S_ALUMINA_DISSOLVED_KG, cells] / bath  # the kernel's alumina wt % (twin.cell.lane_open)
    feed_kg_per_s = ALUMINA_KG_PER_COULOMB * state[L.S_CE, cells] * p[L.P_I_NOMINAL_A]  # the kernel's Faraday feed
    t_over = p[L.P_OVERFEED_S]
    t_under = t_over * (p[L.P_OVERFEED] - 1.0) / (1.0 - p[L.P_UNDERFEED])
    delta = 100.0 * (p[L.P_OVERFEED] - 1.0) * feed_kg_per_s * t_over / bath
    c_low = np.maximum(c0 - 0.5 * delta, 0.5 * (c0 + p[L.P_ALUMINA_AE_WTPCT]))
    phase = rng.uniform(0.0, t_under + t_over, cells.size)
    under = phase < t_under
    mode_time = np.where(under, phase, phase - t_under)
    alumina = np.where(under, c_low + delta * (1.0 - mode_time / t_under), c_low + delta * mode_time / t_over)
    state[L.S_ALUMINA_DISSOLVED_KG, cells] = alumina / 100.0 * bath
    state[L.S_FEED_MODE, cells] = np.where(under, 0.0, 1.0)
    state[L.S_FEED_MODE_TIME_S, cells] = mode_time
    potline.refresh(cells)


def set_feed_strategy(potline: Potline, cells: Cells, name: str) -> None:
    """Switch the feed control of ``cells`` to ``name`` (tracking, fixed or none)."""
    op = "set_feed_strategy"
    if name not in L.FEED_STRATEGIES:
        raise SimulationError(f"{op}: strategy = {name!r} is invalid; expected one of {', '.join(L.FEED_STRATEGIES)}")
    potline.state[L.S_FEED_STRATEGY, cell_index(potline, cells, op)] = L.FEED_STRATEGIES[name]


# --- heat ---------------------------------------------------------------------------------------------------
def set_hx_duty(potline: Potline, cells: Cells, watts: float | np.ndarray) -> None:
    """Ask the shell heat exchangers of ``cells`` for ``watts`` each (≥ 0: an exchanger only removes heat).

    The kernel takes it from the side shells and reports what it delivered in output ``q_hx_W``.
    """
    op = "set_hx_duty"
    idx = cell_index(potline, cells, op)
    potline.state[L.S_HX_DUTY_W, idx] = _per_cell(op, "duty_W", watts, idx.size, 0.0, HX_DUTY_MAX_W)


def change_anode(potline: Potline, cells: Cells, noise_gain: float) -> None:
    """Replace one anode in each of ``cells``: the cold anode cools the anode node, noise rises, age renews.

    T_a −= C_new·(T_a − T_air)/C_a (module docstring); the anode age shrinks by one anode's share,
    (n − 1)/n, as the line's mean anode age does; the noise gain rises to at least ``noise_gain``.
    """
    op = "change_anode"
    idx = cell_index(potline, cells, op)
    gain = check_number(op, "noise_gain", noise_gain, *NOISE_GAIN_RANGE)
    anodes = float(potline.technology.number("cell.anode_count"))
    kernels.change_anode_cells(potline.state, potline.params, idx, gain, anodes)


def raise_noise(potline: Potline, cells: Cells, gain: float) -> None:
    """Raise the voltage-noise gain of ``cells`` to at least ``gain`` (it decays back to 1 in the kernel)."""
    op = "raise_noise"
    idx = cell_index(potline, cells, op)
    g = check_number(op, "gain", gain, *NOISE_GAIN_RANGE)
    potline.state[L.S_NOISE_GAIN, idx] = np.maximum(potline.state[L.S_NOISE_GAIN, idx], g)


# --- line current and the resistance target ---------------------------------------------------------------
def cut_out(potline: Potline, cells: Cells) -> None:
    """Bypass ``cells`` (shorting wedges in): they carry no current until :func:`cut_in`."""
    potline.state[L.S_IN_LINE, cell_index(potline, cells, "cut_out")] = 0.0


def cut_in(potline: Potline, cells: Cells) -> None:
    """Put ``cells`` back in line."""
    potline.state[L.S_IN_LINE, cell_index(potline, cells, "cut_in")] = 1.0


def resistance_range(potline: Potline) -> tuple[float, float]:
    """Valid resistance targets (Ω): voltage at nominal current between the back EMF + 0.5 V and 10 V."""
    p = potline.params
    return 0.5 / p[L.P_I_NOMINAL_A], (10.0 - p[L.P_BEMF_V]) / p[L.P_I_NOMINAL_A]


def set_resistance_target(potline: Potline, cells: Cells, ohm: float | np.ndarray) -> None:
    """Set the pseudo-resistance target (V − BEMF)/I the regulator holds in ``cells``."""
    op = "set_resistance_target"
    idx = cell_index(potline, cells, op)
    low, high = resistance_range(potline)
    potline.state[L.S_R_TARGET_OHM, idx] = _per_cell(op, "ohm", ohm, idx.size, low, high)


def voltage_at_nominal(potline: Potline, ohm: float | np.ndarray) -> float | np.ndarray:
    """Cell voltage a resistance target stands for at nominal current: V = BEMF + R·I_nom (physics.md §1.1)."""
    p = potline.params
    return p[L.P_BEMF_V] + np.asarray(ohm) * p[L.P_I_NOMINAL_A]


def resistance_for_voltage(potline: Potline, volts: float | np.ndarray) -> float | np.ndarray:
    """Inverse of :func:`voltage_at_nominal`: R = (V − BEMF)/I_nom."""
    p = potline.params
    return (np.asarray(volts) - p[L.P_BEMF_V]) / p[L.P_I_NOMINAL_A]
