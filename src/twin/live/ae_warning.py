"""Anode-effect early warning: the probability per pot that its dissolved alumina reaches the AE threshold soon.

Method
------
An anode effect starts when the dissolved alumina at the anodes falls below the kernel's threshold
``alumina_ae_wtpct`` (physics.md; Thonstad et al., *Aluminium Electrolysis*, 3rd ed. 2001, §13: AE onset
at ~1-2 wt% Al2O3). The live twin's ensemble (:mod:`twin.live.estimator`) is a sample of the posterior of
each pot's dissolved alumina, so the probability that the pot is at or below the threshold within ``h``
seconds is read off the members: a member "reaches" the threshold if its alumina, lowered by what
electrolysis consumes in ``h`` seconds without any feed, lies below it:

    p = (1/M) Σ_m [ c_m − r·h·s < c_AE ],   r = I·CE·(M_Al2O3 / 6F) / m_bath · 100   (wt%/s)

(Faraday's law for 2 Al2O3 → 4 Al + 3 O2: 6 F per mole of Al2O3; the kernel's ``ALUMINA_KG_PER_COULOMB``).
``s`` (``consumption_share``, 0..1) is the share of the no-feed consumption assumed; the pot controller
feeds between, so s < 1 trades recall for precision. Members already in an AE count as reaching it.
A pot whose measured AE flag is set is in an AE, not before one: its warning is NaN.

Skill is measured against a simulated plant's true AE onsets (docs/live.md, "AE early warning") with
:func:`score_warnings`: window-by-window classification as TRIMET's published baseline does
(Appl. Sci. 10(24) 9050, 2020: a pot-minute is positive if an AE starts within the next minute), plus
event recall and lead time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.cell.kernel import ALUMINA_KG_PER_COULOMB
from twin.errors import SimulationError
from twin.live.estimator import EnsembleKalmanFilter


@dataclass(frozen=True, slots=True)
class WarningConfig:
    """``horizon_s``: how far ahead (s, 10..3600); ``consumption_share``: s above (0..1);
    ``threshold``: the probability at which a warning is raised (0..1); ``current_efficiency``: CE used for
    the consumption (0.8..1, [S] modern prebake cells 0.94-0.96, Thonstad et al. 2001 §9)."""

    horizon_s: float = 60.0
    consumption_share: float = 1.0
    threshold: float = 0.5
    current_efficiency: float = 0.95

    def __post_init__(self) -> None:
        checks = (
            ("horizon_s", self.horizon_s, 10.0, 3600.0),
            ("consumption_share", self.consumption_share, 0.0, 1.0),
            ("threshold", self.threshold, 0.0, 1.0),
            ("current_efficiency", self.current_efficiency, 0.8, 1.0),
        )
        for name, value, low, high in checks:
            if not (isinstance(value, int | float) and low <= value <= high):
                raise SimulationError(
                    f"WarningConfig.{name} = {value!r} is invalid; expected a number in [{low:g}, {high:g}]"
                )


def ae_probability(
    enkf: EnsembleKalmanFilter, current_kA: float, in_ae: np.ndarray, config: WarningConfig | None = None
) -> np.ndarray:
    """Probability per cell of an AE onset within ``config.horizon_s`` (module docstring); NaN while in an AE."""
    cfg = config or WarningConfig()
    model = enkf.model
    c_ae = model.parameter("alumina_ae_wtpct")
    bath = enkf.cells_view("bath_kg")
    alumina = 100.0 * enkf.cells_view("alumina_dissolved_kg") / bath
    current = max(float(current_kA), 0.0) if np.isfinite(current_kA) else 0.0
    rate = current * 1e3 * cfg.current_efficiency * ALUMINA_KG_PER_COULOMB / bath * 100.0  # wt%/s per member
    ahead = alumina - rate * cfg.horizon_s * cfg.consumption_share
    reach = (ahead < c_ae) | (enkf.cells_view("ae_active") > 0)
    p = reach.mean(axis=1)
    p[np.asarray(in_ae, bool)] = np.nan
    return p


@dataclass(frozen=True, slots=True)
class Skill:
    """Window classification (precision, recall, F1 over pot-windows) and event recall with lead times."""

    windows: int
    true_positive: int
    false_positive: int
    false_negative: int
    precision: float
    recall: float
    f1: float
    events: int
    events_warned: int
    lead_time_median_s: float
    lead_time_mean_s: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(getattr(self, k)) for k in self.__dataclass_fields__}


def score_warnings(
    times_s: np.ndarray,
    probability: np.ndarray,
    onsets: list[tuple[float, int]],
    *,
    horizon_s: float,
    threshold: float,
    lookback_s: float = 1800.0,
) -> Skill:
    """Score warnings against true AE onsets.

    ``times_s`` (T,) are the window ends at which ``probability`` (T, n_cells) was issued; ``onsets`` the true
    (time_s, cell) of each AE start. A pot-window is *positive* if an onset of that pot falls in
    (t, t + horizon_s]; it is *predicted* if p ≥ threshold. Windows whose pot is in an AE (p NaN) are not
    scored. An event is *warned* if the pot's warning was on at the last window before the onset; its lead
    time is how long the warning had been on continuously before the onset (at most ``lookback_s``).
    """
    t = np.asarray(times_s, float)
    p = np.asarray(probability, float)
    if p.ndim != 2 or p.shape[0] != t.size:
        raise SimulationError(f"probability shape {p.shape} is invalid; expected ({t.size}, n_cells)")
    positive = np.zeros(p.shape, bool)
    for when, cell in onsets:
        positive[(t < when) & (t >= when - horizon_s), cell] = True
    scored = np.isfinite(p)
    predicted = np.where(scored, p, 0.0) >= threshold
    tp = int((predicted & positive & scored).sum())
    fp = int((predicted & ~positive & scored).sum())
    fn = int((~predicted & positive & scored).sum())
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / (tp + fn) if tp + fn else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    leads: list[float] = []
    for when, cell in onsets:
        before = np.where(t < when)[0]
        if before.size == 0 or not predicted[before[-1], cell]:
            continue
        k = before[-1]
        while k > 0 and predicted[k - 1, cell] and when - t[k - 1] <= lookback_s:
            k -= 1
        leads.append(float(when - t[k]))
    return Skill(
        int(scored.sum()),
        tp,
        fp,
        fn,
        precision,
        recall,
        f1,
        len(onsets),
        len(leads),
        float(np.median(leads)) if leads else float("nan"),
        float(np.mean(leads)) if leads else float("nan"),
    )
