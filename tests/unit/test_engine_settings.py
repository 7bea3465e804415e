"""The fleet's `engine` settings reach a pass: read from fleet.yaml, cached with the render, read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from razee.errors import InputError
from razee.reconcile.load import render_spoke
from razee.render.cache import EngineSettings
from tests.helpers.engine import Spokes


def test_hook_timeout_comes_from_the_fleet_and_survives_the_render_cache(tmp_path: Path) -> None:
    spokes = Spokes(tmp_path, kubeconfig="unused", count=1, engine={"pruneTimeout": "5s", "hookTimeout": "15m"})
    spokes.write(a="")
    bundle = render_spoke(spokes.root, spokes.name("a"), for_apply=False)
    assert (bundle.engine.prune_timeout, bundle.engine.hook_timeout) == (5.0, 900.0)
    assert EngineSettings.from_json(bundle.engine.to_json()) == bundle.engine


def test_the_default_hook_timeout_is_five_minutes_and_an_old_cache_entry_reads_back(tmp_path: Path) -> None:
    spokes = Spokes(tmp_path, kubeconfig="unused", count=1)
    spokes.write(a="")
    assert render_spoke(spokes.root, spokes.name("a"), for_apply=False).engine.hook_timeout == 300.0
    old = EngineSettings.from_json({"conflicts": "refuse", "pruneTimeout": 60.0})  # written before hookTimeout
    assert old.hook_timeout == 300.0 and not old.takes_over


def test_a_bad_hook_timeout_names_the_field(tmp_path: Path) -> None:
    spokes = Spokes(tmp_path, kubeconfig="unused", count=1, engine={"hookTimeout": "soon"})
    spokes.write(a="")
    with pytest.raises(InputError, match=r"fleet\.yaml.*engine\.hookTimeout"):
        render_spoke(spokes.root, spokes.name("a"), for_apply=False)
