"""Issue 24, the hub's second round, against real `razee hub serve` processes: what a request may bring in before
it is authenticated (case 1), slow clients (case 2), inputs that both databases store (case 4), and consistent
404s and 422s, /readyz (case 6)."""

from __future__ import annotations

import json
import re
import resource
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import git
import httpx
import pytest

from tests.helpers.hubprocs import HubProcess, commit, post, wait_for
from tests.helpers.reports import report
from tests.pgserver import PostgresServer

MiB = 1 << 20
PEAK_RSS_BOUND = 150 * MiB
"""Well below the 512 MiB deploy/hub.yaml allows (before the fix: 482 MiB for one 200 MiB /login body)."""


def peak_rss(pid: int) -> int:
    m = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    assert m
    return int(m.group(1)) << 10


def read_status(sock: socket.socket, timeout: float = 60.0) -> int | None:
    """The status of the answer on `sock`, or None when the hub closed it without one."""
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass
    return int(data.split()[1]) if data.startswith(b"HTTP/1.1 ") else None


def head(path: str, *headers: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode()


def flood(port: int, path: str, total: int, chunked: bool, *headers: str) -> tuple[int | None, int]:
    """Send a `total`-byte body until the hub answers or closes; (its status or None, bytes sent)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    sock.sendall(head(path, framing, *headers))
    piece = b"a" * (64 << 10)
    data = b"%x\r\n" % len(piece) + piece + b"\r\n" if chunked else piece
    sent = 0
    sock.setblocking(False)
    try:
        while sent < total:
            readable, writable, _ = select.select([sock], [sock], [], 60)
            if readable or not writable:
                break  # an answer (or the close) came before the body was done
            try:
                sent += sock.send(data)
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        sock.setblocking(True)
        return read_status(sock), sent
    finally:
        sock.close()


@pytest.fixture
def sqlite_hub(tmp_path: Path) -> Iterator[HubProcess]:
    hub = HubProcess(f"sqlite:///{tmp_path / 'hub.sqlite'}", log=tmp_path / "hub.log")
    yield hub
    hub.close()


def test_case1_login_body_is_bounded_before_authentication(sqlite_hub: HubProcess) -> None:
    hub = sqlite_hub
    admin = hub.token("admin")
    # statuses, deterministically: the declared length alone is refused, nothing of the body is awaited
    for path, extra, expected in (
        ("/login", (), 413),
        ("/api/v1/tokens", (), 401),
        ("/api/v1/tokens", (f"Authorization: Bearer {admin}",), 413),
    ):
        with socket.create_connection(("127.0.0.1", hub.port), timeout=60) as sock:
            sock.sendall(head(path, f"Content-Length: {200 * MiB}", *extra))
            assert read_status(sock) == expected, path
    with socket.create_connection(("127.0.0.1", hub.port), timeout=60) as sock:  # chunked, past 4 kB, then silent
        sock.sendall(head("/login", "Transfer-Encoding: chunked") + b"2000\r\n" + b"a" * 0x2000 + b"\r\n")
        assert read_status(sock) == 413
    r = httpx.post(hub.url + "/login", content=b"token=" + b"a" * 5000, timeout=60)
    assert r.status_code == 413 and "4096 bytes" in r.json()["detail"]  # the 413 names the limit
    # authentication before parsing: junk JSON without a token is a 401, with an admin token a 422
    assert httpx.post(hub.url + "/api/v1/tokens", content=b"{junk", timeout=60).status_code == 401
    assert (
        httpx.post(
            hub.url + "/api/v1/tokens", content=b"{junk", timeout=60, headers={"Authorization": f"Bearer {admin}"}
        ).status_code
        == 422
    )
    big = httpx.post(
        hub.url + "/api/v1/tokens",
        content=b"[" + b"1," * (25 * MiB) + b"1]",
        timeout=120,
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert big.status_code == 413 and "16384 bytes" in big.json()["detail"]

    # memory: four 200 MiB /login bodies at once (two chunked), then 50 MB of JSON to /api/v1/tokens, no token
    outcomes: list[tuple[int | None, int]] = []
    floods = [("/login", 200 * MiB, i % 2 == 0) for i in range(4)] + [
        ("/api/v1/tokens", 50 * MiB, False),
        ("/api/v1/tokens", 50 * MiB, True),
    ]
    threads = [threading.Thread(target=lambda f=f: outcomes.append(flood(hub.port, *f))) for f in floods]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert len(outcomes) == len(floods)
    for (path, total, _), (status, sent) in zip(floods, outcomes, strict=False):
        assert status in (401, 413, None) and sent < total, (path, status, sent)
    assert httpx.get(hub.url + "/healthz", timeout=60).status_code == 200
    peak = peak_rss(hub.proc.pid)
    print(f"hub peak RSS after 4 x 200 MiB /login and 2 x 50 MB /api/v1/tokens without a token: {peak / MiB:.0f} MiB")
    assert peak < PEAK_RSS_BOUND


def start_limited_hub(db: str, log: Path, nofile: int, *args: str) -> tuple[subprocess.Popen[bytes], int]:
    """A hub process whose file-descriptor limit (soft and hard) is `nofile`, so a flood can reach it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    out = open(log, "ab")  # noqa: SIM115 - the child keeps it open
    proc = subprocess.Popen(
        [sys.executable, "-m", "razee", "hub", "serve", "--db", db, "--listen", f"127.0.0.1:{port}", *args],
        stdout=out,
        stderr=out,
        preexec_fn=limit,
    )
    wait_for("the hub", lambda: _healthy(f"http://127.0.0.1:{port}") or proc.poll() is not None)
    assert proc.poll() is None, log.read_text()
    return proc, port


def _healthy(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


SLOW = 1100
HUB_FDS = 1024


def test_case2_slow_clients_are_timed_out_and_cannot_exhaust_descriptors(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < SLOW + 200:  # this test process holds every slow socket
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * SLOW), hard))
    log = tmp_path / "hub.log"
    proc, port = start_limited_hub(f"sqlite:///{tmp_path / 'hub.sqlite'}", log, HUB_FDS)  # default timeouts
    url = f"http://127.0.0.1:{port}"
    slow: list[socket.socket] = []
    try:
        for _ in range(SLOW):  # more than the hub has descriptors: each sends half a request header
            sock = socket.create_connection(("127.0.0.1", port), timeout=60)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            slow.append(sock)
        assert httpx.get(url + "/healthz", timeout=60).status_code == 200  # while they are all still open
        stalled = socket.create_connection(("127.0.0.1", port), timeout=60)  # a body that stops half-way
        stalled.sendall(head("/login", "Content-Length: 1000") + b"token=")
        slow.append(stalled)

        # every slow socket is closed by the hub: evicted to make room, or after the header or body timeout
        open_ = {sock.fileno(): sock for sock in slow}
        poller = select.poll()  # select() cannot watch descriptors above 1024
        for fd in open_:
            poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + 120
        while open_ and time.monotonic() < deadline:
            for fd, _ in poller.poll(1000):
                try:
                    data = open_[fd].recv(4096)  # a 408 first, then the end
                except OSError:  # reset
                    data = b""
                if not data:
                    poller.unregister(fd)
                    del open_[fd]
        assert not open_, f"{len(open_)} slow connections still open"
        assert httpx.get(url + "/healthz", timeout=60).status_code == 200
        assert proc.poll() is None
        assert "out of system resource" not in log.read_text() and "Too many open files" not in log.read_text()
    finally:
        for sock in slow:
            sock.close()
        proc.terminate()
        proc.wait(30)


