"""`razee render`: the desired state of spokes, as YAML or JSON."""

from __future__ import annotations

import copy
import json

import click

from razee.cli.context import CliState
from razee.cli.options import repo_options, selection_options
from razee.objects import Manifest, SpokeRender
from razee.output import write
from razee.plan.view import mask_secrets
from razee.reconcile.load import Selection, fleet_tree, render, render_spoke
from razee.yamlout import dump_block


@click.command("render")
@repo_options
@selection_options
@click.option("-o", "--output", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--show-secrets", is_flag=True, help="Print Secret values instead of *** (they are masked by default).")
@click.pass_obj
def render_cmd(
    state: CliState,
    /,
    repo: str | None,
    rev: str | None,
    spoke: str | None,
    region: str | None,
    output: str,
    show_secrets: bool,
) -> None:
    """Render the fleet's templates for one spoke, one region or the whole fleet.

    Nothing is printed unless the whole selection renders cleanly and passes the policy gate. Secret values are
    masked unless --show-secrets is given; encrypted secrets render as placeholders without RAZEE_AGE_IDENTITY.
    """
    with fleet_tree(repo, rev) as root:
        if spoke and not region:  # one spoke: the render cache answers a repeated render
            bundle = render_spoke(
                root, spoke, state.render_cache(), for_apply=False, age_identity=state.render.age_identity
            )
            results = [SpokeRender(bundle.spoke, bundle.region, bundle.manifests)]
        else:
            _, results = render(root, Selection(spoke=spoke, region=region), settings=state.render)
    if not show_secrets:
        results = [mask_rendered(r) for r in results]
    write(to_json(results) if output == "json" else to_yaml(results))


def mask_rendered(result: SpokeRender) -> SpokeRender:
    manifests = []
    for m in result.manifests:
        if m.kind == "Secret" and m.api_version == "v1":
            obj = copy.deepcopy(m.obj)
            mask_secrets(None, obj)
            m = Manifest(obj, m.source)
        manifests.append(m)
    return SpokeRender(result.spoke, result.region, tuple(manifests))


def to_yaml(results: list[SpokeRender]) -> str:
    parts: list[str] = []
    for r in results:
        for m in r.manifests:
            body = dump_block(m.obj)
            parts.append(f"---\n# spoke: {r.spoke}\n# source: {m.source}\n{body}")
    return "".join(parts)


def to_json(results: list[SpokeRender]) -> str:
    doc = {
        "spokes": [
            {
                "spoke": r.spoke,
                "region": r.region,
                "objects": [
                    {
                        "source": {
                            "template": m.source.template,
                            "document": m.source.document,
                            "line": m.source.line,
                            "cluster": m.source.cluster,
                        },
                        "object": m.obj,
                    }
                    for m in r.manifests
                ],
            }
            for r in results
        ]
    }
    return json.dumps(doc, indent=2) + "\n"
