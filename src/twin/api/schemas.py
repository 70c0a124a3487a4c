"""Request and response models (Base/Create/Public families, style.md practice 14)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from twin.api.validators import free_text, one_message, text_if_str

Scope = Literal["read", "run", "admin"]
# Scopes a key may hold: also ``operate`` (setpoint writes), which keys get from the command line only.
KeyScope = Literal["read", "run", "admin", "operate"]


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class Ready(BaseModel):
    ready: bool
    checks: dict[str, str]


class KpiSnapshot(BaseModel):
    scope: str = Field(examples=["potline:1"])
    as_of: AwareDatetime
    kpis: dict[str, float]


class KpiSnapshotAll(BaseModel):
    as_of: AwareDatetime
    scopes: dict[str, dict[str, float]] = Field(description="scope → KPI name → value")


class Series(BaseModel):
    ts: list[str] = Field(description="ISO-8601 UTC times (bucket starts when downsampled)")
    value: list[float]


class HistoryRow(BaseModel):
    time: str = Field(description="ISO-8601 UTC (bucket start when averaged)")
    value: float | None = Field(description="null when there is no good value to give (quality bad)")
    quality: Literal["good", "bad", "stale"]


class KpiHistory(BaseModel):
    scope: str
    start: AwareDatetime
    end: AwareDatetime
    max_points: int | None = Field(
        description="buckets per name asked for, or the cap min(max_buckets, 100000 / names) when a long "
        "range was averaged without asking; null: raw values"
    )
    units: dict[str, str] = Field(default_factory=dict, description='KPI name → unit ("" dimensionless)')
    rows: dict[str, list[HistoryRow]] = Field(default_factory=dict, description="KPI name → rows in time order")
    unknown: list[str] = Field(
        default_factory=list, description="names asked for that the scope does not have (404 when all are)"
    )
    series: dict[str, Series] = Field(description="the same values as parallel arrays (kept for older clients)")


class TagPublic(BaseModel):
    tag: str
    unit: str
    description: str
    source: Literal["stored", "kpi", "live"] = "stored"
    read: str = Field("", description="where to read it (path on this API)")


class PointPublic(BaseModel):
    tag: str
    ts: AwareDatetime
    value: float | None = Field(description="null when a bad or stale sample carries no number")
    quality: Literal["good", "bad", "stale"]


class Latest(BaseModel):
    points: list[PointPublic]


class RecordedPoint(BaseModel):
    ts: str
    value: float | None = Field(description="null when a bad or stale sample carries no number")
    quality: Literal["good", "bad", "stale"]


class Recorded(BaseModel):
    tag: str
    start: AwareDatetime
    end: AwareDatetime
    points: list[RecordedPoint]
    truncated: bool = Field(description="True when more points exist; fetch them with next_cursor")
    next_cursor: str | None


class Bucket(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ts: str
    avg: float | None = None
    min: float | None = None
    max: float | None = None
    count: int | None = None
    twa: float | None = None


class AggregateResult(BaseModel):
    tag: str
    start: AwareDatetime
    end: AwareDatetime
    bucket_s: float
    source: Literal["raw", "1m", "1h"]
    buckets: list[Bucket]


class Alarm(BaseModel):
    id: str
    asset: str
    state: Literal["active", "acknowledged", "cleared"]
    severity: str = "medium"
    reason: str
    since: AwareDatetime | None = None


class Alarms(BaseModel):
    alarms: list[Alarm]


class LiveValue(BaseModel):
    value: float
    unit: str
    time: AwareDatetime
    source: str = Field(description="where the value comes from, e.g. 'dispatch model'")
    tag: str | None = Field(None, description="the tag of this value in GET /v1/tags, if it has one")


class Asset(BaseModel):
    id: str = Field(examples=["cell:1-017"])
    kind: Literal["potline", "cell", "rectifier", "unit", "grid"]
    name: str = ""
    parent: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    live: dict[str, LiveValue] | None = Field(
        None, description="power-side assets: live values by name (null when the service has none; see live_reason)"
    )
    live_reason: str | None = Field(None, description="why live is null")


class Assets(BaseModel):
    assets: list[Asset]


class PowerBalance(BaseModel):
    as_of: AwareDatetime
    units_MW: dict[str, float] = Field(description="captive generating units, MW produced")
    grid_MW: float = Field(description="grid import (positive) or export (negative), MW")
    potlines_MW: dict[str, float] = Field(description="DC load per potline, MW")
    generation_MW: float
    load_MW: float
    imbalance_MW: float = Field(description="generation + grid − load (≈ 0 when the balance closes)")


class CellValues(BaseModel):
    potline: str
    as_of: AwareDatetime
    cells: dict[str, dict[str, float | bool | None]]


class ScenarioBase(BaseModel):
    label: str = Field("", max_length=200)


ChangeValue = Annotated[
    Annotated[str, Field(max_length=200)] | bool | int | Annotated[float, Field(allow_inf_nan=False)],
    one_message("change_value", "Input should be a finite number, true or false, or text of at most 200 characters"),
    text_if_str(200),
]
KeyName = free_text(100, min_length=1)
Label = free_text(200)


class ScenarioCreate(ScenarioBase):
    """Exactly one of ``toml`` (the scenario file's text) or ``from_live: true``; with ``change`` the what-if
    is that scenario plus the change, and the same scenario without it runs alongside as its baseline."""

    model_config = ConfigDict(extra="forbid")
    label: Label = ""  # checked as text here only: labels stored earlier are still listed
    toml: str | None = Field(None, max_length=1_000_000)
    from_live: bool = False
    change: (
        list[dict[Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,39}$")], ChangeValue]] | None
    ) = Field(
        None,
        max_length=16,
        description="scenario events ([[event]] tables, docs/scenarios.md): one object or a list, e.g. "
        '[{"kind": "outage", "at_h": 1, "potline": "all", "duration_h": 2}]',
    )

    @model_validator(mode="before")
    @classmethod
    def _one_change_is_a_list_of_one(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("change"), dict):
            return {**data, "change": [data["change"]]}
        return data

    @model_validator(mode="after")
    def _changes_are_events(self) -> ScenarioCreate:
        for i, event in enumerate(self.change or ()):
            if not isinstance(event.get("kind"), str) or len(event) > 24:
                raise ValueError(f"change[{i}] needs a 'kind' (text) and at most 24 fields")
        return self

    @model_validator(mode="after")
    def _one_source(self) -> ScenarioCreate:
        if (self.toml is None) == (not self.from_live):
            raise ValueError("give exactly one of 'toml' (scenario text) or 'from_live': true")
        return self


class CataloguePotline(BaseModel):
    name: str
    cells: int
    technology: str


class CataloguePlant(BaseModel):
    title: str
    potlines: list[CataloguePotline]


class Catalogue(BaseModel):
    """What a scenario job may name: ``scenario.plant`` is one of ``plants`` (by id, never a path)."""

    plants: dict[str, CataloguePlant]
    technologies: list[str]
    max_horizon_h: float


class ScenarioPublic(ScenarioBase):
    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    created: AwareDatetime
    finished: AwareDatetime | None
    error: str | None
    links: dict[str, str]


class ScenarioList(BaseModel):
    jobs: list[ScenarioPublic]


class ScenarioResults(BaseModel):
    job_id: str
    kpis: dict[str, float]


class KpiComparison(BaseModel):
    name: str
    value: float | None
    baseline: float | None
    delta: float | None
    delta_pct: float | None


class Comparison(BaseModel):
    job_id: str
    baseline_job_id: str
    kpis: list[KpiComparison]


class ApiKeyBase(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1)


class ApiKeyCreate(ApiKeyBase):
    model_config = ConfigDict(extra="forbid")
    name: KeyName  # checked as text here only: names stored earlier are still listed


class ApiKeyPublic(ApiKeyBase):
    scopes: list[KeyScope] = Field(min_length=1)  # type: ignore[assignment]
    key_id: str
    created: AwareDatetime
    revoked: bool


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="the full key; shown once, store it now")


class HandleData(BaseModel):
    format: Literal["string"] = "string"
    value: str


class HandleValue(BaseModel):
    """One Handle value (RFC 3651 data model): index, type, data, TTL (s) and when it was issued."""

    index: int
    type: str = Field(examples=["URL"])
    data: HandleData
    ttl: int
    timestamp: str


class HandleRecord(BaseModel):
    responseCode: int = Field(description="Handle protocol response code (RFC 3652); 1 = success")
    handle: str = Field(examples=["88.999.1/cell:1-017"])
    asset: str = Field(description="URL of the asset on this API")
    values: list[HandleValue]


class HandleList(BaseModel):
    prefix: str
    identifiers: list[str]


class EventFramePublic(BaseModel):
    id: str
    kind: str = Field(examples=["anode_effect"])
    asset: str = Field(examples=["cell:1-017"])
    start: str = Field(description="ISO-8601 UTC")
    end: str | None = Field(description="ISO-8601 UTC; null while the frame is open")
    attributes: dict[str, float | int | bool | str] = Field(examples=[{"peak_V": 31.5, "minutes": 2.5}])


class EventFrames(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    events: list[EventFramePublic]
    next_cursor: str | None


class Annotation(BaseModel):
    """A Grafana region annotation (JSON API / Infinity data sources)."""

    time: int = Field(description="start, epoch milliseconds")
    timeEnd: int = Field(description="end, epoch milliseconds (= time while the frame is open)")
    title: str
    text: str
    tags: list[str]


class InterpolatedStream(BaseModel):
    tag: str
    unit: str
    rows: list[HistoryRow]


class InterpolatedSet(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    interval_s: float
    streams: list[InterpolatedStream]


class PlotColumn(BaseModel):
    time: str = Field(description="column (bucket) start, ISO-8601 UTC")
    min: float
    max: float


class PlotStream(BaseModel):
    tag: str
    unit: str
    bucket_s: float
    columns: list[PlotColumn]


class PlotSet(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    streams: list[PlotStream]


class SummaryStream(BaseModel):
    tag: str
    unit: str
    count: int = Field(description="good samples")
    min: float | None
    max: float | None
    avg: float | None
    twa: float | None = Field(description="time-weighted average, each good sample held to the next sample")
    percent_good: float | None = Field(description="share of the covered time held by good samples, %")


class SummarySet(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    streams: list[SummaryStream]
