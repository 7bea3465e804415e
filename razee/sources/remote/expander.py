"""The RemoteManifests expander: fetch (or take from the cache) the pinned file, verify it, read its manifests.
It raises before returning anything, so a mismatch or a bad file applies nothing."""

from __future__ import annotations

from typing import ClassVar

from razee.errors import Finding, InputError
from razee.objects import Manifest, SourceInfo
from razee.sources.expander import ExpandContext, Expansion
from razee.sources.remote.fetch import fetch
from razee.sources.remote.parse import parse
from razee.sources.remote.spec import parse_spec


class RemoteExpander:
    kind: ClassVar[str] = "RemoteManifests"

    def expand(self, decl: Manifest, ctx: ExpandContext) -> Expansion:
        spec = parse_spec(decl)
        objects = parse(decl, spec.url, fetch(decl, spec, ctx))
        if not objects:
            raise InputError([Finding(decl.source.location("spec.url"),
                                      f"RemoteManifests {decl.name}: {spec.url} holds no manifests")])
        info = SourceInfo(decl.name, self.kind, spec.url, spec.sha256[:12], spec.digest, ctx.cluster)
        return Expansion([(obj, spec.url) for obj in objects], info)
