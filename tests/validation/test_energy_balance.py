"""Case 1: process energy per kg Al and its split, against Entner's 200 kA energy balance.

Sources:
* P. Entner, AlPrg "Energy Balance Page", http://www.peter-entner.com/E/AlPrg/CellVoltage/CellVoltagePages/EBalPage.htm
  [S]: electric power 840 kW, internal power 786 kW, consumption 409 kW = reaction 365 kW + heating alumina
  36 kW + heating anodes 9 kW, heat loss 377 kW; physics.md §1.6 [S]: a 200 kA cell at CE 95 %.
* ../shared/docs/physics.md §0 [C]: 0.33557 kg Al per kA·h at CE 1, so Entner's cell makes
  0.33557 × 200 × 0.95 = 63.76 kg Al/h and his split is 5.725 + 0.565 + 0.141 = 6.431 kWh/kg Al.
* physics.md §1.6 [C]: 6.34 kWh/kg Al at 100 % CE = reaction 5.63 + alumina 0.55 + carbon 0.16.

Measured from the kernel's totals over one day of a settled hal275 cell (CE ≈ 95 %, the same as Entner's):
energy_reaction_J / al_produced_kg and energy_feed_J / al_produced_kg. The kernel has no separate anode
heating term, so the anode share is measured as zero.

Tolerances [C]: ±2 % on the reaction term and on the total (the model's CE differs from 95 % by well under a
point, which moves e_proc by < 0.3 %; thermochemical data sets differ by < 1 %), ±5 % on the alumina term
(stoichiometric vs real alumina consumption per kg Al), ±50 % on the anode term (it only has to be there).
"""

from __future__ import annotations

import pytest
from tests.validation.harness import settled

from twin.cell.physics import FARADAY, M_AL

KWH = 3.6e6
AL_KG_PER_H = 0.33557 * 200.0 * 0.95  # physics.md §0 [C], Entner's 200 kA cell at CE 95 %
ENTNER_KWH_PER_KG = {
    "reaction": 365.0 / AL_KG_PER_H,  # 5.725
    "alumina": 36.0 / AL_KG_PER_H,  # 0.565
    "anodes": 9.0 / AL_KG_PER_H,  # 0.141
}
ENTNER_TOTAL = 409.0 / AL_KG_PER_H  # 6.415
TOLERANCE = {"reaction": 0.02, "alumina": 0.05, "anodes": 0.5}


@pytest.fixture(scope="module")
def split() -> dict[str, float]:
    cells = settled("hal275")
    before = cells.line.snapshot().totals
    cells.run(24.0, cells.nominal_kA)
    after = cells.line.snapshot().totals
    d = {k: float((after[k] - before[k]).sum()) for k in after}
    al = d["al_produced_kg"]
    return {
        "ce": al / (M_AL / (3.0 * FARADAY) * d["charge_C"]),
        "reaction": d["energy_reaction_J"] / al / KWH,
        "alumina": d["energy_feed_J"] / al / KWH,
        # the kernel books no anode-heating total today (twin.cell.layout.ACC_NAMES); any total named for
        # heating anodes or carbon counts here as soon as it exists
        "anodes": sum(v for k, v in d.items() if k.startswith(("energy_anode", "energy_carbon"))) / al / KWH,
    }


def test_current_efficiency_is_entners(split: dict[str, float]) -> None:
    """The comparison is only like for like at Entner's CE of 95 % (±1 point)."""
    assert 0.94 <= split["ce"] <= 0.96


@pytest.mark.parametrize("term", ["reaction", "alumina"])
def test_process_energy_term_matches_entner(split: dict[str, float], term: str) -> None:
    published = ENTNER_KWH_PER_KG[term]
    assert split[term] == pytest.approx(published, rel=TOLERANCE[term])


@pytest.mark.xfail(
    strict=True,
    reason="FINDING: the kernel books no heat for bringing anode carbon to bath temperature (Entner 9 kW of 409 kW "
    "= 0.141 kWh/kg Al; physics.md §1.6 0.16 kWh/kg); measured 0",
)
def test_anode_heating_is_counted(split: dict[str, float]) -> None:
    assert split["anodes"] == pytest.approx(ENTNER_KWH_PER_KG["anodes"], rel=TOLERANCE["anodes"])


@pytest.mark.xfail(
    strict=True,
    reason="FINDING: total process energy 6.25 kWh/kg Al vs Entner's 6.415 (-2.5 %): the missing anode heating",
)
def test_total_process_energy_matches_entner(split: dict[str, float]) -> None:
    total = split["reaction"] + split["alumina"] + split["anodes"]
    assert total == pytest.approx(ENTNER_TOTAL, rel=0.02)
