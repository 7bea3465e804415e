"""What a spoke's render depends on, summarised as a hash, so unchanged spokes need no render at all.

A spoke renders from: the fleet file, its region's own settings (name, zones, provider, values), the spoke, the
clusters scheduled onto it, and the templates. Templates could also read region-wide lists (`region.spokes`,
`region.clusters`) or pass `region` around whole; a static look at every template tells whether any does, and
then the whole region counts as an input. Two revisions whose fingerprints match render byte-identical output.

Sources (razee.sources) also read `charts/` and `kustomize/`: their files count as every template's input.

Finer: each top-level template has a closure digest (its own text, every template it imports or includes, and the
encrypted secrets). When a spoke's inputs other than the templates are the same at both revisions, a template
whose closure is the same renders the same objects at both, so the preview need not render it at the old one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, meta, nodes

from razee.fleet.fleet import Fleet, SpokeView
from razee.render.renderer import TEMPLATES_DIR
from razee.render.secrets import SECRETS_DIR

REGION_FIELDS = frozenset({"name", "zones", "provider", "values"})
SOURCE_DIRS = ("charts", "kustomize")
"""The fleet repo's folders for the charts and kustomizations sources read (docs/sources.md): every template's
inputs, as the secrets are. Sources reading files elsewhere are previewed correctly only with --full."""


def _uses_region_wide(tree: nodes.Template) -> bool:
    names = sum(1 for n in tree.find_all(nodes.Name) if n.name == "region")
    safe = 0
    for n in tree.find_all(nodes.Getattr):
        if isinstance(n.node, nodes.Name) and n.node.name == "region" and n.attr in REGION_FIELDS:
            safe += 1
    for g in tree.find_all(nodes.Getitem):
        if (
            isinstance(g.node, nodes.Name)
            and g.node.name == "region"
            and isinstance(g.arg, nodes.Const)
            and g.arg.value in REGION_FIELDS
        ):
            safe += 1
    return names != safe


class TemplateSet:
    """The templates (and encrypted secrets) of one revision: a content hash, whether any template reads
    region-wide data, and each template's closure digest."""

    def __init__(self, repo: Path) -> None:
        digest = hashlib.sha256()
        region_wide = False
        root = repo / TEMPLATES_DIR
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else []
        secrets = repo / SECRETS_DIR
        files += sorted(secrets.glob("*.age")) if secrets.is_dir() else []  # re-encrypted secrets change output
        for folder in SOURCE_DIRS:  # charts and overlays sources read: an edit there changes what they expand to
            base = repo / folder
            files += sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []
        file_digests: dict[str, str] = {}  # every file a template may load, by its name under templates/
        references: dict[str, set[str] | None] = {}  # template -> what it imports/includes; None: unknown
        shared = hashlib.sha256()  # what every template may read: the secrets
        for path in files:
            data = path.read_bytes()
            digest.update(path.relative_to(repo).as_posix().encode() + b"\0" + data + b"\0")
            if not path.is_relative_to(root):
                shared.update(path.relative_to(repo).as_posix().encode() + b"\0" + data + b"\0")
                continue
            name = path.relative_to(root).as_posix()
            file_digests[name] = hashlib.sha256(data).hexdigest()
            references[name] = None  # loaded as a template, any file can load others
            if not path.name.endswith(".j2"):
                continue
            try:
                tree = Environment().parse(data.decode("utf-8"))
                if not region_wide:
                    region_wide = _uses_region_wide(tree)
                found = set(meta.find_referenced_templates(tree))
                references[name] = None if None in found else {str(n) for n in found}
            except Exception:  # a template that does not parse: the render reports it; be conservative
                region_wide = True
        self.digest = digest.hexdigest()
        self.region_wide = region_wide
        self.closures = {
            name: _closure_digest(name, references, file_digests, shared.hexdigest())
            for name in file_digests
            if name.endswith(".yaml.j2")
        }


def _closure_digest(name: str, references: dict[str, set[str] | None], files: dict[str, str], shared: str) -> str:
    """A digest of `name` and everything it may load, transitively; a dynamic or unknown load takes every file."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        refs = references.get(current) if current in files else None
        if refs is None:
            seen = set(files) | {current}
            break
        todo.extend(refs)
    h = hashlib.sha256(shared.encode())
    for n in sorted(seen):
        h.update(n.encode() + b"\0" + files.get(n, "missing").encode() + b"\0")
    return h.hexdigest()


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json")


def inputs_fingerprint(fleet: Fleet, view: SpokeView, templates: TemplateSet) -> str:
    """Everything a spoke's render depends on except the templates' text: with equal inputs and equal
    `TemplateSet.digest`, two revisions render byte-identical output for the spoke."""
    region = (
        _dump(view.region)
        if templates.region_wide
        else {k: v for k, v in _dump(view.region).items() if k in REGION_FIELDS}
    )
    doc = {
        "fleet": _dump(fleet.spec),
        "region": region,
        "spoke": _dump(view.spoke),
        "clusters": [_dump(c) for c in view.clusters],
        "regionWide": templates.region_wide,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def changed_templates(old: TemplateSet, new: TemplateSet) -> set[str]:
    """Templates whose closure differs between the revisions (or that exist at one only)."""
    return {n for n in old.closures.keys() | new.closures.keys() if old.closures.get(n) != new.closures.get(n)}
