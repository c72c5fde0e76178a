"""Fixtures for tests against real test hosts (decnet.testbed; docs/testbed.md).

`testbed` (session): hosts h1..hN (N = $DECNET_TESTBED_HOSTS, default 3) with their inventory,
the lure image loaded when the controller's engine has it. Teardown always runs `down()` and
fails the session if anything is left; Ctrl-C, SIGTERM and SIGHUP tear it down as well.
`fault` (function): inject faults; every touched host is restored after the test.
`ping`: `ansible -m ping` over real SSH, returning {host: "SUCCESS" | "UNREACHABLE!" | ...}.
"""

from __future__ import annotations

import atexit
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from decnet.errors import DecnetError
from decnet.testbed import Testbed, check_count, image_exists, missing_requirements

LURE_IMAGE = "decnet-lure:0.1"
HOSTS_ENV = "DECNET_TESTBED_HOSTS"
LOCK_WAIT = 900.0
"""Seconds to wait for another test session on this machine to release the testbed."""

FaultFn = Callable[[str, str], None]
PingFn = Callable[..., dict[str, str]]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # everything that uses the hosts carries the `testbed` marker: `-m "not testbed"` skips it
    for item in items:
        if "testbed" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.testbed)


class _Guard:
    """Tear the testbed down if the session ends without its fixture teardown: SIGTERM and
    SIGHUP become KeyboardInterrupt (so pytest runs the teardown, as on Ctrl-C), and an atexit
    hook catches any exit that skipped it. A SIGKILLed run is cleaned by the next session."""

    SIGNALS = (signal.SIGTERM, signal.SIGHUP)

    def __init__(self, tb: Testbed) -> None:
        self.tb = tb
        self.armed = True
        self.previous: dict[int, Any] = {}
        for sig in self.SIGNALS:
            self.previous[sig] = signal.signal(sig, self._interrupt)
        atexit.register(self._at_exit)

    @staticmethod
    def _interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def _at_exit(self) -> None:
        if self.armed:
            self.armed = False
            self.tb.down()

    def disarm(self) -> None:
        self.armed = False
        atexit.unregister(self._at_exit)
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


@pytest.fixture(scope="session")
def testbed() -> Iterator[Testbed]:
    missing = missing_requirements()
    if missing:
        pytest.skip("testbed hosts need " + "; ".join(missing))
    try:
        n = check_count(int(os.environ.get(HOSTS_ENV, "3")))
    except (ValueError, DecnetError):
        pytest.fail(f"{HOSTS_ENV} must be a number from 1 to 16")
    tb = Testbed()
    # one testbed per machine: wait for any other test session that holds it
    with tb.lock(wait=LOCK_WAIT):
        guard = _Guard(tb)
        try:
            # we hold the lock, so whatever is there was left by a crashed run of ours
            if tb.check_clean():
                tb.down()
            tb.up(n)
            if image_exists(LURE_IMAGE):
                tb.load_image(LURE_IMAGE)
            yield tb
        finally:
            try:
                tb.down()
            finally:
                guard.disarm()
        leftovers = tb.check_clean()
    assert leftovers == [], f"the testbed left things behind: {leftovers}"


@pytest.fixture
def fault(testbed: Testbed) -> Iterator[FaultFn]:
    """`fault(host, action)`; after the test every host it touched is restored (thaw, power
    on, cable in, ssh undropped, sshd and dockerd started) so later tests find it healthy."""
    touched: list[str] = []

    def inject(host: str, action: str) -> None:
        if host not in touched:
            touched.append(host)
        testbed.fault(host, action)

    yield inject
    for host in touched:
        testbed.restore(host)


@pytest.fixture
def ping(testbed: Testbed, tmp_path: Path) -> PingFn:
    """`ping(pattern="all", timeout=60)` runs the venv's `ansible PATTERN -m ping` against the
    testbed inventory and returns each host's verdict."""
    ansible = Path(sys.executable).with_name("ansible")
    env = dict(os.environ)
    env.update(
        PATH=f"{ansible.parent}:{env.get('PATH', '/usr/bin:/bin')}",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_LOCALHOST_WARNING="0",
    )

    def run(pattern: str = "all", timeout: float = 60) -> dict[str, str]:
        argv = [str(ansible), "-i", str(testbed.inventory_path), pattern]
        argv += ["-m", "ansible.builtin.ping"]
        # cwd: a private dir, so no ansible.cfg of the working tree changes what we test
        proc = subprocess.run(
            argv, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=timeout
        )
        verdicts = dict(re.findall(r"^(h\d+) \| ([A-Z]+!?)", proc.stdout, re.MULTILINE))
        if not verdicts:
            raise AssertionError(f"no ansible result: {proc.stdout}\n{proc.stderr}")
        return verdicts

    return run
