"""`decnet testbed …`: test hosts on this machine (network namespaces; see docs/testbed.md)."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from decnet.cli.errors import DecnetGroup
from decnet.errors import DecnetError
from decnet.testbed import ACTIONS, MAX_HOSTS, Testbed, check_action, check_count, check_host
from decnet.text import terminal_safe

app = typer.Typer(
    cls=DecnetGroup,  # also run on its own (python -m decnet.testbed): same errors, exit codes
    help="Start, break and remove test hosts on this machine (root; one testbed per machine).",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def up(
    n: int = typer.Argument(..., help=f"How many hosts (h1..hN), 1 to {MAX_HOSTS}."),
    image: list[str] = typer.Option(
        [], "--image", "-i", help="Load this image from the local engine into every host."
    ),
) -> None:
    """Boot hosts h1..hN and write their Ansible inventory (group decnet_hosts)."""
    check_count(n)
    tb = Testbed()
    with tb.lock():  # refuse while a test session owns the testbed
        inventory = tb.up(n)
        try:
            for img in image:
                tb.load_image(img)
        except (DecnetError, KeyboardInterrupt):
            tb.down()  # all or nothing: no half-prepared testbed stays behind
            raise
    typer.echo(f"{n} host(s) up; inventory: {inventory}")
    typer.echo(f"try: ansible -i {inventory} all -m ansible.builtin.ping")


@app.command()
def down() -> None:
    """Remove every host, the bridge and the firewall rules; then check nothing is left."""
    tb = Testbed()
    with tb.lock():
        tb.down()
    _report_leftovers(tb.check_clean())


@app.command()
def fault(
    host: str = typer.Argument(..., help="h1..hN"),
    action: str = typer.Argument(..., help="One of: " + ", ".join(ACTIONS)),
) -> None:
    """Inject a fault into a host or undo it (see docs/testbed.md)."""
    check_host(host)
    check_action(action)
    Testbed().fault(host, action)
    typer.echo(f"{host}: {action} done")


@app.command(name="exec", context_settings={"ignore_unknown_options": True})
def exec_(
    host: str = typer.Argument(..., help="h1..hN"),
    cmd: list[str] = typer.Argument(..., help="The command; put `--` before it."),
    net: bool = typer.Option(
        False, "--net", help="This machine's command on the host's networks only (its LANs)."
    ),
) -> None:
    """Run a command on a host, e.g. `decnet testbed exec h1 -- docker ps -a`."""
    check_host(host)
    raise typer.Exit(Testbed().exec_attached(host, *cmd, network_only=net))


@app.command()
def check() -> None:
    """List anything the testbed left on this machine; exit 1 when something is left."""
    _report_leftovers(Testbed().check_clean())


@app.command()
def status() -> None:
    """Show each host: power, frozen, cable, ssh and Docker engine."""
    tb = Testbed()
    hosts = tb.status()
    if not hosts:
        typer.echo("no testbed hosts")
        return
    table = Table("host", "ip", "power", "frozen", "link", "ssh", "docker")
    for h in hosts:
        flags = [h.power, h.frozen, h.link, h.ssh, h.docker]
        table.add_row(h.name, h.ip, *("yes" if f else "no" for f in flags))
    Console().print(table)
    if tb.inventory_path.exists():
        typer.echo(f"inventory: {tb.inventory_path}")


def _report_leftovers(leftovers: list[str]) -> None:
    if leftovers:
        for item in leftovers:
            typer.echo(f"leftover: {terminal_safe(item)}", err=True)
        raise typer.Exit(1)
    typer.echo("clean: nothing of the testbed remains")
