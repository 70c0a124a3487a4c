"""The SQL both backends share: table layout and the rollup/aggregate statements.

Times are ``BIGINT`` epoch microseconds (UTC), values ``DOUBLE PRECISION``, quality ``SMALLINT``
(0 good, 1 bad, 2 stale). Placeholders are ``?``; the PostgreSQL backend rewrites them for psycopg.
"""

from __future__ import annotations

TABLES = (
    """CREATE TABLE IF NOT EXISTS tags (
        tag_id INTEGER PRIMARY KEY, tag TEXT NOT NULL UNIQUE, unit TEXT NOT NULL,
        description TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS latest (
        tag_id INTEGER PRIMARY KEY, ts BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL,
        quality SMALLINT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS rollup_1m (
        tag_id INTEGER NOT NULL, bucket BIGINT NOT NULL, n BIGINT NOT NULL, total DOUBLE PRECISION NOT NULL,
        vmin DOUBLE PRECISION NOT NULL, vmax DOUBLE PRECISION NOT NULL, integral DOUBLE PRECISION NOT NULL,
        duration DOUBLE PRECISION NOT NULL, PRIMARY KEY (tag_id, bucket))""",
    """CREATE TABLE IF NOT EXISTS rollup_1h (
        tag_id INTEGER NOT NULL, bucket BIGINT NOT NULL, n BIGINT NOT NULL, total DOUBLE PRECISION NOT NULL,
        vmin DOUBLE PRECISION NOT NULL, vmax DOUBLE PRECISION NOT NULL, integral DOUBLE PRECISION NOT NULL,
        duration DOUBLE PRECISION NOT NULL, PRIMARY KEY (tag_id, bucket))""",
    """CREATE TABLE IF NOT EXISTS kpis (
        scope TEXT NOT NULL, name TEXT NOT NULL, ts BIGINT NOT NULL, value DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (scope, name, ts))""",
    """CREATE TABLE IF NOT EXISTS scenario_jobs (
        job_id TEXT PRIMARY KEY, status TEXT NOT NULL, body TEXT NOT NULL, label TEXT NOT NULL,
        created BIGINT NOT NULL, finished BIGINT, kpis TEXT, error TEXT)""",
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash TEXT NOT NULL, scopes TEXT NOT NULL,
        created BIGINT NOT NULL, revoked BOOLEAN NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL)""",
    # Points refused one by one (quarantine): kept as text, since their tag or time may not fit the tables above.
    """CREATE TABLE IF NOT EXISTS rejected_points (
        received BIGINT NOT NULL, source TEXT NOT NULL, tag TEXT NOT NULL, ts TEXT NOT NULL,
        value TEXT NOT NULL, reason TEXT NOT NULL)""",
    # The setpoint audit trail (issue 10 item 7): one row per proposal and event, append-only.
    """CREATE TABLE IF NOT EXISTS setpoint_audit (
        proposal_id TEXT NOT NULL, event TEXT NOT NULL, ts BIGINT NOT NULL, actor TEXT NOT NULL,
        target TEXT NOT NULL, setpoint TEXT NOT NULL, value DOUBLE PRECISION, detail TEXT NOT NULL,
        PRIMARY KEY (proposal_id, event))""",
    # Event frames (issue 11 item 3): anode effects, taps, outages, alarms ... with start, end and attributes.
    """CREATE TABLE IF NOT EXISTS event_frames (
        frame_id TEXT PRIMARY KEY, kind TEXT NOT NULL, asset TEXT NOT NULL, start_ts BIGINT NOT NULL,
        end_ts BIGINT, attributes TEXT NOT NULL)""",
    # Operators' alarm actions (issue 11 item 1): one row per alarm acted on; times epoch µs, NULL when not done.
    """CREATE TABLE IF NOT EXISTS alarm_actions (
        alarm_id TEXT PRIMARY KEY, updated BIGINT NOT NULL, acknowledged_at BIGINT, acknowledged_by TEXT,
        shelved_at BIGINT, shelved_until BIGINT, shelved_by TEXT)""",
    "CREATE INDEX IF NOT EXISTS event_frames_start ON event_frames (start_ts)",
)

# Minute rollups for the given tags and [lo, hi) minute range, recomputed from raw points. A sample holds
# until the next sample of any quality or the end of its minute; only good samples are aggregated.
ROLLUP_1M_DELETE = "DELETE FROM rollup_1m WHERE tag_id IN ({tags}) AND bucket >= ? AND bucket < ?"
ROLLUP_1M_INSERT = """
INSERT INTO rollup_1m
SELECT tag_id, bucket, count(*), sum(value), min(value), max(value),
       sum(value * hold) / 1e6, sum(hold) / 1e6
