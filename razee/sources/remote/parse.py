"""Reading a fetched file as manifests: multi-document YAML, `kind: List` documents flattened into their items
(as kubectl and kustomize accept them), every error naming the URL and the line in it.

Upstream files are not razee templates: anchors, aliases and merge keys are legitimate YAML there, so they are read
with the fleet repo's own loader (razee.yamlsrc.load_documents: duplicate keys refused, alias expansion bounded)
rather than the rendered-manifest loader, which refuses anchors because a template has macros for reuse.
"""

from __future__ import annotations

from typing import Any

from razee.errors import Finding, InputError
from razee.objects import Manifest
from razee.render.renderer import list_items, manifest_problem
from razee.yamlsrc import load_documents


def parse(decl: Manifest, url: str, data: bytes) -> list[dict[str, Any]]:
    def fail(message: str) -> InputError:
        return InputError([Finding(decl.source.location("spec.url"), f"RemoteManifests {decl.name}: {message}")])

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise fail(f"{url} is not UTF-8 text (byte {e.start})") from None
    try:
        docs = [(doc.data, doc.line) for doc in load_documents(text, url)]
    except InputError as e:
        raise fail("; ".join(str(f) for f in e.findings)) from None
    out: list[dict[str, Any]] = []
    for data_, line in docs:
        if data_ is None:
            continue  # an empty document (`---` twice, or a trailing separator)
        for obj, item in list_items(data_):
            problem = manifest_problem(obj)
            if problem:
                where = f"{url}:{line}" + (f" item {item}" if item is not None else "")
                raise fail(f"{where}: {problem[1]}")
            out.append(obj)
    return out
