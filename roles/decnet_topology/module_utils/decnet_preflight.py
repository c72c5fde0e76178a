# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""The pre-flight of decnet_compose_project: what would make an apply fail, found before any
change (published host ports, network names and subnets, container names).

Standard library only: this runs on the managed host."""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
from typing import TYPE_CHECKING

from ansible.module_utils.decnet_failure import Failure
from ansible.module_utils.decnet_host import PROJECT_LABEL

if TYPE_CHECKING:
    from ansible.module_utils.decnet_engine import Docker
    from ansible.module_utils.decnet_host import Doc


def published_ports(config: Doc) -> list[tuple[int, str, str, str]]:
    """(host port, protocol, host ip, service) for every published port of the config."""
    result: list[tuple[int, str, str, str]] = []
    for svc, spec in (config.get("services") or {}).items():
        for port in spec.get("ports") or []:
            published = str(port.get("published") or "")
            if not published:
                continue
            first, _, last = published.partition("-")
            for number in range(int(first), int(last or first) + 1):
                proto = port.get("protocol") or "tcp"
                result.append((number, proto, port.get("host_ip") or "", svc))
    return result


def bound_by(containers: list[Doc]) -> dict[tuple[int, str], str]:
    """(host port, proto) -> the container publishing it (`Docker.container_summaries`)."""
    return {(int(port), str(proto)): c["name"] for c in containers for port, proto in c["ports"]}


def port_free(port: int, proto: str, host_ip: str) -> bool:
    family = socket.AF_INET6 if ":" in host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host_ip or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def preflight(docker: Docker, config: Doc, project: str) -> None:
    problems: list[str] = []
    running = docker.container_summaries(running_only=True)
    mine = bound_by([c for c in running if c["labels"].get(PROJECT_LABEL) == project])
    theirs = bound_by([c for c in running if c["labels"].get(PROJECT_LABEL) != project])
    for port, proto, host_ip, svc in published_ports(config):
        key = (port, proto)
        if key in theirs:
            problems.append(
                f"host port {port}/{proto} (service {svc}) is already published by container "
                f"{theirs[key]}, which is not part of {project}"
            )
        elif key not in mine and not port_free(port, proto, host_ip):
            problems.append(
                f"host port {port}/{proto} (service {svc}) is already in use on this host"
            )
    taken = {
        c["name"]: c["labels"].get(PROJECT_LABEL)
        for c in docker.container_summaries(running_only=False)
        if c["labels"].get(PROJECT_LABEL) != project
    }
    for svc, spec in sorted((config.get("services") or {}).items()):
        cname = spec.get("container_name")
        if cname and cname in taken:
            problems.append(
                f"container name {cname} (service {svc}) is taken by a container outside {project}"
            )
    problems += subnet_problems(docker, config, project)
    if problems:
        raise Failure("pre-flight failed, nothing was changed: " + "; ".join(problems))


def subnet_problems(docker: Docker, config: Doc, project: str) -> list[str]:
    problems: list[str] = []
    other_nets = [
        n
        for n in docker.network_summaries()
        if (n.get("Labels") or {}).get(PROJECT_LABEL) != project
    ]
    taken: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = []
    for net in other_nets:
        for pool in ((net.get("IPAM") or {}).get("Config")) or []:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                taken.append((ipaddress.ip_network(pool["Subnet"], strict=False), net["Name"]))
    other_names = {n["Name"] for n in other_nets}
    for key, spec in sorted((config.get("networks") or {}).items()):
        if spec.get("external"):
            continue
        name = spec.get("name") or f"{project}_{key}"
        if name in other_names:
            problems.append(f"network name {name} is taken by a network outside {project}")
        for pool in ((spec.get("ipam") or {}).get("config")) or []:
            if not pool.get("subnet"):
                continue
            wanted = ipaddress.ip_network(pool["subnet"], strict=False)
            for subnet, owner in taken:
                if wanted.version == subnet.version and wanted.overlaps(subnet):
                    problems.append(
                        f"subnet {wanted} of network {name} overlaps {subnet} of Docker network "
                        f"{owner}"
                    )
    return problems
