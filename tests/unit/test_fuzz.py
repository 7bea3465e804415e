"""Fuzzing the fleet loader and the renderer: whatever the input, the outcome is a result or a RazeeError."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from razee.errors import RazeeError
from razee.fleet.loader import load_fleet
from razee.render.renderer import render_spokes
from tests.fleetrepo import TEMPLATES, region_copy, write_repo

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10**6),
    st.text(max_size=12),
    st.sampled_from(["dal10", "b3c.4x16", "1.20.2", "canary", "spoke-a", "*", "&a", "<<"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


def _try(fn: Any) -> None:
    with contextlib.suppress(RazeeError):  # a clear, located error is the correct outcome for bad input
        fn()


@FUZZ
@given(st.text(max_size=300))
def test_any_region_text_loads_or_fails_cleanly(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_repo(Path(tmp))
        (root / "environments" / "regions" / "us-south.yaml").write_text(text)
        _try(lambda: load_fleet(root))


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["name", "zones", "spokes", "clusters", "values", "provider", "extra"]), values, max_size=6
    )
)
def test_any_region_structure_loads_or_fails_cleanly(doc: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_repo(Path(tmp))
        region = {**region_copy(), **doc}
        (root / "environments" / "regions" / "us-south.yaml").write_text(yaml.safe_dump(region))
        _try(lambda: load_fleet(root))


fragments = st.sampled_from(
    [
        "{{ values.replicas }}",
        "{{ cluster.name }}",
        "{{ nope }}",
        "{% for x in range(3) %}a{{ x }}{% endfor %}",
        "{% if spoke.name %}",
        "{% endif %}",
        "{{ ''.__class__ }}",
        "{{ cluster.__init__ }}",
        "{% include 'x' %}",
        "{% include '../environments/fleet.yaml' %}",
        "{{ 1/0 }}",
        "---\n",
        "apiVersion: v1\n",
        "kind: ConfigMap\n",
        "metadata: {name: a}\n",
        "data: {k: v}\n",
        ": :\n",
        "- [\n",
        "{{ range(10**9) | list }}",
        "&a x\n*a\n",
        "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
        "{{ values | to_yaml }}",
        "{{ secrets.db.x }}",
    ]
)


@FUZZ
@given(st.lists(fragments, max_size=8).map("".join))
def test_any_template_renders_or_fails_cleanly(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = write_repo(Path(tmp), templates={**TEMPLATES, "cluster/fuzz.yaml.j2": text})
        fleet = load_fleet(root)
        _try(lambda: render_spokes(root, fleet, fleet.spokes()))


def test_recursive_template_is_refused(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path, templates={**TEMPLATES, "spoke/loop.yaml.j2": "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"}
    )
    fleet = load_fleet(root)
    try:
        render_spokes(root, fleet, fleet.spokes())
    except RazeeError as e:
        assert "templates/spoke/loop.yaml.j2" in str(e) and "recursion too deep" in str(e)
    else:
        raise AssertionError("a template that recurses forever rendered")


def test_oversized_template_is_refused(tmp_path: Path) -> None:
    root = write_repo(
        tmp_path,
        templates={
            **TEMPLATES,
            "spoke/_big.yaml.j2": "x" * (1 << 20 + 1),
            "spoke/uses.yaml.j2": "{% include 'spoke/_big.yaml.j2' %}",
        },
    )
    fleet = load_fleet(root)
    try:
        render_spokes(root, fleet, fleet.spokes())
    except RazeeError as e:
        assert "larger than 1048576 bytes" in str(e)
    else:
        raise AssertionError("an oversized template rendered")
