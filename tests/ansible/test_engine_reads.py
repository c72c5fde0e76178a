"""The module's engine reads over the Engine API return what the docker CLI returns (the module
uses the API on a local socket, the CLI for a remote DOCKER_HOST). Real engine."""

from __future__ import annotations

import uuid

import pytest
from ansible_support import docker
from test_contract import module_utils

pytestmark = pytest.mark.docker

engine = module_utils("decnet_engine")
scrub = module_utils("decnet_scrub")


def clients() -> tuple[object, object]:
    api = engine.Docker("/usr/bin/docker", 30, 1, scrub.Scrubber("", None))
    cli = engine.Docker("/usr/bin/docker", 30, 1, scrub.Scrubber("", None))
    cli.api = None
    assert api.api is not None
    return api, cli


def test_api_and_cli_reads_agree(image: str) -> None:
    label = f"decnet.test={uuid.uuid4().hex[:10]}"
    net = f"decnet-reads-{uuid.uuid4().hex[:8]}"
    docker("network", "create", "--label", label, net)
    made = [
        docker("create", "--label", label, "--network", net, image, "sleep", "60").stdout.strip(),
        docker(
            "run", "-d", "--label", label, "-p", "127.0.0.1::8080", image, "sleep", "60"
        ).stdout.strip(),
    ]
    try:
        api, cli = clients()
        for running_only in (False, True):
            by_api = sorted(api.containers(label, running_only), key=lambda c: c["Id"])
            by_cli = sorted(cli.containers(label, running_only), key=lambda c: c["Id"])
            assert sorted(c["Id"] for c in by_api) == sorted(c["Id"] for c in by_cli)
            assert len(by_api) == (1 if running_only else 2)
            strip = [{k: v for k, v in c.items() if k != "State"} for c in by_api]
            assert strip == [{k: v for k, v in c.items() if k != "State"} for c in by_cli]
        assert api.networks(label) == cli.networks(label)
        assert [n["Name"] for n in api.networks(label)] == [net]
        assert api.ids("container", label) == cli.ids("container", label) != []
        assert api.image_id(image) == cli.image_id(image) is not None
        assert (
            api.image_id("decnet-no-such-image:0") is None is cli.image_id("decnet-no-such-image:0")
        )
        assert api.containers("decnet.test=none-of-these") == []
        # the pre-flight's summaries: one listing over the API, the same as the CLI's inspections
        for running_only in (False, True):
            mine = [
                sorted(
                    (c["name"], c["ports"])
                    for c in d.container_summaries(running_only)
                    if c["labels"].get("decnet.test") == label.split("=")[1]
                )
                for d in (api, cli)
            ]
            assert mine[0] == mine[1] and len(mine[0]) == (1 if running_only else 2)
        ours = [c for c in api.container_summaries(True) if c["labels"].get("decnet.test")]
        published = next(c for c in ours if c["labels"]["decnet.test"] == label.split("=")[1])
        assert published["ports"][0][1] == "tcp" and published["ports"][0][0] > 0
        nets = [{n["Name"]: n["IPAM"]["Config"] for n in d.network_summaries()} for d in (api, cli)]
        assert nets[0][net] == nets[1][net] and nets[0][net]
    finally:
        docker("rm", "-f", *made, check=False)
        docker("network", "rm", net, check=False)
