"""The catalogue's sensor fields (family, sensor, captures) and the family image overrides."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml
from pydantic import ValidationError

from decnet.core.catalog import load_catalog, resolve_family_image
from decnet.models import ServiceSpec


def test_every_service_states_its_family_sensor_and_captures() -> None:
    raw = yaml.safe_load(resources.files("decnet").joinpath("data/catalog.yml").read_text())
    for entry in raw["services"]:
        assert {"family", "sensor", "captures"} <= set(entry), entry["name"]
    catalog = load_catalog()
    for spec in catalog.services.values():
        assert spec.family in catalog.families
        assert "connect" in spec.captures
    assert catalog.services["ssh"].sensor == "cowrie"
    assert "command" in catalog.services["ssh"].captures
    assert catalog.services["http"].sensor == "opencanary"


def test_a_sensor_must_fit_its_family() -> None:
    base = {"name": "x", "ports": [{"port": 1}], "image": "i:1"}
    ServiceSpec.model_validate({**base, "family": "lure", "sensor": "lure"})
    for bad in ({"family": "lure", "sensor": "cowrie"}, {"family": "sensor", "sensor": "lure"}):
        with pytest.raises(ValidationError, match="does not run in family"):
            ServiceSpec.model_validate({**base, **bad})
    with pytest.raises(ValidationError, match="twice"):
        ServiceSpec.model_validate({**base, "captures": ["connect", "connect"]})


def test_family_image_overrides_topology_then_site_then_catalogue() -> None:
    catalog = load_catalog()
    assert resolve_family_image("sensor", catalog) == "decnet-sensor:0.1"
    assert resolve_family_image("sensor", catalog, {"sensor": "site/s:2"}) == "site/s:2"
    assert (
        resolve_family_image("sensor", catalog, {"sensor": "site/s:2"}, {"sensor": "t/s:3"})
        == "t/s:3"
    )
    # `*` overrides every *service* image, never a family's
    assert resolve_family_image("sensor", catalog, {"*": "site/all:1"}) == "decnet-sensor:0.1"
