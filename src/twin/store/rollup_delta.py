"""Rollup increments of a batch appended after every tag's latest point (pure numpy, no I/O).

The minute rollup of a tag (``sqlschema.ROLLUP_1M_INSERT``) sums its good samples, each holding until the next
sample of any quality or the end of its minute. A batch whose points all come after their tag's latest stored
point changes the rollups in two ways only: its own good samples add to their minutes, and the hold of each tag's
previous last sample, which ran to the end of its minute, is cut at the batch's first sample of that tag if that
falls in the same minute. Both are additive (``n``, ``total``, ``integral``, ``duration``) or monotone
(``vmin``, ``vmax``), so the rows are upserted by addition instead of being recomputed from the raw points.
"""

from __future__ import annotations

import numpy as np

MINUTE_US = 60_000_000
_NEVER = np.iinfo(np.int64).max


def rollup_delta(
    tag_id: np.ndarray,
    ts: np.ndarray,
    value: np.ndarray,
    qual: np.ndarray,
    prev_ts: np.ndarray,
    prev_value: np.ndarray,
    prev_qual: np.ndarray,
) -> dict[str, np.ndarray]:
    """Per-(tag, minute) increments, columns as ``sqlschema.ROLL_COLUMNS``.

    ``tag_id``/``ts``/``value``/``qual`` are the batch grouped by tag and in time order within a tag;
    ``prev_*`` hold, for each tag group in order of appearance, its latest stored sample (``prev_ts`` -1 when the
    tag has none). Every ``ts`` of a group must be after its ``prev_ts``.
    """
    n = len(ts)
    start = np.ones(n, dtype=bool)
    start[1:] = tag_id[1:] != tag_id[:-1]
    end = np.ones(n, dtype=bool)
    end[:-1] = start[1:]
    nxt = np.empty(n, dtype=np.int64)
    nxt[:-1] = ts[1:]
    nxt[end] = _NEVER
    minute = ts - ts % MINUTE_US
    hold = np.minimum(nxt, minute + MINUTE_US) - ts
    good = qual == 0
    g_tag, g_min, g_val, g_hold = tag_id[good], minute[good], value[good], hold[good]
    if len(g_tag):
        brk = np.ones(len(g_tag), dtype=bool)
        brk[1:] = (g_tag[1:] != g_tag[:-1]) | (g_min[1:] != g_min[:-1])
        idx = np.flatnonzero(brk)
        rows = {
            "tag_id": g_tag[idx],
            "bucket": g_min[idx],
            "n": np.diff(np.append(idx, len(g_tag))).astype(np.int64),
            "total": np.add.reduceat(g_val, idx),
            "vmin": np.minimum.reduceat(g_val, idx),
            "vmax": np.maximum.reduceat(g_val, idx),
            "integral": np.add.reduceat(g_val * g_hold, idx) / 1e6,
            "duration": np.add.reduceat(g_hold.astype(np.float64), idx) / 1e6,
        }
    else:
        rows = _empty()
    first = ts[start]
    p_min = prev_ts - prev_ts % MINUTE_US
    cut = (prev_ts >= 0) & (prev_qual == 0) & (first < p_min + MINUTE_US)
    if cut.any():  # the previous last sample now holds until the batch's first sample, not its minute's end
        delta = (first[cut] - (p_min[cut] + MINUTE_US)).astype(np.float64)
        k = int(cut.sum())
        extra = {
            "tag_id": tag_id[start][cut],
            "bucket": p_min[cut],
            "n": np.zeros(k, dtype=np.int64),
            "total": np.zeros(k),
            "vmin": np.full(k, np.inf),
            "vmax": np.full(k, -np.inf),
            "integral": prev_value[cut] * delta / 1e6,
            "duration": delta / 1e6,
        }
        rows = {c: np.concatenate([rows[c], extra[c]]) for c in rows}
    rows["tag_id"] = rows["tag_id"].astype(np.int32)
    rows["bucket"] = rows["bucket"].astype(np.int64)
    return rows


def _empty() -> dict[str, np.ndarray]:
    ints = np.zeros(0, dtype=np.int64)
    floats = np.zeros(0)
    return {"tag_id": ints, "bucket": ints, "n": ints, "total": floats, "vmin": floats, "vmax": floats,
            "integral": floats, "duration": floats}
