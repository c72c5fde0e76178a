"""Editor sessions (the one-time login code for a session token) and stream tickets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from decnet.api.deps import Admin, Viewer
from decnet.api.schemas import SessionBody, SessionOut, TicketOut
from decnet.api.state import ApiState, api_state
from decnet.engine import tokens
from decnet.errors import Forbidden, Unauthorized

router = APIRouter(tags=["auth"])
State = Annotated[ApiState, Depends(api_state)]


@router.post("/sessions", status_code=status.HTTP_201_CREATED)
def create_session(state: State, body: SessionBody) -> SessionOut:
    """Exchange the one-time login code `decnet serve` printed for a session token (admin,
    12 h). The code works once; no bearer token is needed here."""
    if state.login_codes.redeem(body.code) is None:
        raise Unauthorized(
            "the login code is unknown, used or expired",
            hint="restart `decnet serve` for a new one, or use `decnet token create`",
        )
    info, token = tokens.create_session(state.context().store)
    return SessionOut(token=token, name=info.name, role=info.role, expires_at=info.expires_at)


@router.get("/sessions/current")
def whoami(_state: State, who: Viewer) -> tokens.Principal:
    """The token the request came with: its name and role (the editor hides writes from
    viewers)."""
    return who


@router.delete("/sessions/current", status_code=status.HTTP_204_NO_CONTENT)
def logout(state: State, who: Admin) -> Response:
    """Revoke the calling session token (log out); API tokens are revoked with the CLI."""
    if not who.name.startswith(tokens.SESSION_PREFIX):
        raise Forbidden(
            f"token {who.name!r} is an API token, not a session",
            hint=f"revoke it with `decnet token revoke {who.name}`",
        )
    tokens.revoke_token(state.context().store, who.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/stream-tickets", status_code=status.HTTP_201_CREATED)
def stream_ticket(state: State, who: Viewer) -> TicketOut:
    """A single-use ticket (valid ~60 s) that opens one event stream as `?ticket=`, for
    EventSource, which cannot send an Authorization header."""
    return TicketOut(ticket=state.tickets.issue(who), expires_in=state.config.ticket_seconds)
