"""The host contract (roles/decnet_host/files/contract.json) is the one place its values live:
every copy — the module's module_utils, the module's documented defaults, the fact script, both
roles' defaults and argument specs, the controller's drift and render — must agree with it."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import sys
import types
from pathlib import Path
from typing import Any

import yaml
from ansible_support import FACT_SCRIPT, REPO

from decnet.core.catalog import load_catalog
from decnet.core.render import compose_model
from decnet.engine import drift
from decnet.models import Decky, Lan, Membership, Topology

contract = json.loads((REPO / "roles/decnet_host/files/contract.json").read_text())
ROLES = REPO / "roles"
LIBRARY = ROLES / "decnet_topology" / "library"
UTILS = ROLES / "decnet_topology" / "module_utils" / "decnet_host.py"


def load(name: str, path: Path) -> types.ModuleType:
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def module_utils() -> types.ModuleType:
    utils = load("ansible.module_utils.decnet_host", UTILS)
    sys.modules["ansible.module_utils.decnet_host"] = utils
    return utils


def documented_defaults(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(load(path.stem, path).DOCUMENTATION)
    return {k: v.get("default") for k, v in doc["options"].items()}


def yaml_file(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_module_utils_match_the_contract() -> None:
    utils = module_utils()
    labels = contract["labels"]
    assert contract["fact_format"] == utils.FACT_FORMAT
    assert contract["base_dir"] == utils.BASE_DIR
    assert ".".join(map(str, utils.MIN_COMPOSE)) == contract["compose_min_version"]
    assert contract["project_prefix"] == utils.PROJECT_PREFIX
    assert contract["files"]["compose"] == utils.COMPOSE_FILE
    assert contract["files"]["applied"] == utils.APPLIED_FILE
    assert contract["files"]["progress_dir"] == utils.PROGRESS_DIR
    assert contract["files"]["lock"] == utils.LOCK_FILE
    assert labels["topology"] == utils.TOPOLOGY_LABEL
    assert labels["project"] == utils.PROJECT_LABEL
    assert labels["compose_service"] == utils.SERVICE_LABEL


def test_modules_document_the_contract_defaults() -> None:
    module_utils()
    compose = documented_defaults(LIBRARY / "decnet_compose_project.py")
    assert compose["base_dir"] == contract["base_dir"]
    main = load("decnet_compose_project", LIBRARY / "decnet_compose_project.py")
    assert contract["base_dir"] == main.BASE_DIR
    assert tuple(int(p) for p in contract["compose_min_version"].split(".")) == main.MIN_COMPOSE


def test_fact_script_matches_the_contract() -> None:
    fact = load("decnet_fact", FACT_SCRIPT)
    labels = contract["labels"]
    assert contract["fact_format"] == fact.FACT_FORMAT
    assert contract["base_dir"] == fact.BASE_DIR
    assert contract["fact_config"] == fact.CONFIG_FILE
    assert contract["files"]["applied"] == fact.APPLIED_FILE
    assert (
        labels["topology"],
        labels["lan"],
        labels["decky"],
        labels["role"],
        labels["service"],
    ) == (fact.LABEL, fact.LAN_LABEL, fact.DECKY_LABEL, fact.ROLE_LABEL, fact.SERVICE_LABEL)


def test_role_defaults_and_specs_match_the_contract() -> None:
    base = f"{{{{ decnet_base_dir | default('{contract['base_dir']}') }}}}"
    facts = f"{{{{ decnet_facts_dir | default('{contract['facts_dir']}') }}}}"
    host = yaml_file(ROLES / "decnet_host/defaults/main.yml")
    topo = yaml_file(ROLES / "decnet_topology/defaults/main.yml")
    assert host["decnet_host_base_dir"] == base == topo["decnet_topology_base_dir"]
    assert host["decnet_host_facts_dir"] == facts
    assert host["decnet_host_compose_min_version"] == contract["compose_min_version"]
    host_spec = yaml_file(ROLES / "decnet_host/meta/argument_specs.yml")["argument_specs"]
    topo_spec = yaml_file(ROLES / "decnet_topology/meta/argument_specs.yml")["argument_specs"]
    for spec, values in ((host_spec, host), (topo_spec, topo)):
        for key, option in spec["main"]["options"].items():
            assert str(option["default"]) == str(values[key]), key
    tasks = (ROLES / "decnet_host/tasks/main.yml").read_text()
    assert f"/{contract['fact_config']}" in tasks and "'format': 1" in tasks
    playbooks = [(REPO / "playbooks" / p).read_text() for p in ("facts.yml", "check.yml")]
    for text in playbooks:
        assert f"decnet_facts_dir | default('{contract['facts_dir']}')" in text


def test_controller_matches_the_contract() -> None:
    assert contract["fact_format"] == drift.FACT_FORMAT
    t = Topology(
        name="ct",
        host="h",
        lans=[Lan(name="dmz", is_dmz=True, subnet="10.250.0.0/24")],
        deckies=[
            Decky(
                name="gw",
                home_lan="dmz",
                memberships=[Membership(lan="dmz", ip="10.250.0.2")],
                services=["ssh"],
            )
        ],
    )
    model = compose_model(t, load_catalog())
    labels = contract["labels"]
    assert model["name"].startswith(contract["project_prefix"])
    for net in model["networks"].values():
        assert set(net["labels"]) == {labels["topology"], labels["lan"]}
    roles = {svc["labels"][labels["role"]]: svc["labels"] for svc in model["services"].values()}
    assert set(roles["base"]) == {labels["topology"], labels["decky"], labels["role"]}
    assert set(roles["service"]) == {
        labels["topology"],
        labels["decky"],
        labels["role"],
        labels["service"],
    }


def test_module_documentation_parses() -> None:
    """ansible-doc and the argument specs rely on it (a stray `: ` breaks the YAML)."""
    module_utils()
    for path in sorted(LIBRARY.glob("*.py")):
        doc = yaml.safe_load(load(path.stem, path).DOCUMENTATION)
        assert doc["module"] == path.stem and doc["options"], path


def test_collector_agent_matches_the_contract() -> None:
    """The agent (its constants), the roles' defaults for it, and the controller's stream edge
    agree on the sensor dir, the agent's path and format, and the container names."""
    from decnet.runner import streams

    agent = load("decnet_collect", ROLES / "decnet_host/files/decnet-collect")
    assert contract["sensor_dir"] == agent.SENSOR_DIR == streams.SENSOR_DIR
    assert contract["agent_format"] == agent.AGENT_FORMAT == streams.AGENT_FORMAT
    assert contract["project_prefix"] == agent.CONTAINER_PREFIX
    assert contract["collect_agent"] == streams.COLLECT_AGENT
    assert streams.LOCAL_AGENT == ROLES / "decnet_host/files/decnet-collect"
    host = yaml_file(ROLES / "decnet_host/defaults/main.yml")
    assert host["decnet_host_sensor_dir"] == (
        f"{{{{ decnet_sensor_dir | default('{contract['sensor_dir']}') }}}}"
    )
    assert host["decnet_host_collect_agent"] == (
        f"{{{{ decnet_collect_agent | default('{contract['collect_agent']}') }}}}"
    )
    tasks = (ROLES / "decnet_host/tasks/main.yml").read_text()
    assert "src: decnet-collect" in tasks and "decnet_host_collect_agent" in tasks
