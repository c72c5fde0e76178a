"""The sensor container's environment contract (decnet_sensor.contract), and the catalogue's
side of it: every service's env names follow the DECNET_<SERVICE>_<KEY> rule the sensor uses
to find a service's config, and every catalogue sensor has an implementation in the image."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from decnet_sensor.contract import (
    ContractError,
    env_prefix,
    parse_environment,
    parse_services,
    service_config,
)

from decnet.core.catalog import load_catalog

SENSOR_PKG = Path(__file__).resolve().parents[2] / "images" / "sensor" / "decnet_sensor"


def test_services_parse_in_order_with_their_ports() -> None:
    parsed = parse_services("ssh=22/tcp smb=445/tcp,139/tcp  dns=53/udp,53/tcp")
    assert parsed == [
        ("ssh", ((22, "tcp"),)),
        ("smb", ((445, "tcp"), (139, "tcp"))),
        ("dns", ((53, "udp"), (53, "tcp"))),
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty"),
        ("ssh", "bad item"),
        ("SSH=22/tcp", "bad item"),
        ("ssh=22", "bad port"),
        ("ssh=0/tcp", "bad port"),
        ("ssh=70000/tcp", "bad port"),
        ("ssh=22/sctp", "bad port"),
        ("ssh=22/tcp ssh=2222/tcp", "listed twice"),
        ("ssh=22/tcp telnet=22/tcp", "claimed by both"),
        ("ssh=22/tcp;rm", "bad port"),
    ],
)
def test_bad_service_lists_name_the_problem(text: str, problem: str) -> None:
    with pytest.raises(ContractError, match=problem) as err:
        parse_services(text)
    assert err.value.variable == "DECNET_SERVICES" and err.value.hint


def test_environment_defaults_and_service_config() -> None:
    env = {
        "DECNET_SERVICES": "ssh=22/tcp http=80/tcp",
        "DECNET_SSH_PASSWORD": "s3cret",
        "DECNET_SSH_BANNER": "SSH-2.0-x",
        "DECNET_HTTP_SERVER_HEADER": "nginx",
        "DECNET_HTTPS_CERT_CN": "not mine",
        "DECNET_DECKY": "web1",
    }
    s = parse_environment(env, "host1")
    assert [x.name for x in s.services] == ["ssh", "http"]
    assert s.service("ssh").config == {"password": "s3cret", "banner": "SSH-2.0-x"}  # type: ignore[union-attr]
    assert s.service("http").config == {"server_header": "nginx"}  # type: ignore[union-attr]
    assert s.hostname == "host1" and s.decky == "web1"
    assert (s.log_max_bytes, s.log_files, s.heartbeat, s.downloads) == (10485760, 5, 60, "fake")
    assert s.port_map() == {(22, "tcp"): "ssh", (80, "tcp"): "http"}
    assert str(s.state_dir) == "/var/lib/decnet-sensor/state"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DECNET_LOG_MAX_BYTES", "1000"),
        ("DECNET_LOG_MAX_BYTES", "ten"),
        ("DECNET_LOG_FILES", "0"),
        ("DECNET_HEARTBEAT", "-1"),
        ("DECNET_DOWNLOADS", "all"),
        ("DECNET_SENSOR_DIR", "relative/dir"),
    ],
)
def test_bad_sensor_settings_are_refused(name: str, value: str) -> None:
    with pytest.raises(ContractError) as err:
        parse_environment({"DECNET_SERVICES": "ssh=22/tcp", name: value}, "h")
    assert err.value.variable == name


def test_sensor_variables_never_leak_into_a_service_config() -> None:
    env = {"DECNET_LOG_MAX_BYTES": "70000", "DECNET_LOG_X": "1"}
    assert service_config(env, "log") == {"x": "1"}


def test_catalogue_env_names_follow_the_sensor_rule() -> None:
    for spec in load_catalog().services.values():
        for param in spec.params:
            assert param.env == env_prefix(spec.name) + param.key.upper(), (spec.name, param)


def _literal_keys(module: str, name: str) -> set[str]:
    tree = ast.parse((SENSOR_PKG / module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.AnnAssign | ast.Assign):
            targets = [node.target] if isinstance(node, ast.AnnAssign) else node.targets
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                value = ast.literal_eval(node.value)  # type: ignore[arg-type]
                return set(value)
    raise AssertionError(f"{name} not found in {module}")


def test_every_catalogue_sensor_has_its_implementation_in_the_image() -> None:
    canary = _literal_keys("canary.py", "MODULES")
    cowrie = _literal_keys("main.py", "COWRIE")
    emulators = {p.stem for p in (SENSOR_PKG / "emulators").glob("*.py")} - {"__init__", "base"}
    for spec in load_catalog().services.values():
        if spec.sensor == "cowrie":
            assert spec.name in cowrie, spec.name
        elif spec.sensor == "opencanary":
            assert spec.name in canary, spec.name
        elif spec.sensor == "decnet":
            # decnet's own emulators: a missing one is reported by the sensor (sensor.error)
            # until its module lands; the ones that exist must be named for their service.
            assert spec.name.replace("-", "_") in emulators or spec.name not in canary | cowrie
        assert spec.name not in canary or spec.name not in cowrie
    assert "snmp" in emulators
