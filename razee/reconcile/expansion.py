"""The expansion step in the pass: which capabilities sources render with, and when a cached render still holds.

Where razee talks to the spoke (diff, apply, the agent), `.Capabilities` are the server's own (its version and
every API it serves, from discovery) and Helm's `lookup` reads the cluster through the pass's kubeconfig. Offline
(render, validate, the agent's check of a new revision, the preview) they come from the kube version the fleet
declares: the customer cluster's `kubeVersion` for a source in a cluster template, `clusterDefaults.kubeVersion`
for the spoke's own.

A cached render (razee.render.cache) is keyed by environments/ and templates/; sources also read other folders
of the fleet repo and, live, the server's capabilities. Its `ExpansionStamp` records both, so a hit is used only
while they are unchanged: an idle agent pass costs three discovery reads more, not a chart render.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from razee.errors import InputError
from razee.fleet.fleet import Fleet
from razee.objects import SpokeRender
from razee.render.cache import ExpansionStamp
from razee.render.secrets import SecretStore, find_leaks
from razee.sources.expand import (
    Expanded,
    ExpandEnv,
    SourceOptions,
    expand_render,
    expansion_key,
    has_sources,
    offline_capabilities,
)
from razee.sources.expander import Capabilities

if TYPE_CHECKING:  # `razee render` and `validate` expand offline: they never load the Kubernetes client
    from razee.kube.client import Kube

_SEMVER = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)")


@dataclass
class LiveSpoke:
    """The spoke's server, as sources see it: its capabilities (read once, on first use) and the kubeconfig
    Helm's `lookup` reads with (None: lookup sees nothing, as offline)."""

    read: Callable[[], Capabilities]
    kubeconfig: Path | None = None
    _caps: Capabilities | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def for_cluster(self, _cluster: str | None) -> Capabilities:
        """One server for every source, whichever customer cluster a template declared it for."""
        return self.capabilities()

    def capabilities(self) -> Capabilities:
        with self._lock:
            if self._caps is None:
                self._caps = self.read()
            return self._caps


def live_spoke(kube: Kube, kubeconfig: str | None, context: str | None = None) -> LiveSpoke:
    """`lookup` reads the cluster through `kubeconfig`'s current context; with another `context` named, helm would
    read the wrong cluster, so lookup then sees nothing (and the preview and diff say so)."""
    return LiveSpoke(lambda: read_capabilities(kube), Path(kubeconfig) if kubeconfig and not context else None)


def read_capabilities(kube: Kube) -> Capabilities:
    """The server's version and every group-version and kind it serves (Helm's `--api-versions` forms)."""
    from razee.kube.discovery import AGGREGATED_ACCEPT, parse_aggregated

    version = kube.request("DISCOVERY", "GET", "/version")
    docs = [kube.request("DISCOVERY", "GET", path, accept=AGGREGATED_ACCEPT) for path in ("/api", "/apis")]
    served: list[str] = []
    if all(isinstance(d, dict) and d.get("kind") == "APIGroupDiscoveryList" for d in docs):
        found, _ = parse_aggregated(docs)
        for api_version in sorted(found):
            served.append(api_version)
            served.extend(f"{api_version}/{kind}" for kind in sorted(found[api_version]))
    else:  # a server without aggregated discovery: group-versions only
        served.extend(str(v) for v in docs[0].get("versions") or [])
        for group in docs[1].get("groups") or []:
            served.extend(str(v.get("groupVersion")) for v in group.get("versions") or [])
    return Capabilities(_kube_version(version), tuple(served), live=True)


def _kube_version(doc: dict[str, Any]) -> str:
    m = _SEMVER.match(str(doc.get("gitVersion", "")))
    if m and m.group(1) != "0":
        return f"v{m.group(1)}.{m.group(2)}.{m.group(3)}"
    minor = re.sub(r"\D", "", str(doc.get("minor", "0"))) or "0"  # "36+" on some distributions
    return f"v{doc.get('major', '1')}.{minor}.0"


def expand_renders(
    root: Path,
    fleet: Fleet,
    renders: Iterable[SpokeRender],
    live: LiveSpoke | None,
    options: SourceOptions,
    secrets: SecretStore | None = None,
) -> tuple[list[SpokeRender], list[ExpansionStamp | None]]:
    """Every spoke's sources expanded (razee.sources.expand), with the stamp its cached bundle keeps.

    A decrypted secret value a template passed into a chart's values may only come out in a Secret: the renderer's
    leak check runs again over what the sources produced.
    """
    out: list[SpokeRender] = []
    stamps: list[ExpansionStamp | None] = []
    for render in renders:
        if not has_sources(render):
            out.append(render)
            stamps.append(None)
            continue
        view = fleet.find_spoke(render.spoke)
        assert view is not None  # the renderer rendered it
        if live is not None:
            env = ExpandEnv(live.for_cluster, live.kubeconfig, options)
        else:
            env = ExpandEnv(offline_capabilities(fleet, view), None, options)
        expanded = expand_render(root, render, env)
        leaks = find_leaks([m for m in expanded.render.manifests if m.source.origin], secrets) if secrets else []
        if leaks:
            raise InputError(leaks)
        out.append(expanded.render)
        stamps.append(stamp_of(root, expanded))
    return out, stamps


def stamp_of(root: Path, expanded: Expanded) -> ExpansionStamp:
    return ExpansionStamp(
        expansion_key(root, expanded.inputs, expanded.live), expanded.live is not None, expanded.inputs, expanded.notes
    )


def fresh_expansion(root: Path, stamp: ExpansionStamp, live: LiveSpoke | None) -> bool:
    """Whether a cached bundle's sources would expand the same now: same mode, folders and capabilities."""
    if stamp.live != (live is not None):
        return False
    caps = live.capabilities() if live is not None else None
    return expansion_key(root, stamp.inputs, caps) == stamp.key
