"""Outputs for the SOC (docs/observe.md): list (any token); add, remove and test (admin).

No response carries a secret: a webhook shows `scheme://host:port/…` and its header names.
Over the API a JSON lines file is a plain name, written under `$DECNET_HOME/outputs/`: a
token must not choose where the server writes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from decnet.api.deps import Admin, Viewer
from decnet.api.state import ApiState, api_state
from decnet.core.output_request import OutputRequest
from decnet.engine import outputs as engine
from decnet.models import NAME_RE

router = APIRouter(prefix="/outputs", tags=["outputs"])
State = Annotated[ApiState, Depends(api_state)]
Name = Annotated[str, Path(pattern=NAME_RE.pattern, description="An output's name.")]


@router.get("")
def list_outputs(state: State, _who: Viewer) -> list[engine.OutputView]:
    """Every output: state, lag, counters, last error (`decnet outputs list --json`)."""
    return engine.list_outputs(state.context().store)


@router.get("/{name}")
def get_output(state: State, _who: Viewer, name: Name) -> engine.OutputView:
    return engine.get_output(state.context().store, name)


@router.post("", status_code=status.HTTP_201_CREATED)
def add_output(state: State, _who: Admin, body: OutputRequest) -> engine.OutputView:
    """Add an output (`decnet outputs add`); the server's runner starts delivering it."""
    outputs_dir = state.settings.home / "outputs"
    return engine.add_output(state.context().store, body, confine=outputs_dir)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_output(state: State, _who: Admin, name: Name) -> None:
    engine.remove_output(state.context().store, name)


@router.post("/{name}/test")
def test_output(state: State, _who: Admin, name: Name) -> engine.DeliveryTest:
    """Send one synthetic `output.test` event; `arrived` says whether it was acknowledged."""
    return engine.test_output(state.context().store, name)
