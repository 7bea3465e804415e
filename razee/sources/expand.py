"""The expansion step: a spoke's rendered manifests in, the same with every source expanded out.

It runs right after rendering and before the policy gate (razee.reconcile.load), so every entry point (render,
validate, diff, apply, the agent, the preview) gets it and the gate, the plan, pruning and the reports see what
sources produce exactly as they see template objects. Each expansion object (`apiVersion: razee.io/v1`) is handed
to the expander of its kind (razee.sources.registry) and then removed: it is never sent to a cluster. What comes
back becomes Manifests at the declaration's place, whose Provenance keeps the declaring template and carries the
`Origin` (kind, name, the file inside the source, `dependsOn`), so errors, findings and diffs name the chain.
"""

from __future__ import annotations

import copy
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from razee.errors import Finding, InputError, RazeeError
from razee.fleet.fleet import Fleet, SpokeView
from razee.objects import Manifest, Origin, SourceInfo, SpokeRender
from razee.render.renderer import check_duplicates, manifest_problem
from razee.sources.cache import SourceCache
from razee.sources.depends import check_depends_on, depends_on
from razee.sources.expander import API_VERSION, Capabilities, Credentials, ExpandContext, Expander, Shared
from razee.sources.registry import load_expander

MAX_WORKERS = 8
"""Sources expanded side by side: helm renders in processes of its own (razee-helm-batch's pool, or helm itself),
so threads only wait; more than a few buy nothing on the 2-core machines razee is sized for."""


@dataclass(frozen=True)
class SourceOptions:
    """How a pass reaches sources: the caller's settings (the agent's, the CLI's), never the fleet repo's."""

    cache_dir: Path | None = None
    """Pulled charts and manifests, by digest (razee.sources.cache); None: `razee-sources-UID` in the system's
    temporary folder. The agent keeps it in its state folder, so a restarted agent still has its last good copies."""
    credentials: Credentials = field(default_factory=Credentials)


CapabilitiesFor = Callable[[str | None], Capabilities]
"""The capabilities to expand with, for the customer cluster a source was declared for (None: the spoke's)."""


@dataclass(frozen=True)
class ExpandEnv:
    """Where this expansion renders for: the spoke's server (live) or the fleet's declared kube version."""

    capabilities: CapabilitiesFor
    kubeconfig: Path | None = None  # Helm's `lookup` reads this cluster (when the capabilities are live)
    options: SourceOptions = field(default_factory=SourceOptions)


@dataclass(frozen=True)
class Expanded:
    render: SpokeRender  # the manifests with sources expanded, and `sources` filled
    notes: tuple[str, ...] = ()  # for the preview: lookup offline, test hooks dropped, a last good copy used
    inputs: tuple[str, ...] = ()  # the fleet repo's paths the sources read (see `source_inputs`)
    live: Capabilities | None = None  # the spoke's own capabilities, when the expansion used them


def offline_capabilities(fleet: Fleet, view: SpokeView) -> CapabilitiesFor:
    """The declared kube version: the customer cluster's for its sources, the fleet's default for the spoke's."""
    default = fleet.spec.cluster_defaults.kube_version
    versions = {c.name: c.kube_version or default for c in view.clusters}

    def capabilities(cluster: str | None) -> Capabilities:
        return Capabilities(f"v{versions.get(cluster, default) if cluster else default}")

    return capabilities


def is_expansion(m: Manifest) -> bool:
    return m.obj.get("apiVersion") == API_VERSION


def has_sources(render: SpokeRender) -> bool:
    return any(is_expansion(m) for m in render.manifests)


def default_cache_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"razee-sources-{os.getuid()}"


