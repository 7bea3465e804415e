"""Issue 24, cases 5 and 6 (part), against real `razee hub serve` processes on SQLite and PostgreSQL.

Case 5: a sign-in is a server-side session shared by every replica; the cookie holds only its id, is never a token,
and ends at sign-out or revocation; `Secure` comes from configuration and trusted proxies; sign-in refuses another
origin; one SameSite policy. Case 6: a revocation takes effect at once on the hub that made it and within
REVOCATION_BOUND (auth.CACHE_SECONDS) elsewhere; commit metadata comes only from the fleet repo; questions about
unknown revisions create nothing; the SQLite file shrinks to what retention keeps.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from razee.hub.schema import Approval, Revision, WebSession
from razee.hub.store import engine_for
from tests.conftest import run_razee
from tests.helpers.hubprocs import HubProcess, post
from tests.helpers.reports import report

COOKIE = "razee_session"
REVOCATION_BOUND = 2.0
"""Seconds: what README.md and docs/security.md promise for a revocation made by the CLI or another replica."""


@pytest.fixture
def hub(hub_db: str, tmp_path: Path) -> Iterator[HubProcess]:
    h = HubProcess(hub_db, log=tmp_path / "hub.log")
    yield h
    h.close()


def set_cookie(response: httpx.Response) -> dict[str, str]:
    """The hub's Set-Cookie for the session, parsed by hand (a Secure cookie never enters httpx's jar over http)."""
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "=")]
    morsel = SimpleCookie(header)[COOKIE]
    flags = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    return {
        "value": morsel.value,
        "samesite": morsel["samesite"].lower(),
        "max-age": str(morsel["max-age"]),
        "secure": str("secure" in flags),
        "httponly": str("httponly" in flags),
    }


def sign_in(hub: HubProcess, token: str, **headers: str) -> httpx.Response:
    return httpx.post(hub.url + "/login", data={"token": token}, headers=headers, timeout=60)


def cookie_of(hub: HubProcess, token: str) -> str:
    r = sign_in(hub, token)
    assert r.status_code == 303, r.text
    return set_cookie(r)["value"]


def page(hub: HubProcess, cookie: str, path: str = "/rollout") -> httpx.Response:
    return httpx.get(hub.url + path, cookies={COOKIE: cookie}, timeout=60)


def signed_in(hub: HubProcess, cookie: str) -> bool:
    r = page(hub, cookie)
    assert r.status_code in (200, 303), r.status_code
    return r.status_code == 200 and "<html" in r.text


def sign_out(hub: HubProcess, cookie: str) -> httpx.Response:
    form = re.search(r'action="/logout"><input type=hidden name=csrf value="([0-9a-f]+)"', page(hub, cookie).text)
    assert form is not None
    return httpx.post(hub.url + "/logout", data={"csrf": form.group(1)}, cookies={COOKIE: cookie}, timeout=60)


def bearer(hub: HubProcess, token: str, path: str = "/api/v1/summary", **params: Any) -> httpx.Response:
    return httpx.get(hub.url + path, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def token_id(token: str) -> str:
    return token.split("_")[1]


# -- case 5 ---------------------------------------------------------------------------------------------------------
def test_case5_signing_out_ends_the_session_and_the_cookie_is_never_a_token(hub: HubProcess) -> None:
    reader = hub.token("reader")
    r = sign_in(hub, reader)
    assert r.status_code == 303
    cookie = set_cookie(r)
    assert cookie["value"].startswith("rzs_") and reader not in cookie["value"]  # only a session id
    assert cookie["httponly"] == "True" and cookie["samesite"] == "strict" and cookie["secure"] == "False"
    assert int(cookie["max-age"]) == 12 * 3600  # the documented absolute lifetime
    session = cookie["value"]
    assert signed_in(hub, session)
    assert bearer(hub, session).status_code == 401  # the cookie is no API token
    assert not signed_in(hub, reader)  # and a token is no cookie
    engine = engine_for(hub.db)
    with engine.connect() as c:  # only the id's hash is kept
        stored = c.execute(select(WebSession.id_hash, WebSession.role, WebSession.token_id)).all()
    assert stored == [(hashlib.sha256(session.encode()).hexdigest(), "reader", token_id(reader))]

    out = sign_out(hub, session)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    cleared = set_cookie(out)
    assert cleared["value"] == "" and cleared["samesite"] == "strict"  # the one SameSite policy, clearing too
    assert not signed_in(hub, session)  # replayed after sign-out: nothing opens
    assert page(hub, session, "/").status_code == 303
    with engine.connect() as c:
        assert c.execute(select(WebSession.id_hash)).all() == []
    engine.dispose()
    assert signed_in(hub, cookie_of(hub, reader))  # signing in again works


def test_case5_replicas_share_sessions_sign_out_on_one_ends_it_on_both(postgres: Any, tmp_path: Path) -> None:
    db = str(postgres.create_database("sessions" + os.urandom(4).hex()))
    a = HubProcess(db, log=tmp_path / "a.log")
    b = HubProcess(db, log=tmp_path / "b.log")
    try:
        admin = a.token("admin")
        session = cookie_of(a, admin)
        assert signed_in(a, session) and signed_in(b, session)  # signed in on one, known to both
        assert sign_out(b, session).status_code == 303  # signed out on the other (CSRF key shared)
        assert not signed_in(a, session) and not signed_in(b, session)
    finally:
        a.close()
        b.close()


def test_case5_revoking_a_token_ends_its_sessions_at_once(hub: HubProcess) -> None:
    admin = hub.token("admin")
    by_api, by_cli = hub.token("reader"), hub.token("reader")
    api_session, cli_session, admin_session = cookie_of(hub, by_api), cookie_of(hub, by_cli), cookie_of(hub, admin)
    assert signed_in(hub, api_session) and signed_in(hub, cli_session)
    revoked = run_razee("hub", "token", "revoke", "--db", hub.db, token_id(by_cli))
    assert revoked.returncode == 0, revoked.stderr
    assert not signed_in(hub, cli_session)  # sessions are never cached: at once, even from the CLI
    assert signed_in(hub, api_session)
    r = httpx.delete(
        f"{hub.url}/api/v1/tokens/{token_id(by_api)}", headers={"Authorization": f"Bearer {admin}"}, timeout=60
    )
    assert r.status_code == 200
    assert not signed_in(hub, api_session)  # the next request
    assert signed_in(hub, admin_session)  # another token's session goes on
    refused = sign_in(hub, by_api)
    assert refused.status_code == 401 and "set-cookie" not in refused.headers


def test_case5_sign_in_refuses_a_post_from_another_origin(tmp_path: Path) -> None:
    hub = HubProcess(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    try:
        reader = hub.token("reader")
        for headers in (
            {"Origin": "http://evil.example"},
            {"Origin": "null"},
            {"Origin": f"http://127.0.0.1:{hub.port + 1}"},  # another port is another origin
            {"Referer": "http://evil.example/page"},
        ):
            r = sign_in(hub, reader, **headers)
            assert r.status_code == 403 and "set-cookie" not in r.headers, headers
        for headers in ({"Origin": hub.url}, {"Referer": hub.url + "/login"}, {}):
            assert sign_in(hub, reader, **headers).status_code == 303, headers
    finally:
        hub.close()


def test_case5_secure_comes_from_configuration_and_trusted_proxies(tmp_path: Path) -> None:
    https = {"X-Forwarded-Proto": "https"}
    configs: list[tuple[list[str], dict[str, str], bool]] = [
        ([], {}, False),
        ([], https, False),  # anyone can write X-Forwarded-Proto: only a trusted proxy is believed
        (["--trusted-proxy", "127.0.0.0/8"], https, True),
        (["--trusted-proxy", "127.0.0.0/8"], {}, False),
        (["--trusted-proxy", "10.0.0.0/8"], https, False),  # a proxy, but not this peer
        (["--cookie-secure"], {}, True),
        (["--public-url", "https://hub.example.com"], {"Origin": "https://hub.example.com"}, True),
        (
            ["--public-url", "https://hub.example.com", "--no-cookie-secure"],
            {"Origin": "https://hub.example.com"},
            False,
        ),
    ]
    for n, (args, headers, secure) in enumerate(configs):
        hub = HubProcess(f"sqlite:///{tmp_path / f'hub{n}.sqlite'}", *args)
        try:
            r = sign_in(hub, hub.token("reader"), **headers)
            assert r.status_code == 303, (args, headers, r.text)
            assert set_cookie(r)["secure"] == str(secure), (args, headers)
            if "--public-url" in args:  # its origin is the hub's own: the loopback address is not
                assert sign_in(hub, hub.token("reader"), Origin=hub.url).status_code == 403
        finally:
            hub.close()
    for bad in (["--trusted-proxy", "not-a-network"], ["--public-url", "ftp://hub"]):
        refused = run_razee("hub", "serve", "--db", f"sqlite:///{tmp_path / 'bad.sqlite'}", *bad, timeout=60)
        assert refused.returncode == 2 and bad[0] in refused.stderr and "Traceback" not in refused.stderr, (
            refused.stderr
        )
        assert not (tmp_path / "bad.sqlite").exists()  # refused before anything was made


# -- case 6 ---------------------------------------------------------------------------------------------------------
def test_case6_revocation_is_at_once_through_the_api_and_within_the_documented_bound_through_the_cli(
    hub: HubProcess,
) -> None:
    admin = hub.token("admin")
    by_api, by_cli = hub.token("reader"), hub.token("reader")
    assert bearer(hub, by_api).status_code == 200 and bearer(hub, by_cli).status_code == 200  # both now cached
    revoked = run_razee("hub", "token", "revoke", "--db", hub.db, token_id(by_cli))
    assert revoked.returncode == 0, revoked.stderr
    time.sleep(REVOCATION_BOUND + 0.5)  # the bound for a revocation the running hub did not make
    assert bearer(hub, by_cli).status_code == 401
    assert bearer(hub, by_api).status_code == 200
    r = httpx.delete(
        f"{hub.url}/api/v1/tokens/{token_id(by_api)}", headers={"Authorization": f"Bearer {admin}"}, timeout=60
    )
    assert r.status_code == 200
    assert bearer(hub, by_api).status_code == 401  # the hub that revoked it: the next request
    assert bearer(hub, admin).status_code == 200


def test_case6_a_report_never_sets_a_revisions_commit_metadata(hub: HubProcess) -> None:
    revision = "c0ffee" * 6 + "abcd"
    spoke = "meta-spoke"
    body = report(spoke, revision=revision)
    body["source"].update(
        author="Release Manager <rm@example.com>",
        message="please approve wave main",
        committedAt="2030-01-01T00:00:00Z",
    )
    assert post(hub, hub.token("agent", spoke), body).status_code == 201
    reader = hub.token("reader")
    (row,) = [
        r for r in bearer(hub, reader, "/api/v1/revisions", limit=100).json()["items"] if r["revision"] == revision
    ]
    assert (row["author"], row["message"], row["committedAt"]) == ("", "", "")  # the repo follower's job alone
    rollout = bearer(hub, reader, "/api/v1/rollout", revision=revision).json()
    assert "Release Manager" not in str(rollout) and "please approve" not in str(rollout)
    history = bearer(hub, reader, f"/api/v1/spokes/{spoke}/history").json()["items"]
    assert history[0]["source"]["author"] == "Release Manager <rm@example.com>"  # the report's own record keeps it


def test_case6_questions_about_unknown_revisions_create_nothing(hub: HubProcess) -> None:
    spoke = "asker"
    agent, reader = hub.token("agent", spoke), hub.token("reader")
    for who in (agent, reader, agent):
        r = bearer(hub, who, "/api/v1/rollout/state", revision="junk", spoke=spoke)
        assert r.status_code < 500, r.text
    engine = engine_for(hub.db)
    with engine.connect() as c:
        assert c.execute(select(Revision.revision)).all() == []  # no row for "junk", however often asked
    engine.dispose()
    assert bearer(hub, reader, "/api/v1/revisions").json()["items"] == []


def big_report(spoke: str, n: int = 8000) -> dict[str, Any]:
    """A valid report of about 1.3 MB: n synced objects with long names."""
    return report(
        spoke,
        objects=[
            {
                "group": "apps",
                "kind": "Deployment",
                "namespace": "ns",
                "name": f"object-{i}-" + "x" * 60,
                "status": "synced",
            }
            for i in range(n)
        ],
    )


def test_case6_the_sqlite_file_follows_what_retention_keeps(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite"
    db = f"sqlite:///{path}"

    def size() -> int:
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())

    hub = HubProcess(db)
    spokes = ["fill-a", "fill-b"]
    tokens = {s: hub.token("agent", s) for s in spokes}
    try:
        for i in range(40):
            spoke = spokes[i % 2]
            assert post(hub, tokens[spoke], big_report(spoke)).status_code == 201
        filled = size()
    finally:
        hub.close()
    hub = HubProcess(db, "--keep-reports", "1")  # retention now keeps one report per spoke
    try:
        kept = 0
        for spoke in spokes:  # each spoke's next report trims its history (the first report after a start does)
            body = big_report(spoke)
            assert post(hub, tokens[spoke], body).status_code == 201
            kept += len(httpx.Request("POST", "/", json=body).content)
        reader = hub.token("reader")
        for spoke in spokes:
            assert len(bearer(hub, reader, f"/api/v1/spokes/{spoke}/history").json()["items"]) == 1
        after = size()
    finally:
        hub.close()
    print(
        f"SQLite file and WAL: {filled / 1e6:.1f} MB with 40 reports; {after / 1e6:.1f} MB once retention kept "
        f"2 ({kept / 1e6:.1f} MB of reports): {filled / after:.1f}x smaller"
    )
    assert filled > 10 * kept  # the fill was real
    assert after < 2 * kept + (1 << 20), (filled, after, kept)  # near what is kept, not the high-water mark


def test_case5_a_browser_on_another_site_cannot_sign_in_to_the_hub(tmp_path: Path) -> None:
    """Headless Chromium: a page on another port posts the attacker's own reader token to /login (a login CSRF)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from playwright.sync_api import sync_playwright

    from tests.helpers.hub import launch_chromium, login

    hub = HubProcess(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    attackers_token = hub.token("reader")

    class Attacker(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = f"""<!doctype html><html><body>
<form id=f method=post action="{hub.url}/login"><input name=token value="{attackers_token}"></form>
<script>document.getElementById("f").submit();</script></body></html>""".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    attacker = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    profile = tmp_path / "chromium-home"
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p, profile)
            try:
                context = browser.new_context()
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{attacker.server_port}/")
                page.wait_for_url(f"{hub.url}/**", timeout=120_000)  # the form's answer, whatever it is
                page.wait_for_load_state()
                assert page.url == f"{hub.url}/login"  # refused (signed in, the hub would redirect to /)
                assert "the Origin is another site's" in page.content()
                assert context.cookies() == []  # not signed in as the attacker
                login(page, hub.url, hub.token("reader"))  # the hub's own form still signs in
                assert page.url == f"{hub.url}/"
                (cookie,) = context.cookies()
                assert cookie["name"] == COOKIE and cookie["sameSite"] == "Strict"
            finally:
                browser.close()
    finally:
        attacker.shutdown()
        hub.close()


def test_case5_a_session_expires_and_an_expired_one_is_swept(hub_db: str) -> None:
    """The store directly (the 12-hour lifetime is too long for a process test): expiry, sweeping, the id's form."""
    from razee.hub import sessions
    from razee.hub.auth import authenticate, create_token
    from razee.hub.migrate import upgrade
    from razee.hub.store import Store

    store = Store(engine_for(hub_db))
    upgrade(store.engine)
    who = authenticate(store, create_token(store, "reader", None)[0])
    assert who is not None
    expired = sessions.start(store, who, lifetime=-1.0)
    assert sessions.resolve(store, expired) is None
    live = sessions.start(store, who)  # a sign-in sweeps the expired rows
    assert sessions.resolve(store, live) == who
    with store.session() as s:
        assert [r.expires > time.time() for r in s.execute(select(WebSession)).scalars()] == [True]
    for junk in ("", "rzs_", "rzh_" + live[4:], live + "x", "rzs_" + "a" * 200, live.replace("_", "\x00", 1)):
        assert sessions.resolve(store, junk) is None, junk
    store.engine.dispose()


def test_the_dashboards_approve_form_names_an_unknown_revision_or_wave_and_records_nothing(hub: HubProcess) -> None:
    """As the API's approve answers: a 404 naming what is unknown, and no approval row (before: a silent 303)."""
    admin = hub.token("admin")
    cookie = cookie_of(hub, admin)
    csrf = re.search(r'name=csrf value="([0-9a-f]+)"', page(hub, cookie).text)
    assert csrf is not None
    r = httpx.post(
        hub.url + "/ui/rollout/approve",
        data={"csrf": csrf.group(1), "revision": "f" * 40, "wave": "main"},
        cookies={COOKIE: cookie},
        timeout=60,
        follow_redirects=False,
    )
    assert r.status_code == 404, r.text
    assert f"knows no revision {'f' * 40}" in r.text
    engine = engine_for(hub.db)
    with engine.connect() as c:
        assert c.execute(select(Approval.revision)).all() == []
    engine.dispose()
