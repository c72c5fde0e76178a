"""Route dependencies: the caller's role. Authentication itself is `AuthMiddleware`'s."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from decnet.engine.tokens import Principal, Role
from decnet.errors import Unauthorized


async def _principal(request: Request) -> Principal:
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):  # a route outside the middleware's reach: refuse
        raise Unauthorized("this needs an API token", hint="send Authorization: Bearer TOKEN")
    return principal


async def _viewer(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    return principal


async def _admin(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    principal.require(Role.ADMIN)
    return principal


Viewer = Annotated[Principal, Depends(_viewer)]
"""Any valid token: reads."""
Admin = Annotated[Principal, Depends(_admin)]
"""An admin token: writes (a viewer gets 403)."""