def expand_render(repo: Path, render: SpokeRender, env: ExpandEnv) -> Expanded:
    """`render` with its sources expanded; raises (InputError with every finding, or ServiceError) and returns
    nothing partial."""
    decls = [m for m in render.manifests if is_expansion(m)]
    if not decls:
        return Expanded(render)
    findings = check_depends_on(decls)
    expanders: dict[str, Expander] = {}
    for d in decls:
        try:
            expanders.setdefault(d.kind, load_expander(d.kind, d.source.location("kind")))
        except InputError as e:
            findings.extend(f for f in e.findings if f not in findings)
    if findings:
        raise InputError(findings)
    cache = SourceCache(env.options.cache_dir or default_cache_dir())
    outcomes = _expand_all(decls, expanders, repo, render.spoke, env, cache, Shared())
    manifests: list[Manifest] = []
    sources: list[SourceInfo] = []
    notes: list[str] = []
    live: Capabilities | None = None
    for m in render.manifests:
        if not is_expansion(m):
            manifests.append(m)
            continue
        made, info, said, caps = outcomes[id(m)]
        manifests.extend(made)
        sources.append(info)
        notes.extend(n for n in said if n not in notes)
        live = caps if caps.live else live
    for m in manifests:
        if m.source.origin is not None and (problem := manifest_problem(m.obj)) is not None:
            findings.append(Finding(m.source.location(), f"{m.source.origin}: {problem[1]}"))
    if not findings:
        check_duplicates(manifests, findings)
    if findings:
        raise InputError(findings)
    expanded = replace(render, manifests=tuple(manifests), sources=tuple(sources))
    return Expanded(expanded, tuple(notes), source_inputs(decls), live)


Outcome = tuple[list[Manifest], SourceInfo, list[str], Capabilities]


def _expand_all(
    decls: Sequence[Manifest],
    expanders: dict[str, Expander],
    repo: Path,
    spoke: str,
    env: ExpandEnv,
    cache: SourceCache,
    shared: Shared,
) -> dict[int, Outcome]:
    """Every declaration expanded (side by side); every input error is collected, a service error raised."""

    def one(decl: Manifest) -> Outcome | RazeeError:
        caps = env.capabilities(decl.source.cluster)
        ctx = ExpandContext(
            repo=repo,
            spoke=spoke,
            cluster=decl.source.cluster,
            capabilities=caps,
            cache=cache,
            credentials=env.options.credentials,
            kubeconfig=env.kubeconfig if caps.live else None,
            shared=shared,
        )
        try:
            expansion = expanders[decl.kind].expand(decl, ctx)
        except RazeeError as e:
            return e
        return _wrap(decl, expansion.objects), expansion.info, ctx.notes, caps

    workers = min(MAX_WORKERS, len(decls))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="razee-expand") as pool:
            results = list(pool.map(one, decls))
    else:
        results = [one(d) for d in decls]
    findings: list[Finding] = []
    out: dict[int, Outcome] = {}
    for decl, result in zip(decls, results, strict=True):
        if isinstance(result, InputError):
            findings.extend(f for f in result.findings if f not in findings)
        elif isinstance(result, RazeeError):
            raise result
        else:
            out[id(decl)] = result
    if findings:
        raise InputError(findings)
    return out


def _wrap(decl: Manifest, objects: list[tuple[dict[str, Any], str | None]]) -> list[Manifest]:
    """Each object as a Manifest of the declaring template, with the source and its own file as the origin.

    Copied: an expander may hand the same cached objects to several releases, and later steps add labels.
    """
    after = depends_on(decl)
    return [
        Manifest(copy.deepcopy(obj), replace(decl.source, origin=Origin(decl.kind, decl.name, file, after)))
        for obj, file in objects
    ]


def source_inputs(decls: Sequence[Manifest]) -> tuple[str, ...]:
    """The fleet repo's folders (or top-level files) the sources' `path` and `valuesFiles` name.

    A whole top-level folder counts, not only the named path: a kustomization's overlay reads bases beside it
    (`../../base`), a chart reads `file://` dependencies. Cached renders are keyed with their contents.
    """
    found: set[str] = set()
    for d in decls:
        spec = d.obj.get("spec")
        if not isinstance(spec, dict):
            continue
        named = [
            spec.get("path"),
            *(spec.get("valuesFiles") or [] if isinstance(spec.get("valuesFiles"), list) else []),
        ]
        for rel in named:
            if isinstance(rel, str) and rel.strip():
                parts = [p for p in PurePosixPath(rel).parts if p not in (".", "/")]
                if parts and parts[0] != "..":
                    found.add(parts[0])
    return tuple(sorted(found))


def expansion_key(repo: Path, inputs: Sequence[str], live: Capabilities | None) -> str:
    """A digest of what an expansion depended on besides the templates and environments: the files under
    `inputs` and the spoke's capabilities when they were read live (offline ones follow from environments/)."""
    h = hashlib.sha256(repr(live).encode() + b"\n")
    root = repo.resolve()
    for rel in inputs:
        base = root / rel
        paths = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else []
        for path in paths:
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
