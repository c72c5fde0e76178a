"""The rule that keeps decky LANs off their host (module_utils/decnet_firewall.py), on this
machine's real INPUT chain: spelled as documented, first in the chain, added only when missing.
That it holds a decky off the host is tests/sensor/test_egress.py's, from inside sensors."""

from __future__ import annotations

import os
import subprocess

import pytest
from test_contract import contract, module_utils

firewall = module_utils("decnet_firewall")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="managing iptables needs root")

SPELLED = (
    f"-A INPUT -i {contract['bridge_prefix']}+ -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP"
)


def input_rules() -> list[str]:
    out = subprocess.run(["iptables", "-w", "-S", "INPUT"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()[1:]  # the policy line first


def test_the_rule_is_first_in_input_and_added_only_when_missing() -> None:
    assert firewall.close_host(30) is None
    rules = input_rules()
    assert rules[0] == SPELLED, rules
    assert firewall.close_host(30) is None  # present: checked, not added again
    assert input_rules().count(SPELLED) == rules.count(SPELLED)
