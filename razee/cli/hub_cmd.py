"""`razee hub`: run the hub, manage its tokens, and ask it fleet-wide questions."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from razee.cli.hub_options import reader_options
from razee.output import note, stdout_console, write


@click.group("hub")
def hub_group() -> None:
    """The hub: collects every agent's reports and answers fleet-wide questions."""


def _store(db: str) -> Any:
    from razee.hub.migrate import upgrade
    from razee.hub.store import Store, engine_for

    engine = engine_for(db)
    upgrade(engine)
    return Store(engine)


@hub_group.command("serve")
@click.option(
    "--db",
    default="sqlite:///razee-hub.sqlite",
    show_default=True,
    help="SQLAlchemy URL: sqlite:///FILE or postgresql://USER@HOST:PORT/DB.",
)
@click.option("--listen", default="127.0.0.1:8080", show_default=True)
@click.option(
    "--repo",
    default=None,
    help="The fleet repo the agents follow (file://, http(s)://, ssh://; RAZEE_GIT_TOKEN as for agents): "
    "the hub learns every revision's declared spokes and waves from it.",
)
@click.option("--branch", default="main", show_default=True)
@click.option("--poll", default="5s", show_default=True, help="How often to look for a new revision.")
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    default=Path("razee-hub-cache"),
    show_default=True,
    help="Where the hub keeps its clone of --repo.",
)
@click.option("--stale-after", default=600, show_default=True, help="Seconds without a report before a spoke is stale.")
@click.option(
    "--keep-reports", default=200, show_default=True, help="Reports kept per spoke (the latest state always)."
)
@click.option("--keep-mib", default=64, show_default=True, help="Report bytes kept per spoke, in MiB.")
@click.option(
    "--notify",
    "notify_urls",
    multiple=True,
    metavar="URL",
    help="Webhook for fleet events (rollout halted/resumed/completed, spoke stale/back, drift, revision "
    "rejected); repeatable. JSON by default; Slack's format for hooks.slack.com or slack+https://.",
)
@click.option(
    "--public-url",
    default=None,
    metavar="URL",
    help="The URL browsers reach the hub at (e.g. https://hub.example.com behind a TLS ingress): sign-in "
    "accepts posts only from its origin, and an https URL makes the session cookie Secure.",
)
@click.option(
    "--cookie-secure/--no-cookie-secure",
    default=None,
    help="Mark the session cookie Secure (sent over https only). Default: on when --public-url is "
    "https, else when the request came over https (directly or from a --trusted-proxy).",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    metavar="CIDR",
    help="A proxy (network) whose X-Forwarded-Proto the hub believes; repeatable. Forwarded headers from "
    "any other peer are ignored.",
)
@click.option(
    "--header-timeout",
    default="10s",
    show_default=True,
    help="A request's whole header must arrive within this (from the connection, or from the first byte "
    "of the next request on a kept-alive one); else 408 and the connection is closed.",
)
@click.option(
    "--body-timeout",
    default="30s",
    show_default=True,
    help="The longest pause allowed while a request body is read; then the connection is closed.",
)
@click.option(
    "--keep-alive-timeout",
    default="5s",
    show_default=True,
    help="How long an idle connection is kept open between requests.",
)
@click.option(
    "--max-connections",
    default=1000,
    show_default=True,
    type=click.IntRange(16),
    help="Open client connections at most (lowered to fit the file-descriptor limit). At the cap, the "
    "oldest connection waiting for a request is closed to make room; 503 if every one is busy.",
)
def serve(
    db: str,
    listen: str,
    repo: str | None,
    branch: str,
    poll: str,
    state_dir: Path,
    stale_after: int,
    keep_reports: int,
    keep_mib: int,
    notify_urls: tuple[str, ...],
    public_url: str | None,
    cookie_secure: bool | None,
    trusted_proxies: tuple[str, ...],
    header_timeout: str,
    body_timeout: str,
    keep_alive_timeout: str,
    max_connections: int,
) -> None:
    """Serve the API and the dashboard (migrating the database to the current schema first)."""
    from razee.errors import UsageError
    from razee.fleet.model import parse_duration
    from razee.hub.api import create_app
    from razee.hub.follow import RepoFollower
    from razee.hub.journal import Journal
    from razee.hub.leader import Leadership
    from razee.hub.metrics import HubMetrics
    from razee.hub.notify import Notifier, parse_target
    from razee.hub.server import ServeLimits
    from razee.hub.server import serve as run_server
    from razee.hub.watch import FleetWatch
    from razee.hub.web_policy import web_settings
    from razee.source.remote import redact

    targets = [parse_target(url) for url in notify_urls]  # before anything is created
    web = web_settings(public_url, cookie_secure, trusted_proxies)
    timeouts: dict[str, float] = {}
    for name, value in (
        ("header-timeout", header_timeout),
        ("body-timeout", body_timeout),
        ("keep-alive-timeout", keep_alive_timeout),
    ):
        try:
            timeouts[name] = float(parse_duration(value))
        except ValueError as e:
            raise UsageError(f"--{name}: {e}") from None
        if timeouts[name] <= 0:
            raise UsageError(f"--{name}: must be more than 0s")
    limits = ServeLimits(
        timeouts["header-timeout"], timeouts["body-timeout"], timeouts["keep-alive-timeout"], max_connections
    )
    store = _store(db)
    store.stale_after, store.keep_reports, store.keep_bytes = stale_after, keep_reports, keep_mib << 20
    host, _, port = listen.rpartition(":")
    # staleness arrives by silence, so the watcher also looks on a timer, a tenth of --stale-after (1-5 s)
    # with --notify, events and their baseline are kept in the database; of several replicas, one sends them
    journal, leadership = (Journal(store), Leadership(store.engine)) if targets else (None, None)
    watch = FleetWatch(store, every=min(5.0, max(1.0, stale_after / 10)), journal=journal, leadership=leadership)
    notifier = Notifier(targets, journal, leadership) if journal and leadership else None
    follower = None
    if repo:
        try:
            every = float(parse_duration(poll))
        except ValueError as e:
            raise UsageError(f"--poll: {e}") from None
        url = repo if "://" in repo else Path(repo).resolve().as_uri()
        follower = RepoFollower(store, url, branch, state_dir / "repo", every)
        follower.start()
        note(f"following {redact(url)} ({branch}) every {poll}")
    if notifier is not None:
        notifier.start()
        watch.subscribe(notifier.send)
        watch.start()
        note(
            f"notifying {', '.join(t.shown for t in targets)} of fleet events"
            + (" (the replica holding the notifier's lock sends them)" if leadership and leadership.shared else "")
        )
    note(f"razee hub on http://{listen} (database {db.split('@')[-1]})")
    try:
        app = create_app(store, follower.nudge if follower else None, HubMetrics(watch, notifier), web)
        run_server(app, host or "127.0.0.1", int(port), limits)
    finally:
        watch.close()
        if notifier is not None:
            notifier.close()
        if follower is not None:
            follower.close()


