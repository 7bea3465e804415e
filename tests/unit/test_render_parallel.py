"""Rendering many spokes in forked workers gives exactly what one process gives: objects, order and errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from razee.errors import InputError
from razee.fleet.loader import load_fleet
from razee.render import parallel
from razee.render.renderer import render_spokes
from razee.render.settings import RenderSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "bench"))
from fleetgen import generate

REPO = Path(__file__).resolve().parents[2]


def _render(root: Path, workers: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[object]]]:
    fleet = load_fleet(root)
    return [
        (r.spoke, [(m.key, m.obj, m.source) for m in r.manifests])
        for r in render_spokes(root, fleet, fleet.spokes(), processes=int(workers))
    ]


def test_forked_render_equals_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = generate(tmp_path / "fleet", REPO, spokes_per_region=1, clusters_per_spoke=60)
    monkeypatch.setattr(parallel, "MIN_CLUSTERS", 1)
    forked = []
    real_fork_map = parallel.fork_map

    def watched(job, items, weight, processes=None):  # type: ignore[no-untyped-def]
        forked.append(len(items))
        return real_fork_map(job, items, weight, processes)

    monkeypatch.setattr("razee.render.renderer.fork_map", watched)
    two = _render(root, "2", monkeypatch)
    one = _render(root, "1", monkeypatch)
    assert forked == [6, 6]
    assert [s for s, _ in two] == [s for s, _ in one] and len(one) == 6
    assert two == one
    assert sum(len(objs) for _, objs in one) > 6 * 60


def test_forked_render_collects_every_spokes_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = generate(tmp_path / "fleet", REPO, spokes_per_region=1, clusters_per_spoke=20)
    (root / "templates" / "cluster" / "broken.yaml.j2").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: {{ cluster.nope }}}\n"
    )
    monkeypatch.setattr(parallel, "MIN_CLUSTERS", 1)
    messages = []
    for workers in ("2", "1"):
        fleet = load_fleet(root)
        with pytest.raises(InputError) as e:
            render_spokes(root, fleet, fleet.spokes(), processes=int(workers))
        messages.append([str(f) for f in e.value.findings])
    assert messages[0] == messages[1]
    assert len(messages[0]) == 6  # one per spoke, each naming its 20 clusters
    assert all(
        "templates/cluster/broken.yaml.j2:3: undefined value" in m and "for 20 clusters" in m for m in messages[0]
    )


def test_small_jobs_stay_in_process() -> None:
    pid = [0]

    def job(i: int) -> int:
        import os

        pid[0] = os.getpid()
        return i * 2

    assert parallel.fork_map(job, [1, 2, 3], weight=10, processes=2) == [2, 4, 6]
    import os

    assert pid[0] == os.getpid()  # ran here: the list it changed is ours


def test_forked_preview_equals_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from razee.preview.compare import Side, compare_revisions

    old_root = generate(tmp_path / "old", REPO, spokes_per_region=1, clusters_per_spoke=30)
    new_root = tmp_path / "new"
    shutil.copytree(old_root, new_root)
    template = new_root / "templates" / "cluster" / "namespace.yaml.j2"
    template.write_text(
        template.read_text().replace(
            '    razee.io/managed: "true"', '    razee.io/managed: "true"\n    razee.io/touched: x', 1
        )
    )
    region = new_root / "environments" / "regions" / "eu-de.yaml"
    region.write_text(region.read_text().replace("sizePerZone: 1", "sizePerZone: 4", 1))
    monkeypatch.setattr(parallel, "MIN_CLUSTERS", 1)
    results = []
    for workers in ("2", "1"):
        old, new = Side.load("old", old_root, {}), Side.load("new", new_root, {})
        results.append(compare_revisions(old, new, settings=RenderSettings(processes=int(workers))).to_json())
    assert results[0] == results[1]
    assert results[0]["summary"]["spokes"] == 6  # a template every spoke uses
