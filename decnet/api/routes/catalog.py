"""The service catalogue (with config schemas and secret flags) and the archetypes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from decnet.api.deps import Viewer
from decnet.api.state import ApiState, api_state
from decnet.models import Archetype, ServiceSpec

router = APIRouter(prefix="/catalog", tags=["catalog"])
State = Annotated[ApiState, Depends(api_state)]


@router.get("/services")
def services(state: State, _who: Viewer) -> list[ServiceSpec]:
    """Every service a decky can run: ports, default image, config keys (type, default,
    secret)."""
    return list(state.context().catalog.services.values())


@router.get("/archetypes")
def archetypes(state: State, _who: Viewer) -> list[Archetype]:
    """Named bundles of services (`archetype:` in topology files)."""
    return list(state.context().catalog.archetypes.values())
