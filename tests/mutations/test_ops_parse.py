"""The op vocabulary: shapes are checked by the models; every error names the field path."""

from __future__ import annotations

import pytest
from mutation_support import CATALOG

from decnet.core.ops import MAX_OPS, OP_TYPES, dump_ops, mask_ops, parse_batch, parse_ops
from decnet.core.secrets import MASK
from decnet.errors import InvalidRequest


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ([{"op": "grow"}], "ops[0]", "op"),
        ([{"name": "x"}], "ops[0]", "op"),
        ([{"op": "add_lan"}], "ops[0].name", "required"),
        ([{"op": "add_lan", "name": "x", "colour": "red"}], "ops[0].colour", "not permitted"),
        ([{"op": "add_decky", "name": "x", "lan": 5}], "ops[0].lan", "string"),
        ([{"op": "add_decky", "name": "x", "lan": "dmz", "forwards_l3": "yes"}],
         "ops[0].forwards_l3", "boolean"),
        ([{"op": "add_lan", "name": "a"}, {"op": "remove_decky"}], "ops[1].name", "required"),
        ([{"op": "update_lan", "name": "a", "canvas": {"x": float("inf")}}],
         "ops[0].canvas.x", "finite"),
        ([{"op": "add_decky", "name": "x", "lan": "dmz", "config": {"ssh": {"password": 1.5}}}],
         "ops[0].config.ssh.password", ""),
        ([], "ops", "no op"),
        ("add_lan", "ops", ""),
    ],
)  # fmt: skip
def test_a_wrong_shape_names_the_field(data: object, field: str, words: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_ops(data)
    assert err.value.field == field
    assert words in str(err.value)
    assert err.value.hint


def test_a_secret_of_a_wrong_type_is_not_echoed() -> None:
    with pytest.raises(InvalidRequest) as err:
        parse_ops([{"op": "add_decky", "name": "x", "lan": "d", "config": {"ssh": [1.25]}}])
    assert "1.25" not in str(err.value) and "1.25" not in err.value.hint


def test_too_many_ops_in_one_batch_are_refused() -> None:
    with pytest.raises(InvalidRequest, match=str(MAX_OPS)):
        parse_ops([{"op": "remove_decky", "name": f"d{i}"} for i in range(MAX_OPS + 1)])


def test_every_op_kind_parses_and_dumps_back() -> None:
    data = [
        {"op": "add_lan", "name": "n", "subnet": "10.1.2.0/24", "dmz": True},
        {"op": "remove_lan", "name": "n"},
        {"op": "update_lan", "name": "n", "rename": "m", "canvas": {"x": 1, "w": 2.5}},
        {"op": "add_decky", "name": "d", "lan": "n", "archetype": "linux-server", "ip": "10.1.2.9"},
        {"op": "remove_decky", "name": "d"},
        {"op": "update_decky", "name": "d", "config": {"ssh": {"banner": None}}, "force": True},
        {"op": "attach_decky", "decky": "d", "lan": "m"},
        {"op": "detach_decky", "decky": "d", "lan": "m"},
    ]
    ops = parse_ops(data)
    assert [op.op for op in ops] == list(OP_TYPES)
    assert parse_ops(dump_ops(ops)) == ops
    assert dump_ops(ops)[2] == {"op": "update_lan", "name": "n", "rename": "m",
                                "canvas": {"x": 1.0, "w": 2.5}}  # fmt: skip


def test_a_batch_is_a_list_or_a_mapping_with_a_version() -> None:
    assert parse_batch([{"op": "remove_lan", "name": "x"}]).expected_version is None
    batch = parse_batch({"ops": [{"op": "remove_lan", "name": "x"}], "expected_version": 4})
    assert batch.expected_version == 4
    for bad, field in (
        ({"ops": [], "version": 1}, "version"),
        ({"ops": [{"op": "remove_lan", "name": "x"}], "expected_version": "4"},
         "expected_version"),
        ({"ops": [{"op": "remove_lan", "name": "x"}], "expected_version": True},
         "expected_version"),
        (7, "batch"),
    ):  # fmt: skip
        with pytest.raises(InvalidRequest) as err:
            parse_batch(bad)
        assert err.value.field == field


def test_mask_ops_hides_secret_and_unknown_config_values() -> None:
    ops = [
        {"op": "add_decky", "name": "d", "lan": "x",
         "config": {"ssh": {"password": "hunter2", "banner": "SSH-2.0"}, "zz": {"k": "v"}}},
        {"op": "update_decky", "name": "d", "config": {"telnet": {"password": None}}},
    ]  # fmt: skip
    shown = mask_ops(ops, CATALOG)
    assert shown[0]["config"] == {"ssh": {"password": MASK, "banner": "SSH-2.0"},
                                  "zz": {"k": MASK}}  # fmt: skip
    assert shown[1]["config"] == {"telnet": {"password": None}}
    assert ops[0]["config"]["ssh"]["password"] == "hunter2"  # the input is not touched
