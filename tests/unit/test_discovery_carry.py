"""Discovery answers carried between an agent's passes: no requests for kinds already known, and a kind that was
missing is asked for again (a CRD created since), so carrying never hides a new kind."""

from __future__ import annotations

from typing import Any

import pytest

from razee.kube.discovery import Discovery, UnknownKind


class _Server:
    """Answers discovery GETs from a table that the test changes, counting requests (a unit-test fake)."""

    def __init__(self) -> None:
        self.kinds: dict[str, list[dict[str, Any]]] = {
            "v1": [{"name": "configmaps", "kind": "ConfigMap", "namespaced": True, "verbs": ["list"]}],
            "example.com/v1": [],
        }
        self.requests: list[str] = []

    def request(self, verb: str, method: str, path: str, *args: Any, **kw: Any) -> Any:
        self.requests.append(path)
        gv = path.removeprefix("/apis/").removeprefix("/api/")
        return {"resources": self.kinds[gv]}


def test_carried_answers_cost_nothing_and_a_missing_kind_is_asked_again() -> None:
    server = _Server()
    discovery = Discovery(server)  # type: ignore[arg-type]
    assert discovery.resource("v1", "ConfigMap").plural == "configmaps"
    with pytest.raises(UnknownKind):
        discovery.resource("example.com/v1", "Widget")  # not served yet
    assert len(server.requests) == 2
    # the next pass: a CRD for Widget was created meanwhile
    server.kinds["example.com/v1"] = [{"name": "widgets", "kind": "Widget", "namespaced": False, "verbs": ["list"]}]
    discovery.next_pass(server)  # type: ignore[arg-type]
    assert discovery.resource("v1", "ConfigMap").plural == "configmaps"
    assert len(server.requests) == 2  # known kinds: no request
    assert discovery.resource("example.com/v1", "Widget").namespaced is False
    assert server.requests[2:] == ["/apis/example.com/v1"]  # asked again once, and found
    # within one pass a kind that is missing is not asked for again and again
    with pytest.raises(UnknownKind):
        discovery.resource("example.com/v1", "Gadget")
    assert len(server.requests) == 3
