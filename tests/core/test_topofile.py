"""Topology files: parse, dump, round trip, and errors that point at the line."""

from __future__ import annotations

import math
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from decnet.core.catalog import load_catalog
from decnet.core.generate import generate
from decnet.core.hashing import desired_hash
from decnet.core.topofile import (
    MASK,
    MAX_ALIAS_NODES,
    MAX_FILE_BYTES,
    dump_topology_file,
    mask_secrets,
    parse_topology_file,
)
from decnet.errors import TopologyFileError
from decnet.models import Decky, GeneratorParams, Lan, Membership, Topology

KEY = b"k" * 32

FULL = textwrap.dedent(
    """\
    name: corp
    host: localhost
    images: {ssh: "reg/cowrie:2"}
    lans:
      - {name: dmz, dmz: true, subnet: 10.192.0.0/24}
      - {name: office}
      - {name: other, canvas: {x: 10, y: 20, w: 300, h: 200}}
    deckies:
      - name: gw
        home: dmz
        services: [ssh, http]
        config: {ssh: {banner: "SSH-2.0-OpenSSH_9.2", password: hunter2}}
        publish: ["2222:22"]
        forwards_l3: true
        attach: [office, {lan: other, ip: 10.192.1.9}]
        ip: 10.192.0.5
      - name: ws
        home: office
        archetype: linux-server
        canvas: {x: 1, y: 2.5}
    """
)


def parse(text: str) -> Topology:
    return parse_topology_file(textwrap.dedent(text), "t.yml")


def error(text: str) -> TopologyFileError:
    with pytest.raises(TopologyFileError) as info:
        parse(text)
    return info.value


def test_full_example_maps_to_the_model() -> None:
    t = parse(FULL)
    assert (t.name, t.host, t.images) == ("corp", "localhost", {"ssh": "reg/cowrie:2"})
    assert [(lan.name, lan.is_dmz, lan.subnet) for lan in t.lans] == [
        ("dmz", True, "10.192.0.0/24"),
        ("office", False, None),
        ("other", False, None),
    ]
    gw = t.decky("gw")
    assert gw is not None
    assert gw.memberships == [
        Membership(lan="dmz", ip="10.192.0.5"),
        Membership(lan="office"),
        Membership(lan="other", ip="10.192.1.9"),
    ]
    assert gw.service_config == {"ssh": {"banner": "SSH-2.0-OpenSSH_9.2", "password": "hunter2"}}
    assert (gw.forwards_l3, gw.publish) == (True, ["2222:22"])
    lan = t.lan("other")
    assert lan is not None and (lan.x, lan.y, lan.w, lan.h) == (10, 20, 300, 200)


def test_archetype_expands_to_its_services() -> None:
    ws = parse(FULL).decky("ws")
    assert ws is not None
    assert ws.archetype == "linux-server"
    assert ws.services == load_catalog().archetypes["linux-server"].services


def test_explicit_services_win_over_archetype() -> None:
    t = parse("name: a\ndeckies: [{name: x, home: d, archetype: linux-server, services: [ftp]}]")
    assert t.deckies[0].services == ["ftp"]


def test_minimal_file_has_defaults() -> None:
    t = parse("name: solo\n")
    assert (t.host, t.lans, t.deckies, t.config) == ("localhost", [], [], {})


def test_dump_parses_back_to_the_same_topology() -> None:
    t = parse(FULL)
    assert parse_topology_file(dump_topology_file(t)) == t


def test_dump_writes_every_allocated_value_and_no_generator_params() -> None:
    t = parse(FULL).model_copy(update={"config": {"seed": 7, "depth": 2}})
    text = dump_topology_file(t)
    assert "seed" not in text and "depth" not in text
    assert "subnet: 10.192.0.0/24" in text and "ip: 10.192.0.5" in text


def test_dump_keeps_awkward_strings_as_strings() -> None:
    tricky = ["yes", "0755", "1e3", "null", "$HOME", "a: b", "# not a comment", "- x", "'q'"]
    config = {"http": {f"k{i}": v for i, v in enumerate(tricky)}}
    t = parse("name: a\ndeckies: [{name: x, home: d, services: [http]}]")
    t.deckies[0].service_config = config
    assert parse_topology_file(dump_topology_file(t)).deckies[0].service_config == config


def test_mask_secrets_hides_only_secret_params() -> None:
    masked = mask_secrets(parse(FULL), load_catalog())
    config = masked.deckies[0].service_config["ssh"]
    assert config == {"banner": "SSH-2.0-OpenSSH_9.2", "password": MASK}


def test_masked_file_is_refused_with_a_clear_message() -> None:
    text = dump_topology_file(mask_secrets(parse(FULL), load_catalog()))
    assert "masked" in text.splitlines()[1]  # the note says what to do
    with pytest.raises(TopologyFileError) as info:
        parse_topology_file(text, "x.yml")
    err = info.value
    assert err.field == "deckies[0].config.ssh.password"
    assert "secret mask" in str(err) and "--include-secrets" in str(err)


