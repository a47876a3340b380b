"""The console's settings, read from LOYALTY_CONSOLE_* variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LOYALTY_CONSOLE_", extra="ignore")

    adjustment_limit: int = Field(
        default=1_000,
        ge=0,
        description="an agent's adjustment above this many points (either sign) needs a "
        "supervisor's approval",
    )
    session_minutes: int = Field(default=480, ge=1, description="a session's lifetime")
    secure_cookies: bool = Field(
        default=False, description="mark cookies Secure (on whenever served over HTTPS)"
    )
    page_size: int = Field(default=25, ge=1, le=500, description="activity lines per page")
