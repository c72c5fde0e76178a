"""`create_app(config)`: the FastAPI app of `decnet serve` (docs/api.md).

Layers, outermost first: the Host check (421 for a name the server is not known by), CORS
(only when origins are configured), authentication of /api (401 before anything is read), the
body cap and deadline (413, 408), then the routes under /api/v1 and the web editor's bundle at
/. The lifespan starts the background services (decnet.api.services)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from decnet.api import errors, openapi, web
from decnet.api.config import API_PREFIX, ApiConfig
from decnet.api.middleware import AuthMiddleware, BodyLimitMiddleware, HostMiddleware
from decnet.api.routes import ROUTERS
from decnet.api.routes.server import health_router
from decnet.api.schemas import ERRORS
from decnet.api.services import lifespan
from decnet.api.state import ApiState
from decnet.errors import NotFound

DESCRIPTION = (
    "The decnet HTTP API: topologies, lifecycle, fleet, catalogue, runs and events. Every route "
    "but /healthz needs `Authorization: Bearer TOKEN` (see docs/api.md)."
)


def create_app(config: ApiConfig) -> FastAPI:
    app = FastAPI(
        title="decnet",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load scripts from a CDN
        redoc_url=None,
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.decnet = ApiState(config)
    errors.install(app)
    openapi.install(app)
    app.include_router(health_router)
    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX, responses=ERRORS)

    @app.api_route(
        "/api/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def unknown_api_route(rest: str) -> None:
        raise NotFound(f"no API route /api/{rest[:80]}", hint="see docs/api.md")

    web.mount(app, Path(config.web_dir))
    app.add_middleware(
        BodyLimitMiddleware, limit=config.settings.api_max_body, seconds=config.body_seconds
    )
    app.add_middleware(AuthMiddleware, state=app.state.decnet)
    if config.settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.settings.api_cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID"],
        )
    app.add_middleware(HostMiddleware, allowed=config.settings.api_hosts)
    return app
