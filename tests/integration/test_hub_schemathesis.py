"""Schemathesis explores the hub's published OpenAPI spec: no request, valid or not, may crash the hub, on SQLite
or on PostgreSQL (issue 24: PostgreSQL refused a NUL or an over-long group with a 500 that SQLite never showed)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from razee.hub.api import create_app
from razee.hub.auth import create_token
from razee.hub.migrate import upgrade
from razee.hub.store import Store, engine_for


@pytest.fixture
def hub_app(hub_db: str) -> Iterator[tuple[Any, list[str]]]:
    """The hub's app on a fresh database, and the tokens every case is sent with."""
    store = Store(engine_for(hub_db))
    upgrade(store.engine)
    tokens = [create_token(store, "agent", "spoke-a")[0], create_token(store, "reader", None)[0], "rzh_bogus_token"]
    yield create_app(store), tokens
    store.engine.dispose()


_SPEC_DB = Path(tempfile.mkdtemp(prefix="razee-schemathesis-")) / "hub.sqlite"
_SPEC_STORE = Store(engine_for(f"sqlite:///{_SPEC_DB}"))
upgrade(_SPEC_STORE.engine)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(_SPEC_STORE))
"""The spec the cases are drawn from; each case is sent to the app of the database under test (`app=`)."""


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_crashes_the_hub(case: schemathesis.Case[Any], hub_app: tuple[Any, list[str]]) -> None:
    app, tokens = hub_app
    for token in tokens:
        response = case.call(app=app, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
