"""The HubClient against a real `razee hub serve` (SQLite): the hub's own answers (401, 403, 404, 413, 422) map
onto razee's errors with the hub's reason in the message, a hub that is down is failed over, and the token shows
in no message; `razee hub status` and `razee rollout pause` exit with the codes the mapping gives."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from razee.errors import EXIT_SERVICE, EXIT_USER_ERROR
from razee.hubclient import HubAuthError, HubClient, HubNotFound, HubRefused, HubUnavailable
from tests.conftest import run_razee
from tests.helpers.hubprocs import HubProcess


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    h = HubProcess(f"sqlite:///{tmp_path_factory.mktemp('hubclient') / 'hub.sqlite'}")
    yield h
    h.close()


def free_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_answers_of_a_real_hub_map_onto_razee_errors(hub: HubProcess) -> None:
    reader, admin, agent = hub.token("reader"), hub.token("admin"), hub.token("agent", "edge")
    client = HubClient([free_url(), hub.url], reader)
    assert client.get_json("/api/v1/summary")["spokes"] == 0 and client.current == hub.url

    cases: list[tuple[HubClient, str, str, object, type[HubAuthError | HubNotFound | HubRefused], int, str]] = [
        (
            HubClient([hub.url], "rzh_not-a-token-of-this-hub"),
            "GET",
            "/api/v1/summary",
            None,
            HubAuthError,
            401,
            "the hub refused the token (401",
        ),
        (
            client,
            "POST",
            "/api/v1/rollout/pause",
            None,
            HubAuthError,
            403,
            "the hub refused the token (403: an admin token is required)",
        ),
        (
            client,
            "GET",
            "/api/v1/spokes/nope",
            None,
            HubNotFound,
            404,
            "the hub answered 404 for /api/v1/spokes/nope: no spoke nope is declared or has reported",
        ),
        (
            HubClient([hub.url], admin),
            "POST",
            "/api/v1/tokens",
            {"role": "agent", "spoke": "x" * 20_000},
            HubRefused,
            413,
            "the hub refused /api/v1/tokens (413: request body larger than",
        ),
        (
            HubClient([hub.url], agent),
            "POST",
            "/api/v1/reports",
            {"id": "r1"},
            HubRefused,
            422,
            "the hub refused /api/v1/reports (422: ",
        ),
    ]
    for c, method, path, body, kind, status, words in cases:
        with pytest.raises(kind) as e:
            c.call(method, path, json=body)
        err = e.value
        assert isinstance(err, (HubAuthError, HubNotFound, HubRefused))
        assert err.status == status and str(err).startswith(words), (path, str(err))
        assert err.exit_code == (EXIT_SERVICE if status == 404 else EXIT_USER_ERROR)
        assert all(t not in str(err) for t in (reader, admin, agent))


def test_the_cli_exits_by_the_mapping(hub: HubProcess, tmp_path: Path) -> None:
    reader = hub.token("reader")
    env = {"RAZEE_HUB": f"{free_url()},{hub.url}", "RAZEE_HUB_TOKEN": reader}
    status = run_razee("hub", "status", "-o", "json", env=env)
    assert status.returncode == 0, status.stderr  # the first URL is down: the second answers
    refused = run_razee("rollout", "pause", env=env)
    assert refused.returncode == EXIT_USER_ERROR and "needs an admin token" in refused.stderr
    assert reader not in refused.stderr + refused.stdout
    down = run_razee("hub", "status", env={**env, "RAZEE_HUB": free_url()})
    assert down.returncode == EXIT_SERVICE and "ConnectError" in down.stderr and "Traceback" not in down.stderr
    with pytest.raises(HubUnavailable):
        HubClient([free_url()], reader, timeout=5).get_json("/api/v1/summary")
