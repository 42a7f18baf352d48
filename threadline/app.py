"""``create_app(settings)``: builds the FastAPI application and mounts every router. No logic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from threadline import health, openapi
from threadline.audit import api as audit_api
from threadline.auth import api as auth_api
from threadline.auth import workspaces_api
from threadline.auth.security import Passwords, load_secret_key
from threadline.blobs import BlobStore, create_blob_store
from threadline.boms import api as boms_api
from threadline.catalog import api as catalog_api
from threadline.catalog import attachments_api
from threadline.collab import api as collab_api
from threadline.config import Settings, get_settings
from threadline.db import create_engine, create_sessionmaker
from threadline.errors import install_error_handlers
from threadline.events import api as events_api
from threadline.events.broker import create_broker
from threadline.events.presence import create_presence
from threadline.faces import cascadia, production_bom
from threadline.jobs import service as jobs_service
from threadline.jobs.worker import Worker
from threadline.mes import api as mes_api
from threadline.mes.demand import quotes as mes_quotes
from threadline.mes.files import processing as mes_files
from threadline.mes.floor import trace as mes_trace
from threadline.mes.floor.reports import service as mes_reports
from threadline.middleware import BodyLimitMiddleware
from threadline.perf import tune_for_serving
from threadline.ratelimit import RateLimiter
from threadline.runtime import Runtime
from threadline.vault import api as vault_api
from threadline.vault import history_api, locks_api, serve_api
from threadline.vault.serving import ServeCorsMiddleware


def create_app(
    settings: Settings | None = None,
    *,
    engine: AsyncEngine | None = None,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    rate_limiter: RateLimiter | None = None,
    blobs: BlobStore | None = None,
) -> FastAPI:
    """The Threadline ASGI app. Tests pass their own engine/sessionmaker/limiter."""
    settings = settings or get_settings()
    owns_engine = engine is None
    engine = engine or create_engine(settings.effective_database_url)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=sessionmaker or create_sessionmaker(engine),
        rate_limiter=rate_limiter or RateLimiter(settings.redis_url),
        passwords=Passwords(
            time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
        ),
        secret_key=load_secret_key(settings),
        presence=create_presence(settings.redis_url, prefix=settings.redis_prefix),
        broker=create_broker(settings.redis_url, prefix=settings.redis_prefix),
        blobs=blobs or create_blob_store(settings),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tune_for_serving()
        await runtime.broker.start(runtime.sessionmaker)  # the event relay (docs/events.md)
        # Handlers bound to this server's objects, then this process's share of the jobs.
        for kind, handler in (
            (mes_files.JOB_KIND, mes_files.job_handler(runtime.blobs)),
            (mes_quotes.JOB_KIND, mes_quotes.job_handler(runtime.blobs)),
            (mes_reports.JOB_KIND, mes_reports.job_handler(runtime.blobs)),
        ):
            jobs_service.register(kind, handler, replace=True)
        jobs = Worker(runtime.sessionmaker)  # docs/jobs.md
        await jobs.start()
        yield
        await jobs.close()
        await runtime.broker.close()
        if owns_engine:
            await engine.dispose()

    app = FastAPI(
        title="Threadline",
        version="0.1.0",
        summary="Digital thread server: identity and workspaces, parts catalog, multi-level BOMs, "
        "CAD vault, live events, collaboration.",
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc come from threadline.openapi, on local assets
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_json_bytes)
    app.add_middleware(ServeCorsMiddleware, settings=settings)
    install_error_handlers(app)
    for router in (
        health.router,
        auth_api.router,
        workspaces_api.router,
        audit_api.router,
        catalog_api.router,
        attachments_api.router,
        boms_api.router,
        vault_api.router,
        serve_api.router,
        locks_api.router,
        history_api.router,
        collab_api.router,
        cascadia.router,
        production_bom.router,
        mes_api.router,
        mes_trace.router,
        events_api.router,
    ):
        app.include_router(router)
    openapi.install(app)
    return app
