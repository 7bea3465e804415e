"""What a write obliges the watched copy to show before a pass may read it (razee/kube/watchcache.py)."""

from __future__ import annotations

from typing import Any

from razee.kube.client import Kube, Write
from razee.kube.discovery import Resource
from razee.kube.watchcache import LiveCache, _matches, _parse_path, _Stream

CONFIGMAPS = Resource("", "v1", "ConfigMap", "configmaps", True)
SELECTOR = "razee.io/inventory=s1"


def test_paths_name_the_object_written() -> None:
    assert _parse_path("/api/v1/namespaces/ns/configmaps/app") == ("", "configmaps", "ns", "app")
    assert _parse_path("/api/v1/namespaces/ns") == ("", "namespaces", "", "ns")
    assert _parse_path("/apis/apps/v1/namespaces/ns/deployments/api") == ("apps", "deployments", "ns", "api")
    assert _parse_path("/apis/rbac.authorization.k8s.io/v1/clusterroles/r") == (
        "rbac.authorization.k8s.io", "clusterroles", "", "r")
    assert _parse_path("/api/v1/namespaces/ns/configmaps") == ("", "configmaps", "ns", "")
    assert _parse_path("/version")[1] == ""


def test_equality_selectors() -> None:
    labelled = {"metadata": {"labels": {"razee.io/inventory": "s1"}}}
    assert _matches(SELECTOR, labelled)
    assert not _matches(SELECTOR, {"metadata": {"labels": {"razee.io/inventory": "s2"}}})
    assert not _matches(SELECTOR, {"metadata": {}})
    assert _matches("", {"metadata": {}})
    assert _matches("a!=b", {"metadata": {}})  # not an equality: assumed to match, so the write is waited for


def obj(name: str, version: int, uid: str = "u1", labelled: bool = True) -> dict[str, Any]:
    labels = {"razee.io/inventory": "s1"} if labelled else {}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
        "name": name, "namespace": "ns", "uid": uid, "resourceVersion": str(version), "labels": labels}}


def stream_with(cache: LiveCache, selector: str, *items: dict[str, Any], version: int = 10) -> _Stream:
    stream = _Stream(cache, (CONFIGMAPS, "", selector), items, version)
    stream.watching = True  # as if its watch were open; no thread is started here
    cache._streams[(CONFIGMAPS, "", selector)] = stream
    return stream


def never_connect() -> Kube:
    raise AssertionError("no connection in unit tests")


def test_an_apply_is_waited_for_until_the_watch_delivered_its_version() -> None:
    cache = LiveCache(never_connect)
    stream = stream_with(cache, SELECTOR, obj("app", 10))
    cache.note_write(Write("APPLY", "/api/v1/namespaces/ns/configmaps/app", {}, obj("app", 12)))
    assert not stream.current()
    stream._event({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "11"}}}, stream.generation)
    assert not stream.current()
    stream._event({"type": "MODIFIED", "object": obj("app", 12)}, stream.generation)
    assert stream.current()


def test_a_deletion_is_waited_for_until_the_object_is_gone() -> None:
    cache = LiveCache(never_connect)
    stream = stream_with(cache, SELECTOR, obj("app", 10))
    cache.note_write(Write("DELETE", "/api/v1/namespaces/ns/configmaps/app", {"preconditions": {"uid": "u1"}},
                           {"kind": "Status", "status": "Success"}))
    assert not stream.current()
    stream._event({"type": "DELETED", "object": obj("app", 13)}, stream.generation)
    assert stream.current()


def test_a_write_out_of_the_scope_is_met_by_absence() -> None:
    cache = LiveCache(never_connect)
    stream = stream_with(cache, SELECTOR, obj("app", 10))
    # the inventory's ConfigMaps are not labelled for the spoke: never in this copy, nothing to wait for
    cache.note_write(Write("APPLY", "/api/v1/namespaces/razee-system/configmaps/razee-inventory-s1", {},
                           {**obj("razee-inventory-s1", 20, labelled=False)}))
    assert stream.current()
    # a label removed by a write: the watch reports it DELETED, and until then the copy is not current
    cache.note_write(Write("APPLY", "/api/v1/namespaces/ns/configmaps/app", {}, obj("app", 21, labelled=False)))
    assert not stream.current()
    stream._event({"type": "DELETED", "object": obj("app", 21, labelled=False)}, stream.generation)
    assert stream.current()


def test_a_write_that_failed_midway_needs_a_list_started_after_it() -> None:
    cache = LiveCache(never_connect)
    stream = stream_with(cache, SELECTOR, obj("app", 10))
    seq_before = cache.write_seq
    cache.note_write(Write("APPLY", "/api/v1/namespaces/ns/configmaps/app", {}, None))
    stream._event({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "99"}}}, stream.generation)
    assert not stream.current()
    stream.reset([obj("app", 10)], 100, seq_before)  # a LIST that started before the write settles nothing
    assert not stream.current()
    stream.reset([obj("app", 12)], 101, cache.write_seq + 1)
    assert stream.current()


def test_dry_runs_and_reads_are_not_writes() -> None:
    seen: list[Write] = []

    class Offline(Kube):
        def _request(self, verb: str, method: str, path: str, query: dict[str, str] | None, body: Any,
                     content_type: str, accept: str = "") -> Any:
            return {"metadata": {"resourceVersion": "1"}}

    kube = Offline.__new__(Offline)
    kube.write_observers = [seen.append]
    kube.request("DRYRUN", "PATCH", "/api/v1/namespaces/ns/configmaps/a", {"dryRun": "All"}, {})
    kube.request("LIST", "GET", "/api/v1/namespaces/ns/configmaps")
    kube.request("APPLY", "PATCH", "/api/v1/namespaces/ns/configmaps/a", {"fieldManager": "razee"}, {})
    assert [w.verb for w in seen] == ["APPLY"]
