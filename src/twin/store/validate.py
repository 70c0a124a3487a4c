"""Input checks and conversions shared by the backends (pure functions, no I/O).

Every failure raises :class:`twin.errors.StoreError` through :func:`twin.errors.field_error`, so the message
names the field, the bad value and what would be valid.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from twin.errors import StoreError, StoreUnavailableError, field_error
from twin.store.model import QUALITY_CODES, Quality

SRC = "store"
US = 1_000_000
MINUTE_US = 60 * US
HOUR_US = 3600 * US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TS_US = int((datetime(2262, 1, 1, tzinfo=UTC) - EPOCH).total_seconds()) * US
# Spaces inside a name are allowed (Sparkplug metric names such as ``Properties/Serial Number``).
TAG_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.:/\- ]{0,198}[A-Za-z0-9_.:/\-])?$")
SCOPE_RE = re.compile(r"^(plant|potline:[0-9]{1,3}|cell:[0-9]{1,3}-[0-9]{1,4}|unit:[A-Za-z0-9_\-]{1,32})$")
NICE_SECONDS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def error(field: str, value: object, valid: str) -> StoreError:
    err = field_error(StoreError, SRC, field, value, valid)
    assert isinstance(err, StoreError)
    return err


def unavailable(what: str, exc: BaseException) -> StoreUnavailableError:
    """The database could not be reached for ``what`` (the driver's message says why; it never holds secrets)."""
    reason = " ".join(str(exc).split())[:300]
    return StoreUnavailableError(f"{SRC}: the database could not be reached for the {what} ({reason}); retry later")


def is_tag(tag: object) -> bool:
    """Whether ``tag`` is a valid tag name (:func:`check_tag`, which says why not)."""
    return isinstance(tag, str) and TAG_RE.fullmatch(tag) is not None and not any(
        p in (".", "..") for p in tag.split("/")
    )


def check_tag(tag: object, field: str = "tag") -> str:
    """A tag name: TAG_RE, and no ``.`` or ``..`` between slashes. Sparkplug metric names nest with ``/``
    (``Properties/Serial Number``), but a dot segment in a tag is a path step: the API lists each tag with its URL
    (``/v1/tags/<tag>/latest``), and an HTTP client removes dot segments before it sends one (RFC 3986 §5.2.4), so
    ``cell:1-011/x/../cell_voltage_V`` would read another tag's data. Found by a Sparkplug metric named
    ``a/b/c/../../d`` on the demo (2026-12-07), which was stored and listed with a link that answered 404."""
    if not is_tag(tag):
        raise error(
            field,
            tag,
            "1-200 characters from A-Z a-z 0-9 _ . : / - and space, starting with a letter or digit,"
            " not ending with a space, and no '.' or '..' between slashes",
        )
    return tag


def check_scope(scope: object) -> str:
    if not isinstance(scope, str) or not SCOPE_RE.fullmatch(scope):
        raise error("scope", scope, "'plant', 'potline:<n>', 'cell:<line>-<n>' or 'unit:<id>'")
    return scope


def to_us(value: object, field: str) -> int:
    """A timezone-aware datetime (or datetime64, taken as UTC) → epoch microseconds."""
    if isinstance(value, np.datetime64):
        if np.isnat(value):
            raise error(field, value, "a valid timestamp, not NaT")
        us = int(value.astype("datetime64[us]").astype(np.int64))
    elif isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise error(field, value, "a timezone-aware datetime (UTC); naive datetimes are ambiguous")
        delta = value - EPOCH
        us = (delta.days * 86400 + delta.seconds) * US + delta.microseconds
    else:
        raise error(field, value, "a timezone-aware datetime")
    if not 0 <= us < MAX_TS_US:
        raise error(field, value, "a time between 1970-01-01 and 2262-01-01 UTC")
    return us


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


def us_array_to_dt64(us: np.ndarray) -> np.ndarray:
    return np.asarray(us, dtype=np.int64).astype("datetime64[us]")


def check_range(start: object, end: object) -> tuple[int, int]:
    lo, hi = to_us(start, "start"), to_us(end, "end")
    if hi <= lo:
        raise error("end", end, f"a time after start ({start}); ranges are half-open [start, end)")
    return lo, hi


def ts_array(ts: Any, n: int | None = None) -> np.ndarray:
    """Timestamps of a batch → int64 epoch microseconds (checked: no NaT, inside the valid span)."""
    if hasattr(ts, "to_numpy") and not isinstance(ts, np.ndarray):  # pyarrow / pandas
        ts = ts.to_numpy(zero_copy_only=False) if "pyarrow" in type(ts).__module__ else ts.to_numpy()
    arr = np.asarray(ts)
    if arr.ndim != 1:
        raise error("ts", f"array of shape {arr.shape}", "a 1-D array of timestamps")
    if arr.dtype.kind == "O":
        arr = np.array([to_us(t, "ts") for t in arr], dtype=np.int64)
    elif arr.dtype.kind == "M":
        if np.isnat(arr).any():
            where = int(np.flatnonzero(np.isnat(arr))[0])
            raise error(f"ts[{where}]", "NaT", "a valid timestamp (no NaT/NaN)")
        arr = arr.astype("datetime64[us]").astype(np.int64)
    elif arr.dtype.kind == "f" and not np.isfinite(arr).all():
        where = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise error(f"ts[{where}]", float(arr[where]), "a valid timestamp (no NaN)")
    else:
        raise error("ts", f"array of dtype {arr.dtype}", "datetime64 values or timezone-aware datetimes")
    if n is not None and len(arr) != n:
        raise error("ts", f"{len(arr)} timestamps", f"one timestamp per value ({n})")
    if len(arr) and (arr.min() < 0 or arr.max() >= MAX_TS_US):
        bad = int(np.flatnonzero((arr < 0) | (arr >= MAX_TS_US))[0])
        raise error(f"ts[{bad}]", str(us_array_to_dt64(arr[bad : bad + 1])[0]), "a time in 1970..2262 UTC")
    return arr


def value_array(value: Any) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise error("value", type(value).__name__, "an array of numbers") from exc
    if arr.ndim != 1:
        raise error("value", f"array of shape {arr.shape}", "a 1-D array of numbers")
    return arr


def per_point(values: Any, n: int, field: str) -> np.ndarray | str:
    """A scalar string, or a 1-D array of strings with one entry per point."""
    if isinstance(values, str):
        return values
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1 or len(arr) != n:
        raise error(field, f"array of shape {arr.shape}", f"one string or a 1-D array of {n} strings")
    return arr


def quality_codes(quality: Any, n: int) -> np.ndarray:
    q = per_point(quality, n, "quality")
    if isinstance(q, str):
        if q not in QUALITY_CODES:
            raise error("quality", q, "one of 'good', 'bad', 'stale'")
        return np.full(n, QUALITY_CODES[q], dtype=np.int16)
    uniq, inverse = np.unique(q.astype(str), return_inverse=True)
    codes = []
    for u in uniq:
        if u not in QUALITY_CODES:
            raise error("quality", u, "one of 'good', 'bad', 'stale'")
        codes.append(QUALITY_CODES[u])
    return np.asarray(codes, dtype=np.int16)[inverse]


def quality_name(code: int) -> Quality:
    return ("good", "bad", "stale")[int(code)]  # type: ignore[return-value]


def check_limit(limit: object, field: str = "limit", maximum: int = 100_000) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise error(field, limit, f"an integer in [1, {maximum}]")
    return limit


def bucket_width_us(lo: int, hi: int, bucket: timedelta | None, max_points: int | None) -> int:
    """The bucket width: given, or the smallest 'nice' width giving at most ``max_points`` buckets."""
    if (bucket is None) == (max_points is None):
        raise error("bucket", bucket, "exactly one of bucket or max_points")
    if bucket is not None:
        if not isinstance(bucket, timedelta):
            raise error("bucket", bucket, "a timedelta")
        width = int(bucket / timedelta(microseconds=1))
        if width < US or width % US:
            raise error("bucket", bucket, "a whole number of seconds, at least 1 s")
        return width
    points = check_limit(max_points, "max_points", 100_000)
    need_s = math.ceil((hi - lo) / US / points)
    for nice in NICE_SECONDS:
        if nice >= need_s:
            return nice * US
    return math.ceil(need_s / 86400) * 86400 * US


def encode_cursor(tag_id: int, ts_us: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{tag_id}:{ts_us}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, tag_id: int) -> int:
    """The timestamp after which the next page starts."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, tid, ts = raw.split(":")
        if version != "v1" or int(tid) != tag_id:
            raise ValueError(raw)
        return int(ts)
    except (ValueError, UnicodeDecodeError) as exc:
        raise error("cursor", cursor, "a next_cursor returned by a previous page of the same tag") from exc


def names_list(names: Sequence[str] | None, field: str = "names") -> list[str] | None:
    if names is None:
        return None
    out = [check_tag(n, field) for n in names]
    if not out:
        raise error(field, [], "at least one name, or leave it out for all")
    return out
