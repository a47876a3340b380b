"""Accrual's own settings (LOYALTY_ACCRUAL_*), beside the ones every service has."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AccrualSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_ACCRUAL_", extra="ignore")

    pending_lapse_days: int = Field(
        default=7, ge=1, description="pending points of an authorization never posted lapse after"
    )
    lapse_every_seconds: float = Field(default=60.0, gt=0, description="how often to look")