def test_yaml_syntax_error_names_line_and_column() -> None:
    err = error("name: a\nlans: [x\ndeckies: []\n")
    assert err.line == 3 and err.column is not None
    assert str(err).startswith("t.yml:3:")
    assert "invalid YAML" in str(err)


def test_duplicate_key_is_refused() -> None:
    err = error("name: a\nlans: []\nname: b\n")
    assert (err.line, err.field) == (3, "name")
    assert "duplicate key (first given on line 1)" in str(err)


def test_duplicate_key_in_nested_mapping() -> None:
    err = error("name: a\ndeckies:\n  - name: x\n    home: d\n    home: e\n")
    assert (err.line, err.field) == (5, "deckies[0].home")


def test_unknown_key_is_named_with_suggestion() -> None:
    text = """\
        name: a
        deckies:
          - {name: x, home: d}
          - {name: y, home: d}
          - name: z
            home: d
            servics: [ssh]
        """
    err = error(text)
    assert (err.line, err.field) == (7, "deckies[2].servics")
    assert "deckies[2].servics: unknown key (did you mean 'services'?)" in str(err)


def test_unknown_top_level_key_lists_nothing_silly() -> None:
    err = error("name: a\nzzz: 1\n")
    assert err.field == "zzz" and "known keys: name, host, images, lans, deckies" in str(err)


def test_wrong_type_names_field_value_and_expected_type() -> None:
    err = error("name: a\ndeckies:\n  - name: x\n    home: d\n    forwards_l3: maybe\n")
    assert (err.line, err.field) == (5, "deckies[0].forwards_l3")
    assert "expected true or false, got 'maybe'" in str(err)


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("name: 12\n", "name", "expected a string, got an integer"),
        ("name: a\nlans: {name: x}\n", "lans", "expected a list"),
        ("name: a\nimages: {ssh: 5}\n", "images.ssh", "expected a string"),
        ("name: a\nlans: [{name: x, canvas: {x: '1'}}]\n", "lans[0].canvas.x", "a number"),
        ("name: a\ndeckies: [{name: x, home: d, attach: [5]}]\n", "deckies[0].attach[0]", ""),
        (
            "name: a\ndeckies: [{name: x, home: d, config: {ssh: {banner: 1.5}}}]\n",
            "deckies[0].config.ssh.banner",
            "expected a string, integer or boolean, got a number",
        ),
        (
            "name: a\ndeckies: [{name: x, home: d, config: {ssh: {password: [hunter2]}}}]\n",
            "deckies[0].config.ssh.password",
            "got a list",
        ),
        (
            "name: a\ndeckies: [{name: x, home: d, config: {ssh: [hunter2]}}]\n",
            "deckies[0].config.ssh",
            "expected a mapping, got a list",
        ),
    ],
)
def test_wrong_types(text: str, field: str, expected: str) -> None:
    err = error(text)
    assert err.field == field and expected in str(err)
    assert "hunter2" not in str(err)  # config values may be secrets


def test_missing_required_key() -> None:
    err = error("name: a\ndeckies:\n  - name: x\n")
    assert (err.line, err.field) == (3, "deckies[0].home")
    assert "required key is missing" in str(err)


def test_several_problems_report_the_first_and_count_the_rest() -> None:
    err = error("name: 1\nhost: 2\n")
    assert err.line == 1 and "(and 1 more problem)" in str(err)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty"),
        ("just a string", "expected a mapping"),
        ("name: !!python/object/apply:os.system [echo hi]\n", "unsupported YAML tag"),
        ("name: a\n---\nname: b\n", "single document"),
        ("name: a\n5: x\n", "keys must be strings"),
        ("b: &b {home: d}\nname: a\ndeckies: [{<<: *b, name: x}]\n", "merge keys"),
        ("name: &a [*a]\n", "nested too deeply"),
    ],
)
def test_unsafe_or_odd_yaml_is_refused(text: str, needle: str) -> None:
    assert needle in str(error(text))


def test_alias_bomb_is_bounded() -> None:
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 8)]
    assert f"aliases expand to over {MAX_ALIAS_NODES} values" in str(error("\n".join(lines)))


def test_many_values_without_aliases_are_not_an_alias_bomb() -> None:
    # 250,000 values written out (the old bound counted them all, as if expanded from aliases)
    entries = ", ".join(["'2222:22'"] * 250_000)
    t = parse(f"name: a\ndeckies: [{{name: x, home: d, publish: [{entries}]}}]\n")
    assert len(t.deckies[0].publish) == 250_000


def test_aliases_below_the_bound_expand() -> None:
    t = parse("name: a\ndeckies: [{name: x, home: d, services: &s [ssh, http]}, "
              "{name: y, home: d, services: *s}]\n")  # fmt: skip
    assert t.deckies[1].services == ["ssh", "http"]


def test_a_file_over_the_size_cap_is_refused_before_parsing() -> None:
    err = error("#" * (MAX_FILE_BYTES + 1))
    assert "over 64 MiB" in str(err)