def fleet(root: Path) -> tuple[git.Repo, str]:
    repo = git.Repo.init(root, initial_branch="main")
    rev = commit(
        root,
        repo,
        [("spoke-a", "canary"), ("spoke-b", "main")],
        "first",
        waves=[{"name": "canary", "bakeTime": "0s"}, {"name": "main"}],
    )
    return repo, rev


def refused(r: httpx.Response, where: str) -> bool:
    """A 422 whose detail names `where` (a field or parameter), never a 500."""
    return r.status_code == 422 and where in json.dumps(r.json()["detail"])


def test_case4_what_the_api_accepts_both_databases_store(hub_db: str, tmp_path: Path) -> None:
    hub = HubProcess(hub_db, log=tmp_path / "hub.log")
    try:
        agent, reader = hub.token("agent", "spoke-a"), hub.token("reader")
        auth = {"Authorization": f"Bearer {reader}"}

        def obj(**over: Any) -> dict[str, Any]:
            return {
                "group": "apps",
                "kind": "Deployment",
                "namespace": "ns",
                "name": "n",
                "status": "drifted",
                "paths": ["/spec/replicas"],
                **over,
            }

        # Kubernetes' own limits are stored on both databases (a 140- and a 253-character group were a 500 on PG)
        longest = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
        assert len(longest) == 253
        ok = report(
            "spoke-a",
            revision="f" * 64,
            error="line one\n\tline two",
            objects=[obj(group=longest, name="n" * 253, namespace="s" * 63, kind="K" * 63), obj(group="g" * 140)],
        )
        assert post(hub, agent, ok).status_code == 201
        drift = httpx.get(hub.url + "/api/v1/drift", params={"spoke": "spoke-a"}, headers=auth, timeout=60).json()
        assert {d["group"] for d in drift["items"]} == {longest, "g" * 140}
        assert httpx.get(hub.url + "/api/v1/spokes/spoke-a", headers=auth, timeout=60).json()["revision"] == "f" * 64

        # past them, or with a control character anywhere: a 422 that names the field and stores nothing
        nul = "bad\x00value"
        bad = {
            "objects.0.group": report("spoke-a", objects=[obj(group="g" * 254)]),
            "objects.0.name": report("spoke-a", objects=[obj(name="n" * 254)]),
            "objects.0.namespace": report("spoke-a", objects=[obj(namespace="s" * 64)]),
            "objects.0.kind": report("spoke-a", objects=[obj(kind="K" * 64)]),
            "source": report("spoke-a", revision="f" * 65),
            "error": report("spoke-a", error=nul),
            "region": report("spoke-a", region=nul),
            "agent": {**report("spoke-a"), "agent": nul},
            "wave": report("spoke-a", wave=nul),
            "objects.0.name ": report("spoke-a", objects=[obj(name=nul)]),
            "objects.0.message": report("spoke-a", objects=[obj(message=nul)]),
            "source.author": {**report("spoke-a"), "source": {"revision": "r1", "author": nul}},
            "findings": report("spoke-a", findings=["escape \x1b[31m"]),
            "infrastructure": report("spoke-a", infrastructure={"pools": [nul]}),
        }
        for field, body in bad.items():
            r = post(hub, agent, body)
            loc = field.strip().split(".")
            assert r.status_code == 422, (field, r.status_code, r.text[:300])
            assert any(
                d["loc"][: len(loc)] == [int(p) if p.isdigit() else p for p in loc] for d in r.json()["detail"]
            ), (field, r.text[:300])
        history = httpx.get(hub.url + "/api/v1/spokes/spoke-a/history", headers=auth, timeout=60).json()
        assert len(history["items"]) == 1  # only the good report

        # a NUL in a path, a query or the session cookie: 4xx with or without a token, never a 500
        for headers in (auth, {}):
            assert refused(httpx.get(hub.url + "/api/v1/spokes/%00", headers=headers, timeout=60), "path")
            assert refused(httpx.get(hub.url + "/api/v1/drift?spoke=%00", headers=headers, timeout=60), "spoke")
            assert httpx.get(hub.url + "/spoke/%00", headers=headers, timeout=60).status_code == 422
        for cookie in ('razee_session="rzh_\\000_x"', 'razee_session="\\000"'):
            assert refused(httpx.get(hub.url + "/", headers={"Cookie": cookie}, timeout=60), "razee_session")
            assert refused(httpx.post(hub.url + "/logout", headers={"Cookie": cookie}, timeout=60), "razee_session")
        for cookie in ("razee_session=rzh_%00_x", "razee_session=%00"):  # not decoded: just a wrong session
            for r in (
                httpx.get(hub.url + "/", headers={"Cookie": cookie}, timeout=60),
                httpx.post(hub.url + "/logout", headers={"Cookie": cookie}, timeout=60),
            ):
                assert r.status_code < 500, (cookie, r.status_code)
        assert "Traceback" not in (tmp_path / "hub.log").read_text()
    finally:
        hub.close()


