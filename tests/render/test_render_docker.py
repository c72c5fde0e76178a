"""One real-engine test: a rendered topology comes up under compose exactly as rendered.

Needs a Docker engine with compose v2 (skipped otherwise). Everything it creates carries the
label `decnet.topology=<random name>` and is removed afterwards, also when the test fails.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from render_sample import HASH_KEY, TEMPLATE
from subnet_pools import fresh_lans

from decnet.core.catalog import load_catalog
from decnet.core.render import render_topology
from decnet.core.validate import validate
from decnet.engine.images import LURE_IMAGE, ensure_lure_image
from decnet.errors import EnvironmentProblem
from decnet.models import Decky, Lan, Membership, Topology

pytestmark = pytest.mark.docker

BANNER = "ban $HOME ${PATH}\nline2 `id` #x"


def _run(*argv: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr}")
    return proc


def _docker_ready() -> str | None:
    """Why the engine cannot be used, or None."""
    for argv, what in (
        (["docker", "info"], "docker info"),
        (["docker", "compose", "version"], "docker compose version"),
    ):
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"`{what}` failed: {err}"
        if proc.returncode != 0:
            return f"`{what}` failed: {proc.stderr.strip()[:200]}"
    return None


def _subnet(index: int) -> str:
    # The upper half of the default pool, away from what generators allocate first.
    return f"10.{192 + index // 256}.{index % 256}.0/24"


def _topology(name: str, base: int) -> Topology:
    dmz, core = _subnet(base), _subnet(base + 1)
    d, c = dmz.rsplit(".", 1)[0], core.rsplit(".", 1)[0]
    return Topology(
        name=name,
        lans=[Lan(name="dmz", subnet=dmz, is_dmz=True), Lan(name="core", subnet=core)],
        deckies=[
            Decky(
                name="gw",
                home_lan="dmz",
                memberships=[Membership(lan="dmz", ip=f"{d}.2")],
                services=["ssh", "http"],
                service_config={"ssh": {"banner": BANNER}},
            ),
            Decky(
                name="br",
                home_lan="core",
                memberships=[
                    Membership(lan="core", ip=f"{c}.2"),
                    Membership(lan="dmz", ip=f"{d}.3"),
                ],
                services=["smb"],
                forwards_l3=True,
            ),
            Decky(
                name="db",
                home_lan="core",
                memberships=[Membership(lan="core", ip=f"{c}.3")],
                services=["mysql"],
            ),
        ],
    )


def _fix_ip(topology: Topology) -> dict[str, str]:
    """decky -> LAN -> IP, as rendered."""
    return {f"{d.name}@{m.lan}": str(m.ip) for d in topology.deckies for m in d.memberships}


def _cleanup(name: str, project: str, compose: Path) -> None:
    if compose.exists():
        _run(
            "docker",
            "compose",
            "-p",
            project,
            "-f",
            str(compose),
            "down",
            "--remove-orphans",
            "-t",
            "2",
            check=False,
        )
    label = f"label=decnet.topology={name}"
    ids = _run("docker", "ps", "-aq", "--filter", label, check=False).stdout.split()
    if ids:
        _run("docker", "rm", "-f", *ids, check=False)
    nets = _run("docker", "network", "ls", "-q", "--filter", label, check=False).stdout.split()
    if nets:
        _run("docker", "network", "rm", *nets, check=False)


LURES = {"*": LURE_IMAGE}
"""Every service on its own lure container: these tests check what compose makes of the
rendered file (IPs, namespaces, forwarding, recreation); the sensor containers are deployed
through decnet, which prepares their host directories (tests/engine/test_sensors_e2e.py)."""


class Deployed:
    def __init__(self, name: str, workdir: Path) -> None:
        self.name, self.project = name, f"decnet-{name}"
        self.compose = workdir / "compose.yml"
        self.topology = _topology(name, 2048 + secrets.randbelow(2000))

    def up(self, topology: Topology) -> None:
        self.topology = topology
        rendered = render_topology(
            topology, load_catalog(), LURES, template=TEMPLATE, secret_key=HASH_KEY
        )
        self.compose.write_text(rendered.compose)
        self.compose.chmod(0o600)
        _run(
            "docker",
            "compose",
            "-p",
            self.project,
            "-f",
            str(self.compose),
            "up",
            "-d",
            "--remove-orphans",
        )

    def container(self, key: str) -> str:
        return f"decnet-{self.name}.{key}"

    def inspect(self, *names: str) -> list[dict[str, Any]]:
        out = _run("docker", "inspect", *names).stdout
        data: list[dict[str, Any]] = json.loads(out)
        return data

    def ids(self) -> dict[str, str]:
        label = f"label=decnet.topology={self.name}"
        rows = _run(
            "docker", "ps", "-a", "--filter", label, "--format", "{{.Names}} {{.ID}}"
        ).stdout.split("\n")
        return dict(row.split() for row in rows if row.strip())

    def probe(self, source: str, ip: str, port: int) -> str:
        """What a TCP client in `source` reads after sending a line; '' when it cannot connect."""
        try:
            proc = _run(
                "docker",
                "exec",
                self.container(source),
                "sh",
                "-c",
                f"echo probe | nc -w 2 {ip} {port}",
                timeout=10,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return ""
        return proc.stdout if proc.returncode == 0 else ""

    def reach(self, source: str, ip: str, port: int) -> str:
        """Like probe, retrying for a few seconds while the listeners start."""
        for _ in range(20):
            got = self.probe(source, ip, port)
            if got:
                return got
            time.sleep(0.25)
        return ""


@pytest.fixture
def deployed(tmp_path: Path) -> Iterator[Deployed]:
    why = _docker_ready()
    if why:
        pytest.skip(f"no usable Docker engine: {why}")
    try:
        ensure_lure_image()
    except EnvironmentProblem as err:
        pytest.skip(f"cannot build {LURE_IMAGE}: {err} ({err.hint})")
    d = Deployed(f"rt-{secrets.token_hex(4)}", tmp_path)
    try:
        yield d
    finally:
        _cleanup(d.name, d.project, d.compose)


def test_rendered_topology_runs_as_rendered(deployed: Deployed) -> None:
    d = deployed
    d.up(d.topology)
    ip = _fix_ip(d.topology)
    ids = d.ids()
    expected = {
        d.container(k) for k in ("gw", "gw.ssh", "gw.http", "br", "br.smb", "db", "db.mysql")
    }
    assert set(ids) == expected

    # Every container running, labelled, and never privileged.
    for c in d.inspect(*expected):
        name = c["Name"].lstrip("/")
        assert c["State"]["Running"], name
        assert not c["HostConfig"]["Privileged"], name
        labels = c["Config"]["Labels"]
        assert labels["decnet.topology"] == d.name
        decky, _, service = name.removeprefix(f"decnet-{d.name}.").partition(".")
        assert labels["decnet.decky"] == decky
        assert labels["decnet.role"] == ("service" if service else "base")

    # Networks: subnet, internal flag, labels.
    for lan in d.topology.lans:
        (net,) = d.inspect(f"decnet-{d.name}.{lan.name}")
        assert net["IPAM"]["Config"][0]["Subnet"] == lan.subnet
        assert net["Internal"] is (not lan.is_dmz)
        assert net["Labels"]["decnet.topology"] == d.name
        assert net["Labels"]["decnet.lan"] == lan.name

    # Static IPs on every membership; the bridge decky sits on both LANs.
    (br,) = d.inspect(d.container("br"))
    nets = br["NetworkSettings"]["Networks"]
    assert nets[f"decnet-{d.name}.core"]["IPAddress"] == ip["br@core"]
    assert nets[f"decnet-{d.name}.dmz"]["IPAddress"] == ip["br@dmz"]

    # Forwarding on the forwarder only (a new namespace would inherit the host's setting).
    def forwarding(c: str) -> str:
        return _run(
            "docker", "exec", d.container(c), "cat", "/proc/sys/net/ipv4/ip_forward"
        ).stdout.strip()

    assert (forwarding("br"), forwarding("gw"), forwarding("db")) == ("1", "0", "0")

    # A config value with `$HOME`, `${PATH}`, a newline and backticks arrives literally.
    (ssh,) = d.inspect(d.container("gw.ssh"))
    assert f"DECNET_SSH_BANNER={BANNER}" in ssh["Config"]["Env"]
    env = _run("docker", "exec", d.container("gw.ssh"), "env").stdout
    assert f"DECNET_SSH_BANNER={BANNER}\n" in env

    # Reachability: same LAN yes, other LAN no; the bridge decky reaches both.
    assert "probe" in d.reach("br", ip["db@core"], 3306)
    assert "ban $HOME ${PATH}" in d.reach("br", ip["gw@dmz"], 22)
    assert "probe" in d.reach("br.smb", ip["gw@dmz"], 22)  # services share the base's netns
    page = _run("docker", "exec", d.container("br"), "wget", "-qO-", f"http://{ip['gw@dmz']}/")
    assert "<title>Intranet</title>" in page.stdout  # the lure's httpd on port 80
    assert d.probe("gw", ip["db@core"], 3306) == ""
    assert d.probe("db", ip["gw@dmz"], 22) == ""


def test_changing_one_decky_recreates_only_its_containers(deployed: Deployed) -> None:
    d = deployed
    d.up(d.topology)
    before = d.ids()

    d.up(d.topology)  # unchanged: nothing is recreated
    assert d.ids() == before

    # A new IP recreates db's base; depends_on restart:true makes its service follow it into
    # the new network namespace. Nothing else is touched.
    core = d.topology.lan("core")
    assert core is not None and core.subnet is not None
    new_ip = core.subnet.rsplit(".", 1)[0] + ".77"
    deckies = [
        x.model_copy(update={"memberships": [Membership(lan="core", ip=new_ip)]})
        if x.name == "db"
        else x
        for x in d.topology.deckies
    ]
    d.up(d.topology.model_copy(update={"deckies": deckies}))
    after = d.ids()
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed == {d.container("db"), d.container("db.mysql")}
    for c in d.inspect(*after):
        assert c["State"]["Running"], c["Name"]
    assert "probe" in d.reach("br", new_ip, 3306)
    addrs = _run("docker", "exec", d.container("db.mysql"), "ip", "-4", "addr").stdout
    assert new_ip in addrs

    # `compose restart` of a base restarts its services too (depends_on restart: true);
    # without it they would stay in the base's dead namespace with only `lo`.
    _run("docker", "compose", "-p", d.project, "-f", str(d.compose), "restart", "db")
    addrs = _run("docker", "exec", d.container("db.mysql"), "ip", "-4", "addr").stdout
    assert new_ip in addrs


CONTROLS = "".join(chr(c) for c in range(1, 32)) + "\x7f\x85\x9f\u2028\ufffe"
"""Every C0 control but NUL, DEL, C1 controls and YAML's non-printables."""


