"""Case 5: the mechanisms of a 3-h total power shutdown (Dupuis, Eick & Waldmann, 9th AASTC 2007).

Source: M. Dupuis, I. Eick, F. Waldmann, "Modelling Thermal Dynamic Response to a 3-hour Total Power Shutdown
Event", 9th Australasian Aluminium Smelting Technology Conference, Terrigal 2007; manuscript pages
http://www.genisim.com/website/Final-Manuscript_power-shutdown-9thaastc+no-3.html and ...no-5.html [S]
(physics.md §1.6, §1.9). The pages state the mechanisms but print no numbers for the bath temperature drop or
the ledge growth; Figure 4 plots the measured and simulated bath temperature of the 240 kA cell on an axis of
910-980 °C over 24 h. What the text says, and what is checked here:

a) "no more heat generation in the anode, cathode and bath"; the convection plume keeps "the heat convection on
   the outside of the shell almost unchanged"; the still-running exhaust "starts to cool down the covering and
   anodes": top and bottom losses continue from stored heat [S]; checked: at the end of the outage the top loss
   is still ≥ 80 % and the bottom loss ≥ 90 % of nominal [C reading of "almost unchanged"], and the anode and
   cathode nodes have cooled;
b) the stirring breaks down, "the speed-dependent heat transfer coefficient drops and less heat is conducted
   into the side ... The reduced heat flux results in a growing ledge thickness" [S]; physics.md §1.6: the film
   falls to a third to a half [S]; checked: the film factor at zero current lies in [1/3, 1/2] and both ledges
   grow during the outage;
c) physics.md §1.9: once the superheat is gone the side loss is fed by freezing ledge [S]; checked: the
   superheat over the last hour of the outage stays ≤ 3 K [C "≈ 0", the size of its 5-min noise] and the latent
   heat of the ledge frozen in that hour covers ≥ 80 % of the side loss [C];
d) physics.md §1.6: after the restart the ledge melts back over hours to days [C/R]; checked: the mean ledge is
   back within 1 cm of the twin's between 6 h and 3 days after the restart;
e) Figure 4's axis (910-980 °C) bounds the measured bath temperature during the event [C, inferred from the
   published figure; weak: a 240 kA cell, not hal275]; checked: the liquids stay ≥ 910 °C.

Method: two hal275 cells settled three days (harness), 3 h at zero current with no bath additions, then 72 h at
nominal current; a twin runs at nominal throughout. dt 5 s, slow_every 60.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from tests.validation.harness import Cells, Trace, settled, technology

from twin.cell.physics import stirring_factor

OUTAGE_H = 3.0
AFTER_H = 72.0


@cache
def runs() -> tuple[Cells, Trace, Trace, Trace]:
    base = settled("hal275")
    twin = base.copy()
    twin_trace = twin.run(OUTAGE_H + AFTER_H, twin.nominal_kA)
    cells = base.copy()
    during = cells.run(OUTAGE_H, 0.0, routine=False)
    after = cells.run(AFTER_H, cells.nominal_kA)
    return base, during, after, twin_trace


def test_top_and_bottom_losses_continue_from_stored_heat() -> None:
    base, during, _, _ = runs()
    snap = base.line.snapshot()
    assert during.series("q_top_W")[-1] >= 0.8 * snap.outputs["q_top_W"][0]
    assert during.series("q_bottom_W")[-1] >= 0.9 * snap.outputs["q_bottom_W"][0]
    assert during.series("anode_temp_degC")[-1] < snap.state["anode_temp_degC"][0] - 20.0
    assert during.series("cathode_temp_degC")[-1] < snap.state["cathode_temp_degC"][0]


def test_film_at_the_ledge_face_drops_when_the_current_stops_and_the_ledge_grows() -> None:
    t = technology("hal275")
    still = stirring_factor(
        0.0, 300e3, t.number("thermal.film_still_fraction"), t.number("thermal.film_current_exponent")
    )
    assert 1.0 / 3.0 <= still <= 0.5
    base, during, _, _ = runs()
    snap = base.line.snapshot()
    assert during.series("ledge_bath_cm")[-1] > snap.state["ledge_bath_cm"][0]
    assert during.series("ledge_metal_cm")[-1] > snap.state["ledge_metal_cm"][0]


@pytest.mark.xfail(
    strict=True,
    reason="FINDING (2026-12-06): over the outage's last hour the superheat is 0.8-7.1 K and the latent heat of "
    "the ledge frozen covers 73 % of the side loss: the liquidus slides with the acidified bath (AlF3 13.5 -> "
    "21 %, -25 K/h) as fast as the liquids cool (-24 K/h) until it reaches the edge of Solheim's range. Passed "
    "before only because the reported superheat was the bottom of the thermal update's sawtooth (about 5 K low "
    "at this 300-s cadence; twin.cell.thermal, operator splitting)",
)
def test_superheat_goes_to_zero_and_freezing_ledge_feeds_the_side_loss() -> None:
    _, during, _, _ = runs()
    t = technology("hal275")
    last_hour = slice(-12, None)
    assert np.max(during.series("superheat_K")[last_hour]) <= 3.0
    lb, lm = during.series("ledge_bath_cm"), during.series("ledge_metal_cm")
    frozen_kg = (
        t.number("thermal.ledge_density_kg_m3")
        / 100.0
        * (
            t.number("thermal.ledge_area_bath_m2") * (lb[-1] - lb[-13])
            + t.number("thermal.ledge_area_metal_m2") * (lm[-1] - lm[-13])
        )
    )
    latent_W = frozen_kg * t.number("thermal.ledge_latent_heat_J_per_kg") / 3600.0
    side_W = np.mean((during.series("q_side_bath_W") + during.series("q_side_metal_W"))[last_hour])
    assert latent_W >= 0.8 * side_W


def test_ledge_melts_back_over_hours_to_days() -> None:
    _, during, after, twin = runs()
    n = len(during.t_h)
    mean_ledge = (after.series("ledge_bath_cm") + after.series("ledge_metal_cm")) / 2.0
    twin_ledge = ((twin.series("ledge_bath_cm") + twin.series("ledge_metal_cm")) / 2.0)[n:]
    gap = mean_ledge - twin_ledge
    back = np.nonzero(np.abs(gap) < 1.0)[0]
    assert back.size, f"ledge still {gap[-1]:.1f} cm above the twin after {AFTER_H} h"
    assert 6.0 <= after.time_h()[back[0]] <= 72.0


@pytest.mark.xfail(
    strict=True,
    reason="FINDING: hal275's liquids fall 73 K to 882 °C in the 3-h outage (44 % of the bath frozen, the liquidus "
    "sliding with the acidified bath), below the 910 °C floor of Dupuis et al.'s Figure 4 axis (2026-12-06; "
    "before the thermal splitting fix 879 °C, 49 %)",
)
def test_bath_stays_on_the_published_figure_axis() -> None:
    _, during, _, _ = runs()
    assert during.series("temperature_degC").min() >= 910.0
