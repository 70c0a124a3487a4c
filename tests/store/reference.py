"""Slow, obvious re-implementations of the store's aggregates, to check the SQL against."""

from __future__ import annotations

import numpy as np

MINUTE = 60_000_000


def aggregate(ts_us: np.ndarray, value: np.ndarray, good: np.ndarray, width_us: int) -> dict[int, dict[str, float]]:
    """Bucket start → avg/min/max/count/twa over good samples, holding each to the next sample, its bucket
    end or its minute end, whichever comes first."""
    order = np.argsort(ts_us, kind="stable")
    ts_us, value, good = ts_us[order], value[order], good[order]
    out: dict[int, dict[str, list[float]]] = {}
    for i in range(len(ts_us)):
        if not good[i]:
            continue
        t = int(ts_us[i])
        b = t - t % width_us
        nxt = int(ts_us[i + 1]) if i + 1 < len(ts_us) else 2**62
        hold = min(nxt, b + width_us, t - t % MINUTE + MINUTE) - t
        acc = out.setdefault(b, {"v": [], "h": []})
        acc["v"].append(float(value[i]))
        acc["h"].append(float(hold))
    result = {}
    for b, acc in sorted(out.items()):
        v, h = np.array(acc["v"]), np.array(acc["h"])
        result[b] = {
            "avg": v.mean(),
            "min": v.min(),
            "max": v.max(),
            "count": len(v),
            "twa": float((v * h).sum() / h.sum()),
        }
    return result
