"""Engines and URLs: the admin URL is given; each service's runtime URL is derived from it."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.settings import InfraMode, PlatformSettings, ServiceSettings


def async_url(url: str | URL) -> URL:
    """The same database through the asyncpg driver."""
    parsed = make_url(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql+asyncpg")


def owner_role(service: str) -> str:
    return f"{service}_owner"


def runtime_role(service: str) -> str:
    return f"{service}_app"


def runtime_password(service: str, platform: PlatformSettings, settings: ServiceSettings) -> str:
    """The runtime role's password: given by settings; a fixed one only in embedded mode."""
    if settings.db_password is not None:
        return settings.db_password.get_secret_value()
    if platform.mode is InfraMode.EXTERNAL:
        raise RuntimeError(
            f"LOYALTY_{service.upper()}_DB_PASSWORD is required outside the embedded mode"
        )
    return f"{runtime_role(service)}-dev"


def runtime_url(
    service: str, admin_url: str, platform: PlatformSettings, settings: ServiceSettings
) -> URL:
    if settings.database_url:
        return async_url(settings.database_url)
    return async_url(admin_url).set(
        username=runtime_role(service), password=runtime_password(service, platform, settings)
    )


def create_engine(url: str | URL, pool_size: int = 5) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "loyalty"}},
    )
