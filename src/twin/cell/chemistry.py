"""Bath chemistry of one cell: composition, ledge freeze and melt with entrapped bath, Na2O and CaO from the alumina.

The liquid bath is tracked as masses: ``bath_kg`` (everything liquid but the dissolved alumina: cryolite,
excess AlF3, CaF2, MgF2, LiF), ``alf3_kg`` (excess AlF3), ``caf2_kg`` and the dissolved alumina. MgF2 and LiF
are held at their technology weight fractions. Concentrations in wt % are on ``bath_kg``, the convention of
the voltage and liquidus terms since the first version of the kernel.

**Ledge** (physics.md §1.6; Poncsák et al., Metals 7(3) 97, 2017): a freezing front grows cryolite and traps
a fraction f of the liquid bath, so each kg frozen takes (1 − f) kg of cryolite and f kg of bath at its
composition; melting returns ledge at the ledge's mean composition (both levels pooled). Every component
(cryolite, excess AlF3, CaF2, Al2O3) is conserved between bath and ledge: freezing acidifies the bath,
melting neutralises it.

**Na2O** in the alumina neutralises excess AlF3 when a shot is fed: 3 Na2O + 4 AlF3 → 2 Na3AlF6 + Al2O3
(Grjotheim & Welch, *Aluminium Smelter Technology* 1988, ch. 3; the feed-forward term of the potroom's AlF3
additions, physics.md §1.6). **CaO** in the alumina forms CaF2 the same way: 3 CaO + 2 AlF3 → 3 CaF2 + Al2O3
(:func:`calcium_oxide_reaction`), the bath's only CaF2 source; tapped bath is its sink.
"""

from __future__ import annotations

import numpy as np

from twin._numba import jit
from twin.cell import layout as L
from twin.cell import physics as ph


@jit
def composition(state: np.ndarray, i: int, p: np.ndarray) -> tuple[float, float, float]:
    """(excess AlF3, CaF2, Al2O3) of the liquid bath of cell ``i`` in wt %."""
    pct = 100.0 / state[L.S_BATH_KG, i]
    return state[L.S_ALF3_KG, i] * pct, state[L.S_CAF2_KG, i] * pct, state[L.S_ALUMINA_DISSOLVED_KG, i] * pct


@jit
def saturation_of(t_c: float, alf3: float, caf2: float, p: np.ndarray) -> float:
    """Skybakmoen's alumina solubility [physics.alumina_saturation] at the composition clamped to the liquidus
    range (the two correlations share it; beyond ~25 % AlF3 Skybakmoen's A turns negative)."""
    return ph.alumina_saturation(
        t_c,
        min(max(alf3, 0.0), ph.LIQUIDUS_ALF3_MAX),
        min(max(caf2, 0.0), ph.LIQUIDUS_CAF2_MAX),
        min(p[L.P_LIF_WTPCT], ph.LIQUIDUS_LIF_MAX),
        min(p[L.P_MGF2_WTPCT], ph.LIQUIDUS_MGF2_MAX),
    )


@jit
def liquidus_of(alf3: float, caf2: float, al2o3: float, al2o3_max: float, p: np.ndarray) -> float:
    """Solheim's liquidus [physics.liquidus_temperature] evaluated no further out than its fitted range.

    Outside the range (:func:`twin.cell.physics.liquidus_in_range`: AlF3, CaF2, LiF, MgF2 limits and alumina up
    to saturation ``al2o3_max``) the composition is clamped to its edge and the kernel raises
    ``liquidus_out_of_range`` (:mod:`twin.cell.events`): never a silent extrapolation.
    """
    return ph.liquidus_temperature(
        min(max(alf3, 0.0), ph.LIQUIDUS_ALF3_MAX),
        min(max(al2o3, 0.0), max(al2o3_max, 0.0)),
        min(max(caf2, 0.0), ph.LIQUIDUS_CAF2_MAX),
        min(p[L.P_LIF_WTPCT], ph.LIQUIDUS_LIF_MAX),
        min(p[L.P_MGF2_WTPCT], ph.LIQUIDUS_MGF2_MAX),
    )


@jit
def liquid_liquidus(state: np.ndarray, i: int, p: np.ndarray) -> float:
    """Liquidus of the liquid bath of cell ``i`` (°C), alumina capped at its solubility at the bath temperature."""
    alf3, caf2, al2o3 = composition(state, i, p)
    t_bath = max(state[L.S_TEMP_DEGC, i], ph.MOLTEN_BATH_MIN_DEGC)
    return liquidus_of(alf3, caf2, al2o3, saturation_of(t_bath, alf3, caf2, p), p)


