"""The Kustomization expander: check the kustomization's graph (fleet repo only, no remote bases), build it with
`kustomize build`, and hand back its objects with the file each came from. It raises before returning anything.

Builds are kept in memory by the kustomization's digest (every file the build can read) and the kustomize binary:
a Kustomization in a cluster-scoped template, used by 250 customer clusters with the same path, builds once.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from typing import ClassVar

from razee.errors import Finding, InputError
from razee.objects import Manifest, SourceInfo
from razee.sources.expander import ExpandContext, Expansion
from razee.sources.kustomize.build import Built, build
from razee.sources.kustomize.digest import tree_digest
from razee.sources.kustomize.kustbin import kustomize_identity
from razee.sources.kustomize.spec import parse_spec
from razee.sources.kustomize.walk import walk

BUILD_CACHE_SIZE = 512
"""Builds kept in memory (least recently used go first); a build is the size of its output."""

_builds: OrderedDict[str, Built] = OrderedDict()
_builds_lock = threading.Lock()


class KustomizeExpander:
    kind: ClassVar[str] = "Kustomization"

    def expand(self, decl: Manifest, ctx: ExpandContext) -> Expansion:
        spec = parse_spec(decl)

        def fail(message: str) -> InputError:
            return InputError([Finding(decl.source.location("spec.path"), f"Kustomization {decl.name}: {message}")])

        tree = walk(ctx.repo, spec.path, fail)
        digest = tree_digest(tree)
        key = hashlib.sha256(f"{kustomize_identity()}\0{digest}\0{tree.rel(tree.top)}".encode()).hexdigest()
        built = _cached(key)
        if built is None:
            built = build(tree, fail)
            _remember(key, built)
        if not built.objects:
            raise fail(f"kustomize build {spec.path} renders nothing")
        ctx.notes.extend(f"Kustomization {decl.name}: {w}" for w in built.warnings)
        info = SourceInfo(decl.name, self.kind, spec.path, digest.partition(":")[2][:12], digest, ctx.cluster)
        return Expansion(copy.deepcopy(built.objects), info)


def _cached(key: str) -> Built | None:
    with _builds_lock:
        hit = _builds.get(key)
        if hit is not None:
            _builds.move_to_end(key)
        return hit


def _remember(key: str, built: Built) -> None:
    with _builds_lock:
        _builds[key] = built
        while len(_builds) > BUILD_CACHE_SIZE:
            _builds.popitem(last=False)
