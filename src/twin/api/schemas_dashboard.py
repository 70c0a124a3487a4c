"""Response schemas of the dashboard routes: `GET /v1/dashboard` (see :mod:`twin.api.operating`) and alarm actions."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field


class BandPublic(BaseModel):
    signal: str
    label: str
    unit: str
    alarm_low: float | None
    ok_low: float | None
    ok_high: float | None
    alarm_high: float | None
    source: str


class DashboardInfo(BaseModel):
    speed: float = Field(description="plant seconds per wall-clock second (1 = real time; the demo runs faster)")
    timezone: str | None = Field(description="the plant's IANA time zone; null: the browser's own")
    technology: str | None = Field(description="cell technology the limits come from; null: none configured")
    limits: dict[str, BandPublic] = Field(description="fixed operating band per signal; empty if no technology")


class AlarmAction(BaseModel):
    acknowledged_at: AwareDatetime | None = None
    acknowledged_by: str | None = Field(None, description="API key id that acknowledged")
    shelved_at: AwareDatetime | None = Field(None, description="when it was shelved")
    shelved_until: AwareDatetime | None = None
    shelved_by: str | None = Field(None, description="API key id that shelved")


class AlarmActions(BaseModel):
    actions: dict[str, AlarmAction] = Field(description="by alarm id; alarms nobody acted on are absent")
