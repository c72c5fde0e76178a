"""`decnet catalog …`: the service catalogue and the archetypes (SPEC §6)."""

from __future__ import annotations

import typer

from decnet.cli import common
from decnet.core.catalog import container_image
from decnet.models import ServiceSpec

app = typer.Typer(help="List the service catalogue and archetypes.", no_args_is_help=True)


@app.command()
def services(ctx: typer.Context, json_out: bool = common.JSON_OPTION) -> None:
    """List the services a decky can run: ports, the sensor that speaks each and what it
    captures, the image that serves it on this site (DECNET_IMAGES applied) and the config
    keys."""
    catalog = common.catalog()
    found = list(catalog.services.values())
    if json_out:
        common.print_json(found)
        return
    site = common.settings(ctx).site_images
    rows = [
        [
            s.name,
            " ".join(str(p) for p in s.ports),
            s.sensor,
            " ".join(s.captures),
            container_image(s.name, catalog, site),
            _params(s),
        ]
        for s in found
    ]
    columns = ["service", "ports", "sensor", "captures", "image", "config keys (* secret)"]
    common.stdout().print(common.table(None, columns, rows))


def _params(spec: ServiceSpec) -> str:
    return " ".join(p.key + ("*" if p.secret else "") for p in spec.params)


@app.command()
def archetypes(json_out: bool = common.JSON_OPTION) -> None:
    """List the archetypes: named bundles of services (`archetype:` in topology files)."""
    found = list(common.catalog().archetypes.values())
    if json_out:
        common.print_json(found)
        return
    rows = [[a.name, ", ".join(a.services), a.description] for a in found]
    common.stdout().print(common.table(None, ["archetype", "services", "description"], rows))
