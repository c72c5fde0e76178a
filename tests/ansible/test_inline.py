"""deploy.yml applies a small change to an applied topology in its synchronous quick look (no async
job, no polls), and hands everything else to the job: a first apply, a larger change, a repair,
an image the host lacks. Real engine, real ansible-playbook."""

from __future__ import annotations

import re

import pytest
from ansible_support import Decky, Run, docker

pytestmark = pytest.mark.docker

LAUNCH = "Launch the apply or removal of every topology of this host"


def launched(run: Run) -> bool:
    """Whether the play launched an async job (its launch task ran rather than skipped)."""
    task = rf"TASK \[[^\]]*{re.escape(LAUNCH)}\][^\n]*\n(.*?)(?=\nTASK \[|\Z)"
    match = re.search(task, run.out, re.S)
    assert match, run.out
    return "skipping: [" not in match.group(1)


def test_a_small_change_is_applied_by_the_quick_look(make_topo) -> None:
    topo = make_topo()
    topo.desired_hash = "a" * 64
    topo.write_bundle()
    first = topo.deploy()
    assert first.rc == 0, first.out
    assert launched(first)  # a first apply is a job's (progress, and no record to compare)
    services = topo.applied()["services"]
    assert sorted(services) == ["gw", "gw-ssh", "ws", "ws-http"]
    before = topo.container_ids()

    topo.deckies[1].env = {"DECNET_HTTP_TITLE": "Intranet"}
    topo.desired_hash = "b" * 64
    topo.write_bundle()
    small = topo.deploy()
    assert small.rc == 0 and small.recap["changed"] == 1, small.out
    assert not launched(small)
    after = topo.container_ids()
    assert {n for n in after if after[n] != before.get(n)} == {f"decnet-{topo.name}-ws-http"}
    applied = topo.applied()
    assert applied["applied_hash"] == "b" * 64
    assert {k for k in services if services[k] != applied["services"][k]} == {"ws-http"}
    assert all(c["State"]["Running"] for c in topo.containers().values())
    assert topo.deploy().recap["changed"] == 0

    # a container that crashes at once fails the inline apply like a job's: the previous
    # record stays, the message names the container
    topo.deckies[1].service_command = ("false",)
    topo.desired_hash = "c" * 64
    topo.write_bundle()
    crash = topo.deploy()
    assert crash.rc != 0 and not launched(crash), crash.out
    assert f"container decnet-{topo.name}-ws-http" in crash.out, crash.out
    assert "previously applied state stays recorded" in crash.out, crash.out
    assert topo.applied()["applied_hash"] == "b" * 64


def test_larger_changes_repairs_and_missing_images_get_a_job(make_topo) -> None:
    topo = make_topo([Decky("gw", 2, ["ssh"]), Decky("ws", 3, ["http"]), Decky("db", 4)])
    topo.write_bundle()
    assert topo.deploy().rc == 0

    for d in topo.deckies:  # gw-ssh and ws-http change: more than an inline of 1
        d.env = {"DECNET_MOTD": "hello"}
    topo.desired_hash = "d" * 64
    topo.write_bundle()
    larger = topo.deploy("-e", "decnet_topology_inline=1")
    assert larger.rc == 0 and launched(larger), larger.out
    assert topo.applied()["applied_hash"] == "d" * 64

    # a stopped container outside the change makes it a repair
    docker("stop", "-t", "1", f"decnet-{topo.name}-db")
    topo.deckies[1].env = {"DECNET_MOTD": "again"}
    topo.desired_hash = "e" * 64
    topo.write_bundle()
    repair = topo.deploy()
    assert repair.rc == 0 and launched(repair), repair.out
    assert topo.containers()[f"decnet-{topo.name}-db"]["State"]["Running"]

    # an image the host lacks: the job's path (which reports docker's own error)
    topo.deckies[2].image = "decnet-no-such-image:0"
    topo.desired_hash = "f" * 64
    topo.write_bundle()
    missing = topo.deploy()
    assert missing.rc != 0 and launched(missing), missing.out
    assert "No such image" in missing.out, missing.out
    assert topo.applied()["applied_hash"] == "e" * 64
