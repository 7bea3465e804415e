"""Loading environments/: the schema, semantic checks, layering and scheduling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from razee.errors import InputError
from razee.fleet.loader import load_fleet
from razee.fleet.model import Cluster, Spoke, WorkerPool
from razee.fleet.schedule import assign_clusters
from razee.fleet.values import deep_merge
from tests.fleetrepo import fleet_copy, region_copy, write_repo


def _errors(root: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_fleet(root)
    return [str(f) for f in info.value.findings]


def test_valid_fleet_loads_with_defaults_applied(tmp_path: Path) -> None:
    fleet = load_fleet(write_repo(tmp_path))
    assert [v.spoke.name for v in fleet.spokes()] == ["spoke-a", "spoke-b"]
    c1 = fleet.regions[0].clusters[0]
    assert c1.kube_version == "1.20.2" and c1.encrypted_disks is True and c1.public_vlan is True
    assert fleet.assignments["c1"] == "spoke-a"
    assert fleet.assignments["c2"] in {"spoke-a", "spoke-b"}


def test_unknown_field_names_file_line_and_path(tmp_path: Path) -> None:
    region = region_copy()
    region["clusters"][1]["workerPools"][0]["flavour"] = "x"
    errors = _errors(write_repo(tmp_path, regions=[region]))
    assert len(errors) == 1
    assert errors[0].startswith("environments/regions/us-south.yaml:")
    assert "clusters[1].workerPools[0].flavour: Extra inputs are not permitted" in errors[0]
    line = int(errors[0].split(":")[1])
    text = (tmp_path / "environments/regions/us-south.yaml").read_text().splitlines()
    assert "flavour" in text[line - 1]


def test_wrong_type_is_reported_at_its_line(tmp_path: Path) -> None:
    region = region_copy()
    region["clusters"][0]["workerPools"][0]["sizePerZone"] = "three"
    (err,) = _errors(write_repo(tmp_path, regions=[region]))
    line = int(err.split(":")[1])
    assert "sizePerZone" in (tmp_path / "environments/regions/us-south.yaml").read_text().splitlines()[line - 1]
    assert "clusters[0].workerPools[0].sizePerZone" in err


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path) -> None:
    fleet = fleet_copy()
    fleet["rollout"] = {"waves": []}
    region = region_copy()
    region["zones"] = "dal10"
    errors = _errors(write_repo(tmp_path, fleet=fleet, regions=[region]))
    assert any(e.startswith("environments/fleet.yaml:") and "rollout.waves" in e for e in errors)
    assert any(e.startswith("environments/regions/us-south.yaml:") and "zones" in e for e in errors)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: [unclosed\n", "environments/regions/us-south.yaml:2: invalid YAML"),
        ("- just\n- a list\n", "environments/regions/us-south.yaml:1: expected a mapping, found list"),
        ("name: a\nname: b\n", "environments/regions/us-south.yaml:2: duplicate key 'name'"),
        ("a: 1\n---\nb: 2\n", "environments/regions/us-south.yaml:1: expected one YAML document, found 2"),
    ],
)
def test_malformed_yaml(tmp_path: Path, text: str, expected: str) -> None:
    write_repo(tmp_path)
    (tmp_path / "environments/regions/us-south.yaml").write_text(text)
    errors = _errors(tmp_path)
    assert any(e.startswith(expected) for e in errors), errors


def test_yaml_bomb_is_refused(tmp_path: Path) -> None:
    write_repo(tmp_path)
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    (tmp_path / "environments/regions/us-south.yaml").write_text("\n".join(lines) + "\n")
    (err,) = _errors(tmp_path)
    assert "YAML alias bomb" in err


def _with(region_edit: Any, tmp_path: Path) -> list[str]:
    region = region_copy()
    region_edit(region)
    return _errors(write_repo(tmp_path, regions=[region]))


def test_duplicate_cluster_names(tmp_path: Path) -> None:
    (err,) = _with(lambda r: r["clusters"].append(dict(r["clusters"][0])), tmp_path)
    assert "clusters[2].name: duplicate cluster 'c1'" in err


def test_unknown_zone(tmp_path: Path) -> None:
    (err,) = _with(lambda r: r["clusters"][0]["workerPools"][0].update(zones=["fra02"]), tmp_path)
    assert "clusters[0].workerPools[0].zones[0]: unknown zone 'fra02'" in err


def test_unknown_wave(tmp_path: Path) -> None:
    (err,) = _with(lambda r: r["spokes"][0].update(wave="beta"), tmp_path)
    assert "spokes[0].wave: unknown wave 'beta'" in err


def test_cluster_on_a_spoke_of_another_region(tmp_path: Path) -> None:
    eu = {"name": "eu-de", "zones": ["fra02"], "spokes": [{"name": "eu-spoke", "wave": "main"}], "clusters": []}
    region = region_copy()
    region["clusters"][0]["spoke"] = "eu-spoke"
    (err,) = _errors(write_repo(tmp_path, regions=[region, eu]))
    assert err.startswith("environments/regions/us-south.yaml:")
    assert "clusters[0].spoke: spoke 'eu-spoke' belongs to region eu-de" in err


def test_spoke_over_capacity(tmp_path: Path) -> None:
    def edit(r: dict[str, Any]) -> None:
        r["spokes"][0]["capacity"] = 1
        r["clusters"][1]["spoke"] = "spoke-a"

    (err,) = _with(edit, tmp_path)
    assert "spoke spoke-a is over its capacity of 1" in err


def test_no_free_capacity(tmp_path: Path) -> None:
    def edit(r: dict[str, Any]) -> None:
        for s in r["spokes"]:
            s["capacity"] = 1
        r["clusters"].append({**r["clusters"][1], "name": "c3"})

    (err,) = _with(edit, tmp_path)
    assert "no spoke of the region has free capacity for cluster c3" in err


def _cluster(name: str, spoke: str | None = None) -> Cluster:
    pool = WorkerPool(name="p", flavor="b3c.4x16", size_per_zone=1, zones=["z1"])
    return Cluster(name=name, spoke=spoke, worker_pools=[pool])


def test_scheduling_is_deterministic_and_appending_never_moves_a_cluster() -> None:
    spokes = [Spoke(name=f"s{i}", wave="main", capacity=30) for i in range(4)]
    clusters = [_cluster(f"c{i}") for i in range(100)]
    first = assign_clusters(spokes, clusters)
    assert first == assign_clusters(spokes, clusters)
    assert set(first.values()) == {s.name for s in spokes}
    assert max(list(first.values()).count(s.name) for s in spokes) <= 30
    grown = assign_clusters(spokes, [*clusters, *(_cluster(f"new{i}") for i in range(20))])
    assert all(grown[c.name] == first[c.name] for c in clusters)


def test_inserting_a_cluster_moves_nobody_while_spokes_have_room() -> None:
    spokes = [Spoke(name=f"s{i}", wave="main", capacity=1000) for i in range(4)]
    clusters = [_cluster(f"c{i}") for i in range(50)]
    before = assign_clusters(spokes, clusters)
    after = assign_clusters(spokes, [_cluster("inserted"), *clusters])
    assert all(after[c.name] == before[c.name] for c in clusters)


def test_pinned_clusters_stay_pinned() -> None:
    spokes = [Spoke(name="s0", wave="main", capacity=2), Spoke(name="s1", wave="main", capacity=2)]
    placed = assign_clusters(spokes, [_cluster("a"), _cluster("b", "s1"), _cluster("c", "s1"), _cluster("d")])
    assert placed["b"] == placed["c"] == "s1"
    assert placed["a"] == placed["d"] == "s0"


def test_values_layer_deeply_and_deeper_wins(tmp_path: Path) -> None:
    fleet = load_fleet(write_repo(tmp_path))
    view = fleet.find_spoke(fleet.assignments["c2"])
    assert view is not None
    c2 = next(c for c in view.clusters if c.name == "c2")
    values = fleet.cluster_values(view, c2)
    assert values["image"] == {"registry": "icr.io", "tag": "1.1"}  # region overrode tag, kept registry
    assert values["replicas"] == 5  # cluster beats spoke beats fleet


def test_deep_merge_replaces_lists() -> None:
    assert deep_merge({"a": {"b": [1, 2], "c": 1}}, {"a": {"b": [3]}}) == {"a": {"b": [3], "c": 1}}
