"""The one HubClient against small real HTTP servers on loopback: it fails over on a hub's trouble (no answer, a
timeout, 5xx, 408, 429) and sticks to the hub that worked; every other answer maps onto razee's errors and exit
codes by one table; Retry-After is kept; the token goes in the Authorization header and nowhere else."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from razee.errors import EXIT_SERVICE, EXIT_USER_ERROR, RazeeError
from razee.hubclient import HubAuthError, HubClient, HubError, HubNotFound, HubRefused, HubUnavailable

TOKEN = "rzh_s3cret-token-that-must-never-show"


class Answer:
    """What a loopback hub answers: a status, a JSON or text body, headers, and a delay before answering."""

    def __init__(
        self, status: int = 200, body: object = None, headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> None:
        self.status, self.body, self.headers, self.delay = status, body, headers or {}, delay


class LoopbackHub:
    """A real HTTP server on 127.0.0.1 answering every request with `answer`; it records (method, path, query,
    Authorization header) of each. An answer body of "ECHO" sends the request's Authorization header back, as a
    careless proxy might, in the detail."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.answer = answer or Answer(200, {"ok": True})
        self.seen: list[tuple[str, str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                auth = self.headers.get("Authorization")
                outer.seen.append((self.command, self.path, auth))
                a = outer.answer
                if a.delay:
                    time.sleep(a.delay)
                body = a.body
                if body == "ECHO":
                    body = {"detail": f"bad header {auth}"}
                raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(a.status)
                for k, v in a.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_DELETE = _any

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hubs() -> Iterator[list[LoopbackHub]]:
    made: list[LoopbackHub] = []
    yield made
    for h in made:
        h.close()


def hub(made: list[LoopbackHub], answer: Answer | None = None) -> LoopbackHub:
    h = LoopbackHub(answer)
    made.append(h)
    return h


@pytest.fixture
def down() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens there: connection refused


def test_fails_over_on_a_hubs_trouble_and_sticks_to_the_hub_that_worked(hubs: list[LoopbackHub], down: str) -> None:
    failing, timing_out, good = hub(hubs, Answer(503)), hub(hubs, Answer(200, {}, delay=3)), hub(hubs)
    client = HubClient([down, failing.url, timing_out.url, good.url], TOKEN, timeout=0.5)
    assert client.get_json("/api/v1/summary", {"region": "eu", "spoke": None}) == {"ok": True}
    assert client.current == good.url
    assert good.seen == [("GET", "/api/v1/summary?region=eu", f"Bearer {TOKEN}")]  # None params left out
    assert len(failing.seen) == 1 and len(timing_out.seen) == 1
    client.get_json("/api/v1/summary")
    assert len(good.seen) == 2 and len(failing.seen) == 1  # the next request starts at the hub that worked


def test_a_refusal_is_the_hubs_word_and_is_not_failed_over(hubs: list[LoopbackHub]) -> None:
    refusing, other = hub(hubs, Answer(404, {"detail": "no spoke x is declared or has reported"})), hub(hubs)
    client = HubClient([refusing.url, other.url], TOKEN)
    with pytest.raises(HubNotFound) as e:
        client.get_json("/api/v1/spokes/x")
    assert e.value.exit_code == EXIT_SERVICE and e.value.status == 404
    assert str(e.value) == "the hub answered 404 for /api/v1/spokes/x: no spoke x is declared or has reported"
    assert other.seen == [] and client.current == refusing.url


@pytest.mark.parametrize(
    ("answer", "kind", "exit_code", "words"),
    [
        (
            Answer(401, {"detail": "invalid or revoked token"}),
            HubAuthError,
            EXIT_USER_ERROR,
            "the hub refused the token (401: invalid or revoked token); this needs an admin token",
        ),
        (
            Answer(403, {"detail": "an admin token is required"}),
            HubAuthError,
            EXIT_USER_ERROR,
            "the hub refused the token (403: an admin token is required); this needs an admin token",
        ),
        (
            Answer(404, {"detail": "no revision abc"}),
            HubNotFound,
            EXIT_SERVICE,
            "the hub answered 404 for /api/v1/rollout/pause: no revision abc",
        ),
        (
            Answer(413, "Request Entity Too Large"),
            HubRefused,
            EXIT_USER_ERROR,
            "the hub refused /api/v1/rollout/pause (413: Request Entity Too Large)",
        ),
        (
            Answer(422, {"detail": [{"loc": ["query", "wave"], "msg": "field required"}]}),
            HubRefused,
            EXIT_USER_ERROR,
            "the hub refused /api/v1/rollout/pause (422: query.wave: field required)",
        ),
        (
            Answer(409, {"detail": "already approved"}),
            HubError,
            EXIT_SERVICE,
            "the hub answered 409 for /api/v1/rollout/pause: already approved",
        ),
    ],
)
def test_each_status_maps_onto_one_error_class_and_exit_code(
    hubs: list[LoopbackHub], answer: Answer, kind: type[RazeeError], exit_code: int, words: str
) -> None:
    client = HubClient([hub(hubs, answer).url], TOKEN)
    with pytest.raises(kind) as e:
        client.call("POST", "/api/v1/rollout/pause", hint="this needs an admin token")
    assert e.value.exit_code == exit_code and str(e.value) == words


def test_a_busy_hubs_retry_after_is_kept_the_longest_of_all(hubs: list[LoopbackHub]) -> None:
    busy = hub(hubs, Answer(429, {"detail": "too many reports in flight"}, {"Retry-After": "7"}))
    later = hub(hubs, Answer(503, {}, {"Retry-After": formatdate(time.time() + 60, usegmt=True)}))
    with pytest.raises(HubUnavailable) as e:
        HubClient([busy.url], TOKEN).call("POST", "/api/v1/reports", json={"id": "r1"})
    assert e.value.exit_code == EXIT_SERVICE and e.value.statuses == (429,) and e.value.retry_after == 7.0
    assert str(e.value) == f"the hub failed ({busy.url}: HTTP 429); retry after 7s"
    with pytest.raises(HubUnavailable) as e:
        HubClient([busy.url, later.url], TOKEN).send("GET", "/x")
    assert e.value.statuses == (429, 503) and e.value.retry_after is not None and 50 < e.value.retry_after <= 60
    assert str(e.value).startswith("all 2 hubs failed (")
    bad_date = hub(hubs, Answer(429, {}, {"Retry-After": "soon"}))
    with pytest.raises(HubUnavailable) as e:
        HubClient([bad_date.url], TOKEN).send("GET", "/x")
    assert e.value.retry_after is None  # a header it cannot read asks for nothing


def test_server_errors_refused_connections_and_timeouts_are_service_errors(hubs: list[LoopbackHub], down: str) -> None:
    broken, slow = hub(hubs, Answer(500, "Internal Server Error")), hub(hubs, Answer(200, {}, delay=3))
    for urls, statuses, words in (
        ([broken.url], (500,), "HTTP 500"),
        ([down], (None,), "ConnectError"),
        ([slow.url], (None,), "ReadTimeout"),
    ):
        with pytest.raises(HubUnavailable) as e:
            HubClient(urls, TOKEN, timeout=0.5).get_json("/api/v1/summary")
        assert e.value.exit_code == EXIT_SERVICE and e.value.statuses == statuses
        assert e.value.retry_after is None and words in str(e.value) and words in e.value.detail


def test_an_answer_that_is_not_json_is_a_service_error(hubs: list[LoopbackHub]) -> None:
    page = hub(hubs, Answer(200, "<html>a proxy's page</html>"))
    with pytest.raises(HubError) as e:
        HubClient([page.url], TOKEN).get_json("/api/v1/summary")
    assert e.value.exit_code == EXIT_SERVICE and "not JSON" in str(e.value)


def test_the_token_goes_in_the_header_only_never_in_errors_or_logs(
    hubs: list[LoopbackHub], down: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # httpx's and httpcore's own logs included
    echo401, echo422, echo500 = (hub(hubs, Answer(s, "ECHO")) for s in (401, 422, 500))
    good = hub(hubs)
    with_password = down.replace("http://", f"http://razee:{TOKEN}@")
    client = HubClient([with_password, echo500.url, good.url], TOKEN, timeout=2)
    messages = [str(client), repr(client)]
    client.get_json("/api/v1/summary")  # fails over twice (a warning is logged), then answers
    messages.append(client.reason(HubClient([echo401.url], TOKEN).send("GET", "/echo")))
    for url in (echo401.url, echo422.url):
        with pytest.raises(RazeeError) as e:
            HubClient([url], TOKEN).call("POST", "/api/v1/reports", json={"id": "r"})
        messages.append(str(e.value))
    with pytest.raises(HubUnavailable) as unavailable:
        HubClient([with_password, echo500.url], TOKEN).call("GET", "/x")
    messages.append(str(unavailable.value))
    assert all(TOKEN not in m for m in messages), messages
    assert messages[2] == "bad header Bearer ***" and "***@127.0.0.1" in messages[0]
    assert "bad header Bearer ***" in messages[3] and "bad header Bearer ***" in messages[4]
    assert TOKEN not in caplog.text and "using" in caplog.text  # the failover was logged, without the token
    assert {auth for h in (echo500, good) for _, _, auth in h.seen} == {f"Bearer {TOKEN}"}
    assert all(TOKEN not in path for h in hubs for _, path, _ in h.seen)


def test_a_token_for_one_request_replaces_the_clients_and_no_token_sends_no_header(hubs: list[LoopbackHub]) -> None:
    h = hub(hubs, Answer(401, {"detail": "invalid or revoked token"}))
    client = HubClient([h.url], TOKEN, credential="admin token")
    resp = client.call("GET", "/api/v1/tokens/self", token="rzh_other-agent-token", accept=(401,))
    assert resp.status_code == 401 and h.seen[-1][2] == "Bearer rzh_other-agent-token"
    with pytest.raises(HubAuthError) as e:
        client.call("GET", "/api/v1/tokens/self")
    assert str(e.value).startswith("the hub refused the admin token (401")
    HubClient([h.url]).send("GET", "/healthz")
    assert h.seen[-1][2] is None
    assert HubClient.of(None) is None and HubClient.of(f"{h.url}, {h.url}/") is not None
