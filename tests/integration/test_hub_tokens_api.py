"""The hub's token API on real SQLite and PostgreSQL: only admins create and revoke, agent tokens are bound to
their spoke, and a created token works at once and stops working when revoked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.reports import Hub, report


@pytest.fixture
def hub(hub_db: str) -> Iterator[Hub]:
    h = Hub(hub_db)
    yield h
    h.store.engine.dispose()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_admin_creates_an_agent_token_bound_to_its_spoke_and_revokes_it(hub: Hub) -> None:
    resp = hub.client.post("/api/v1/tokens", json={"role": "agent", "spoke": "spoke-a"}, headers=auth(hub.admin))
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert created["role"] == "agent" and created["spoke"] == "spoke-a" and created["token"].startswith("rzh_")
    token = created["token"]
    assert hub.client.get("/api/v1/tokens/self", headers=auth(token)).json() == {
        "id": created["id"],
        "role": "agent",
        "spoke": "spoke-a",
    }
    assert hub.post(report("spoke-a"), token).status_code == 201
    assert hub.post(report("spoke-b"), token).status_code == 403

    gone = hub.client.delete(f"/api/v1/tokens/{created['id']}", headers=auth(hub.admin))
    assert gone.status_code == 200 and gone.json() == {"id": created["id"], "revoked": True}
    assert hub.client.get("/api/v1/tokens/self", headers=auth(token)).status_code == 401
    assert hub.post(report("spoke-a"), token).status_code == 401
    assert hub.client.delete(f"/api/v1/tokens/{created['id']}0", headers=auth(hub.admin)).status_code == 404


def test_only_admins_create_or_revoke_and_never_an_admin_token(hub: Hub) -> None:
    agent = hub.token("agent", "spoke-a")
    body = {"role": "agent", "spoke": "spoke-a"}
    assert hub.client.post("/api/v1/tokens", json=body).status_code == 401
    assert hub.client.post("/api/v1/tokens", json=body, headers=auth("rzh_x_y")).status_code == 401
    for weak in (hub.reader, agent):
        assert hub.client.post("/api/v1/tokens", json=body, headers=auth(weak)).status_code == 403
    agent_id = agent.split("_")[1]
    assert hub.client.delete(f"/api/v1/tokens/{agent_id}", headers=auth(hub.reader)).status_code == 403
    assert hub.client.get("/api/v1/tokens/self", headers=auth(agent)).status_code == 200  # not revoked by that

    for bad in (
        {"role": "admin"},
        {"role": "agent"},
        {"role": "reader", "spoke": "spoke-a"},
        {"role": "agent", "spoke": "Not_A_Name"},
        {"role": "agent", "spoke": "s", "extra": 1},
    ):
        resp = hub.client.post("/api/v1/tokens", json=bad, headers=auth(hub.admin))
        assert resp.status_code == 422, (bad, resp.text)
    reader = hub.client.post("/api/v1/tokens", json={"role": "reader"}, headers=auth(hub.admin))
    assert reader.status_code == 201 and reader.json()["spoke"] is None


def test_token_values_never_come_back_after_creation(hub: Hub) -> None:
    created = hub.client.post(
        "/api/v1/tokens", json={"role": "agent", "spoke": "spoke-a"}, headers=auth(hub.admin)
    ).json()
    secret = created["token"].split("_", 2)[2]
    for path in ("/api/v1/tokens/self", "/api/v1/openapi.json", "/api/v1/summary"):
        assert secret not in hub.client.get(path, headers=auth(hub.admin)).text
