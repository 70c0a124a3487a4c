"""Measure the live twin against a true plant: state accuracy with and without mismatch, and AE-warning skill.

    .venv/bin/python scripts/live_skill.py --pots 8 --hours 24 --seeds 2 > skill.json

For each seed and each plant (``own``: the filter's own model; ``mismatch``: twin.live.mismatch with every part
on) a live twin follows the plant in process (twin.live.drive, 5 s samples). Every pot has one feeder episode a
day at a random time (delivery 0-50 % for 1-3 h, then cleared), so that there are anode effects to warn of;
``--no-episodes`` leaves the pots healthy (state accuracy in normal operation).
Errors are taken every 30 s after a spin-up of 2 h: RMSE of dissolved alumina (wt%), superheat (K), bath
temperature (K) and ACD (cm), over all pots and times. The AE warning (twin.live.ae_warning, horizons 60 s and
300 s) is issued every 30 s and scored against the plant's true AE onsets (score_warnings) at several thresholds,
each horizon against its own (a pot-window is positive if an AE starts within the horizon).
Results are printed as JSON (docs/live.md records them with the machine).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from twin.live import LiveConfig, LiveTwin, drive
from twin.live.ae_warning import WarningConfig, ae_probability, score_warnings
from twin.live.mismatch import Mismatch, mismatched_plant
from twin.params import load_technology

GROUP = "potline1"
THRESHOLDS = (0.2, 0.3, 0.5, 0.7, 0.9)
HORIZONS_S = (60.0, 300.0)  # 60 s: TRIMET's one minute ahead; 300 s: what lead time a longer look buys


def run(tech, pots: int, hours: float, seed: int, mismatch: Mismatch, episodes: bool = True) -> dict:
    source = mismatched_plant(tech, pots, mismatch, seed=seed, warmup_s=5000.0)
    twin = LiveTwin(tech, {GROUP: pots}, LiveConfig())
    tracker = twin.tracker(GROUP)
    rng = np.random.default_rng([seed, 99])
    schedule = []  # (start, end, pot, efficiency)
    for day in range(int(np.ceil(hours / 24.0)) if episodes else 0):
        for c in range(pots):
            start = (day * 24.0 + rng.uniform(2.0, 20.0)) * 3600.0
            schedule.append((start, start + rng.uniform(1.0, 3.0) * 3600.0, c, float(rng.uniform(0.0, 0.5))))
    started, ended = set(), set()
    was = np.zeros(pots, bool)
    onsets: list[tuple[float, int]] = []
    times: list[float] = []
    probs: dict[float, list[np.ndarray]] = {h: [] for h in HORIZONS_S}
    errors: dict[str, list[np.ndarray]] = {"alumina_wtpct": [], "superheat_K": [], "temperature_degC": [], "acd_cm": []}
    warnings = {h: WarningConfig(horizon_s=h) for h in HORIZONS_S}

    def step(t: float) -> None:
        for k, (a, b, c, eff) in enumerate(schedule):
            if a <= t and k not in started:
                started.add(k)
                source.stick_feeder(c, eff)
            if b <= t and k not in ended:
                ended.add(k)
                source.clear_faults(c)
        truth = source.truth()
        now = truth["anode_effect"] > 0
        onsets.extend((t, int(c)) for c in np.where(now & ~was)[0])
        was[:] = now
        if t % 30 == 0 and tracker.t0 is not None:
            times.append(t)
            for h, cfg in warnings.items():
                probs[h].append(ae_probability(tracker.enkf, tracker.current_kA, tracker.anode_effect, cfg))
            if t >= 7200.0:
                est = tracker.enkf.estimate()
                for name in errors:
                    errors[name].append(est[name][0] - truth[name])

    drive(source, twin, until_s=hours * 3600.0, period_s=5.0, group=GROUP, on_step=step)
    rmse = {name: float(np.sqrt(np.mean(np.asarray(v) ** 2))) for name, v in errors.items()}
    skill = {
        f"{h:g}s@{thr:g}": score_warnings(
            np.asarray(times), np.asarray(probs[h]), onsets, horizon_s=h, threshold=thr
        ).as_dict()
        for h in HORIZONS_S
        for thr in THRESHOLDS
    }
    return {
        "rmse": rmse,
        "ae_onsets": len(onsets),
        "pot_days": pots * hours / 24.0,
        "skill": skill,
        "factors": getattr(source, "factors", {}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pots", type=int, default=8)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--no-episodes", action="store_true", help="no feeder episodes (healthy plant: state accuracy)")
    ap.add_argument("--technology", default=str(Path(__file__).resolve().parents[1] / "models" / "hal275.toml"))
    args = ap.parse_args()
    tech = load_technology(args.technology)
    out = {}
    for label, mm in (("own", Mismatch.none()), ("mismatch", Mismatch())):
        runs = []
        for seed in range(args.seeds):
            t0 = time.perf_counter()
            r = run(tech, args.pots, args.hours, seed, mm, episodes=not args.no_episodes)
            r["wall_s"] = time.perf_counter() - t0
            runs.append(r)
            sys.stderr.write(f"{label} seed {seed}: {json.dumps(r['rmse'])} onsets {r['ae_onsets']}\n")
        out[label] = runs
    json.dump(out, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
