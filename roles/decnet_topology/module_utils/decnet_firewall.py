# Copyright: decnet contributors
# Apache-2.0 (see the repository's license)
"""No path from the maze back to the host.

Docker's `internal` networks only stop forwarding: a decky still reaches every service of its
host that listens on all addresses (sshd among them) through its bridge's address. One rule
closes that for every decky LAN at once — the render names their bridges with BRIDGE_PREFIX —
dropping what they send to the host itself, except the answers to connections the host opened
(a published port's proxy, an operator's probe). Forwarding between LANs stays Docker's.

Standard library only: this runs on the managed host."""

from __future__ import annotations

import os
import shutil
import subprocess

from ansible.module_utils.decnet_failure import Failure
from ansible.module_utils.decnet_host import BRIDGE_PREFIX

RULE = [
    "INPUT", "-i", BRIDGE_PREFIX + "+", "-m", "conntrack", "!", "--ctstate",
    "ESTABLISHED,RELATED", "-j", "DROP",
]  # fmt: skip
"""The rule in iptables' words, without the command that checks or inserts it."""
SBIN = "/usr/sbin:/sbin:/usr/local/sbin"


def close_host(timeout: float) -> str | None:
    """Make sure the rule is in the host's INPUT chain (first, so no earlier ACCEPT lets a decky
    through). None when it is; a warning when this user may not manage the firewall."""
    if os.geteuid() != 0:
        return (
            "not running as root, so the firewall rule that keeps decky networks off this "
            "host's own services was not checked: run the role with become, or add it yourself: "
            "iptables -I " + " ".join(RULE)
        )
    iptables = shutil.which("iptables") or shutil.which("iptables", path=SBIN)
    if iptables is None:
        raise Failure(
            "iptables is not installed on this host: without it decky networks reach the "
            "host's own services (install the iptables package)"
        )
    if _iptables(iptables, ["-C", *RULE], timeout)[0] != 0:
        rc, err = _iptables(iptables, ["-I", *RULE], timeout)
        if rc != 0:
            raise Failure(f"could not add the rule that keeps decky networks off the host: {err}")
    return None


def _iptables(binary: str, args: list[str], timeout: float) -> tuple[int, str]:
    try:
        proc = subprocess.run(
            [binary, "-w", str(int(timeout)), *args],
            capture_output=True, text=True, timeout=timeout + 5, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return 1, f"iptables did not finish within {timeout}s"
    return proc.returncode, proc.stderr.strip()
