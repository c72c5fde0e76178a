"""Request bodies and shared response shapes of the HTTP API.

Bodies are strict: unknown keys and wrong JSON types are 422 (with the field path), never
coerced — `"depth": "3"` is a mistake, not a 3.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from decnet.core.topofile import parse_topology_file
from decnet.models import (
    NAME_RE,
    Catalog,
    Coordinate,
    GeneratorParams,
    HostName,
    Issue,
    Size,
    Topology,
)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class GeneratorParamsBody(GeneratorParams):
    """The generator's parameters (SPEC §4), with their bounds."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    name: str = Field(pattern=NAME_RE.pattern)


class GenerateSpec(GeneratorParamsBody):
    host: HostName = "localhost"
    """The inventory host the topology is pinned to."""

    def params(self) -> GeneratorParams:
        return GeneratorParams.model_validate(self.model_dump(exclude={"host"}))


class CreateBody(Body):
    """Exactly one of `generate` (generator parameters) or `document` (a topology file: its
    YAML text, or the same structure as JSON)."""

    generate: GenerateSpec | None = None
    document: str | dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> CreateBody:
        if (self.generate is None) == (self.document is None):
            raise ValueError("give exactly one of `generate` or `document`")
        return self


class CopyBody(Body):
    """`POST /topologies/{name}/copy`: the name of the copy."""

    name: str = Field(max_length=63, description="The copy's name (pattern of every name).")


class ValidateBody(Body):
    document: str | dict[str, Any]


def parse_document(document: str | dict[str, Any], catalog: Catalog) -> Topology:
    # JSON is YAML's flow style, so the structured form goes through the same strict parser.
    text = document if isinstance(document, str) else json.dumps(document)
    return parse_topology_file(text, "document", catalog=catalog)


class Validation(BaseModel):
    valid: bool
    """No issue of severity error."""
    issues: list[Issue]


class LanBox(Body):
    x: Coordinate | None = None
    y: Coordinate | None = None
    w: Size | None = None
    h: Size | None = None


class DeckyPoint(Body):
    x: Coordinate | None = None
    y: Coordinate | None = None


class LayoutBody(Body):
    """Canvas coordinates of the listed LANs and deckies; the others keep theirs."""

    lans: dict[str, LanBox] = {}
    deckies: dict[str, DeckyPoint] = {}


class DeployBody(Body):
    dry_run: bool = False
    force: bool = False
    """Take over a topology stuck in a run even if its lease looks alive."""


class TeardownBody(Body):
    force: bool = False


class SessionBody(Body):
    code: str = Field(min_length=1, max_length=200)


class SessionOut(BaseModel):
    token: str
    """An admin bearer token for this session (shown once)."""
    name: str
    role: str
    expires_at: str | None


class TicketOut(BaseModel):
    ticket: str
    expires_in: float
    """Seconds; the ticket opens one stream, once."""


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    """Stable: unauthorized, forbidden, not_found, version_conflict, invalid_request, …"""
    message: str
    field: str | None = None
    """The request field at fault: `body.generate.depth`, `query.limit`, `lans.dmz`, …"""
    hint: str | None = None


class ErrorOut(BaseModel):
    """Every error: `issues` for 400, `current`/`expected` for a version conflict, `errors`
    for 422, next to code and message."""

    error: ErrorDetail


ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": text}
    for status, text in (
        (400, "Invalid topology (the issue list) or a bad request"),
        (401, "No, a wrong, an expired or a revoked token"),
        (403, "A viewer token on a write"),
        (404, "Unknown topology, run or route"),
        (408, "The request body did not arrive in time"),
        (409, "Version conflict, a status that forbids the action, a busy topology"),
        (413, "Body over the cap"),
        (421, "A Host header the server does not answer to (DECNET_API_HOSTS)"),
        (422, "Malformed request: the field is named"),
    )
}
