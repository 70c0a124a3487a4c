"""Dynamic responses of the HAL275 model, each against a cited expectation (physics.md §1.5-1.6).

* Feeding stopped: the anode effect comes when Faraday consumption has used the dissolved alumina above the
  AE threshold plus what the undissolved reservoir releases by first-order dissolution (Yao et al. 2017,
  AIChE J 63:2806; physics.md §1.5 "Depletion rate when feeding stops"). The expected time is computed here
  from the state, not read from the kernel.
* Anode effect: cell voltage above the 8 V AE definition (Wong et al., ICSOBA 2019), killed automatically
  after the kill time (modern kills 1-3 min, physics.md §1.5).
* Line-current step: superheat moves with a time constant of tens of minutes (physics.md §1.6: τ ≈ 45 min
  for the shen-y21 500 kA cell, from C_th over dQ/dT dominated by the bath-ledge film) and the ledge
  re-equilibrates over ~1-3 days.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pytest

from twin.cell import Potline
from twin.cell import layout as L
from twin.cell.physics import FARADAY, M_AL2O3
from twin.params import load_technology

DAY = 86400.0
MODELS = Path(__file__).resolve().parents[2] / "models"


def expected_time_to_ae(m_diss: float, m_undiss: float, m_bath: float, ce: float, amps: float, k_diss: float,
                        c_ae: float) -> float:
    """Solve m_d + m_u·(1 − e^(−k t)) − ṁ t = c_AE·m_bath/100 for t (bisection), ṁ = M_Al2O3·CE·I/(6F)."""
    rate = M_AL2O3 * ce * amps / (6.0 * FARADAY)
    target = c_ae / 100.0 * m_bath

    def excess(t: float) -> float:
        return m_diss + m_undiss * (1.0 - math.exp(-k_diss * t)) - rate * t - target

    lo, hi = 0.0, 1.0
    while excess(hi) > 0:
        hi *= 2.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
    return hi


def test_feeding_stopped_gives_an_anode_effect_on_faraday_time(hal275) -> None:
    line = Potline(hal275, 1, seed=2, stop_on=("anode_effect_onset",))
    line.advance(int(DAY), 300.0)  # settle under tracking control
    line.set_cells("alumina_undissolved_kg", 0, 30.0)  # a visible reservoir (sludge)
    line.set_cells("feed_strategy", 0, L.FEED_NONE)
    s = line.snapshot().state
    t0 = line.time_s
    expected = expected_time_to_ae(s["alumina_dissolved_kg"][0], s["alumina_undissolved_kg"][0], s["bath_kg"][0],
                                   s["current_efficiency"][0], 300e3, hal275.number("alumina.dissolution_rate_per_s"),
                                   hal275.number("alumina.anode_effect_wtpct"))
    result = line.advance(4 * 3600, 300.0)
    assert result.stopped_on is not None
    assert result.stopped_on.kind == "anode_effect_onset"
    elapsed = result.stopped_on.time_s - t0
    # CE and bath mass drift slightly while the alumina falls (liquidus, AlF3 loss): allow 2 %
    assert elapsed == pytest.approx(expected, rel=0.02)
    # the reservoir matters: without it the AE would come 30 kg / ṁ earlier (~10 min at 300 kA)
    no_reservoir = expected_time_to_ae(s["alumina_dissolved_kg"][0], 0.0, s["bath_kg"][0], s["current_efficiency"][0],
                                       300e3, 0.002, hal275.number("alumina.anode_effect_wtpct"))
    assert elapsed - no_reservoir > 400.0
    # physics.md §1.5: depletion dC/dt = −100·ṁ/m_bath (≈ 3.3 %/h for 300 kA and 5.5 t)
    rate_pct_per_h = 100 * M_AL2O3 * 0.95 * 300e3 / (6 * FARADAY) / 5500 * 3600
    assert rate_pct_per_h == pytest.approx(3.3, abs=0.1)


def test_anode_effect_voltage_kill_and_duration(hal275) -> None:
    line = Potline(hal275, 1, seed=2, stop_on=("anode_effect_onset", "anode_effect_end"))
    line.set_cells("feed_strategy", 0, L.FEED_NONE)
    onset = line.advance(int(DAY), 300.0).stopped_on
    assert onset is not None
    assert onset.value < hal275.number("alumina.anode_effect_wtpct")
    line.advance(1, 300.0)
    detect = hal275.number("anode_effect.detect_voltage_V")
    assert line.snapshot().outputs["v_cell"][0] > detect
    end = line.advance(600, 300.0).stopped_on
    assert end is not None
    assert end.kind == "anode_effect_end"
    kill = hal275.number("anode_effect.kill_time_s")
    assert end.value == pytest.approx(kill)  # one kill dose of 25 kg (0.45 %) lifts the bath above 1.8 %
    assert 60.0 <= end.value <= 180.0  # modern automatic kill 1-3 min (physics.md §1.5)
    line.advance(1, 300.0)
    assert line.snapshot().outputs["v_cell"][0] < detect
    assert line.snapshot().totals["ae_seconds"][0] == pytest.approx(kill)


def test_on_fixed_feeding_the_beams_regulate_again_after_an_anode_effect(hal275) -> None:
    """The overfeed after a kill is tracking control's (physics.md §1.5: the regulator holds still while it
    overfeeds); a pot fed at one rate, or not fed, has no overfeed to wait for, so after an anode effect its beam
    follows a raised resistance target at once. (Until 2026-12-06 every pot was left in overfeed mode after its first
    anode effect, and under fixed or no feeding nothing ever ended it: the beam never moved again.)"""
    line = Potline(hal275, 1, seed=2, stop_on=("anode_effect_end",))
    line.set_cells("feed_strategy", 0, L.FEED_NONE)
    end = line.advance(int(DAY), 300.0).stopped_on
    assert end is not None
    line.set_cells("feed_strategy", 0, L.FEED_FIXED)
    line.set_cells("alumina_dissolved_kg", 0, 0.025 * line.state[L.S_BATH_KG, 0])  # fed again (2.5 wt %)
    line.advance(600, 300.0)  # settle the filters after the effect
    v0 = line.snapshot().outputs["v_cell"][0]
    moves0 = line.snapshot().totals["beam_moves"][0]
    raise_mV = 100.0
    line.set_resistance_target(0, line.state[L.S_R_TARGET_OHM, 0] + raise_mV * 1e-3 / 300e3)
    line.advance(3600, 300.0)
    assert line.snapshot().totals["beam_moves"][0] > moves0
    # the regulator follows within the hour (move limit and interval: hal275.toml [control]); noise ± tens of mV
    assert line.snapshot().outputs["v_cell"][0] - v0 > 0.5 * raise_mV * 1e-3


@pytest.mark.parametrize(("strategy", "overfeed"), [(L.FEED_TRACKING, 1.0), (L.FEED_FIXED, 0.0), (L.FEED_NONE, 0.0)])
def test_only_tracking_control_overfeeds_after_a_kill(hal275, strategy, overfeed) -> None:
    """The feed mode right after an anode effect ends: overfeed under tracking control, none under the others."""
    line = Potline(hal275, 1, seed=2, stop_on=("anode_effect_onset", "anode_effect_end"))
    line.set_cells("feed_strategy", 0, L.FEED_NONE)
    assert line.advance(int(DAY), 300.0).stopped_on is not None  # the onset
    line.set_cells("feed_strategy", 0, strategy)
    end = line.advance(600, 300.0).stopped_on
    assert end is not None
    assert end.kind == "anode_effect_end"
    assert line.state[L.S_FEED_MODE, 0] == overfeed


def _line_mean_alumina(staggered: bool) -> tuple[float, float, int]:
    """(sd over time of the line-mean alumina, mean over cells of each cell's own sd over time, cells) of 352 HAL275
    cells on tracking control, sampled every 5 min from hour 6 to 12."""
    tech = load_technology(MODELS / "hal275.toml")
    line = Potline(tech, 352, seed=5, slow_every=60, stop_on=())
    if staggered:
        line.stagger_feed_cycles(np.random.default_rng(5))
    line.params[L.P_ALUMINA_AE_WTPCT] = 0.0  # anode effects are not what this is about
    line.advance(6 * 3600, 300.0)
    samples = []
    for _ in range(72):
        line.advance(300, 300.0)
        samples.append(100.0 * line.state[L.S_ALUMINA_DISSOLVED_KG] / line.state[L.S_BATH_KG])
    a = np.array(samples)
    return float(a.mean(axis=1).std()), float(a.std(axis=0).mean()), a.shape[1]


def test_staggered_feed_cycles_make_the_line_mean_as_steady_as_independent_pots() -> None:
    """Pots at independent points of their feed cycle: the line mean varies like the mean of n independent series,
    σ_cell/√n (its sd at most twice that, for the cells' correlated start); pots started in step swing together."""
    steady, per_cell, n = _line_mean_alumina(staggered=True)
    in_step, _, _ = _line_mean_alumina(staggered=False)
    assert steady <= 2.0 * per_cell / math.sqrt(n)
    assert in_step > 5.0 * per_cell / math.sqrt(n)  # what the plant's lines did before they were staggered


def test_staggering_keeps_every_pot_in_its_cycle_and_above_the_anode_effect_onset(hal275) -> None:
    line = Potline(hal275, 352, seed=3, stop_on=())
    c0 = hal275.number("alumina.dissolved_initial_wtpct")
    line.stagger_feed_cycles(np.random.default_rng(3))
    alumina = 100.0 * line.state[L.S_ALUMINA_DISSOLVED_KG] / line.state[L.S_BATH_KG]
    c_ae = hal275.number("alumina.anode_effect_wtpct")
    assert alumina.min() >= 0.5 * (c0 + c_ae) - 1e-9
    assert alumina.max() - alumina.min() < 1.4  # one overfeed's net addition: 0.4 × 181 kg/h × 1 h / 5.5 t ≈ 1.3 %
    overfeeding = line.state[L.S_FEED_MODE] == 1.0
    assert 0.3 < overfeeding.mean() < 0.55  # t_o/(t_u + t_o) = 60/140 min of the cycle
    assert (line.state[L.S_FEED_MODE_TIME_S][overfeeding] < hal275.number("control.overfeed_duration_s")).all()


@functools.cache
def step_response(name: str):
    """Four cells on fixed (nominal) feeding, settled 2 days at nominal current, then held there (baseline) or
    stepped down 5 % (inside the ±5 % window of physics.md §1.10). Sampled every 2 min for 4 h, then every
    30 min for 4 days; the baseline is subtracted to remove slow drifts (AlF3 loss, metal growth). Anode
    effects are switched off (threshold 0 wt %): fixed feeding at the Faraday rate runs ~0.2 % short of
    consumption (the shots' Na2O and CaO are not alumina), so the baseline's alumina falls ~0.1 wt % a day and
    would reach the AE threshold inside the window, whose heat then shows up as a ledge response."""
    tech = load_technology(MODELS / f"{name}.toml")
    nominal = tech.number("cell.line_current_nominal_kA")
    runs = {}
    for kA in (nominal, 0.95 * nominal):
        line = Potline(tech, 4, seed=11, slow_every=10, stop_on=())
        line.set_cells("feed_strategy", slice(None), L.FEED_FIXED)
        line.params[L.P_ALUMINA_AE_WTPCT] = 0.0  # no anode effects: not what this response is about
        line.advance(int(2 * DAY), nominal)
        t, sh, ledge = [], [], []
        for chunk, count in ((120, 120), (1800, 4 * 48)):
            for _ in range(count):
                line.advance(chunk, kA)
                t.append(line.time_s - 2 * DAY)
                sh.append(line.out[L.O_SUPERHEAT_K].mean())
                ledge.append(0.5 * (line.state[L.S_LEDGE_BATH_CM] + line.state[L.S_LEDGE_METAL_CM]).mean())
        runs[kA] = (np.array(t), np.array(sh), np.array(ledge))
    base, step = runs[nominal], runs[0.95 * nominal]
    return tech, base[0], step[1] - base[1], step[2] - base[2]


def crossing_time(t: np.ndarray, y: np.ndarray, level: float) -> float:
    idx = int(np.argmax(np.abs(y) >= abs(level)))
    return float(t[idx])


@pytest.mark.parametrize("name", ["hal275", "cell500"])
def test_superheat_time_constant_is_tens_of_minutes(name: str) -> None:
    """τ_SH from the step response (63 % of the 1-3 h mean drop) versus C_th / Σ(1/R) from the model's own
    thermal parameters (physics.md §1.6 method: 45 min for the 500 kA cell).

    C_th is the liquids' heat capacity and ΣG what they see at nominal current (anode path, cathode path and the
    two ledge-face films; ≈ 23 min for HAL275). The measured τ differs because the liquidus moves too: the
    ledge that freezes is mostly cryolite, so the bath's excess AlF3 rises and T_liq falls while T falls, and the
    anode and cathode nodes move; the estimate is therefore only required to hold within a factor of 3.
    """
    tech, t, d_sh, _ = step_response(name)
    plateau = d_sh[(t >= 3600) & (t <= 3 * 3600)].mean()
    assert plateau < -0.5  # less current, less heat: the bath cools towards its liquidus
    tau = crossing_time(t, d_sh, 0.632 * plateau)
    n = tech.number
    c_th = n("cell.bath_mass_kg") * n("energy.bath_heat_capacity_J_per_kgK") + n("cell.metal_mass_kg") * n(
        "energy.metal_heat_capacity_J_per_kgK")
    # what the liquids see at nominal current: the anode and cathode paths and the two ledge-face films
    conductance = (1.0 / n("thermal.resistance_liquids_anode_K_per_W")
                   + 1.0 / n("thermal.resistance_liquids_cathode_K_per_W")
                   + n("thermal.film_bath_ledge_W_per_m2K") * n("thermal.ledge_area_bath_m2")
                   + n("thermal.film_metal_ledge_W_per_m2K") * n("thermal.ledge_area_metal_m2"))
    tau_model = c_th / conductance
    assert 10 * 60 <= tau <= 90 * 60  # tens of minutes
    assert tau_model / 3 <= tau <= tau_model * 3


def test_ledge_re_equilibrates_over_days() -> None:
    """The ledge grows after the −5 % step with a time constant of hours to 1-3 days (physics.md §1.6,
    shared reference: "ledge hours to 1–3 days"): 63 % between 3 h and 1.5 days, 95 % (three time constants of
    a first-order response) between 0.75 and 4.5 days. HAL275 only: the cell500 ledge grows 10.6 cm after the
    same step and is still creeping at day 4, see docs/physics.md §7."""
    _, t, _, d_ledge = step_response("hal275")
    final = d_ledge[t >= 3.5 * DAY].mean()
    assert final > 1.0  # cm thicker
    t95 = crossing_time(t, d_ledge, 0.95 * final)
    t63 = crossing_time(t, d_ledge, 0.632 * final)
    assert 3 * 3600 < t63 < 1.5 * DAY
    assert 0.75 * DAY < t95 < 4.5 * DAY


def test_five_percent_more_current_is_shed_through_the_ledge(hal275) -> None:
    """physics.md §1.10 (Dorreen, energiapotior.com): conventional cells hold about ±5 %; the ledge, not the bath
    temperature, absorbs a change of heat input (§1.6). +5 % line current at an unchanged resistance target for
    three days, against an unstepped twin from the same state (the kernel alone has no AlF3 additions, so both
    drift alike): a few kelvin of superheat and centimetres of ledge, and no limit event."""
    lines = {}
    for kA in (300.0, 315.0):
        line = Potline(hal275, 2, seed=4, slow_every=60, stop_on=())
        line.advance(int(DAY), 300.0)
        lines[kA] = (line, line.advance(int(3 * DAY), kA).events)
    (base, _), (step, events) = lines[300.0], lines[315.0]
    assert not [e for e in events if e.kind in ("ledge_thin", "ledge_thick", "bath_hot", "freeze_risk")]
    d_sh = step.out[L.O_SUPERHEAT_K].mean() - base.out[L.O_SUPERHEAT_K].mean()
    d_ledge = (step.state[L.S_LEDGE_BATH_CM] + step.state[L.S_LEDGE_METAL_CM]).mean() / 2 - (
        base.state[L.S_LEDGE_BATH_CM] + base.state[L.S_LEDGE_METAL_CM]).mean() / 2
    assert 0.5 < d_sh < 6.0  # a few kelvin
    assert -6.0 < d_ledge < -0.5  # centimetres thinner
    assert np.all(np.isfinite(step.state))


@pytest.mark.xfail(strict=True, reason="known limit (docs/physics.md §7): with half the feed lost the tracking "
                   "controller cannot keep up, anode effects follow every ~15-30 min and each 90-s AE at 30 V adds "
                   "~0.7 GJ (70 % into the liquids), so the bath passes 996 °C within 2 h and ~1020 °C by 8 h, its "
                   "ledge melted out (with the feed fully lost ~1050 °C at 2 h and ~1260 °C at 8 h)")
def test_half_blocked_feeder_for_two_hours_keeps_the_bath_below_the_hot_limit(hal275) -> None:
    """A feeder blockage as twin.plant applies it (plant_reference.toml: half the feed lost, 2 h mean). The
    cell should get a few anode effects and run hot, but stay below the model's bath_hot limit (985 °C)."""
    line = Potline(hal275, 1, slow_every=30, stop_on=())
    line.advance(int(DAY), 300.0)
    line.set_cells("feed_efficiency", 0, 0.5)
    line.advance(2 * 3600, 300.0)
    assert np.all(np.isfinite(line.state))
    assert line.state[L.S_TEMP_DEGC, 0] < hal275.number("thermal.bath_temp_max_degC")


def test_voltage_noise_has_the_stated_rms_and_correlation_time(hal275) -> None:
    """Band-limited resistance noise (physics.md §1.7 design): first-order filtered uniform noise whose RMS is
    noise.amplitude_uohm (× I) and whose autocorrelation falls to 1/e after noise.time_constant_s."""
    line = Potline(hal275, 4, seed=3, stop_on=())
    samples = []
    for _ in range(3 * 3600):
        line.advance(1, 300.0)
        samples.append(line.out[L.O_V_NOISE].copy())
    v = np.array(samples)  # (steps, cells)
    rms_expected = 300e3 * hal275.number("noise.amplitude_uohm") * 1e-6
    assert np.sqrt(np.mean(v**2)) == pytest.approx(rms_expected, rel=0.1)
    tau = int(hal275.number("noise.time_constant_s"))
    x = v - v.mean(axis=0)
    rho = np.mean(x[tau:] * x[:-tau]) / np.mean(x * x)
    assert rho == pytest.approx(math.exp(-1.0), abs=0.08)


def test_a_cell_frozen_out_by_a_day_without_power_restarts_finite(hal275) -> None:
    """24 h at 0 A freezes HAL275 far beyond its freeze-risk fraction (Øye & Sørlie: five hours or more cause large
    problems, physics.md §1.9); restarted at full current it must stay finite and heat up, not blow up (the bath
    correlations are evaluated no colder than 900 °C and inside their composition range, twin.cell.slow)."""
    line = Potline(hal275, 1, seed=1, slow_every=60, stop_on=())
    line.advance(int(DAY), 300.0)
    events = line.advance(int(DAY), 0.0).events
    assert any(e.kind == "freeze_risk" for e in events)
    cold = float(line.state[L.S_TEMP_DEGC, 0])
    assert cold < 850.0
    line.advance(12 * 3600, 300.0)
    assert np.all(np.isfinite(line.state))
    assert np.all(np.isfinite(line.out))
    assert line.state[L.S_TEMP_DEGC, 0] > cold + 100.0
    assert line.state[L.S_BATH_KG, 0] > 0.0
