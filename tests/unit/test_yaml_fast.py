"""The fast path for rendered manifests gives exactly what the full loader gives, and leaves the rest to it.

`load_manifests` takes `_fast_manifests` for text without anchors; anything unusual is handed to the full loader.
These tests compare the two on YAML 1.1's tricky scalars, on structures hypothesis makes up, and on every
refusal the full loader makes (duplicate keys, aliases, syntax errors), so the shortcut never changes a value.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from razee.errors import InputError
from razee.yamlsrc import _fast_manifests, _ManifestLoader, _Unusual, load_manifests

TRICKY = [
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "True",
    "FALSE",
    "~",
    "null",
    "Null",
    "",
    "0777",
    "0o17",
    "0x1F",
    "0b101",
    "1_000",
    "1:30",
    "190:20:30",
    "-1:30",
    "1e3",
    "1.0e+3",
    ".inf",
    "-.Inf",
    ".NaN",
    "+12",
    "-0",
    "0.",
    ".5",
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10",
    "=",
    "<<",
    "1.20.2",
    "b3c.4x16",
    "12:30:00",
    "0:0",
    "café 😀",
    "'quoted'",
    '"double"',
    "a: b",
    "- x",
    "#not-comment",
    "@x",
    "`x",
]


def _full(text: str) -> list[tuple[Any, int]]:
    loader = _ManifestLoader(text, check_aliases=True)
    try:
        out = []
        while loader.check_data():
            out.append((loader.get_data(), loader.document_lines[-1] if loader.document_lines else 1))
        return out
    finally:
        loader.dispose()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _check(text: str) -> None:
    try:
        fast = _fast_manifests(text)
    except (_Unusual, yaml.YAMLError):
        fast = None  # left to the full loader: load_manifests must then equal it (below)
    try:
        full: list[tuple[Any, int]] | None = _full(text)
    except yaml.YAMLError:
        full = None
    if fast is not None:
        assert full is not None, f"the fast path accepted what the full loader refuses: {text!r}"
        assert len(fast) == len(full)
        for (fv, fl), (gv, gl) in zip(fast, full, strict=True):
            assert _same(fv, gv), (text, fv, gv)
            assert fl == gl
    if full is None:
        with pytest.raises(InputError):
            load_manifests(text, "t.yaml")
    else:
        got = load_manifests(text, "t.yaml")
        assert len(got) == len(full) and all(_same(a[0], b[0]) and a[1] == b[1] for a, b in zip(got, full, strict=True))


@pytest.mark.parametrize("scalar", TRICKY)
def test_tricky_scalars_as_values_keys_and_items(scalar: str) -> None:
    for text in (
        f"a: {scalar}\n",
        f"{scalar}: 1\nb: 2\n",
        f"- {scalar}\n- [{scalar}]\n",
        f"x: {{k: {scalar}}}\n",
        f"a: '{scalar}'\n",
        f"--- {scalar}\n",
    ):
        _check(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicate key: refused
        "a: 1\n'a': 2\n",  # the same key quoted
        "1: x\n'1': y\n",  # int and str keys that differ
        "a: &x 1\nb: *x\n",  # alias: refused in rendered output
        "<<: {a: 1}\nb: 2\n",  # merge key
        "a: !!str 12\nb: !!int '7'\nc: !!binary aGVsbG8=\n",
        "a: !!set {x, y}\n",
        "a: !custom x\n",  # unknown tag: refused
        "? [a, b]\n: c\n",  # complex key: refused
        "a: [\n",  # syntax error
        "a: b\n---\n---\nc: d\n...\n",  # empty documents in between
        "",
        "# only a comment\n",
        "a:\n  - b: 1\n    c: [1, 2, {d: e}]\n",
        "kind: ConfigMap\ndata:\n  x: |\n    line1\n    line2\n  y: >-\n    folded\n    text\n",
    ],
)
def test_structures_and_refusals(text: str) -> None:
    _check(text)


def test_refusals_keep_their_messages() -> None:
    with pytest.raises(InputError, match=r"t\.yaml:2: .*duplicate key 'a'"):
        load_manifests("a: 1\na: 2\n", "t.yaml")
    with pytest.raises(InputError, match="anchors and aliases are not allowed"):
        load_manifests("a: &x 1\nb: *x\n", "t.yaml")


keys = st.one_of(st.text(max_size=8), st.sampled_from(TRICKY))
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10), st.sampled_from(TRICKY)
)
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees, st.sampled_from([True, False]))
def test_any_dumped_structure_loads_the_same(tree: Any, flow: bool) -> None:
    _check(yaml.safe_dump(tree, default_flow_style=flow, allow_unicode=True))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(keys, st.sampled_from(TRICKY)), max_size=6))
def test_any_hand_written_mapping_loads_the_same(pairs: list[tuple[str, str]]) -> None:
    _check("".join(f"{k if k.strip() and k.isprintable() else 'k'}: {v}\n" for k, v in pairs))
