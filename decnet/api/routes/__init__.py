"""One router module per concept; `ROUTERS` is the list `create_app` mounts under /api/v1.

To add a concept (e.g. live mutations), write `decnet/api/routes/<concept>.py` with an
`APIRouter` named `router` and add one line here.
"""

from __future__ import annotations

from fastapi import APIRouter

from decnet.api.routes import (
    attackers,
    catalog,
    events,
    fleet,
    lifecycle,
    mutations,
    outputs,
    runs,
    server,
    sessions,
    topologies,
)

ROUTERS: list[APIRouter] = [
    server.router,
    sessions.router,
    topologies.router,
    mutations.router,
    lifecycle.router,
    fleet.router,
    catalog.router,
    runs.router,
    events.router,
    attackers.router,
    outputs.router,
]
