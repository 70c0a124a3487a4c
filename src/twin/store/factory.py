"""Open a store from a URL, so settings and the command line can name one with a single string."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit, urlunsplit

from twin.store import validate as v
from twin.store.duck_limits import DEFAULT_DUCKDB_MEMORY_LIMIT
from twin.store.model import Store


def open_store(url: str, *, retention: timedelta = timedelta(days=7)) -> Store:
    """``duckdb:///path/file.duckdb[?memory_limit=1GB]``, ``duckdb://:memory:`` or
    ``postgresql://user@host/db?schema=twin``."""
    if not isinstance(url, str):
        raise v.error("store_url", url, "a string such as duckdb:///var/twin.duckdb")
    if url.startswith("duckdb:"):
        from twin.store.duck import DuckDBStore

        path, _, query = url.removeprefix("duckdb:").removeprefix("//").partition("?")
        options = parse_qs(query, keep_blank_values=True)
        unknown = sorted(set(options) - {"memory_limit"})
        if unknown:
            raise v.error("store_url", unknown[0], "only the option memory_limit (e.g. duckdb:///twin.duckdb?memory_limit=1GB)")
        limit = options.get("memory_limit", [DEFAULT_DUCKDB_MEMORY_LIMIT])[-1]
        return DuckDBStore(path or ":memory:", retention=retention, memory_limit=limit)
    if url.startswith(("postgresql:", "postgres:")):
        from twin.store.pg import PostgresStore

        parts = urlsplit(url)
        query = parse_qs(parts.query)
        schema = query.pop("schema", ["twin"])[0]
        rest = "&".join(f"{k}={val}" for k, vals in query.items() for val in vals)
        conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
        return PostgresStore(conninfo, schema=schema, retention=retention)
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise v.error("store_url", scheme + ":…", "a URL starting with duckdb: or postgresql:")
