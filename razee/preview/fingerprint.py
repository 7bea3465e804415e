"""What a spoke's render depends on, summarised as a hash, so unchanged spokes need no render at all.

A spoke renders from: the fleet file, its region's own settings (name, zones, provider, values), the spoke, the
clusters scheduled onto it, and the templates. Templates could also read region-wide lists (`region.spokes`,
`region.clusters`) or pass `region` around whole; a static look at every template tells whether any does, and
then the whole region counts as an input. Two revisions whose fingerprints match render byte-identical output.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, nodes

from razee.fleet.fleet import Fleet, SpokeView
from razee.render.renderer import TEMPLATES_DIR
from razee.render.secrets import SECRETS_DIR

REGION_FIELDS = frozenset({"name", "zones", "provider", "values"})


def _uses_region_wide(source: str) -> bool:
    tree = Environment().parse(source)
    names = sum(1 for n in tree.find_all(nodes.Name) if n.name == "region")
    safe = 0
    for n in tree.find_all(nodes.Getattr):
        if isinstance(n.node, nodes.Name) and n.node.name == "region" and n.attr in REGION_FIELDS:
            safe += 1
    for g in tree.find_all(nodes.Getitem):
        if (isinstance(g.node, nodes.Name) and g.node.name == "region" and isinstance(g.arg, nodes.Const)
                and g.arg.value in REGION_FIELDS):
            safe += 1
    return names != safe


class TemplateSet:
    """The templates (and encrypted secrets) of one revision: a content hash, and whether any template reads
    region-wide data."""

    def __init__(self, repo: Path) -> None:
        digest = hashlib.sha256()
        region_wide = False
        root = repo / TEMPLATES_DIR
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        secrets = repo / SECRETS_DIR
        files += sorted(secrets.glob("*.age")) if secrets.is_dir() else []  # re-encrypted secrets change output
        for path in files:
            data = path.read_bytes()
            digest.update(path.relative_to(repo).as_posix().encode() + b"\0" + data + b"\0")
            if not region_wide and path.name.endswith(".j2"):
                try:
                    region_wide = _uses_region_wide(data.decode("utf-8"))
                except Exception:  # a template that does not parse: the render reports it; be conservative
                    region_wide = True
        self.digest = digest.hexdigest()
        self.region_wide = region_wide


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json")


def spoke_fingerprint(fleet: Fleet, view: SpokeView, templates: TemplateSet) -> str:
    region = _dump(view.region) if templates.region_wide else {
        k: v for k, v in _dump(view.region).items() if k in REGION_FIELDS}
    doc = {"fleet": _dump(fleet.spec), "region": region, "spoke": _dump(view.spoke),
           "clusters": [_dump(c) for c in view.clusters], "templates": templates.digest}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