SECRET = "S3cr3t-Valu3"


@pytest.mark.parametrize(
    ("tag", "needle"),
    [
        ("!!int", "does not fit its tag !!int"),
        ("!!bool", "does not fit its tag !!bool"),
        ("!!float", "does not fit its tag !!float"),
        ("!!timestamp", "date or time; quote it"),
        ("!!binary", "unsupported YAML tag"),
        ("!!set", "unsupported YAML tag"),
        ("!!python/name:os.system", "unsupported YAML tag"),
        ("!local", "unsupported YAML tag"),
    ],
)
@pytest.mark.parametrize("where", ["config", "name"])
def test_explicit_scalar_tags_are_errors_that_never_quote_the_value(
    tag: str, needle: str, where: str
) -> None:
    value = f"{tag} {SECRET}"
    if where == "config":
        config = f"    config: {{ssh: {{password: {value}}}}}\n"
        text = f"name: a\ndeckies:\n  - name: x\n    home: d\n{config}"
        field, line = "deckies[0].config.ssh.password", 5
    else:
        text, field, line = f"name: {value}\n", "name", 1
    err = error(text)
    assert (err.field, err.line) == (field, line) and err.column is not None
    assert needle in str(err) and SECRET not in str(err) and SECRET.lower() not in str(err)


@settings(max_examples=200, deadline=None)
@given(
    tag=st.sampled_from(
        ["!!int", "!!bool", "!!float", "!!timestamp", "!!binary", "!!null", "!!str", "!!set",
         "!!omap", "!!pairs", "!!map", "!!seq", "!!merge", "!!value", "!e", "!<tag:x,1:y>"]
    ),
    body=st.text(
        st.characters(codec="utf-8", exclude_characters="\"\\", exclude_categories=("Cs",)),
        min_size=0,
        max_size=12,
    ),
    field=st.sampled_from(["password", "banner", "port"]),
)  # fmt: skip
def test_any_tag_and_value_gives_a_clean_error_or_a_value(tag: str, body: str, field: str) -> None:
    secret = f"Zq9{body}"
    quoted = secret.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    config = f'{{ssh: {{{field}: {tag} "{quoted}"}}}}'
    text = f"name: a\ndeckies: [{{name: x, home: d, config: {config}}}]\n"
    try:
        parse(text)
    except TopologyFileError as err:
        assert err.line == 2 and err.column is not None and err.field is not None
        assert secret not in str(err) and quoted not in str(err)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN", "!!float .inf"])
@pytest.mark.parametrize(
    ("template", "field"),
    [
        ("name: a\nlans: [{{name: x, canvas: {{x: 1, w: {v}}}}}]\n", "lans[0].canvas.w"),
        ("name: a\ndeckies: [{{name: x, home: d, canvas: {{y: {v}}}}}]\n", "deckies[0].canvas.y"),
    ],
)
def test_canvas_values_must_be_finite(value: str, template: str, field: str) -> None:
    err = error(template.format(v=value))
    assert err.field == field and "finite number" in str(err)


def test_the_models_refuse_non_finite_canvas_values_too() -> None:
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises(ValidationError, match="finite"):
            Lan(name="x", h=bad)
        with pytest.raises(ValidationError, match="finite"):
            Decky(name="x", home_lan="d", memberships=[], x=bad)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    depth=st.integers(1, 3),
    branching=st.integers(1, 3),
    cross_p=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_generated_topologies_round_trip_to_the_same_desired_hash(
    seed: int, depth: int, branching: int, cross_p: float
) -> None:
    catalog = load_catalog()
    params = GeneratorParams(
        name="gen", depth=depth, branching=branching, cross_p=cross_p, seed=seed
    )
    original = generate(params, catalog)
    again = parse_topology_file(dump_topology_file(original))
    assert desired_hash(again, catalog, {}, secret_key=KEY) == desired_hash(
        original, catalog, {}, secret_key=KEY
    )


def test_allow_public_round_trips_and_stays_out_of_the_hash() -> None:
    text = textwrap.dedent(
        """\
        name: lab
        lans:
          - {name: dmz, dmz: true, subnet: 8.8.8.0/24, allow_public: true}
          - {name: office, subnet: 10.1.0.0/24}
        """
    )
    t = parse_topology_file(text)
    assert [lan.allow_public for lan in t.lans] == [True, False]
    dumped = dump_topology_file(t)
    assert dumped.count("allow_public") == 1  # written only where it is set
    assert parse_topology_file(dumped).lans == t.lans
    closed = t.model_copy(deep=True)
    closed.lans[0].allow_public = False
    assert desired_hash(closed, load_catalog(), {}, secret_key=KEY) == desired_hash(
        t, load_catalog(), {}, secret_key=KEY
    )


def test_allow_public_must_be_a_boolean() -> None:
    err = error("name: x\nlans: [{name: dmz, dmz: true, allow_public: 'yes'}]\n")
    assert err.field == "lans[0].allow_public"
