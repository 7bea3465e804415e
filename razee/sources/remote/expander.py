"""The RemoteManifests expander: fetch (or take from the cache) the pinned file, verify it, read its manifests.
It raises before returning anything, so a mismatch or a bad file applies nothing.

What a pinned file parses to is kept in memory by its digest: a bundle declared in a cluster-scoped template for
250 customer clusters is read once per process, not once per cluster and pass.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from typing import Any, ClassVar

from razee.errors import Finding, InputError
from razee.objects import Manifest, SourceInfo
from razee.sources.expander import ExpandContext, Expansion
from razee.sources.remote.fetch import fetch
from razee.sources.remote.parse import parse
from razee.sources.remote.spec import RemoteSpec, parse_spec

PARSED_CACHE_SIZE = 64
"""Parsed files kept in memory (least recently used go first): a large bundle parses to tens of MB."""

_parsed: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
_parsed_lock = threading.Lock()


class RemoteExpander:
    kind: ClassVar[str] = "RemoteManifests"

    def expand(self, decl: Manifest, ctx: ExpandContext) -> Expansion:
        spec = parse_spec(decl)
        objects = _objects(decl, spec, ctx)
        if not objects:
            raise InputError(
                [
                    Finding(
                        decl.source.location("spec.url"), f"RemoteManifests {decl.name}: {spec.url} holds no manifests"
                    )
                ]
            )
        info = SourceInfo(decl.name, self.kind, spec.url, spec.sha256[:12], spec.digest, ctx.cluster)
        return Expansion([(obj, spec.url) for obj in objects], info)


def _objects(decl: Manifest, spec: RemoteSpec, ctx: ExpandContext) -> list[dict[str, Any]]:
    with _parsed_lock:
        hit = _parsed.get(spec.digest)
        if hit is not None:
            _parsed.move_to_end(spec.digest)
    if hit is None:
        hit = parse(decl, spec.url, fetch(decl, spec, ctx))
        with _parsed_lock:
            _parsed[spec.digest] = hit
            while len(_parsed) > PARSED_CACHE_SIZE:
                _parsed.popitem(last=False)
    return copy.deepcopy(hit)
