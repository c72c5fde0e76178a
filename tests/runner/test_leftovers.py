"""What a cancelled run leaves is found by its mark and ended; nothing else is touched."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

from decnet.runner.ansible import RUN_MARK, kill_leftovers, run_processes


def _spawn(script: Path, mark: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, RUN_MARK: str(mark)}
    # a new session, as ansible-core's workers take one: a cancel's killpg misses them
    return subprocess.Popen(["/bin/sh", str(script)], env=env, start_new_session=True)


def test_a_cancelled_runs_processes_are_found_by_their_mark_and_killed(tmp_path: Path) -> None:
    playbook = tmp_path / "ansible-playbook"  # argv like ansible-playbook's and its workers'
    module = tmp_path / "AnsiballZ_decnet_compose_project.py"
    for script in (playbook, module):
        script.write_text("sleep 60\n")  # no exec: the shell keeps the script's argv
    run, other_run = tmp_path / "run-a" / "ansible", tmp_path / "run-b" / "ansible"
    leftover = _spawn(playbook, run)
    neighbour = _spawn(playbook, other_run)  # another run's: not ours to end
    host_work = _spawn(module, run)  # the run's mark, but a module: left to finish by itself
    try:
        assert run_processes(run) == [leftover.pid]
        assert run_processes(other_run) == [neighbour.pid]
        kill_leftovers(run)
        assert leftover.wait(timeout=10) == -9
        assert run_processes(run) == []
        assert neighbour.poll() is None and host_work.poll() is None
    finally:
        for p in (leftover, neighbour, host_work):  # each shell's `sleep` too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
