"""What a write obliges the watched copy to show before a pass may read it (razee/kube/watchstate.py, the copy's
state without threads or connections; razee/kube/watchstream.py, the framing of watch events)."""

from __future__ import annotations

from typing import Any

import pytest

from razee.kube.client import Kube, Write
from razee.kube.discovery import Resource
from razee.kube.watchstate import CopyState, Failure, Phase, WatchFailed, matches_selector, parse_path
from razee.kube.watchstream import frames

CONFIGMAPS = Resource("", "v1", "ConfigMap", "configmaps", True)
SELECTOR = "razee.io/inventory=s1"


def test_paths_name_the_object_written() -> None:
    assert parse_path("/api/v1/namespaces/ns/configmaps/app") == ("", "configmaps", "ns", "app")
    assert parse_path("/api/v1/namespaces/ns") == ("", "namespaces", "", "ns")
    assert parse_path("/apis/apps/v1/namespaces/ns/deployments/api") == ("apps", "deployments", "ns", "api")
    assert parse_path("/apis/rbac.authorization.k8s.io/v1/clusterroles/r") == (
        "rbac.authorization.k8s.io",
        "clusterroles",
        "",
        "r",
    )
    assert parse_path("/api/v1/namespaces/ns/configmaps") == ("", "configmaps", "ns", "")
    assert parse_path("/version")[1] == ""


def test_equality_selectors() -> None:
    labelled = {"metadata": {"labels": {"razee.io/inventory": "s1"}}}
    assert matches_selector(SELECTOR, labelled)
    assert not matches_selector(SELECTOR, {"metadata": {"labels": {"razee.io/inventory": "s2"}}})
    assert not matches_selector(SELECTOR, {"metadata": {}})
    assert matches_selector("", {"metadata": {}})
    assert matches_selector("a!=b", {"metadata": {}})  # not an equality: assumed to match, so the write is waited for


def obj(name: str, version: int, uid: str = "u1", labelled: bool = True) -> dict[str, Any]:
    labels = {"razee.io/inventory": "s1"} if labelled else {}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns", "uid": uid, "resourceVersion": str(version), "labels": labels},
    }


def copy_with(selector: str, *items: dict[str, Any], version: int = 10) -> CopyState:
    copy = CopyState.seeded((CONFIGMAPS, "", selector), items, version)
    copy.opened()  # as if its watch were open
    return copy


def test_an_apply_is_waited_for_until_the_watch_delivered_its_version() -> None:
    copy = copy_with(SELECTOR, obj("app", 10))
    copy.note_write(Write("APPLY", "/api/v1/namespaces/ns/configmaps/app", {}, obj("app", 12)), seq=1)
    assert not copy.current
    copy.apply({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "11"}}})
    assert not copy.current
    copy.apply({"type": "MODIFIED", "object": obj("app", 12)})
    assert copy.current


def test_a_deletion_is_waited_for_until_the_object_is_gone() -> None:
    copy = copy_with(SELECTOR, obj("app", 10))
    copy.note_write(
        Write(
            "DELETE",
            "/api/v1/namespaces/ns/configmaps/app",
            {"preconditions": {"uid": "u1"}},
            {"kind": "Status", "status": "Success"},
        ),
        seq=1,
    )
    assert not copy.current
    copy.apply({"type": "DELETED", "object": obj("app", 13)})
    assert copy.current


def test_a_write_out_of_the_scope_is_met_by_absence() -> None:
    copy = copy_with(SELECTOR, obj("app", 10))
    # the inventory's ConfigMaps are not labelled for the spoke: never in this copy, nothing to wait for
    copy.note_write(
        Write(
            "APPLY",
            "/api/v1/namespaces/razee-system/configmaps/razee-inventory-s1",
            {},
            {**obj("razee-inventory-s1", 20, labelled=False)},
        ),
        seq=1,
    )
    assert copy.current
    # a label removed by a write: the watch reports it DELETED, and until then the copy is not current
    copy.note_write(Write("APPLY", "/api/v1/namespaces/ns/configmaps/app", {}, obj("app", 21, labelled=False)), seq=2)
    assert not copy.current
    copy.apply({"type": "DELETED", "object": obj("app", 21, labelled=False)})
    assert copy.current


