"""Settings read from the environment (prefix ``THREADLINE_``), cached by :func:`get_settings`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can configure. See the README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="THREADLINE_", extra="ignore")

    home: Path = Field(default=Path("var"), description="Holds the SQLite database and blobs.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy async URL; default sqlite+aiosqlite under home."
    )
    blob_url: str | None = Field(
        default=None, description="file:///path or s3://bucket/prefix; default home/blobs."
    )
    s3_endpoint_url: str | None = None
    redis_url: str | None = Field(
        default=None, description="Shares events, presence and rate limits between processes."
    )
    redis_prefix: str = Field(
        default="threadline", description="Prefix of every Redis key (several servers, one Redis)."
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs CSRF tokens and signed URLs; default a random key kept in home.",
    )

    admin_email: str = "admin@localhost"
    admin_password: str | None = None
    demo: bool = True

    require_invitation: bool = Field(
        default=False, description="Registration needs an invitation code."
    )
    branch_suffix_writes: bool = Field(
        default=False,
        validation_alias=AliasChoices("PF_BRANCH_SUFFIX_WRITES", "THREADLINE_BRANCH_SUFFIX_WRITES"),
        description="Branch writes as filename suffixes (ProductFlo phase 1).",
    )
    cors_origins: str = Field(
        default="",
        validation_alias=AliasChoices("CORS_ORIGINS", "THREADLINE_CORS_ORIGINS"),
        description="Comma-separated origins allowed on /v1/serve/*, or *.",
    )
    max_upload_mb: int = Field(
        default=200,
        validation_alias=AliasChoices("MAX_UPLOAD_MB", "THREADLINE_MAX_UPLOAD_MB"),
    )
    max_json_bytes: int = Field(default=1_048_576, description="Largest accepted JSON body.")

    session_days: int = Field(default=14, description="Lifetime of a browser session.")
    cookie_secure: bool = Field(default=False, description="Mark cookies Secure (behind HTTPS).")
    invitation_days: int = 7

    # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file under ``home``."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.home / 'threadline.db').resolve()}"

    @property
    def cors_origin_list(self) -> list[str]:
        """``CORS_ORIGINS`` split on commas, blanks dropped."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]


def normalise_database_url(url: str) -> str:
    """Accept the plain URLs operators paste (postgresql://, sqlite://); pick the async driver."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()