def _one_decky(name: str, banner: str) -> Topology:
    (dmz,) = fresh_lans(1)
    return Topology(
        name=name,
        lans=[Lan(name="dmz", subnet=dmz, is_dmz=True)],
        deckies=[
            Decky(
                name="gw",
                home_lan="dmz",
                memberships=[Membership(lan="dmz", ip=dmz.replace(".0/24", ".2"))],
                services=["ssh"],
                service_config={"ssh": {"banner": banner}},
            )
        ],
    )


def test_every_control_character_but_nul_reaches_the_container(deployed: Deployed) -> None:
    """What SERVICE_CONFIG_CHARACTER stands on: the engine carries all of these, so validation
    accepts them."""
    topology = _one_decky(deployed.name, f"a{CONTROLS}b")
    assert validate(topology, load_catalog()) == []
    deployed.up(topology)
    (ssh,) = deployed.inspect(deployed.container("gw.ssh"))
    assert ssh["State"]["Running"]
    assert f"DECNET_SSH_BANNER=a{CONTROLS}b" in ssh["Config"]["Env"]


def test_nul_is_refused_by_validation_as_the_engine_refuses_it(deployed: Deployed) -> None:
    topology = _one_decky(deployed.name, "SSH-2.0\x00x")
    issues = validate(topology, load_catalog())
    assert [(i.code, i.path) for i in issues] == [
        ("SERVICE_CONFIG_CHARACTER", "deckies[gw].service_config.ssh.banner")
    ]
    with pytest.raises(AssertionError, match="runc"):  # the engine cannot start it
        deployed.up(topology)
    (ssh,) = deployed.inspect(deployed.container("gw.ssh"))
    assert not ssh["State"]["Running"]