ODD = ["%00", "%01", "%ff", "x" * 300, "..%2F..", "%E2%80%AE", "-1", "1e400", "'", "%22%3B"]
"""Values a probe tries in every path and query parameter."""


def test_case4_no_input_reaches_a_500_on_any_route(hub_db: str, tmp_path: Path) -> None:
    """Walks every route of the published API and the dashboard with NUL, oversized and odd values in each path
    and query parameter, with no token, a reader's and an admin's: nothing may answer 5xx."""
    hub = HubProcess(hub_db, log=tmp_path / "hub.log")
    try:
        tokens = [None, hub.token("reader"), hub.token("admin")]
        spec = httpx.get(hub.url + "/api/v1/openapi.json", timeout=60).json()
        routes: list[tuple[str, str, list[str]]] = []
        for path, methods in spec["paths"].items():
            for method, op in methods.items():
                routes.append(
                    (method.upper(), path, [p["name"] for p in op.get("parameters", []) if p["in"] == "query"])
                )
        routes += [
            ("GET", "/", []),
            ("GET", "/rollout", []),
            ("GET", "/spoke/{name}", []),
            ("GET", "/login", []),
            ("POST", "/login", []),
            ("POST", "/logout", []),
            ("POST", "/ui/rollout/{action}", []),
            ("GET", "/readyz", []),
            ("GET", "/metrics", []),
        ]
        assert len(routes) >= 20
        seen = 0
        with httpx.Client(timeout=60) as client:
            for method, path, query in routes:
                for value in ODD:
                    target = re.sub(r"\{[^}]+\}", value, path)
                    params = "&".join(f"{q}={value}" for q in [*query, "bogus"])
                    for token in tokens:
                        headers = {"Authorization": f"Bearer {token}"} if token else {}
                        body = b"token=" + value.encode() if method == "POST" else None
                        r = client.request(method, f"{hub.url}{target}?{params}", headers=headers, content=body)
                        seen += 1
                        assert r.status_code < 500, (method, target, params, token is not None, r.text[:300])
        assert seen == len(routes) * len(ODD) * len(tokens)
        assert "Traceback" not in (tmp_path / "hub.log").read_text()
    finally:
        hub.close()


