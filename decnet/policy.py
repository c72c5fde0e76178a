"""Which status allows which action (SPEC §3): the one table, served to every client.

The engine asks `verdict` before it acts; every topology view and summary carries `actions`
(all verdicts, with the reason for each refusal), so the CLI, the API and the editor offer exactly
what the server would accept, in the same words.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, computed_field

from decnet.models import Status


class Action(StrEnum):
    DEPLOY = "deploy"
    TEARDOWN = "teardown"
    EDIT = "edit"
    """Change the design: at once while pending, as a queued live change while live."""
    DELETE = "delete"


class Verdict(BaseModel):
    allowed: bool
    reason: str | None = None
    """Why not, in plain words, when refused."""


MUTABLE = frozenset({Status.ACTIVE, Status.DEGRADED})
"""Live statuses: a design change is a queued mutation (SPEC §10)."""
DESIGN = frozenset({Status.PENDING})
"""The status in which a design change applies to the stored topology at once."""

_S = Status
_TABLE: dict[Action, dict[Status, str | None]] = {
    # status -> None when allowed, else why not
    Action.DEPLOY: {
        _S.PENDING: None,
        _S.DEPLOYING: "a deploy is already running",
        _S.ACTIVE: None,
        _S.DEGRADED: None,
        _S.FAILED: None,
        _S.TEARING_DOWN: "it is being torn down",
        _S.TORN_DOWN: "it was torn down: deploy a copy of it under a new name",
    },
    Action.TEARDOWN: {
        _S.PENDING: "it was never deployed: there is nothing to tear down (delete it instead)",
        _S.DEPLOYING: None,
        _S.ACTIVE: None,
        _S.DEGRADED: None,
        _S.FAILED: None,
        _S.TEARING_DOWN: "it is already being torn down",
        _S.TORN_DOWN: "it is already torn down",
    },
    Action.EDIT: {
        _S.PENDING: None,
        _S.DEPLOYING: "a deploy is running: changes wait until it ends",
        _S.ACTIVE: None,
        _S.DEGRADED: None,
        _S.FAILED: "its last deploy failed: deploy it again before changing it",
        _S.TEARING_DOWN: "it is being torn down",
        _S.TORN_DOWN: "it was torn down: change a copy of it instead",
    },
    Action.DELETE: {
        _S.PENDING: None,
        _S.DEPLOYING: "a deploy is running",
        _S.ACTIVE: "it is deployed: tear it down first",
        _S.DEGRADED: "it is deployed: tear it down first",
        _S.FAILED: None,
        _S.TEARING_DOWN: "it is being torn down: delete it once that ends",
        _S.TORN_DOWN: None,
    },
}
_LIVE_ROUND_DEPLOY = "live changes are being applied: deploy again once they are"


def verdict(action: Action, status: Status, *, live_round: bool = False) -> Verdict:
    """May `action` happen to a topology in `status`? `live_round`: it is `deploying`
    because the reconciler applies live changes (it came from active or degraded); it then
    counts as active — the queue stays open — except that a deploy must wait."""
    if status is Status.DEPLOYING and live_round:
        if action is Action.DEPLOY:
            return Verdict(allowed=False, reason=_LIVE_ROUND_DEPLOY)
        status = Status.ACTIVE
    why = _TABLE[action][status]
    return Verdict(allowed=why is None, reason=why)


def allowed(action: Action, status: Status, *, live_round: bool = False) -> bool:
    return verdict(action, status, live_round=live_round).allowed


def statuses(action: Action) -> frozenset[Status]:
    """Every status that allows `action` (outside a live round)."""
    return frozenset(s for s, why in _TABLE[action].items() if why is None)


class Actions(BaseModel):
    """Every action's verdict, as views carry them (one field per Action)."""

    deploy: Verdict
    teardown: Verdict
    edit: Verdict
    delete: Verdict


def actions(status: Status, *, live_round: bool = False) -> Actions:
    return Actions.model_validate(
        {a.value: verdict(a, status, live_round=live_round) for a in Action}
    )


DELETABLE = statuses(Action.DELETE)


class WithActions(BaseModel):
    """A view of a topology that carries what it allows now (mixed into every topology view
    and summary the CLI and the API serve)."""

    status: Status
    live_round: bool = False
    """Deploying because live changes are being applied (it came from active or degraded)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def actions(self) -> Actions:
        """Every action's verdict for the topology as it is now, with the reason for each
        refusal (decnet/policy.py is the one table)."""
        return actions(self.status, live_round=self.live_round)
