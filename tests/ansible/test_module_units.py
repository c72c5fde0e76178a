"""Pure logic of the decnet_compose_project module's module_utils (imported as the module imports
them): the exact scrubber, start order, stale endpoints, the bounded pool, the Engine API calls.
Behaviour is tested on the real engine in tests/ansible and tests/engine."""

from __future__ import annotations

import threading
import time

from test_contract import module_utils

scrub_ = module_utils("decnet_scrub")
model = module_utils("decnet_model")
removal = module_utils("decnet_removal")
pool_ = module_utils("decnet_pool")
engine = module_utils("decnet_engine")

COMPOSE = """services:
  "gw":
    environment:
      "DECNET_PORTS": ""
  "gw-ssh":
    environment:
      "DECNET_SERVICE": "ssh"
      "DECNET_SSH_PASSWORD": "Q"
      "DECNET_SSH_BANNER": "SSH-2.0-x"
"""


def test_scrubber_masks_exactly_the_named_secrets_at_any_length() -> None:
    scrub = scrub_.Scrubber(COMPOSE, {"gw-ssh": ["DECNET_SSH_PASSWORD"]})
    assert scrub("root/Q failed; decnet-a-gw-ssh SSH-2.0-x") == (
        "root/******** failed; decnet-a-gw-ssh SSH-2.0-x"
    )
    scrub.add_config({"services": {"gw-ssh": {"environment": {"DECNET_SSH_PASSWORD": "p$w"}}}})
    assert scrub("p$w") == "********"


def test_scrubber_without_secret_env_masks_every_value_of_three_or_more() -> None:
    scrub = scrub_.Scrubber(COMPOSE, None)
    assert scrub("decnet-a-gw-ssh SSH-2.0-x Q") == "decnet-a-gw-******** ******** Q"


def test_start_levels_put_bases_and_dependencies_first() -> None:
    config = {
        "services": {
            "a-ssh": {"network_mode": "service:a", "depends_on": {"a": {}}},
            "a": {},
            "b": {"depends_on": {"a": {}}},
            "b-http": {"network_mode": "service:b"},
        }
    }
    assert model.start_levels(config) == [["a"], ["a-ssh", "b"], ["b-http"]]


def test_endpoints_without_a_container_are_stale() -> None:
    attached = {
        "ep-1f2e": {"Name": "decnet-a-gw"},
        "c0ffee": {"Name": "foreign"},
        "dead": {"Name": "decnet-a-ws"},
    }
    assert removal.split_endpoints(attached, {"c0ffee"}) == (
        ["decnet-a-ws", "decnet-a-gw"],
        ["foreign"],
    )


def test_pool_never_exceeds_its_size() -> None:
    pool = pool_.Pool(3)
    lock, state = threading.Lock(), {"now": 0, "max": 0}

    def work(i: int) -> str | None:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return "boom" if i == 4 else None

    errors = pool.map("start", list(range(12)), work)
    assert errors == {4: "boom"}
    assert state["max"] == 3 == pool.peak["start"]


def test_per_container_calls_map_to_the_engine_api() -> None:
    assert engine.api_request(["start", "abc"]) == ("POST", "/containers/abc/start", None)
    assert engine.api_request(["stop", "-t", "10", "abc"]) == (
        "POST",
        "/containers/abc/stop?t=10",
        None,
    )
    assert engine.api_request(["rm", "-f", "-v", "abc"]) == (
        "DELETE",
        "/containers/abc?force=1&v=1",
        None,
    )
    assert engine.api_request(["network", "disconnect", "-f", "n1", "decnet-a-gw"]) == (
        "POST",
        "/networks/n1/disconnect",
        {"Container": "decnet-a-gw", "Force": True},
    )
    assert engine.api_request(["compose", "up"]) is None  # everything else goes through the CLI
    assert engine.EngineAPI.local({"DOCKER_HOST": "tcp://127.0.0.1:2375"}, 5) is None
    assert engine.EngineAPI.local({"DOCKER_CONTEXT": "remote"}, 5) is None
