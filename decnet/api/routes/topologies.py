"""Topologies: list, get (the `show --json` shape), create, copy, validate, export, graph,
delete, and the cosmetic canvas layout."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from decnet.api.config import API_PREFIX
from decnet.api.deps import Admin, Viewer
from decnet.api.schemas import (
    CopyBody,
    CreateBody,
    LayoutBody,
    ValidateBody,
    Validation,
    parse_document,
)
from decnet.api.state import ApiState, api_state
from decnet.engine import topologies as engine
from decnet.engine.layout import set_layout
from decnet.models import HOST_RE, NAME_RE, Issue, Severity, Status
from decnet.store.rows import TopologySummary

router = APIRouter(prefix="/topologies", tags=["topologies"])
State = Annotated[ApiState, Depends(api_state)]
Name = Annotated[str, Path(pattern=NAME_RE.pattern, description="A stored topology.")]


class TopologyPage(BaseModel):
    items: list[TopologySummary]
    next: str | None
    """Pass as `after` for the next page; null on the last."""


class LayoutOut(BaseModel):
    name: str
    version: int


def _validation(issues: list[Issue]) -> Validation:
    return Validation(valid=all(i.severity is not Severity.ERROR for i in issues), issues=issues)


@router.get("")
def list_topologies(
    state: State,
    _who: Viewer,
    status_: Annotated[list[Status] | None, Query(alias="status")] = None,
    host: Annotated[str | None, Query(pattern=HOST_RE.pattern)] = None,
    prefix: Annotated[str | None, Query(max_length=63, description="Name prefix.")] = None,
    after: Annotated[str | None, Query(max_length=63, description="Last name seen.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> TopologyPage:
    """Stored topologies by name, filtered by status (repeatable), host and name prefix."""
    rows = [
        r
        for r in engine.list_topologies(state.context().store)
        if (not status_ or r.status in status_)
        and (host is None or r.host == host)
        and (prefix is None or r.name.startswith(prefix))
        and (after is None or r.name > after)
    ]
    page = rows[:limit]
    return TopologyPage(items=page, next=page[-1].name if len(rows) > limit else None)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_topology(
    state: State, _who: Admin, body: CreateBody, response: Response
) -> engine.TopologyView:
    """Generate a topology from parameters, or create one from a topology-file document."""
    ctx = state.context()
    if body.generate is not None:
        spec = body.generate
        stored = engine.generate_topology(
            ctx.store, spec.params(), host=spec.host, catalog=ctx.catalog
        )
    else:
        assert body.document is not None  # CreateBody allows exactly one
        parsed = parse_document(body.document, ctx.catalog)
        stored = engine.create_topology(ctx.store, parsed, catalog=ctx.catalog)
    response.headers["Location"] = f"{API_PREFIX}/topologies/{stored.name}"
    return _show(state, stored.name)


@router.post("/validate")
def validate_document(state: State, _who: Viewer, body: ValidateBody) -> Validation:
    """Every problem of a topology-file document, as `create` would see it; nothing is stored."""
    ctx = state.context()
    parsed = parse_document(body.document, ctx.catalog)
    return _validation(engine.validate_topology(ctx.store, parsed, catalog=ctx.catalog))


def _show(state: ApiState, name: str) -> engine.TopologyView:
    ctx = state.context()
    return engine.show_topology(
        ctx.store, name, catalog=ctx.catalog, site_images=ctx.settings.site_images
    )


@router.get("/{name}")
def get_topology(state: State, _who: Viewer, name: Name) -> engine.TopologyView:
    """The topology with its desired hash, secrets masked (`decnet topology show --json`)."""
    return _show(state, name)


@router.get("/{name}/validate")
def validate_stored(state: State, _who: Viewer, name: Name) -> Validation:
    """Every problem of the stored topology, against the other topologies on its host."""
    ctx = state.context()
    return _validation(engine.validate_stored(ctx.store, name, catalog=ctx.catalog))


@router.post("/{name}/copy", status_code=status.HTTP_201_CREATED)
def copy_topology(
    state: State, _who: Admin, name: Name, body: CopyBody, response: Response
) -> engine.TopologyView:
    """A pending copy of the topology under a new name (any status: a torn-down topology is
    deployed again this way), secrets included without them leaving the server → 201."""
    ctx = state.context()
    stored = engine.copy_topology(ctx.store, name, body.name, catalog=ctx.catalog)
    response.headers["Location"] = f"{API_PREFIX}/topologies/{stored.name}"
    return _show(state, stored.name)


@router.get("/{name}/export", response_class=PlainTextResponse)
def export_topology(state: State, _who: Viewer, name: Name) -> PlainTextResponse:
    """The topology as a topology file (YAML); secret values are always masked here."""
    ctx = state.context()
    text = engine.export_topology(ctx.store, name, catalog=ctx.catalog)
    return PlainTextResponse(text, media_type="application/yaml")


@router.get("/{name}/graph", response_class=PlainTextResponse)
def graph_topology(
    state: State,
    _who: Viewer,
    name: Name,
    fmt: Annotated[engine.GraphFormat, Query(alias="format")] = engine.GraphFormat.MERMAID,
) -> PlainTextResponse:
    """The LAN/decky graph as Mermaid or Graphviz DOT."""
    return PlainTextResponse(engine.graph_topology(state.context().store, name, fmt))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_topology(
    state: State,
    _who: Admin,
    name: Name,
    expected_version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Delete a pending, failed or torn-down topology and all its rows (409 otherwise)."""
    engine.delete_topology(state.context().store, name, expected_version=expected_version)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/{name}/layout")
def put_layout(state: State, _who: Admin, name: Name, body: LayoutBody) -> LayoutOut:
    """Canvas coordinates only: not part of the hash, no version bump, allowed in any status."""
    lans = {lan: (b.x, b.y, b.w, b.h) for lan, b in body.lans.items()}
    deckies = {decky: (p.x, p.y) for decky, p in body.deckies.items()}
    version = set_layout(state.context().store, name, lans, deckies)
    return LayoutOut(name=name, version=version)
