"""Schemathesis explores the hub's published OpenAPI spec: no request, valid or not, may crash the hub."""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from razee.hub.api import create_app
from razee.hub.auth import create_token
from razee.hub.migrate import upgrade
from razee.hub.store import Store, engine_for

_DB = Path(tempfile.mkdtemp(prefix="razee-schemathesis-")) / "hub.sqlite"
_STORE = Store(engine_for(f"sqlite:///{_DB}"))
upgrade(_STORE.engine)
APP = create_app(_STORE)
AGENT = create_token(_STORE, "agent", "spoke-a")[0]
READER = create_token(_STORE, "reader", None)[0]
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_crashes_the_hub(case: schemathesis.Case) -> None:
    for token in (AGENT, READER, "rzh_bogus_token"):
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
