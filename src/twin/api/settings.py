"""Service settings, validated once; unsafe combinations stop the app from starting (style.md practice 14)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from twin.errors import TwinError

log = logging.getLogger(__name__)
ENV_PREFIX = "TWIN_API_"
ORIGIN_RE = re.compile(r"^https?://[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?$")


class Settings(BaseModel):
    """Everything the API service can be told. Build it in code or with :meth:`from_env`."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)  # no setting is infinite

    open_access: bool = Field(
        False, description="Serve without API keys (demo only; a loud warning is logged at startup)."
    )
    kpi_max_age_s: int = Field(2, ge=0, le=3600, description="Cache-Control max-age of KPI snapshots.")
    sse_interval_s: float = Field(1.0, gt=0, le=60, description="How often the SSE stream checks for changes.")
    max_buckets: int = Field(10_000, ge=10, le=1_000_000, description="Largest aggregate answer (buckets).")
    max_page: int = Field(10_000, ge=10, le=1_000_000, description="Largest page of recorded values.")
    # at most 100 years: 10^12 days overflowed timedelta, and every ranged query answered 500
    max_range_days: int = Field(3660, ge=1, le=36_600, description="Longest query range accepted.")
    job_workers: int = Field(2, ge=1, le=64, description="Scenario jobs run at once (one process each).")
    job_timeout_s: float = Field(600.0, gt=0, le=86_400, description="A job still running after this is killed.")
    job_memory_mb: int = Field(
        3072, ge=256, le=1_048_576, description="Address-space limit of a job's worker process (RLIMIT_AS)."
    )
    max_scenario_bytes: int = Field(65_536, ge=1024, le=10_485_760, description="Largest scenario text accepted.")
    max_body_bytes: int = Field(
        1_048_576, ge=1024, le=1_073_741_824, description="Largest request body on any route (413 above)."
    )
    max_connections: int = Field(
        500, ge=1, le=100_000, description="Open HTTP connections; one more is closed as it opens."
    )
    request_head_timeout_s: float = Field(
        10.0, gt=0, le=600, description="Seconds a connection has to send a request's head (slowloris guard)."
    )
    request_body_timeout_s: float = Field(
        60.0, gt=0, le=3600, description="Seconds a request has to send its body after its head."
    )
    auth_failures_per_min: int = Field(
        10, ge=1, le=100_000, description="Failed authentications per client address and minute before 429."
    )
    auth_fail_cache_s: float = Field(300.0, ge=0, le=86_400, description="How long a failed key is remembered.")
    max_pending_jobs: int = Field(16, ge=1, le=10_000, description="Queued jobs before POST answers 429.")
    baseline_toml: str | None = Field(None, description="Scenario TOML that results are compared against.")
    auth_cache_s: float = Field(30.0, ge=0, le=3600, description="How long a verified key is trusted.")
    compact_interval_s: float = Field(0.0, ge=0, description="Run store retention this often (0 = never).")
    cors_origins: tuple[str, ...] = Field(
        (),
        max_length=32,
        description="Browser origins allowed to call the API from another site (CORS), e.g. "
        "https://grafana.plant.local:3000; comma-separated in the environment. Empty = no CORS headers.",
    )
    handle_prefix: str = Field(
        "88.999.1",
        pattern=r"^[0-9]{1,9}(\.[0-9]{1,9}){0,7}$",
        description="Enterprise prefix of the assets' Handle identifiers (PREFIX/asset-id; GET /v1/id/...).",
    )

    public_url: str | None = Field(
        None,
        pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$",
        description="The API's own address as clients reach it (scheme://host[:port]), for the URLs in Handle "
        "records; unset: taken from the request's Host header, which a client chooses.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        for origin in value if isinstance(value, list | tuple) else ():
            if not isinstance(origin, str) or not ORIGIN_RE.fullmatch(origin):
                raise ValueError(
                    f"origin {origin!r} is invalid; expected scheme://host[:port], e.g. https://grafana:3000"
                )
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read ``TWIN_API_<FIELD>`` variables (e.g. ``TWIN_API_OPEN_ACCESS=true``)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = ENV_PREFIX + name.upper()
            if key in env:
                values[name] = env[key]
        unknown = [k for k in env if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX) :].lower() not in cls.model_fields]
        if unknown:
            raise TwinError(
                f"environment: {unknown[0]} is not a setting; known: "
                + ", ".join(ENV_PREFIX + n.upper() for n in cls.model_fields)
            )
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ENV_PREFIX + str(first["loc"][0]).upper()
            raise TwinError(f"environment: {field} = {first.get('input')!r} is invalid; {first['msg']}") from exc

    def warn_if_unsafe(self) -> None:
        if self.open_access:
            log.warning(
                "!!! API RUNNING WITH OPEN ACCESS: no API key is required for any endpoint, including "
                "scenario runs and key administration. Use only on a trusted, isolated demo machine. !!!"
            )
