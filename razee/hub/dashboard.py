"""The hub's web page: server-rendered HTML, no build step, refreshed every 10 seconds."""

from __future__ import annotations

import hashlib
import time
from html import escape
from typing import Any

from razee.hub.store import Page, Store

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1f24}h1{margin:0 0 .3rem}h2{margin-top:1.6rem}
.grid{display:flex;flex-wrap:wrap;gap:1rem}.region{border:1px solid #d0d7de;border-radius:8px;padding:.6rem}
.spoke{display:inline-block;margin:.2rem;padding:.35rem .55rem;border-radius:6px;color:#fff;font-size:.85rem}
.bad{outline:3px solid #cf222e}.drift{outline:3px dashed #bf8700}.stale{opacity:.45;text-decoration:line-through}
table{border-collapse:collapse}td,th{border-bottom:1px solid #d0d7de;padding:.25rem .6rem;text-align:left}
.bar{background:#eaeef2;border-radius:6px;height:14px;width:420px;overflow:hidden;display:flex}
.bar span{display:block;height:100%}code{font-size:.85rem}
"""


def _colour(revision: str) -> str:
    hue = int(hashlib.sha256(revision.encode()).hexdigest()[:4], 16) % 360
    return f"hsl({hue},55%,38%)"


def render_dashboard(store: Store) -> str:
    summary = store.summary()
    spokes = store.spokes(Page(1000, 0))["items"]
    rollout = store.rollout(None)
    drift = store.drift(Page(200, 0))["items"]
    regions: dict[str, list[dict[str, Any]]] = {}
    for sp in spokes:
        regions.setdefault(sp["region"], []).append(sp)
    out = [f"<!doctype html><html><head><meta charset=utf-8><title>razee hub</title>"
           f"<meta http-equiv=refresh content=10><style>{STYLE}</style></head><body>",
           f"<h1>razee fleet</h1><p id=summary>{summary['spokes']} spokes, {summary['stale']} stale, "
           f"{summary['driftedObjects']} drifted objects · updated {time.strftime('%H:%M:%S')}</p>",
           "<h2>Fleet</h2><div class=grid id=fleet>"]
    for region in sorted(regions):
        out.append(f"<div class=region data-region='{escape(region)}'><b>{escape(region)}</b><br>")
        for sp in regions[region]:
            classes = "spoke" + (" bad" if sp["result"] in ("failed", "rejected") or sp["unhealthy"] else "") + (
                " drift" if sp["drifted"] else "") + (" stale" if sp["stale"] else "")
            title = f"{sp['result']} at {sp['revision'][:12]}; {sp['drifted']} drifted, {sp['failed']} failed"
            out.append(f"<span class='{classes}' data-spoke='{escape(sp['spoke'])}' "
                       f"data-result='{escape(sp['result'])}' style='background:{_colour(sp['revision'])}' "
                       f"title='{escape(title)}'>{escape(sp['spoke'])} · {escape(sp['revision'][:7])}</span>")
        out.append("</div>")
    out.append("</div>")
    total = max(len(spokes), 1)
    shares = [(len(rollout[k]), c) for k, c in (("applied", "#1a7f37"), ("failed", "#cf222e"),
                                                ("pending", "#afb8c1"))]
    out.append(f"<h2>Rollout of <code>{escape(rollout['revision'][:12])}</code></h2>"
               f"<p id=rollout>{len(rollout['applied'])} applied, {len(rollout['failed'])} failed, "
               f"{len(rollout['pending'])} pending</p>"
               + (f"<p id=halted style='color:#cf222e'><b>{escape(rollout['halted'])}</b></p>" if rollout["halted"]
                  else "") + "<div class=bar>"
               + "".join(f"<span style='width:{100 * n / total:.1f}%;background:{c}'></span>" for n, c in shares)
               + "</div>")
    stale = [sp for sp in spokes if sp["stale"]]
    out.append("<h2>Stale agents</h2>" + ("<ul id=stale>" + "".join(
        f"<li>{escape(sp['spoke'])} (last seen {time.strftime('%Y-%m-%d %H:%M', time.gmtime(sp['lastSeen']))} "
        f"UTC)</li>" for sp in stale) + "</ul>" if stale else "<p id=stale>none</p>"))
    out.append("<h2>Drift</h2>")
    if drift:
        out.append("<table id=drift><tr><th>region</th><th>spoke</th><th>object</th><th>fields</th></tr>")
        for d in drift:
            obj = f"{d['kind']} {d['namespace'] + '/' if d['namespace'] else ''}{d['name']}"
            out.append(f"<tr><td>{escape(d['region'])}</td><td>{escape(d['spoke'])}</td><td>{escape(obj)}</td>"
                       f"<td><code>{escape(', '.join(d['paths']))}</code></td></tr>")
        out.append("</table>")
    else:
        out.append("<p id=drift>no drift</p>")
    out.append("</body></html>")
    return "".join(out)
