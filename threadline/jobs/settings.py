"""The job worker's settings, read from ``THREADLINE_JOB_*`` (docs/jobs.md)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class JobSettings(BaseSettings):
    """How the worker of each server process polls, claims and gives up."""

    model_config = SettingsConfigDict(env_prefix="THREADLINE_JOB_", extra="ignore")

    poll_s: float = Field(
        default=1.0, gt=0, description="Look for jobs enqueued by other processes this often."
    )
    stale_s: float = Field(
        default=60.0,
        gt=0,
        description="A processing job without a heartbeat for this long is taken over "
        "(its process died); heartbeats come every quarter of it.",
    )
    max_attempts: int = Field(
        default=3, ge=1, description="Claims of one job before it ends in error."
    )
    retry_s: float = Field(
        default=5.0, ge=0, description="First back-off of a retried job; doubles per attempt."
    )
    concurrency: int = Field(default=2, ge=1, description="Jobs one process runs at once.")
    shutdown_grace_s: float = Field(
        default=10.0,
        ge=0,
        description="On shutdown, running jobs get this long to finish; the rest are handed back.",
    )
    modules: str = Field(
        default="",
        description="Comma-separated modules imported at start that register more job handlers.",
    )

    @property
    def heartbeat_s(self) -> float:
        return self.stale_s / 4

    @property
    def module_list(self) -> list[str]:
        return [name.strip() for name in self.modules.split(",") if name.strip()]
