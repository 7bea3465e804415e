"""`razee providers`: the installed infrastructure providers (entry points `razee.providers`) and their settings."""

from __future__ import annotations

import json

import click

from razee.infra.registry import describe_providers
from razee.output import write


@click.command("providers")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
def providers_cmd(output: str) -> None:
    """List installed infrastructure providers and the settings each reads from `providers.<name>` in fleet.yaml
    or a region file. A third-party provider is a package with an entry point in the group `razee.providers`."""
    found = describe_providers()
    if output == "json":
        write(json.dumps(found, indent=2) + "\n")
        return
    lines: list[str] = []
    for p in found:
        lines.append(f"{p['name']}: {p.get('summary') or 'BROKEN'}")
        lines.append(f"  from {p.get('package', 'an unknown package')} ({p['entryPoint']})")
        if "error" in p:
            lines.append(f"  error: {p['error']}")
            continue
        for s in p["settings"]:
            default = "required" if s["required"] else f"default {json.dumps(s['default'])}"
            lines.append(f"  providers.{p['name']}.{s['name']}  {s['type']}, {default}: {s['description']}")
    write("\n".join(lines) + "\n")