@jit
def freezable_kg(state: np.ndarray, i: int, p: np.ndarray) -> float:
    """The most liquid that can still freeze as ledge (kg): until the liquid's cryolite is used up.

    Each kg frozen takes (1 − f) kg of cryolite plus f kg of liquid at its composition (:func:`freeze_bath`);
    the liquid's cryolite is what is left of the bath when its excess AlF3, CaF2 and the held MgF2 and LiF
    shares are taken out. Beyond that point the residual melt is no longer a cryolite bath.
    """
    f = p[L.P_LEDGE_ENTRAPPED_FRACTION]
    m_bath = state[L.S_BATH_KG, i]
    cryolite = max(
        m_bath * (1.0 - (p[L.P_MGF2_WTPCT] + p[L.P_LIF_WTPCT]) / 100.0) - state[L.S_ALF3_KG, i] - state[L.S_CAF2_KG, i],
        0.0,
    )
    liquid = m_bath + state[L.S_ALUMINA_DISSOLVED_KG, i]
    return cryolite / ((1.0 - f) + f * cryolite / liquid)


@jit
def freeze_bath(state: np.ndarray, i: int, p: np.ndarray, kg: float) -> None:
    """Move ``kg`` of liquid to the ledge: (1 − f) cryolite plus f bath at the liquid's composition."""
    f = p[L.P_LEDGE_ENTRAPPED_FRACTION]
    liquid = state[L.S_BATH_KG, i] + state[L.S_ALUMINA_DISSOLVED_KG, i]
    share = f * kg / liquid
    alf3 = share * state[L.S_ALF3_KG, i]
    caf2 = share * state[L.S_CAF2_KG, i]
    alumina = share * state[L.S_ALUMINA_DISSOLVED_KG, i]
    state[L.S_ALF3_KG, i] -= alf3
    state[L.S_CAF2_KG, i] -= caf2
    state[L.S_ALUMINA_DISSOLVED_KG, i] -= alumina
    state[L.S_BATH_KG, i] -= kg - alumina
    state[L.S_LEDGE_ALF3_KG, i] += alf3
    state[L.S_LEDGE_CAF2_KG, i] += caf2
    state[L.S_LEDGE_ALUMINA_KG, i] += alumina


@jit
def melt_ledge(state: np.ndarray, i: int, p: np.ndarray, kg: float, ledge_kg: float) -> None:
    """Return ``kg`` of the ``ledge_kg`` of ledge to the liquid, at the ledge's mean composition."""
    share = min(kg / ledge_kg, 1.0) if ledge_kg > 0.0 else 0.0
    alf3 = share * state[L.S_LEDGE_ALF3_KG, i]
    caf2 = share * state[L.S_LEDGE_CAF2_KG, i]
    alumina = share * state[L.S_LEDGE_ALUMINA_KG, i]
    state[L.S_LEDGE_ALF3_KG, i] -= alf3
    state[L.S_LEDGE_CAF2_KG, i] -= caf2
    state[L.S_LEDGE_ALUMINA_KG, i] -= alumina
    state[L.S_ALF3_KG, i] += alf3
    state[L.S_CAF2_KG, i] += caf2
    state[L.S_ALUMINA_DISSOLVED_KG, i] += alumina
    state[L.S_BATH_KG, i] += kg - alumina


@jit
def sodium_oxide_reaction(na2o_kg: float, alf3_available_kg: float) -> tuple[float, float, float]:
    """(excess AlF3 consumed, cryolite formed, alumina formed) in kg when ``na2o_kg`` of Na2O dissolves.

    3 Na2O + 4 AlF3 → 2 Na3AlF6 + Al2O3; with too little excess AlF3 the reaction stops where it runs out
    (the bath turns basic; the unreacted Na2O is counted as cryolite-forming NaF in the solvent).
    """
    alf3 = min(na2o_kg * ph.ALF3_PER_NA2O, alf3_available_kg)
    reacted = alf3 / ph.ALF3_PER_NA2O
    alumina = reacted * ph.ALUMINA_PER_NA2O
    return alf3, na2o_kg + alf3 - alumina, alumina


@jit
def calcium_oxide_reaction(cao_kg: float, alf3_available_kg: float) -> tuple[float, float, float, float]:
    """(excess AlF3 consumed, CaF2 formed, alumina formed, CaO left unreacted) in kg when ``cao_kg`` of CaO
    dissolves.

    3 CaO + 2 AlF3 → 3 CaF2 + Al2O3: the CaO impurity of smelter-grade alumina is where the CaF2 of an
    industrial bath comes from; tapped bath carries it out again, so the bath's CaF2 settles where the two
    balance (Grjotheim & Kvande 1993 ch. 3; physics.md §1.6). With too little excess AlF3 the reaction stops
    where it runs out and the rest stays in the solvent (the bath turns basic), as for Na2O. The CaF2 formed is
    what closes the mass balance (CaO reacted + AlF3 − Al2O3), so the tabulated molar masses' last digits
    cannot create or destroy mass.
    """
    alf3 = min(cao_kg * ph.ALF3_PER_CAO, alf3_available_kg)
    reacted = alf3 / ph.ALF3_PER_CAO
    alumina = reacted * ph.ALUMINA_PER_CAO
    return alf3, reacted + alf3 - alumina, alumina, cao_kg - reacted