def test_a_write_that_failed_midway_needs_a_list_started_after_it() -> None:
    copy = copy_with(SELECTOR, obj("app", 10))
    seq_before = 0
    copy.note_write(Write("APPLY", "/api/v1/namespaces/ns/configmaps/app", {}, None), seq=seq_before + 1)
    copy.apply({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "99"}}})
    assert not copy.current
    copy.reset([obj("app", 10)], 100, seq_before)  # a LIST that started before the write settles nothing
    assert not copy.current
    copy.reset([obj("app", 12)], 101, seq_before + 2)
    assert copy.current


def test_writes_to_other_resources_or_namespaces_oblige_nothing() -> None:
    copy = CopyState.seeded((CONFIGMAPS, "ns", ""), [obj("app", 10)], 10)
    copy.opened()
    elsewhere = obj("app", 50)
    elsewhere["metadata"]["namespace"] = "other"
    copy.note_write(Write("APPLY", "/api/v1/namespaces/other/configmaps/app", {}, elsewhere), seq=1)
    copy.note_write(Write("APPLY", "/apis/apps/v1/namespaces/ns/deployments/app", {}, obj("app", 51)), seq=2)
    assert copy.current and not copy.fences


def test_the_phase_says_what_the_copy_needs() -> None:
    copy = copy_with(SELECTOR, obj("app", 10))
    assert copy.phase is Phase.WATCHING and copy.current
    copy.closed()  # the server ended the watch: reopened from the copy's version, no LIST
    phase: Phase = copy.phase  # (read again: closed() changed it)
    assert phase is Phase.OPENING and not copy.current and not copy.due(copy.listed_at, 3600)
    with pytest.raises(WatchFailed):
        copy.apply({"type": "ERROR", "object": {"code": 410, "reason": "Expired", "message": "too old"}})
    copy.failed(Failure("410 Expired: too old"), relist=True)
    assert copy.phase is Phase.RELIST and copy.due(copy.listed_at, 3600)
    copy.failed(Failure("403 Forbidden", refused=True), relist=False)  # a failed LIST does not forget it is due
    assert copy.phase is Phase.RELIST and copy.refused
    assert copy.reset([obj("app", 11)], 11, seq=0) == 1
    assert copy.phase is Phase.OPENING and copy.generation == 1
    copy.opened()
    assert copy.current and copy.failure is None
    assert copy.reset([obj("app", 5)], 5, seq=0) is None  # older than what the watch delivered: dropped
    assert copy.objects[("ns", "app")]["metadata"]["resourceVersion"] == "11"
    copy.stop()
    copy.opened()
    assert copy.phase is Phase.STOPPED and not copy.current


def test_events_are_framed_by_newlines_whatever_the_chunks() -> None:
    chunks = [b'{"type":"ADDED","object":{"a":', b'1}}\n\n{"type":"BOOK', b'MARK"}\n{"type":"DELETED"}']
    assert list(frames(chunks)) == [{"type": "ADDED", "object": {"a": 1}}, {"type": "BOOKMARK"}, {"type": "DELETED"}]
    assert list(frames([b"", b"\n"])) == []


def test_dry_runs_and_reads_are_not_writes() -> None:
    seen: list[Write] = []

    class Offline(Kube):
        def _request(
            self,
            verb: str,
            method: str,
            path: str,
            query: dict[str, str] | None,
            body: Any,
            content_type: str,
            accept: str = "",
        ) -> Any:
            return {"metadata": {"resourceVersion": "1"}}

    kube = Offline.__new__(Offline)
    kube.write_observers = [seen.append]
    kube.request("DRYRUN", "PATCH", "/api/v1/namespaces/ns/configmaps/a", {"dryRun": "All"}, {})
    kube.request("LIST", "GET", "/api/v1/namespaces/ns/configmaps")
    kube.request("APPLY", "PATCH", "/api/v1/namespaces/ns/configmaps/a", {"fieldManager": "razee"}, {})
    assert [w.verb for w in seen] == ["APPLY"]
