"""The `y` filter and the Jinja environment: no value can inject YAML or compose interpolation."""

from __future__ import annotations

import jinja2
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from decnet.core.render import build_environment, compile_template, yaml_scalar

NASTY = [
    "",
    "line one\nline two\n",
    "key: value",
    "# not a comment",
    "$HOME",
    "${PATH:-/bin}",
    "$$already doubled",
    "{{ not_jinja }}",
    "{% raw %}",
    "\"double\" and 'single' quotes",
    "héllo ✓ 日本 🐍",
    "- leading dash",
    "* leading star",
    "&anchor",
    "!!python/object:os.system",
    "? question",
    "| literal",
    "> folded",
    "@at",
    "`backtick`",
    "%YAML 1.2",
    "---",
    "...",
    "yes",
    "no",
    "on",
    "null",
    "~",
    "0x1F",
    "1e3",
    "0777",
    "12:30",
    " leading and trailing space ",
    "tab\there",
    "carriage\rreturn",
    "nel\x85ls\u2028ps\u2029",
    "del\x7fc1\x9f",
    "bom\ufeff",
    "nul\x00",
    "backslash \\ end\\",
]


def _round_trip(value: object) -> object:
    return yaml.safe_load(f"k: {yaml_scalar(value)}\n")["k"]


@pytest.mark.parametrize("value", NASTY)
def test_nasty_strings_round_trip_literally(value: str) -> None:
    # The parsed YAML holds what compose reads before interpolation: every `$` doubled.
    assert _round_trip(value) == value.replace("$", "$$")


@given(st.text())
def test_any_text_round_trips(value: str) -> None:
    assert _round_trip(value) == value.replace("$", "$$")


@given(st.text())
def test_any_text_stays_one_line(value: str) -> None:
    assert "\n" not in yaml_scalar(value)


@pytest.mark.parametrize("value", [True, False, None, 0, -7, 65535])
def test_non_string_scalars_keep_their_type(value: object) -> None:
    got = _round_trip(value)
    assert got == value and type(got) is type(value)


@pytest.mark.parametrize("value", [1.5, [1], {"a": 1}, ("t",), b"bytes"])
def test_non_scalars_are_refused(value: object) -> None:
    with pytest.raises(TypeError):
        yaml_scalar(value)


def test_filter_applies_inside_templates() -> None:
    text = compile_template("a: {{ v | y }}\n").render(v="x\nb: 1")
    assert yaml.safe_load(text) == {"a": "x\nb: 1"}


def test_strict_undefined_raises_on_a_missing_variable() -> None:
    with pytest.raises(jinja2.UndefinedError):
        compile_template("a: {{ missing | y }}\n").render()


def test_strict_undefined_raises_on_a_missing_key() -> None:
    with pytest.raises(jinja2.UndefinedError):
        compile_template("a: {{ model.nope | y }}\n").render(model={"name": "x"})


def test_environment_settings() -> None:
    env = build_environment()
    assert env.undefined is jinja2.StrictUndefined
    assert env.autoescape is False
    assert env.keep_trailing_newline is True
    assert env.from_string("x\n").render() == "x\n"
