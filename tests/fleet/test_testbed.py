"""The test hosts themselves: inventory, SSH, own engines, images, every fault, clean teardown.

The validation tests at the top need no root; everything else uses the session `testbed`.
Faults hit one host at a time and are undone by the `fault` fixture.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from decnet.cli.testbed import app
from decnet.errors import EXIT_USAGE, NotFound, UsageError
from decnet.testbed import (
    ACTIONS,
    EXIT_HOST_OFF,
    GROUP,
    Testbed,
    check_action,
    check_count,
    check_host,
    host_ip,
    image_exists,
)

LURE_IMAGE = "decnet-lure:0.1"  # as in conftest.py
FaultFn = Callable[[str, str], None]
PingFn = Callable[..., dict[str, str]]

# -- input validation (no hosts needed) ----------------------------------------------------


@pytest.mark.parametrize("n", [0, -1, 17, 100])
def test_host_count_out_of_range_is_a_usage_error(n: int) -> None:
    with pytest.raises(UsageError, match="out of range"):
        check_count(n)


@pytest.mark.parametrize("name", ["h0", "h17", "H1", "h", "host1", "h1 ", "h01", "../h1", ""])
def test_bad_host_names_are_usage_errors(name: str) -> None:
    with pytest.raises(UsageError, match="bad host name"):
        check_host(name)


def test_good_host_names_and_addresses() -> None:
    assert check_host("h16") == "h16"
    assert host_ip("h1") == "10.213.0.11"
    assert host_ip("h16") == "10.213.0.26"


def test_unknown_action_is_a_usage_error_listing_the_actions() -> None:
    assert check_action("poweron") == "poweron"
    with pytest.raises(UsageError) as err:
        check_action("reboot")
    assert all(a in err.value.hint for a in ACTIONS)


@pytest.mark.parametrize(
    "argv",
    [["up", "0"], ["up", "17"], ["fault", "h1", "explode"], ["fault", "x1", "thaw"]],
)
def test_cli_rejects_bad_input_with_the_usage_exit_code(argv: list[str]) -> None:
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == EXIT_USAGE and result.stderr.startswith("error: ")
    # the standalone command (scripts/testbed) gives the same exit code and hint
    proc = subprocess.run(
        [sys.executable, "-m", "decnet.testbed", *argv], capture_output=True, text=True
    )
    assert proc.returncode == EXIT_USAGE
    assert proc.stderr.startswith("error: ")
    assert "hint: " in proc.stderr


# -- the running testbed -------------------------------------------------------------------


def test_inventory_has_every_host_in_decnet_hosts(testbed: Testbed) -> None:
    inv = yaml.safe_load(testbed.inventory_path.read_text())
    group = inv["all"]["children"][GROUP]
    assert list(group["hosts"]) == testbed.hosts
    for name, hostvars in group["hosts"].items():
        assert hostvars["ansible_host"] == host_ip(name)
    gvars = group["vars"]
    assert gvars["ansible_user"] == "root"
    assert Path(gvars["ansible_ssh_private_key_file"]) == testbed.key_path
    assert gvars["ansible_python_interpreter"] == "/usr/bin/python3"
    args = gvars["ansible_ssh_common_args"]
    assert f"ControlPath={testbed.state_dir}/mux/" in args
    for opt in (
        "UserKnownHostsFile=/dev/null",
        "StrictHostKeyChecking=no",
        "ConnectTimeout=5",
        "ServerAliveInterval=2",
        "ServerAliveCountMax=2",
    ):
        assert opt in args


def test_ansible_pings_every_host_over_ssh(testbed: Testbed, ping: PingFn) -> None:
    assert ping() == dict.fromkeys(testbed.hosts, "SUCCESS")
    for host in testbed.hosts:
        # the interpreter the inventory names is Debian's, seen through the host's /usr overlay
        assert testbed.exec(host, "test", "-x", "/usr/bin/python3").returncode == 0
        assert testbed.exec(host, "hostname").stdout.strip() == host


def test_each_host_has_its_own_docker_engine(testbed: Testbed) -> None:
    fmt = "{{.Name}} {{.ID}}"
    infos = [testbed.exec(h, "docker", "info", "--format", fmt, check=True) for h in testbed.hosts]
    names = [i.stdout.split()[0] for i in infos]
    ids = {i.stdout.split()[1] for i in infos}
    assert names == testbed.hosts
    assert len(ids) == len(testbed.hosts)
    if len(testbed.hosts) < 2:
        return
    h1, h2 = testbed.hosts[:2]
    # a container (no image needed) made on h1 exists there only
    testbed.exec(h1, "docker", "network", "create", "tb-probe", check=True)
    try:
        assert testbed.exec(h2, "docker", "network", "inspect", "tb-probe").returncode != 0
    finally:
        testbed.exec(h1, "docker", "network", "rm", "tb-probe", check=True)


def test_image_is_loaded_on_every_host(testbed: Testbed) -> None:
    if not image_exists(LURE_IMAGE):
        pytest.skip(f"{LURE_IMAGE} is not built on this machine")
    for host in testbed.hosts:
        testbed.exec(host, "docker", "image", "inspect", LURE_IMAGE, check=True)


def test_hosts_reach_each_other_but_traffic_stays_on_the_bridge(testbed: Testbed) -> None:
    if len(testbed.hosts) >= 2:
        h1, h2 = testbed.hosts[:2]
        probe = f"exec 3<>/dev/tcp/{host_ip(h2)}/22"
        assert testbed.exec(h1, "timeout", "3", "bash", "-c", probe).returncode == 0
    # no packet is sent outward to prove it: the rule that stops it is checked instead
    rules = testbed.check_clean()
    assert "iptables -A FORWARD -i tbbr0 ! -o tbbr0 -j DROP" in rules


def test_check_clean_sees_the_running_testbed(testbed: Testbed) -> None:
    left = testbed.check_clean()
    for host in testbed.hosts:
        assert f"netns {host}" in left
        assert f"link tb-{host}" in left
    assert "link tbbr0" in left


def test_cli_status_shows_hosts(testbed: Testbed) -> None:
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    for host in testbed.hosts:
        assert host in result.output


# -- faults, one host at a time ------------------------------------------------------------


def _last(testbed: Testbed) -> str:
    return testbed.hosts[-1]


def test_sshd_stop_makes_the_host_unreachable(
    testbed: Testbed, fault: FaultFn, ping: PingFn
) -> None:
    host = _last(testbed)
    assert ping(host) == {host: "SUCCESS"}  # a live ControlPersist master must not hide it
    fault(host, "sshd-stop")
    verdicts = ping()
    assert verdicts[host] == "UNREACHABLE!"
    assert all(v == "SUCCESS" for h, v in verdicts.items() if h != host)
    fault(host, "sshd-start")
    assert ping(host) == {host: "SUCCESS"}


def test_link_down_makes_the_host_unreachable(
    testbed: Testbed, fault: FaultFn, ping: PingFn
) -> None:
    host = testbed.hosts[0]
    fault(host, "link-down")
    assert ping(host) == {host: "UNREACHABLE!"}
    fault(host, "link-up")
    assert ping(host) == {host: "SUCCESS"}


def test_ssh_drop_times_out_and_undrop_recovers(
    testbed: Testbed, fault: FaultFn, ping: PingFn
) -> None:
    host = _last(testbed)
    fault(host, "ssh-drop")
    started = time.monotonic()
    assert ping(host) == {host: "UNREACHABLE!"}
    assert time.monotonic() - started >= 4  # silently dropped: the connect timeout ran out
    fault(host, "ssh-undrop")
    assert ping(host) == {host: "SUCCESS"}


def test_dockerd_kill_breaks_docker_on_that_host_only(
    testbed: Testbed, fault: FaultFn, ping: PingFn
) -> None:
    host = _last(testbed)
    fault(host, "dockerd-kill")
    assert testbed.exec(host, "docker", "version", timeout=20).returncode != 0
    for other in testbed.hosts:
        if other != host:
            testbed.exec(other, "docker", "version", check=True)
    assert ping(host) == {host: "SUCCESS"}  # the machine itself is fine
    fault(host, "dockerd-start")
    testbed.exec(host, "docker", "version", check=True)


def test_freeze_hangs_the_host_and_thaw_revives_it(
    testbed: Testbed, fault: FaultFn, ping: PingFn
) -> None:
    host = testbed.hosts[0]
    fault(host, "freeze")
    assert [s.frozen for s in testbed.status() if s.name == host] == [True]
    assert ping(host) == {host: "UNREACHABLE!"}
    fault(host, "thaw")
    assert ping(host) == {host: "SUCCESS"}
    testbed.exec(host, "docker", "version", check=True)


def test_poweroff_kills_the_host_and_poweron_keeps_its_disks(
    testbed: Testbed, fault: FaultFn, ping: PingFn
) -> None:
    host = _last(testbed)
    testbed.exec(host, "sh", "-c", "echo kept > /root/marker", check=True)
    testbed.exec(host, "docker", "volume", "create", "tb-kept", check=True)
    fault(host, "poweroff")
    assert testbed.exec(host, "true").returncode == EXIT_HOST_OFF
    assert ping(host) == {host: "UNREACHABLE!"}
    fault(host, "poweron")
    assert ping(host) == {host: "SUCCESS"}
    assert testbed.exec(host, "cat", "/root/marker", check=True).stdout == "kept\n"
    testbed.exec(host, "docker", "volume", "inspect", "tb-kept", check=True)
    if image_exists(LURE_IMAGE):
        testbed.exec(host, "docker", "image", "inspect", LURE_IMAGE, check=True)
    testbed.exec(host, "docker", "volume", "rm", "tb-kept", check=True)
    testbed.exec(host, "rm", "/root/marker", check=True)


def test_fault_on_unknown_host_is_refused(testbed: Testbed) -> None:
    absent = f"h{len(testbed.hosts) + 1}"
    result = CliRunner().invoke(app, ["fault", absent, "thaw"])
    assert result.exit_code == NotFound.exit_code
    assert "not part of the testbed" in result.stderr


# -- teardown ------------------------------------------------------------------------------


def test_down_leaves_nothing_behind(testbed: Testbed) -> None:
    n = len(testbed.hosts)
    testbed.fault(testbed.hosts[0], "freeze")  # the worst case: a hung host at teardown
    testbed.down()
    assert testbed.check_clean() == []
    assert testbed.hosts == []
    # later tests of this session get their hosts back
    testbed.up(n)
    if image_exists(LURE_IMAGE):
        testbed.load_image(LURE_IMAGE)