FROM (
    SELECT tag_id, value, quality, ts - ts % 60000000 AS bucket,
           least(coalesce(lead(ts) OVER (PARTITION BY tag_id ORDER BY ts), 9000000000000000000),
                 ts - ts % 60000000 + 60000000) - ts AS hold
    FROM points WHERE tag_id IN ({tags}) AND ts >= ? AND ts < ?
) q
WHERE quality = 0
GROUP BY tag_id, bucket"""
ROLLUP_1H_DELETE = "DELETE FROM rollup_1h WHERE tag_id IN ({tags}) AND bucket >= ? AND bucket < ?"
ROLLUP_1H_INSERT = """
INSERT INTO rollup_1h
SELECT tag_id, bucket - bucket % 3600000000, sum(n), sum(total), min(vmin), max(vmax),
       sum(integral), sum(duration)
FROM rollup_1m WHERE tag_id IN ({tags}) AND bucket >= ? AND bucket < ?
GROUP BY tag_id, bucket - bucket % 3600000000"""

ROLLUP_UPSERT = """ ON CONFLICT (tag_id, bucket) DO UPDATE SET n = excluded.n, total = excluded.total,
    vmin = excluded.vmin, vmax = excluded.vmax, integral = excluded.integral, duration = excluded.duration"""

# Incremental rollups for a batch appended after each of its tags' latest point: ``_roll`` holds the batch's
# per-(tag, minute) sums plus the shortened hold of each tag's previous last sample (n = 0); they add to the rows.
_ROLLUP_ADD = """
INSERT INTO {table}
SELECT tag_id, {bucket}, sum(n), sum(total), min(vmin), max(vmax), sum(integral), sum(duration)
FROM _roll GROUP BY tag_id, {bucket}
ON CONFLICT (tag_id, bucket) DO UPDATE SET n = {table}.n + excluded.n, total = {table}.total + excluded.total,
    vmin = least({table}.vmin, excluded.vmin), vmax = greatest({table}.vmax, excluded.vmax),
    integral = {table}.integral + excluded.integral, duration = {table}.duration + excluded.duration"""
ROLLUP_1M_ADD = _ROLLUP_ADD.format(table="rollup_1m", bucket="bucket")
ROLLUP_1H_ADD = _ROLLUP_ADD.format(table="rollup_1h", bucket="bucket - bucket % 3600000000")
ROLL_COLUMNS = ("tag_id", "bucket", "n", "total", "vmin", "vmax", "integral", "duration")

LATEST_UPSERT = """
INSERT INTO latest
SELECT DISTINCT ON (tag_id) tag_id, ts, value, quality FROM _stage ORDER BY tag_id, ts DESC
ON CONFLICT (tag_id) DO UPDATE SET ts = excluded.ts, value = excluded.value, quality = excluded.quality
WHERE excluded.ts >= latest.ts"""

# Aggregates from raw points for a bucket width ``w`` (µs). Parameters: w, w, tag_id, lo, hi.
AGG_RAW = """
SELECT b, count(*), avg(value), min(value), max(value), sum(value * hold) / sum(hold)
FROM (
    SELECT value, quality, ts - ts % {w} AS b,
           least(coalesce(lead(ts) OVER (ORDER BY ts), 9000000000000000000),
                 ts - ts % {w} + {w}, ts - ts % 60000000 + 60000000) - ts AS hold
    FROM points WHERE tag_id = ? AND ts >= ? AND ts < ?
) q
WHERE quality = 0
GROUP BY b ORDER BY b"""

# Aggregates from a rollup table for a width ``w`` that is a multiple of its bucket.
AGG_ROLLUP = """
SELECT bucket - bucket % {w} AS b, sum(n), sum(total) / sum(n), min(vmin), max(vmax),
       sum(integral) / sum(duration)
FROM {table} WHERE tag_id = ? AND bucket >= ? AND bucket < ?
GROUP BY bucket - bucket % {w} ORDER BY b"""

KPI_BUCKETS = """
SELECT name, ts - ts % {w} AS b, avg(value) FROM kpis
WHERE scope = ? AND ts >= ? AND ts < ? {names}
GROUP BY name, ts - ts % {w} ORDER BY name, b"""
