"""Pure parts of the Ansible edge: the failure message's cause, the host-key choice, progress."""

from __future__ import annotations

from pathlib import Path

from decnet.runner.ansible import MESSAGE_LIMIT, _progress, host_key_checking, summarize_message

BANNER = "@" * 59
SSH_CHANGED = f"""Failed to connect to the host via ssh: {BANNER}
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
{BANNER}
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
Host key for 10.213.0.11 has changed and you have requested strict checking.
Host key verification failed."""


def test_compose_error_keeps_its_cause_not_the_exit_status() -> None:
    text = (
        "Error response from daemon: error while removing network: network decnet-a-dmz id 70 "
        "has active endpoints\nexit status 1"
    )
    assert summarize_message(text) == (
        "Error response from daemon: error while removing network: network decnet-a-dmz id 70 "
        "has active endpoints"
    )


def test_ssh_banner_is_unwrapped_and_the_cause_kept() -> None:
    msg = summarize_message(SSH_CHANGED)
    assert msg.startswith(
        "Failed to connect to the host via ssh: WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!"
    )
    assert msg.endswith("Host key verification failed.")
    assert "@@@" not in msg and "\n" not in msg


def test_long_messages_are_cut() -> None:
    msg = summarize_message("x" * (MESSAGE_LIMIT * 2))
    assert len(msg) == MESSAGE_LIMIT and msg.endswith("…")


def test_host_key_checking_follows_the_environment_then_ansible_cfg(tmp_path: Path) -> None:
    cfg = tmp_path / "ansible.cfg"
    cfg.write_text("[defaults]\nhost_key_checking = False\n")
    assert host_key_checking(cfg, {}) == "False"
    assert host_key_checking(cfg, {"ANSIBLE_HOST_KEY_CHECKING": "True"}) == "True"
    cfg.write_text("[defaults]\nforks = 5\n")
    assert host_key_checking(cfg, {}) == "True"  # Ansible's default: on
    assert host_key_checking(tmp_path / "missing.cfg", {}) == "True"
    root = Path(__file__).resolve().parents[2]
    assert host_key_checking(root / "ansible.cfg", {}) == "True"  # the project's choice


def test_progress_is_reduced_to_bounded_plain_values() -> None:
    res = {
        "progress": {
            "a": {"phase": "start", "done": 3, "total": 9, "extra": "x"},
            "b": {"phase": "x" * 99, "done": "3", "total": None},
            "c": "not a mapping",
        }
    }
    assert _progress(res) == {
        "a": {"phase": "start", "done": 3, "total": 9},
        "b": {"phase": "x" * 20, "done": 0, "total": 0},
    }
    assert _progress({"progress": ["no"]}) == {}
