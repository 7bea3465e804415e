"""The render cache: keyed by every input, never stale, never a decrypted render on disk."""

from __future__ import annotations

import json
from pathlib import Path

from razee.objects import Manifest, Provenance
from razee.reconcile.load import render_spoke
from razee.render.cache import DISK_ENTRIES, DiskRenderCache, EngineSettings, MemoryRenderCache, SpokeBundle, input_key
from tests.fleetrepo import write_repo


def bundle(name: str = "s", decrypted: bool = False) -> SpokeBundle:
    m = Manifest(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "x", "namespace": "n"},
            "data": {"k": "café 😀"},
        },
        Provenance("templates/spoke/a.yaml.j2", 1, 3, "c1"),
    )
    return SpokeBundle(name, "r", "main", (m,), EngineSettings("takeover"), decrypted=decrypted)


def test_the_key_follows_every_input_file_and_nothing_else(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet")
    key = input_key(root, "spoke-a", True)
    assert input_key(root, "spoke-a", True) == key
    assert input_key(root, "spoke-b", True) != key and input_key(root, "spoke-a", False) != key
    (root / "README.md").write_text("not an input")
    assert input_key(root, "spoke-a", True) == key
    template = root / "templates" / "spoke" / "base.yaml.j2"
    template.write_text(template.read_text() + "\n")
    assert input_key(root, "spoke-a", True) != key
    (root / "environments" / "secrets").mkdir()
    changed = input_key(root, "spoke-a", True)
    (root / "environments" / "secrets" / "db.age").write_bytes(b"new ciphertext")
    assert input_key(root, "spoke-a", True) != changed


def test_disk_entries_round_trip_and_bad_ones_are_misses(tmp_path: Path) -> None:
    cache = DiskRenderCache(tmp_path / "cache")
    cache.put("k1", bundle())
    got = cache.get("k1")
    assert got == bundle() and got.manifests[0].source == bundle().manifests[0].source
    (tmp_path / "cache" / "k2.json").write_text("{not json")
    (tmp_path / "cache" / "k3.json").write_text(json.dumps({"format": 999}))
    assert cache.get("k2") is None and cache.get("k3") is None and cache.get("absent") is None


def test_a_decrypted_render_is_never_written(tmp_path: Path) -> None:
    cache = DiskRenderCache(tmp_path / "cache")
    cache.put("k", bundle(decrypted=True))
    assert cache.get("k") is None and not (tmp_path / "cache").exists()


def test_disk_and_memory_caches_are_bounded(tmp_path: Path) -> None:
    disk = DiskRenderCache(tmp_path / "cache")
    for i in range(DISK_ENTRIES + 5):
        disk.put(f"k{i}", bundle())
    assert len(list((tmp_path / "cache").glob("*.json"))) == DISK_ENTRIES
    memory = MemoryRenderCache(size=2)
    for key in ("a", "b", "c"):
        memory.put(key, bundle(key))
    assert memory.get("a") is None and memory.get("c") is not None


def test_a_cached_render_equals_a_fresh_one_and_an_edit_is_seen(tmp_path: Path) -> None:
    root = write_repo(tmp_path / "fleet")
    cache = DiskRenderCache(tmp_path / "cache")
    fresh = render_spoke(root, "spoke-a", None)
    first = render_spoke(root, "spoke-a", cache)
    again = render_spoke(root, "spoke-a", cache)
    assert again.fleet is None and first.fleet is not None  # the second came from disk
    assert [m.obj for m in again.manifests] == [m.obj for m in fresh.manifests]
    assert [m.source for m in again.manifests] == [m.source for m in fresh.manifests]
    assert (again.region, again.wave, again.engine) == (fresh.region, fresh.wave, fresh.engine)
    template = root / "templates" / "spoke" / "base.yaml.j2"
    template.write_text(template.read_text().replace("name: spoke-info", "name: spoke-info-2"))
    edited = render_spoke(root, "spoke-a", cache)
    assert edited.fleet is not None and any(m.name == "spoke-info-2" for m in edited.manifests)