def test_case6_unknown_revisions_waves_and_spokes_are_404s(tmp_path: Path) -> None:
    _, rev = fleet(tmp_path / "fleet")
    hub = HubProcess(
        f"sqlite:///{tmp_path / 'hub.sqlite'}",
        "--repo",
        str(tmp_path / "fleet"),
        "--poll",
        "1s",
        "--state-dir",
        str(tmp_path / "state"),
    )
    try:
        admin = {"Authorization": f"Bearer {hub.token('admin')}"}
        wait_for(
            "the followed revision",
            lambda: httpx.get(hub.url + "/api/v1/revisions", headers=admin, timeout=60).json()["items"],
        )

        def approve(revision: str, wave: str) -> httpx.Response:
            return httpx.post(
                hub.url + "/api/v1/rollout/approve",
                params={"revision": revision, "wave": wave},
                headers=admin,
                timeout=60,
            )

        assert approve("0" * 40, "main").status_code == 404  # an unknown revision
        r = approve(rev, "mian")
        assert r.status_code == 404 and "canary, main" in r.json()["detail"]  # an unknown wave names the waves
        state = httpx.get(hub.url + "/api/v1/rollout", params={"revision": rev}, headers=admin, timeout=60).json()
        assert state["approved"] == {}  # neither was recorded
        assert approve(rev[:12], "main").status_code == 200
        # the history of an unknown spoke is a 404 like the spoke itself; a declared one has (an empty) history
        for path in ("/api/v1/spokes/nobody", "/api/v1/spokes/nobody/history"):
            assert httpx.get(hub.url + path, headers=admin, timeout=60).status_code == 404
        declared = httpx.get(hub.url + "/api/v1/spokes/spoke-b/history", headers=admin, timeout=60)
        assert declared.status_code == 200 and declared.json()["items"] == []
    finally:
        hub.close()


def test_case6_unknown_query_parameters_are_422_with_the_name(sqlite_hub: HubProcess) -> None:
    hub = sqlite_hub
    reader = {"Authorization": f"Bearer {hub.token('reader')}"}
    r = httpx.get(hub.url + "/api/v1/drift", params={"status": "bogus"}, headers=reader, timeout=60)
    assert refused(r, "status") and "namespace" in r.text  # says which parameters the route takes
    assert refused(
        httpx.get(hub.url + "/api/v1/spokes", params={"regoin": "eu-de"}, headers=reader, timeout=60), "regoin"
    )
    assert refused(httpx.get(hub.url + "/api/v1/tokens/self", params={"x": "1"}, headers=reader, timeout=60), "x")
    known = httpx.get(hub.url + "/api/v1/drift", params={"region": "eu-de", "limit": 5}, headers=reader, timeout=60)
    assert known.status_code == 200
    # authentication first: without a token the same question is a 401
    assert httpx.get(hub.url + "/api/v1/drift", params={"status": "bogus"}, timeout=60).status_code == 401


def test_case6_readyz_answers_503_while_the_database_is_down(tmp_path: Path) -> None:
    server = PostgresServer()  # its own server: this test stops it
    try:
        hub = HubProcess(server.create_database("ready"), log=tmp_path / "hub.log")
        try:
            assert httpx.get(hub.url + "/readyz", timeout=60).status_code == 200
            server.stop()
            r = wait_for(
                "/readyz to say 503",
                lambda: (lambda r: r if r.status_code == 503 else None)(httpx.get(hub.url + "/readyz", timeout=60)),
            )
            assert r.json()["status"] == "database unreachable"
            assert httpx.get(hub.url + "/healthz", timeout=60).status_code == 200  # liveness: the process is fine
            server.start()
            wait_for("/readyz to say 200 again", lambda: httpx.get(hub.url + "/readyz", timeout=60).status_code == 200)
        finally:
            hub.close()
    finally:
        server.close()
