"""What an expander of one source kind is given and gives back, so every kind plugs into one expansion step.

The expansion step (razee.sources.expand) finds each expansion object in a spoke's rendered manifests, hands it to
the expander of its kind with an `ExpandContext`, and wraps what comes back into Manifests whose Provenance carries
the `Origin` (razee.objects): the template that declared the source, the source, the file inside it. Expanders
never see other sources, the policy gate or a cluster client: what they read of the spoke's server comes through
`Capabilities` and, for Helm's `lookup`, a kubeconfig to read with.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar, cast

from razee.objects import Manifest, SourceInfo
from razee.sources.cache import SourceCache

T = TypeVar("T")

API_VERSION = "razee.io/v1"
"""The apiVersion of every expansion object."""


@dataclass(frozen=True)
class Capabilities:
    """What a chart may ask of the server it renders for (Helm's `.Capabilities`).

    `live` is True when read from the spoke's server (diff, apply, agent) and False when taken from the kube version
    the fleet declares (preview, render, validate): a preview says which charts that affects.
    """

    kube_version: str  # "v1.36.3"
    api_versions: tuple[str, ...] = ()  # as `helm template --api-versions` takes them: "apps/v1", "apps/v1/Deployment"
    live: bool = False


@dataclass(frozen=True)
class Credentials:
    """Where credentials for chart repositories, registries and URLs come from: files or environment variables the
    agent's settings name, never the fleet repo. Keyed by host (`charts.example.com`, `registry:5000`)."""

    by_host: dict[str, dict[str, str]] = field(default_factory=dict)  # host -> {"username":…, "password":…} etc.


class Shared:
    """What the declarations of one expansion (one spoke's pass) fetch once between them, whichever asks first.

    A chart used by 250 customer clusters is one chart: its repository's index and archive are read once per pass,
    not once per release (the per-release pull cost most of a no-op pass over 1,000 releases: scripts/bench/
    helm_apply.py). Threads asking for one key wait for the first. A failure of a type in `remember` is kept too
    (a repository that is down answers every release the same way, and must not cost a timeout each); any other
    failure is not, so the next declaration fetches again and an input error names its own file and line.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[Hashable, threading.Lock] = {}
        self._done: dict[Hashable, tuple[bool, Any]] = {}

    def once(self, key: Hashable, fetch: Callable[[], T], remember: tuple[type[Exception], ...] = ()) -> T:
        with self._lock:
            key_lock = self._keys.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self._done:
                try:
                    self._done[key] = (True, fetch())
                except remember as e:
                    self._done[key] = (False, e)
            ok, value = self._done[key]
        if not ok:
            raise value
        return cast(T, value)


@dataclass
class ExpandContext:
    """Everything an expander may use besides the expansion object itself."""

    repo: Path  # the fleet tree being rendered: valuesFiles, chart paths and kustomize paths are relative to it
    spoke: str
    cluster: str | None  # the customer cluster, for a source in a cluster-scoped template
    capabilities: Capabilities
    cache: SourceCache
    credentials: Credentials = field(default_factory=Credentials)
    kubeconfig: Path | None = None  # for Helm's `lookup` (read only) when live; None offline: lookup sees nothing
    notes: list[str] = field(default_factory=list)  # said by the preview, e.g. "lookup sees nothing offline"
    shared: Shared = field(default_factory=Shared)  # fetched once per expansion (expand_render passes one)


@dataclass(frozen=True)
class Expansion:
    """What one source expanded to: each object with the file inside the source it came from, and its report line."""

    objects: list[tuple[dict[str, Any], str | None]]
    info: SourceInfo


class Expander(Protocol):
    """One source kind. `expand` raises razee errors (InputError with the declaring template's location and the
    source's own file and line; ServiceError when a repository cannot be reached) and changes nothing."""

    kind: ClassVar[str]

    def expand(self, decl: Manifest, ctx: ExpandContext) -> Expansion: ...
