"""Hub reports as agents write them, an in-process hub on a real database (FastAPI's TestClient over the real app
and store), and the malformed reports every ingest path must refuse: shared by the hub, dashboard and rollout tests."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi.testclient import TestClient

from razee.hub.api import create_app
from razee.hub.auth import create_token
from razee.hub.migrate import upgrade
from razee.hub.store import Store, engine_for


def report(
    spoke: str,
    region: str = "us-south",
    result: str = "applied",
    revision: str = "r1",
    objects: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "schema": 1,
        "id": str(uuid.uuid4()),
        "time": time.time(),
        "spoke": spoke,
        "region": region,
        "agent": f"{spoke}-0",
        "result": result,
        "source": {"revision": revision, "author": "a", "message": "m"},
        "objects": objects
        if objects is not None
        else [{"group": "", "kind": "ConfigMap", "namespace": "armada", "name": "a", "status": "synced"}],
        **extra,
    }


class Hub:
    def __init__(self, url: str) -> None:
        engine = engine_for(url)
        upgrade(engine)
        self.store = Store(engine, stale_after=3600)
        self.client = TestClient(create_app(self.store))
        self.reader = self.token("reader")
        self.admin = self.token("admin")

    def token(self, role: str, spoke: str | None = None) -> str:
        return create_token(self.store, role, spoke)[0]

    def post(self, body: Any, token: str) -> Any:
        return self.client.post("/api/v1/reports", json=body, headers={"Authorization": f"Bearer {token}"})

    def get(self, path: str, token: str | None = None, **params: Any) -> Any:
        return self.client.get(path, params=params, headers={"Authorization": f"Bearer {token or self.reader}"})


def bad_reports(spoke: str) -> dict[str, bytes]:
    def body(**changes: Any) -> bytes:
        return json.dumps({**report(spoke), **changes}).encode()

    plain = report(spoke)
    plain.pop("infrastructure", None)
    nested = json.dumps(plain)[:-1] + ', "infrastructure": ' + '{"d": ' * 1000 + "1" + "}" * 1000 + "}"
    return {
        "negative count": body(counts={"synced": -1}),
        "count of 10^30": body(counts={"synced": 10**30}),
        "string as a number": body(counts={"synced": "5"}),
        "string as a time": body(time="1700000000"),
        "NaN time": body(time=0).replace(b'"time": 0', b'"time": NaN'),
        "Infinity time": body(time=0).replace(b'"time": 0', b'"time": Infinity'),
        "time -1e18": body(time=-1e18),
        "time 70 years ahead": body(time=4_000_000_000.0),
        "negative duration": body(durations={"total": -5.0}),
        "nested 1000 deep": nested.encode(),
        "infrastructure nested 10 deep": body(infrastructure={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}),
        "101 drift paths": body(
            objects=[
                {
                    "group": "",
                    "kind": "ConfigMap",
                    "namespace": "a",
                    "name": "b",
                    "status": "drifted",
                    "paths": [f"/data/{i}" for i in range(101)],
                }
            ]
        ),
        "error of 4001 characters": body(error="e" * 4001),
        "unknown status count": body(counts={"exploded": 1}),
    }
