"""`dump_block` writes exactly what `yaml.dump` writes, for every value; only faster."""

from __future__ import annotations

import datetime
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from razee.yamlout import dump_block

_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
TRICKY = [
    "yes",
    "no",
    "on",
    "~",
    "null",
    "",
    "0777",
    "0x1F",
    "1_000",
    "1:30",
    "1e3",
    ".inf",
    "2001-12-14",
    "=",
    "<<",
    "- x",
    "a: b",
    "#c",
    "@x",
    "café 😀",
    "line1\nline2",
    " lead",
    "trail ",
    "'q'",
    '"d"',
    "\t",
    "*a",
    "&a",
    "!tag",
    "%x",
    "x" * 200,
    "a b " * 40,
]


def _reference(value: Any, sort_keys: bool = False) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=sort_keys, default_flow_style=False, allow_unicode=True)


leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30), st.sampled_from(TRICKY))
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(st.text(max_size=8), st.sampled_from(TRICKY), st.integers(), st.booleans()), inner, max_size=4
        ),
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees)
def test_same_bytes_as_yaml_dump(tree: Any) -> None:
    assert dump_block(tree) == _reference(tree)
    assert dump_block(tree, sort_keys=True) == _reference(tree, sort_keys=True)


def test_what_it_does_not_build_itself_goes_to_yaml_dump() -> None:
    shared = {"a": 1}
    for value in (
        {"x": shared, "y": shared},  # PyYAML anchors a shared mapping
        {"when": datetime.date(2026, 11, 27)},
        {"b": b"bytes"},
    ):
        assert dump_block(value) == _reference(value)


def test_a_rendered_manifest_round_trips() -> None:
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "labels": {"a": "yes"}},
        "data": {"n": "0777", "multi": "a\nb\n", "empty": "", "list": "[1, 2]"},
    }
    text = dump_block(obj)
    assert text == _reference(obj)
    assert yaml.safe_load(text) == obj