@hub_group.group("token")
def token_group() -> None:
    """Create and revoke hub tokens (stored hashed; shown once)."""


@token_group.command("create")
@click.option("--db", required=True, help="The hub's database URL.")
@click.option("--role", type=click.Choice(["agent", "reader", "admin"]), required=True)
@click.option("--spoke", default=None, help="For agent tokens: the only spoke it may report for.")
def token_create(db: str, role: str, spoke: str | None) -> None:
    from razee.hub.auth import create_token

    token, token_id = create_token(_store(db), role, spoke)
    write(token + "\n")
    note(f"token id {token_id} ({role}{' for ' + spoke if spoke else ''}); it is not shown again")


@token_group.command("revoke")
@click.option("--db", required=True)
@click.argument("token_id")
def token_revoke(db: str, token_id: str) -> None:
    from razee.errors import UsageError
    from razee.hub.auth import revoke_token

    if not revoke_token(_store(db), token_id):
        raise UsageError(f"no token with id {token_id}")
    note(f"revoked {token_id}")


_client_options = reader_options


@hub_group.command("status")
@_client_options
def status(hub: str, token: str | None, output: str) -> None:
    """Every declared spoke (and any other that reports): state, revision, last result, drift, last seen."""
    from razee.cli.hub_access import get

    summary = get(hub, token, "/api/v1/summary")
    spokes = get(hub, token, "/api/v1/spokes", {"limit": 1000})["items"]
    if output == "json":
        write(json.dumps({"summary": summary, "spokes": spokes}, indent=2) + "\n")
        return
    table = Table(
        "region",
        "spoke",
        "wave",
        "state",
        "revision",
        "result",
        "drifted",
        "missing",
        "failed",
        "unhealthy",
        "last seen",
    )
    for s in spokes:
        seen = time.strftime("%H:%M:%S", time.gmtime(s["lastSeen"])) if s["lastSeen"] else "never"
        table.add_row(
            s["region"],
            s["spoke"] + ("" if s["declared"] else " (undeclared)"),
            s["wave"],
            s["state"],
            s["revision"][:12],
            s["result"],
            str(s["drifted"]),
            str(s["missing"]),
            str(s["failed"]),
            str(s["unhealthy"]),
            seen,
        )
    console = stdout_console()
    console.print(table)
    console.print(
        f"{summary['spokes']} spokes ({summary['declared']} declared, {summary['neverReported']} never "
        f"reported, {summary['stale']} stale), {summary['driftedObjects']} drifted objects "
        f"({summary['missingObjects']} missing)"
    )


@hub_group.command("drift")
@_client_options
@click.option("--region", default=None)
@click.option("--spoke", default=None)
@click.option("--kind", default=None)
@click.option("--namespace", default=None)
def drift(
    hub: str,
    token: str | None,
    output: str,
    region: str | None,
    spoke: str | None,
    kind: str | None,
    namespace: str | None,
) -> None:
    """Drifted and missing objects across the fleet, with the field paths that differ."""
    from razee.cli.hub_access import get

    items = get(
        hub,
        token,
        "/api/v1/drift",
        {"region": region, "spoke": spoke, "kind": kind, "namespace": namespace, "limit": 1000},
    )["items"]
    if output == "json":
        write(json.dumps(items, indent=2) + "\n")
        return
    table = Table("region", "spoke", "status", "object", "fields")
    for d in items:
        obj = f"{d['kind']} {d['namespace'] + '/' if d['namespace'] else ''}{d['name']}"
        fields = ", ".join(d["paths"]) if d["status"] != "missing" else "(gone from the cluster)"
        taken = "".join(f"; took {t['path']} from {t['manager']}" for t in d.get("takeovers", []))
        table.add_row(d["region"], d["spoke"], d["status"], obj, fields + taken)
    stdout_console().print(table)


@hub_group.command("rollout")
@_client_options
@click.argument("revision", required=False)
def rollout(hub: str, token: str | None, output: str, revision: str | None) -> None:
    """Where REVISION (default: the newest committed) stands, wave by wave."""
    from razee.cli.rollout_cmd import show_rollout

    show_rollout(hub, token, "json" if output == "json" else "text", revision)


def _fleet_commands() -> None:
    from razee.cli.hub_fleet_cmd import cluster_cmd, clusters_cmd, sources_cmd

    for command in (clusters_cmd, cluster_cmd, sources_cmd):
        hub_group.add_command(command)


_fleet_commands()
