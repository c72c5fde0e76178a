"""The host contract (roles/decnet_host/files/contract.json) is the one place its values live:
every copy — the module's module_utils, the module's documented defaults, the fact script, both
roles' defaults and argument specs, the controller's drift and render — must agree with it."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from ansible_support import FACT_SCRIPT, REPO

from decnet.core import render
from decnet.core.catalog import load_catalog
from decnet.core.render import compose_model
from decnet.engine import drift
from decnet.models import Decky, Lan, Membership, Topology

contract = json.loads((REPO / "roles/decnet_host/files/contract.json").read_text())
ROLES = REPO / "roles"
LIBRARY = ROLES / "decnet_topology" / "library"
UTILS_DIR = ROLES / "decnet_topology" / "module_utils"
UTILS_PACKAGE = "ansible.module_utils."


def load(name: str, path: Path) -> types.ModuleType:
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class _RoleModuleUtils(importlib.abc.MetaPathFinder):
    """Finds `ansible.module_utils.decnet_*` in the role's module_utils/, as AnsiballZ ships
    them with the module."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(UTILS_PACKAGE + "decnet_"):
            return None
        source = UTILS_DIR / f"{fullname.removeprefix(UTILS_PACKAGE)}.py"
        if not source.is_file():
            return None
        return importlib.util.spec_from_file_location(fullname, source)


def module_utils(name: str = "decnet_host") -> types.ModuleType:
    """The role's module_utils `name`, imported as the modules import it."""
    if not any(isinstance(f, _RoleModuleUtils) for f in sys.meta_path):
        sys.meta_path.insert(0, _RoleModuleUtils())
    return importlib.import_module(UTILS_PACKAGE + name)


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
    assert contract["sensor_dir"] == utils.SENSOR_DIR
    assert ".".join(map(str, utils.MIN_COMPOSE)) == contract["compose_min_version"]
    assert contract["project_prefix"] == utils.PROJECT_PREFIX
    assert contract["bridge_prefix"] == utils.BRIDGE_PREFIX == render.BRIDGE_PREFIX
    assert contract["mask"] == utils.MASK == module_utils("decnet_scrub").MASK
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
    assert host["decnet_host_facts_dir"] == facts == topo["decnet_topology_facts_dir"]
    assert host["decnet_host_compose_min_version"] == contract["compose_min_version"]
    host_spec = yaml_file(ROLES / "decnet_host/meta/argument_specs.yml")["argument_specs"]
    topo_spec = yaml_file(ROLES / "decnet_topology/meta/argument_specs.yml")["argument_specs"]
    for spec, values in ((host_spec, host), (topo_spec, topo)):
        for key, option in spec["main"]["options"].items():
            assert str(option["default"]) == str(values[key]), key
    playbooks = [(REPO / "playbooks" / p).read_text() for p in ("facts.yml", "check.yml")]
    for text in playbooks:
        assert f"decnet_facts_dir | default('{contract['facts_dir']}')" in text


def test_host_files_name_their_source_place_and_mode() -> None:
    entries = contract["host_files"]
    assert [(e.get("dir"), e.get("name") or e["path"]) for e in entries] == [
        ("facts_dir", "decnet.fact"),
        ("facts_dir", contract["fact_config"]),
        (None, "collect_agent"),
    ]
    for entry in entries:
        assert set(entry) in ({"src", "dir", "name", "mode"}, {"src", "path", "mode"}), entry
        assert (ROLES / "decnet_host" / entry["src"]).is_file(), entry
        assert int(entry["mode"], 8) & 0o7022 == 0, entry
        if "path" in entry:
            assert contract[entry["path"]].startswith("/"), entry
            continue
        assert entry["dir"] in ("facts_dir", "base_dir") and entry["dir"] in contract, entry
        assert "/" not in entry["name"], entry
    assert ROLES / "decnet_host" / entries[0]["src"] == FACT_SCRIPT
    config = (ROLES / "decnet_host" / entries[1]["src"]).read_text()
    assert "'format': 1" in config and "base_dir" in config and config.endswith("\n")


def test_both_roles_build_the_host_files_from_the_contract() -> None:
    """decnet_host installs them (prepare.yml), decnet_topology hands them to the module (every
    deploy): both read contract.json's host_files and render them the same way, so neither
    rewrites what the other wrote (tests/engine checks it on a real host)."""
    host_vars = (ROLES / "decnet_host/vars/main.yml").read_text()
    topo_vars = (ROLES / "decnet_topology/vars/main.yml").read_text()
    for text, prefix in ((host_vars, "__decnet_host"), (topo_vars, "__decnet_topology")):
        assert "/files/contract.json'" in text and f"{prefix}_contract.host_files" in text
        assert "lookup('ansible.builtin.template', src, template_vars=dirs)" in text
        assert "lookup('ansible.builtin.file', src, rstrip=false)" in text
    host_tasks = (ROLES / "decnet_host/tasks/main.yml").read_text()
    topo_tasks = (ROLES / "decnet_topology/tasks/main.yml").read_text()
    assert 'loop: "{{ __decnet_host_files }}"' in host_tasks
    assert 'host_files: "{{ __decnet_topology_host_files if' in topo_tasks


def test_controller_matches_the_contract() -> None:
    assert contract["fact_format"] == drift.FACT_FORMAT
    assert contract["sensor_dir"] == render.SENSOR_DIR
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
        bridge = net["driver_opts"][render.BRIDGE_OPTION]  # the firewall rule's interface name
        assert bridge.startswith(contract["bridge_prefix"]) and len(bridge) <= 15
    kinds = {
        (svc["labels"][labels["role"]], svc["labels"].get(labels["family"])): svc["labels"]
        for svc in model["services"].values()
    }
    common = {labels["topology"], labels["decky"], labels["role"]}
    assert set(kinds["base", None]) == common
    # a family's container names its services; a service running alone (the lure) names its one
    assert set(kinds["service", "sensor"]) == common | {labels["family"], labels["services"]}
    alone = compose_model(t, load_catalog(), {"*": "decnet-lure:0.1"})["services"]["gw.ssh"]
    assert set(alone["labels"]) == common | {labels["service"]}


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
    topo = yaml_file(ROLES / "decnet_topology/defaults/main.yml")
    assert topo["decnet_topology_collect_agent"] == host["decnet_host_collect_agent"]
    for role in ("decnet_host", "decnet_topology"):
        assert (
            f"'collect_agent': {role}_collect_agent" in (ROLES / role / "vars/main.yml").read_text()
        )
