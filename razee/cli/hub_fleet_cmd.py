"""`razee hub clusters`, `razee hub cluster NAME`, `razee hub sources`: the fleet's customer clusters and sources."""

from __future__ import annotations

import json
import time
from typing import Any

import click
from rich.table import Table

from razee.cli.hub_options import reader_options
from razee.output import stdout_console, write

STATES = ("in-sync", "progressing", "drifted", "failed", "never-reported", "undeclared")


_options = reader_options


def _get(hub: str, token: str | None, path: str, params: dict[str, Any] | None = None) -> Any:
    from razee.cli.hub_access import get

    return get(hub, token, path, params)


@click.command("clusters")
@_options
@click.option("--region", default=None)
@click.option("--spoke", default=None)
@click.option("--version", "kube_version", default=None, help="Kube version: 1.31 matches 1.31 and 1.31.x.")
@click.option("--state", type=click.Choice(STATES), default=None)
@click.option("--prefix", default=None, help="Clusters whose name starts with this.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000))
@click.option("--after", default=None, help="Start after this cluster name (the `next` of the previous page).")
def clusters_cmd(
    hub: str,
    token: str | None,
    output: str,
    region: str | None,
    spoke: str | None,
    kube_version: str | None,
    state: str | None,
    prefix: str | None,
    limit: int,
    after: str | None,
) -> None:
    """Customer clusters across the fleet: spoke, state, kube version, master objects, workers."""
    page = _get(
        hub,
        token,
        "/api/v1/clusters",
        {
            "region": region,
            "spoke": spoke,
            "version": kube_version,
            "state": state,
            "prefix": prefix,
            "limit": limit,
            "after": after,
        },
    )
    if output == "json":
        write(json.dumps(page, indent=2) + "\n")
        return
    table = Table("cluster", "region", "spoke", "state", "version", "drifted", "failed", "workers", "pending")
    for c in page["items"]:
        table.add_row(
            c["name"] + ("" if c["declared"] else " (undeclared)"),
            c["region"],
            c["spoke"],
            c["state"],
            c["version"],
            str(c["drifted"]),
            str(c["failed"]),
            f"{c['workersObserved']}/{c['workersDesired']}",
            str(c["pending"]),
        )
    console = stdout_console()
    console.print(table)
    more = f"; next page: --after {page['next']}" if page["next"] else ""
    console.print(f"{len(page['items'])} of {page['total']} clusters{more}")


def _when(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t)) if t else ""


@click.command("cluster")
@_options
@click.argument("name")
def cluster_cmd(hub: str, token: str | None, output: str, name: str) -> None:
    """One customer cluster: spoke, revision, master objects out of sync, workers per pool, sources, changes."""
    from urllib.parse import quote

    c = _get(hub, token, f"/api/v1/clusters/{quote(name, safe='')}")
    if output == "json":
        write(json.dumps(c, indent=2) + "\n")
        return
    console = stdout_console()
    console.print(
        f"cluster {c['name']}: {c['state']}{'' if c['declared'] else ' (not declared in the fleet repo)'}"
        f"\n  spoke {c['spoke']} ({c['region']}), revision {c['revision'][:12] or '-'}, kube "
        f"{c['observedVersion'] or '?'} (wants {c['desiredVersion'] or '?'})"
    )
    m = c["master"]
    console.print(
        f"  master: {m.get('synced', 0)} in sync, {m.get('drifted', 0)} drifted, {m.get('failed', 0)} "
        f"failed, {m.get('pending', 0)} pending"
    )
    for o in m.get("outOfSync", []):
        console.print(f"    {o['status']}: {o['kind']} {o['namespace'] + '/' if o['namespace'] else ''}{o['name']}")
    pools = Table("pool", "flavor", "zones", "desired", "observed", "ready")
    for p in c["pools"]:
        pools.add_row(
            p["name"], p["flavor"], ",".join(p["zones"]), str(p["desired"]), str(p["observed"]), str(p["ready"])
        )
    console.print(pools)
    for x in c["sources"]:
        console.print(f"  source {x['kind']} {x['name']}: {x['chart'] or ''} {x['version'] or ''}")
    for ch in c["changes"]:
        commit = f" {ch['message']} ({ch['author']})" if ch["message"] else ""
        console.print(f"  {_when(ch['at'])} {ch['revision'][:12]}{commit}: {ch['what']}")


@click.command("sources")
@_options
@click.option("--chart", default=None, help="Only this chart: which spokes and clusters run which version.")
def sources_cmd(hub: str, token: str | None, output: str, chart: str | None) -> None:
    """The fleet's expanded sources (charts, overlays, remote manifests): which version runs where."""
    answer = _get(hub, token, "/api/v1/sources", {"chart": chart})
    if output == "json":
        write(json.dumps(answer, indent=2) + "\n")
        return
    table = Table("kind", "name", "chart", "version", "digest", "spokes", "clusters", "where")
    for x in answer["items"]:
        where = x["where"]
        shown = ", ".join(where.get("spokes", [])) + (
            ": " + ", ".join(where["clusters"]) if where.get("clusters") else ""
        )
        table.add_row(
            x["kind"],
            x["name"],
            x["chart"],
            x["version"],
            (x["digest"] or "")[:19],
            str(x["spokes"]),
            str(x["clusters"]),
            shown,
        )
    stdout_console().print(table)
